"""The canary crawl: a protected person whose every identity field holds a marker of its own,
and everyone who must not see them fetching everything they can reach.

Given the populated world, its case is protected and each identity field — name, personal
identity number, phone, address, municipality, children, the request's story, code word and
additions, messages both ways, threat sources and areas to avoid, minutes, decisions, an
action — holds a unique string. Then every kind of person fetches every GET route of
`app.url_map` (pages, downloads, exports, print views) with the seeded objects' ids, and the
test fails if a marker appears where the identity decision says no. Every leak found is
listed in one assertion message. Mail (subjects, bodies, calendars) and audit details must
never hold a marker at all.

Outside users follow the disclosure rules: an agency before consent and a partner before
hand-over see nothing; with consent, the agency sees the text of its own action; after
hand-over, the partner sees what was disclosed (for a protected person, the name); after
consent is withdrawn, neither sees anything.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from werkzeug.routing import Rule

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.cases import services as case_services
from app.cases.models import Case, ProtectionLevel, ThreatAssessment, ThreatLevel
from app.cases.permissions import can_see_identity
from app.cases.protection import change_protection
from app.consent.models import Consent
from app.consent.services import withdraw_consent
from app.consultations.models import Action, Consultation, Decision
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.intake.models import ClientRequest, RequestAddition
from app.messages import services as message_services
from app.orgs.models import Organisation
from app.placements import services as placement_services
from app.placements.models import Placement, PlacementRequest
from app.workspace.casefile import PARTS
from tests.security.world import World, _account


def _personal_number(birth: str) -> str:
    body = birth[2:] + "471"
    total = 0
    for index, char in enumerate(body):
        value = int(char) * (2 if index % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return f"{birth}-471{(10 - total % 10) % 10}"


NUMBER = _personal_number("19640523")

# One marker per identity field; none of them occurs anywhere else in the world.
MARKERS = {
    "name": "Kanarius Namnqvist",
    "personal_number": NUMBER[2:],  # the short form is inside every longer one
    "phone": "0739-415263",
    "address": "Kanariegatan 77B",
    "municipality": "Kanarieholm",
    "children": "11, 14, 16",
    "request_name": "Kanarius Begaransson",
    "request_phone": "0739-998877",
    "code_word": "kanariesang",
    "story": "KanarieBerattelse",
    "addition": "KanarieTillagg",
    "client_message": "KanarieMeddelande",
    "team_message": "KanarieSvar",
    "threat_sources": "KanarieHotkalla",
    "areas_to_avoid": "Kanarieudde",
    "minutes": "KanarieProtokoll",
    "decision": "KanarieBeslut",
    "action": "KanarieAtgard",
}
# Other spellings of a marker that count as it.
SPELLINGS = {"personal_number": NUMBER[2:].replace("-", "")}
EVERY = frozenset(MARKERS)
NOTHING: frozenset[str] = frozenset()

# Which world object a URL argument names: the canary's own, whoever asks.
OBJECTS = {
    ("intake", "request_id"): "request",
    ("cases", "request_id"): "request",
    ("messages", "request_id"): "request",
    ("placements", "request_id"): "placement_request",
    ("partner", "request_id"): "placement_request",
    ("cases", "consent_id"): "consent",
    ("consent", "consent_id"): "client_consent",
    ("*", "case_id"): "case",
    ("*", "intervention_id"): "intervention",
    ("*", "deadline_id"): "deadline",
    ("*", "grant_id"): "grant",
    ("*", "change_id"): "protection_change",
    ("*", "consultation_id"): "consultation",
    ("*", "action_id"): "action",
    ("*", "placement_id"): "placement",
    ("*", "org_id"): "team",
    ("*", "token"): "join_token",
}
FIXED = {"step": "kind", "key": "requests_by_kind", "filename": "css/app.css"}
NOT_CRAWLED = ("static",)  # the stylesheet and the quick-exit script: no data


@pytest.fixture(scope="module")
def canary(world: World) -> World:
    """Protect the world's case and put a marker into each of its identity fields."""
    app = world.app
    with app.test_request_context():
        team = world.obj(Organisation, "other_team")
        world.accounts["lead_b"] = _account("lead-b", Role.TEAM_LEAD, team)
        case = world.obj(Case, "case")
        caseworker = world.user("caseworker")
        case_services.update_identity(
            case,
            case_services.IdentityChange(
                MARKERS["name"],
                NUMBER,
                MARKERS["phone"],
                MARKERS["address"],
                None,
                1,
                [11, 14, 16],
            ),
            caseworker,
        )
        # Places are codes whose names every form that offers the list shows, so no code can
        # be a marker: the markers are text kept from before the list, which the portal still
        # shows (to be chosen again) wherever it shows the place.
        case.municipality = MARKERS["municipality"]
        change_protection(case, ProtectionLevel.PROTECTED_REGISTRATION, caseworker)
        request = world.obj(ClientRequest, "request")
        request.identity_name = MARKERS["request_name"]
        request.phone = MARKERS["request_phone"]
        request.code_word = MARKERS["code_word"]
        request.account_text = MARKERS["story"]
        db.session.add(RequestAddition(request_id=request.id, text=MARKERS["addition"]))
        # The client asked to be told of new messages: the team's answer queues a mail.
        canary_client = world.user("client")
        canary_client.notify_email = "klient@example.org"
        message_services.send_from_client(request, f"{MARKERS['client_message']} hemma")
        message_services.send_from_team(request, caseworker, f"{MARKERS['team_message']} ok")
        case_services.record_threat_assessment(
            case,
            caseworker,
            level=ThreatLevel.HIGH,
            by_police=True,
            assessed_on=date.today(),
            sources=MARKERS["threat_sources"],
            group_ids=[],
            areas_to_avoid=[],
            next_review_on=None,
        )
        assessment = db.session.scalars(
            sa.select(ThreatAssessment).where(ThreatAssessment.case_id == case.id)
        ).one()
        assessment.areas_to_avoid = json.dumps([MARKERS["areas_to_avoid"]])
        consultation = world.obj(Consultation, "consultation")
        consultation.minutes = MARKERS["minutes"]
        db.session.add(Decision(consultation_id=consultation.id, text=MARKERS["decision"]))
        world.obj(Action, "action").description = MARKERS["action"]
        db.session.commit()
    return world


def _urls(world: World, rule: Rule) -> list[str]:
    """The rule's URL for the world's objects; a case part's, for every part."""
    if "slug" in rule.arguments:
        return [_url(world, rule, {"slug": part.slug}) for part in PARTS]
    return [_url(world, rule)]


def _url(world: World, rule: Rule, given: dict[str, str] | None = None) -> str:
    blueprint = rule.endpoint.partition(".")[0]
    values: dict[str, str] = dict(given or {})
    for arg in rule.arguments - values.keys():
        if arg in FIXED:
            values[arg] = FIXED[arg]
        elif arg == "user_id":
            values[arg] = str(world.accounts["caseworker"].id)
        elif arg == "session_id":
            values[arg] = world.ids["caseworker_spare_session"]
        else:
            name = OBJECTS.get((blueprint, arg)) or OBJECTS[("*", arg)]
            values[arg] = world.ids[name]
    return rule.build(values)[1]


def crawl(world: World, persona: str) -> dict[str, set[str]]:
    """Every GET route as `persona`: which markers each URL showed."""
    browser = world.fresh_browser(persona)
    seen: dict[str, set[str]] = {}
    rules = sorted(world.app.url_map.iter_rules(), key=lambda r: r.rule)
    for rule in rules:
        if "GET" not in (rule.methods or ()) or rule.endpoint in NOT_CRAWLED:
            continue
        for url in _urls(world, rule):
            response = browser.client.get(url)
            assert response.status_code < 500, (persona, url, response.status_code)
            text = response.get_data().decode("utf-8", "replace")
            text += " " + response.headers.get("Location", "")
            text += " " + response.headers.get("Content-Disposition", "")
            found = {key for key, marker in MARKERS.items() if marker in text}
            found |= {key for key, spelling in SPELLINGS.items() if spelling in text}
            if found:
                seen[url] = found
    return seen


def leaks(seen: dict[str, set[str]], allowed: Iterable[str]) -> list[str]:
    allowed = set(allowed)
    return [
        f"{url}: {', '.join(sorted(found - allowed))}"
        for url, found in sorted(seen.items())
        if found - allowed
    ]


def predicate_allows(world: World, persona: str) -> frozenset[str]:
    with world.app.test_request_context():
        user = world.user(persona)
        return EVERY if can_see_identity(user, world.obj(Case, "case")) else NOTHING


def test_the_assigned_caseworker_finds_every_marker(canary):
    """The crawl can fail: the caseworker, who may see the identity, finds every marker in
    the pages the others fetch — so a marker missing from theirs is hidden, not absent."""
    assert predicate_allows(canary, "caseworker") == EVERY
    seen = crawl(canary, "caseworker")
    found = set().union(*seen.values())
    assert found == EVERY, sorted(EVERY - found)


# Staff of the team who may not see the identity, other teams, administrators, clients, and
# outside users before anything was disclosed to them.
BEFORE_DISCLOSURE = (
    "colleague",  # a caseworker of the team, not assigned
    "glass",  # broke the glass on the case, revealed nothing
    "team_lead",  # without a reveal
    "admin",
    "worker_b",  # another team's caseworker
    "lead_b",  # another team's team lead
    "client2",  # another client
    "agency_b",  # an agency without the client's consent
    "partner",  # the partner before hand-over
)


@pytest.mark.parametrize("persona", BEFORE_DISCLOSURE)
def test_no_marker_reaches_anyone_the_identity_decision_refuses(canary, persona):
    """Given the protected canary, when `persona` fetches every page, download, export and
    print view they can reach, then no marker appears where the predicate says no."""
    staff = canary.accounts[persona].role in (Role.CASEWORKER, Role.TEAM_LEAD, Role.ADMIN)
    allowed = predicate_allows(canary, persona) if staff else NOTHING
    assert allowed == NOTHING  # each of these is someone the decision refuses
    found = leaks(crawl(canary, persona), allowed)
    assert not found, f"{persona} sees identity markers:\n" + "\n".join(found)


def test_the_agency_with_consent_sees_only_its_own_action(canary):
    """Given the client's consent to consult the police, their representative sees the
    text of the action given to them, and nothing of the protected identity."""
    seen = crawl(canary, "agency")
    assert any("action" in found for found in seen.values())
    found = leaks(seen, {"action"})
    assert not found, "agency sees identity markers:\n" + "\n".join(found)


def hand_over_once(canary: World) -> None:
    """The partner's offer accepted, confirmed and the identity handed over (once)."""
    with canary.app.test_request_context():
        chosen = canary.obj(PlacementRequest, "placement_request")
        if chosen.handed_over_at is not None:
            return
        placement_services.accept(chosen, "Lägenhet", date.today() + timedelta(days=30), "x")
        placement = canary.obj(Placement, "placement")
        placement_services.confirm(placement, chosen)
        chosen = canary.obj(PlacementRequest, "placement_request")
        placement_services.hand_over(chosen, canary.obj(Case, "case"), canary.user("caseworker"))
        db.session.commit()


def test_after_hand_over_the_partner_sees_only_what_was_disclosed(canary):
    """Given the partner's offer confirmed and the identity handed over on consent, the
    partner sees the name (all that is disclosed for a protected person), nothing more."""
    hand_over_once(canary)
    seen = crawl(canary, "partner")
    assert any("name" in found for found in seen.values())
    found = leaks(seen, {"name"})
    assert not found, "partner sees identity markers:\n" + "\n".join(found)


@pytest.mark.parametrize("persona", ["agency", "partner"])
def test_after_withdrawal_no_marker_reaches_the_agency_or_the_partner(canary, persona):
    """Given the consent to the police and the partner withdrawn (after the hand-over),
    neither sees anything."""
    hand_over_once(canary)
    with canary.app.test_request_context():
        consent = db.session.get(Consent, uuid.UUID(canary.ids["consent"]))
        withdraw_consent(consent, canary.obj(Case, "case"))
        db.session.commit()
    found = leaks(crawl(canary, persona), NOTHING)
    assert not found, f"{persona} sees identity markers after withdrawal:\n" + "\n".join(found)


def test_no_marker_is_in_mail_or_in_the_audit_trail(canary):
    """Given everything above, no queued mail (subject, body, calendar) and no audit
    event's details hold a marker: mail leaves the portal, the audit log holds no content."""
    found = []
    with canary.app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).all()
        assert any(m.recipient == "klient@example.org" for m in mail)  # the check has work
        for message in mail:
            text = f"{message.subject} {message.body} {message.calendar or ''}"
            found += [f"outbox {message.id}: {k}" for k, m in MARKERS.items() if m in text]
        for event in db.session.scalars(sa.select(AuditEvent)):
            found += [
                f"audit {event.action}: {k}" for k, m in MARKERS.items() if m in event.details
            ]
    assert not found, "identity markers in mail or audit:\n" + "\n".join(found)


def test_the_placement_page_hides_destination_and_children_from_the_team_lead(canary):
    """Given a placement sent to a partner with the household's children, the team lead
    (no reveal) sees neither where the person may move nor the children's ages, and cannot
    send it on; the assigned caseworker sees both."""
    with canary.app.test_request_context():
        canary.obj(Placement, "placement").children_ages = "12, 15"
        db.session.commit()
    url = f"/team/placements/{canary.ids['placement']}"
    lead = canary.fresh_browser("team_lead").client.get(url).get_data(as_text=True)
    assert "Växjö" not in lead and "12, 15" not in lead
    assert "hidden: protected identity" in lead
    mine = canary.fresh_browser("caseworker").client.get(url).get_data(as_text=True)
    assert "Växjö" in mine and "12, 15" in mine
    refused = canary.fresh_browser("team_lead")
    response = refused.client.post(
        f"{url}/send", data={"csrf_token": refused.last_csrf, "partners": canary.ids["team"]}
    )
    assert response.status_code == 403
