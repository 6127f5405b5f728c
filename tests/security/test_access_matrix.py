"""Every route × every role, for objects of their own and of others: need-to-know, deny by default.

The table below is written by hand: it is the specification. A route that is not in it fails
the test, so a new page cannot ship without someone deciding who may use it.

Cells:  A (OK)      the request passes the access check (200 or a redirect; for a POST with
                    its empty form also 400/409, the form refused after the access check)
        F (403)     the role has no business on this page at all
        H (404)     the object is not there for them (a refusal looks like a missing object)
        L (LOGIN)   anonymous: sent to the login page (GET) or 401 (POST)
"own/foreign" cells (AH) give the answer for the person's own object and for someone else's: the
other team's case, another client's request, a consultation the agency is not invited to,
a placement request sent to another partner, another person's session.

Every POST carries a valid CSRF token and an empty form, so a refusal is the access check
answering and not the form; a 500 fails the test whatever the table says.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.routing import Rule

from app.audit.models import AuditEvent
from app.cases import services as case_services
from app.cases.models import ProtectionLevel
from app.cases.protection import change_protection
from app.extensions import db
from app.intake.models import ClientRequest
from tests.conftest import Browser
from tests.security.world import PERSONAS, World

OK, FORBIDDEN, HIDDEN, LOGIN = "OK", "403", "404", "LOGIN"
A, F, H, L = OK, FORBIDDEN, HIDDEN, LOGIN  # allowed, forbidden, hidden, login
# Set by bench/mutation.py: one wrong answer is enough to know a mutant was noticed.
FAIL_FAST = bool(os.environ.get("MUTATION_FAIL_FAST"))
AH = f"{OK}/{HIDDEN}"  # own object: allowed; someone else's: not there

# Columns, in PERSONAS order:
#        anonymous client  caseworker colleague glass team_lead agency partner admin
ANYONE = (A, A, A, A, A, A, A, A, A)
LOGGED_IN = (L, A, A, A, A, A, A, A, A)
LOGGED_IN_OWN = (L, AH, AH, AH, AH, AH, AH, AH, AH)
CLIENT = (L, A, F, F, F, F, F, F, F)
CLIENT_OWN = (L, AH, F, F, F, F, F, F, F)
TEAM = (L, F, A, A, A, A, F, F, F)
TEAM_OWN = (L, F, AH, AH, AH, AH, F, F, F)
# The team's case: its caseworker, the team lead, and a colleague only after breaking the glass.
CASE = (L, F, AH, H, AH, AH, F, F, F)
LEAD = (L, F, F, F, F, A, F, F, F)
LEAD_ON_CASE = (L, F, H, H, H, AH, F, F, F)
LEAD_OWN = (L, F, F, F, F, AH, F, F, F)
AGENCY = (L, F, F, F, F, F, A, F, F)
AGENCY_OWN = (L, F, F, F, F, F, AH, F, F)
PARTNER = (L, F, F, F, F, F, F, A, F)
PARTNER_OWN = (L, F, F, F, F, F, F, AH, F)
ADMIN = (L, F, F, F, F, F, F, F, A)
STAFF = (L, F, A, A, A, A, A, A, A)
ADMIN_OWN = (L, F, F, F, F, F, F, F, AH)

EXPECTED: dict[str, tuple[str, ...]] = {
    # Public pages, and the login pages a logged-in person is sent on from.
    "static": ANYONE,
    "public.index": ANYONE,
    "public.privacy": ANYONE,
    "public.accessibility": ANYONE,
    "feedback.report": ANYONE,
    "public.healthz": ANYONE,
    "public.leave": ANYONE,  # quick exit: a redirect away, whoever presses it
    "auth.login": ANYONE,
    "intake.register": ANYONE,
    "join.join": (AH, AH, AH, AH, AH, AH, AH, AH, AH),  # a valid invitation link, a made-up one
    "auth.second_factor": LOGGED_IN,
    "auth.recovery": LOGGED_IN,
    "auth.enrol": LOGGED_IN,
    "auth.step_up": LOGGED_IN,
    "auth.passkey_login_options": LOGGED_IN,
    "auth.passkey_login": LOGGED_IN,
    "auth.enrol_passkey_options": LOGGED_IN,
    "auth.enrol_passkey": LOGGED_IN,
    "auth.step_up_passkey_options": LOGGED_IN,
    "auth.step_up_passkey": LOGGED_IN,
    "auth.logout": LOGGED_IN,
    # Everyone's own account.
    "home.index": LOGGED_IN,
    "account.index": LOGGED_IN,
    "account.change_password": LOGGED_IN,
    "account.recovery_codes": LOGGED_IN,
    "account.end_session": LOGGED_IN_OWN,
    "account.end_all_sessions": LOGGED_IN,
    # Alerts: every member of staff their own (a foreign alert's id marks nothing: 404);
    # clients have their own notices.
    "alerts.index": STAFF,
    "alerts.mark_read": STAFF,
    "alerts.mail_choice": STAFF,
    "account.new_passkey": LOGGED_IN,
    "account.passkey_options": LOGGED_IN,
    "account.add_passkey": LOGGED_IN,
    "account.remove_passkey": LOGGED_IN_OWN,
    # Administration: administrators only, and never case content (see the team's rows).
    "admin.users": ADMIN,
    "admin.invite": ADMIN,
    "admin.reset_second_factor": ADMIN_OWN,
    "admin.deactivate": ADMIN_OWN,
    "admin.activate": ADMIN_OWN,
    "admin.organisations": ADMIN,
    "admin.new_organisation": ADMIN,
    "admin.edit_organisation": ADMIN,  # own organisation and another: both administered
    "admin.settings": ADMIN,
    "admin.feedback_list": ADMIN,
    "admin.delete_feedback": ADMIN,
    # The client's own pages.
    "intake.dashboard": CLIENT,
    "intake.request_step": CLIENT,
    "intake.notifications": CLIENT,
    "intake.my_data": CLIENT,
    "intake.my_data_json": CLIENT,
    "intake.delete_account": CLIENT,
    "intake.status": CLIENT_OWN,
    "intake.add_information": CLIENT_OWN,
    "intake.send_message": CLIENT_OWN,
    "intake.withdraw": CLIENT_OWN,
    "consent.answer": CLIENT_OWN,
    "consent.withdraw": CLIENT_OWN,
    # The team's workspace.
    "messages.inbox": TEAM,
    "messages.conversation": TEAM_OWN,  # a request waiting in triage; the other team's
    "cases.triage": TEAM,
    "cases.triage_request": TEAM_OWN,
    "cases.assign_request": TEAM_OWN,
    "cases.log_contact": TEAM_OWN,
    "cases.close_request": TEAM_OWN,
    "cases.open_case": TEAM_OWN,
    "cases.link_request": TEAM_OWN,
    "cases.cases": TEAM,
    "cases.new_case": TEAM,
    "cases.my_deadlines": TEAM,
    "cases.groups": TEAM,
    "cases.overview": LEAD,
    "cases.review_grant": LEAD_OWN,
    "workspace.case": CASE,
    "workspace.part": CASE,
    "cases.register_extract": CASE,
    "cases.register_extract_json": CASE,
    "cases.identity": CASE,
    "cases.protection": CASE,
    "cases.lower_protection": CASE,
    "cases.approve_lowering": CASE,
    "cases.reject_lowering": CASE,
    "cases.review_lowering": LEAD_OWN,
    "cases.reveal": CASE,
    # A colleague may ask to break the glass on their own team's case, not on another team's.
    "cases.break_glass": (L, F, AH, AH, AH, AH, F, F, F),
    "cases.status": CASE,
    "cases.close": CASE,
    "cases.journal": CASE,
    "cases.threat": CASE,
    "cases.needs": CASE,
    "case_consent.add_consent": CASE,
    "case_consent.withdraw_consent": CASE,
    "cases.add_intervention": CASE,
    "cases.update_intervention": CASE,
    "cases.meet_deadline": CASE,
    "cases.open_child_investigation": CASE,
    "cases.record_age": CASE,
    "cases.assign_case": LEAD_ON_CASE,
    "cases.unassign_case": LEAD_ON_CASE,
    "consultations.agencies": TEAM,
    "consultations.actions_due": TEAM,
    "consultations.convene": CASE,
    "consultations.consultation": CASE,
    "consultations.reschedule": CASE,
    "consultations.cancel": CASE,
    "consultations.minutes": CASE,
    "consultations.add_action": CASE,
    "consultations.print_minutes": CASE,
    "consultations.disclose": CASE,
    "placements.new_placement": CASE,
    "placements.placement": CASE,
    "placements.send": CASE,
    "placements.confirm": CASE,
    "placements.hand_over": CASE,
    # Oversight: the team lead only.
    "oversight.access_log": LEAD,
    "oversight.record_review": LEAD,
    "oversight.statistics_page": LEAD,
    "oversight.statistics_csv": LEAD,
    "oversight.statistics_chart": LEAD,
    "oversight.role_grants": LEAD,
    "oversight.approve_role_grant": LEAD_OWN,
    "oversight.refuse_role_grant": LEAD_OWN,
    "oversight.reactivate": LEAD_OWN,
    # Agency representatives: their invited consultations and their agency's actions.
    "agency.overview": AGENCY,
    "agency.attend": AGENCY_OWN,
    "agency.update_action": AGENCY_OWN,
    # Partners: the requests sent to their own organisation.
    "partner.inbox": PARTNER,
    "partner.profile": PARTNER,
    "partner.request_page": PARTNER_OWN,
    "partner.accept": PARTNER_OWN,
    "partner.decline": PARTNER_OWN,
    "partner.follow_up": PARTNER_OWN,
}

# Which object of the world each URL argument names, by blueprint: (own, foreign).
OBJECTS: dict[tuple[str, str], tuple[str, str]] = {
    ("intake", "request_id"): ("request", "triage_request"),
    ("cases", "request_id"): ("triage_request", "other_request"),
    ("messages", "request_id"): ("triage_request", "other_request"),
    ("placements", "request_id"): ("placement_request", "other_placement_request"),
    ("partner", "request_id"): ("placement_request", "other_placement_request"),
    ("case_consent", "consent_id"): ("consent", "other_consent"),
    ("consent", "consent_id"): ("client_consent", "other_consent"),
    ("*", "case_id"): ("case", "other_case"),
    ("*", "intervention_id"): ("intervention", "other_intervention"),
    ("*", "deadline_id"): ("deadline", "other_deadline"),
    ("*", "grant_id"): ("grant", "other_grant"),
    ("*", "change_id"): ("protection_change", "other_protection_change"),
    ("*", "consultation_id"): ("consultation", "other_consultation"),
    ("*", "action_id"): ("action", "other_action"),
    ("*", "placement_id"): ("placement", "other_placement"),
    ("*", "user_id"): ("spare", "worker_b"),
    ("*", "org_id"): ("team", "other_team"),
    ("*", "token"): ("join_token", "no-such-invitation"),
    ("*", "invitation_id"): ("role_grant", "other_role_grant"),
    ("*", "session_id"): ("{persona}_spare_session", "foreign_session"),
    ("*", "passkey_id"): ("{persona}_passkey", "foreign_passkey"),
}
FIXED = {"step": "kind", "key": "requests_by_kind", "filename": "css/app.css", "slug": "identity"}
# A second id that must belong to the first (a consent of this case): swapped for another
# case's in the "crossed" variant, which nobody may reach.
CHILD_ARGS = {"consent_id", "intervention_id", "deadline_id", "request_id", "change_id"}

# Requests that change what they touch get a fresh object of their own, and requests that end
# the session come from a fresh session, so one cell's success cannot change the next's answer.
FRESH: dict[str, Callable[[World], dict[str, str]]] = {
    "cases.open_case": lambda w: {"request_id": w.new_request("client2")},
    "case_consent.withdraw_consent": lambda w: {"consent_id": w.new_consent()},
    "consultations.cancel": lambda w: {"consultation_id": w.new_consultation()},
    "intake.withdraw": lambda w: {"request_id": w.new_request("client")},
    "oversight.approve_role_grant": lambda w: {"invitation_id": w.new_role_grant()},
    "oversight.refuse_role_grant": lambda w: {"invitation_id": w.new_role_grant()},
    "oversight.reactivate": lambda w: {"user_id": w.new_inactive_worker()},
}
SESSION_ENDING = (
    "auth.logout",
    "public.leave",
    "account.end_all_sessions",
    "intake.delete_account",
)


@dataclass(frozen=True)
class Cell:
    endpoint: str
    method: str
    persona: str
    variant: str  # own, foreign or crossed
    expected: str


def object_args(rule: Rule) -> list[str]:
    return sorted(a for a in rule.arguments if a not in FIXED)


def world_id(world: World, blueprint: str, arg: str, which: int, persona: str) -> str:
    name = OBJECTS.get((blueprint, arg)) or OBJECTS[("*", arg)]
    key = name[which].format(persona=persona)
    # A name the world does not hold stands for itself: a made-up invitation token.
    if key in world.accounts:
        return str(world.accounts[key].id)
    return world.ids.get(key, key)


def url_for_cell(world: World, rule: Rule, persona: str, variant: str) -> str:
    blueprint = rule.endpoint.partition(".")[0]
    values = {arg: FIXED[arg] for arg in rule.arguments if arg in FIXED}
    args = object_args(rule)
    for arg in args:
        values[arg] = world_id(world, blueprint, arg, 1 if variant == "foreign" else 0, persona)
    if variant == "crossed":
        child = next(a for a in reversed(args) if a in CHILD_ARGS)
        values[child] = world_id(world, blueprint, child, 1, persona)
    elif variant == "own" and rule.endpoint in FRESH and persona != "anonymous":
        values.update(FRESH[rule.endpoint](world))
    return rule.build(values)[1]


def expected_for(cell: str, variant: str) -> str:
    own, _sep, foreign = cell.partition("/")
    if variant == "own":
        return own
    if variant == "foreign":
        return foreign or own
    return HIDDEN if own == OK else own  # crossed: a part of another case is never there


def variants(rule: Rule) -> list[str]:
    args = object_args(rule)
    if not args:
        return ["own"]
    crossed = len(args) > 1 and any(a in CHILD_ARGS for a in args)
    return ["own", "foreign", *(["crossed"] if crossed else [])]


def ordered_rules(app: Flask) -> list[Rule]:
    rules = sorted(app.url_map.iter_rules(), key=lambda r: (r.endpoint, r.rule))
    # Changing requests last, so the reading ones see the world as it was built; of the
    # session-ending ones, deleting the account last of all (a deleted account can end no
    # further session).
    return sorted(
        rules,
        key=lambda r: (
            r.endpoint in SESSION_ENDING,
            r.endpoint == "intake.delete_account",
            r.endpoint in FRESH,
        ),
    )


def cells(world: World) -> Iterator[tuple[Rule, Cell]]:
    for rule in ordered_rules(world.app):
        row = EXPECTED.get(rule.endpoint)
        if row is None:
            continue  # reported by test_every_route_is_in_the_table
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for variant in variants(rule):
                for persona, cell in zip(PERSONAS, row, strict=True):
                    if variant != "own" and expected_for(cell, "own") in (FORBIDDEN, LOGIN):
                        # Refused before any object is loaded: another object changes nothing.
                        continue
                    yield (
                        rule,
                        Cell(rule.endpoint, method, persona, variant, expected_for(cell, variant)),
                    )


def outcome(response, method: str) -> str:
    status = response.status_code
    if status in (403, 404) or (method == "GET" and status >= 400):
        # A plain visit is never a bad request: only a submitted form may be refused.
        return str(status)
    location = urlsplit(response.headers.get("Location", ""))
    if status == 401 or (status == 302 and location.path == "/login" and "next=" in location.query):
        return LOGIN
    return OK


# Routes a persona reaches through another account of the same role: the request steps
# are for a client with no open request (the "client" persona has one).
STAND_INS = {("intake.request_step", "client"): "writer"}


def send(world: World, rule: Rule, cell: Cell) -> tuple[int, str]:
    if cell.endpoint in SESSION_ENDING:
        browser: Browser = world.fresh_browser(cell.persona)
    else:
        browser = world.browsers[STAND_INS.get((cell.endpoint, cell.persona), cell.persona)]
    url = url_for_cell(world, rule, cell.persona, cell.variant)
    if cell.method == "GET":
        response = browser.client.get(url)
    else:
        response = browser.client.open(
            url, method=cell.method, data={"csrf_token": browser.last_csrf}
        )
    assert response.status_code < 500, (cell, response.status_code)
    return response.status_code, outcome(response, cell.method)


def test_every_route_is_in_the_table(world):
    """Given the application's routes, the table names each one: no route ships undecided."""
    routes = {rule.endpoint for rule in world.app.url_map.iter_rules()}
    assert sorted(routes - EXPECTED.keys()) == [], "routes without an entry in EXPECTED"
    assert sorted(EXPECTED.keys() - routes) == [], "entries for routes that do not exist"
    assert all(len(row) == len(PERSONAS) for row in EXPECTED.values())


def test_the_access_matrix(world):
    """Given every role, when each reaches every route for its own and others' objects,
    then the answer is the table's, and never a server error."""
    wrong = []
    checked = 0
    for rule, cell in cells(world):
        status, got = send(world, rule, cell)
        checked += 1
        if got != cell.expected:
            wrong.append(
                f"{cell.endpoint} {cell.method} {cell.persona} {cell.variant}: "
                f"expected {cell.expected}, got {status}"
            )
            if FAIL_FAST:
                break
    assert wrong == [], "\n".join(wrong)
    assert checked > 1000


@pytest.mark.parametrize("persona", ["colleague", "caseworker"])
def test_a_request_that_became_a_case_is_need_to_know_like_the_case(world, persona):
    """Given the client's request became a case, its triage page and thread are for those
    who may see the case: its caseworker yes, an unassigned colleague no."""
    browser = world.fresh_browser(persona)
    expected = 200 if persona == "caseworker" else 404
    request_id = world.ids["request"]
    assert browser.client.get(f"/team/triage/{request_id}").status_code == expected
    assert browser.client.get(f"/inbox/{request_id}").status_code == expected


def test_a_protected_case_request_is_hidden_from_the_team_lead_until_revealed(world):
    """Given a request whose case has a protected identity, when the team lead (who may see
    the case but not the identity) opens its triage page, it is not there for them."""
    world.ids["protected_request"] = world.new_request("client2")
    with world.app.test_request_context():
        request = world.obj(ClientRequest, "protected_request")
        case = case_services.open_case(request, world.user("caseworker"))
        change_protection(case, ProtectionLevel.PROTECTED_REGISTRATION, world.user("caseworker"))
        db.session.commit()
    url = f"/team/triage/{world.ids['protected_request']}"
    assert world.fresh_browser("caseworker").client.get(url).status_code == 200
    assert world.fresh_browser("team_lead").client.get(url).status_code == 404


def test_breaking_the_glass_needs_a_reason_and_is_flagged_for_the_team_lead(world):
    """Given a colleague not assigned to a case, breaking the glass without a reason opens
    nothing; with one it opens the case, and the team lead sees it flagged for review,
    while the audit trail records the flag but not the reason's words."""
    world.ids["glass_request"] = world.new_request("client2")
    with world.app.test_request_context():
        request = world.obj(ClientRequest, "glass_request")
        case_id = str(case_services.open_case(request, world.user("caseworker")).id)
        db.session.commit()
    colleague = world.fresh_browser("colleague")
    glass_url = f"/team/cases/{case_id}/break-glass"
    assert colleague.client.get(glass_url).status_code == 200
    empty = colleague.client.post(glass_url, data={"csrf_token": colleague.last_csrf, "reason": ""})
    assert empty.status_code == 400
    assert colleague.client.get(f"/team/cases/{case_id}").status_code == 404

    reason = "Klienten ringer i akut kris och handläggaren är sjuk."
    broken = colleague.client.post(
        glass_url, data={"csrf_token": colleague.last_csrf, "reason": reason}
    )
    assert broken.status_code == 302
    assert colleague.client.get(f"/team/cases/{case_id}").status_code == 200
    overview = world.fresh_browser("team_lead").client.get("/team/overview")
    assert reason in overview.get_data(as_text=True)
    with world.app.app_context():
        details = db.session.scalar(
            sa.select(AuditEvent.details).where(
                AuditEvent.action == "case.break_glass", AuditEvent.subject_id == case_id
            )
        )
    assert '"flagged":true' in details
    assert "akut kris" not in details
