"""A multi-agency consultation end to end, in Swedish, in a real Chromium.

The demo caseworker has a police case with a needs assessment and a paper consent to consult
Polisen Region Syd (consultation only, no information exchange). The caseworker convenes a
consultation: only the police can be invited. A new police representative is invited by
e-mail; the mail names no case. The representative joins through the link, enrols a second
factor, accepts the invitation and sees the needs but not the client's name. The caseworker
records the minutes, decisions and an action for the representative; the representative
reports it done and reads the minutes and decisions the team shared; the caseworker sees
it done on the case page, and the print view carries the minutes and (for the assigned
caseworker) the client's name.

Assertions lean on structure (URLs, field names and values, element counts), not wording.
Every step is saved as a full-page screenshot in test-output/screenshots/consultation-sv/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, expect

from app.auth.services import find_user
from app.cases.models import CaseSource
from app.cases.services import create_case, record_needs_assessment
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.consultations.models import (
    AccountInvitation,
    Action,
    ActionStatus,
    Consultation,
    ConsultationStatus,
    Invitation,
    Response,
)
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import get_organisation_by_slug
from app.rules import LOCAL_TIME
from tests.browser.conftest import screenshot_folder
from tests.browser.test_client_journey import DESK, Journey, path_of, submit_to
from tests.browser.test_workspace_journey import LANG, STAFF, staff_login, step

pytestmark = pytest.mark.browser

TEAM_SLUG = "malmo-team"
AGENCY_SLUG = "polisen-syd"
OTHER_AGENCY_SLUG = "kronofogden"  # seeded, but the client has not consented to it
CLIENT_NAME = "Adam Testsson"
NEEDS = {
    "housing": "Behöver en tillfällig bostad i en annan kommun.",
    "debt": "Skulder hos Kronofogden, cirka 60 000 kr.",
}
INVITE_EMAIL = "ny.representant@polisen-syd.example"
REP_USERNAME = "polis.ny"
REP_PASSWORD = "tre-lugna-ord-i-natten"
PLACE = "Polishuset Malmö, rum 3"
MINUTES = "Genomgång av boende och skulder. Polisen bidrar med en hotbildsbedömning."
DECISIONS = ["Polisen gör en ny hotbildsbedömning.", "Nästa samråd om fyra veckor."]
ACTION_TEXT = "Ta fram en uppdaterad hotbildsbedömning."
OUTCOME = "Bedömningen är gjord och skickad till handläggaren."
JOIN_LINK = re.compile(r"(https?://\S+/join/([A-Za-z0-9_-]+))")
CONSULTATION_PATH = re.compile(r"^/team/consultations/([^/]+)$")


def set_up_case(app: Flask, today: date) -> tuple[str, str]:
    """A police case for the caseworker with needs and a paper consent to consult the police
    (consultation only); returns the case's public id and reference."""
    with app.app_context():
        caseworker = find_user(STAFF)
        team = get_organisation_by_slug(TEAM_SLUG)
        agency = get_organisation_by_slug(AGENCY_SLUG)
        assert caseworker is not None and team is not None and agency is not None
        case = create_case(team.id, CaseSource.POLICE, CLIENT_NAME, caseworker)
        record_needs_assessment(case, caseworker, today, NEEDS)
        record_consent(
            case,
            caseworker,
            agencies=[agency],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=today,
            valid_until=None,
        )
        db.session.commit()
        found = (str(case.id), case.reference)
        db.session.remove()
    return found


def organisation_ids(app: Flask) -> tuple[str, str, int]:
    """The invited agency's id, another agency's id, and how many agencies there are."""
    with app.app_context():
        agency = get_organisation_by_slug(AGENCY_SLUG)
        other = get_organisation_by_slug(OTHER_AGENCY_SLUG)
        assert agency is not None and other is not None
        count = db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Organisation)
            .where(Organisation.kind == OrgKind.AGENCY, Organisation.active.is_(True))
        )
        found = (str(agency.id), str(other.id), int(count or 0))
        db.session.remove()
    return found


def invitation_mail(app: Flask, address: str) -> OutboxMessage:
    """The one queued message to `address` (the recipient is encrypted: filter in Python)."""
    with app.app_context():
        messages = [
            m for m in db.session.scalars(sa.select(OutboxMessage)) if m.recipient == address
        ]
        assert len(messages) == 1, [m.subject for m in messages]
        db.session.expunge(messages[0])
        db.session.remove()
    return messages[0]


def test_consultation_journey(
    live_server: str, live_app: Flask, new_context: Callable[..., BrowserContext]
) -> None:
    base = live_server
    folder = screenshot_folder(f"consultation-{LANG}", live_app)
    journey = Journey(lang=LANG, folder=folder)
    today = utcnow().astimezone(LOCAL_TIME).date()
    # The meeting began at midnight today, so its minutes can be recorded during the test.
    meeting_day = today
    due = today + timedelta(days=14)

    # 1. The case: needs, and a paper consent to consult the police only.
    case_id, reference = set_up_case(live_app, today)
    agency_id, other_agency_id, agency_count = organisation_ids(live_app)

    # 2. The caseworker opens the case and convenes a consultation.
    staff = staff_login(new_context(viewport=DESK), base, live_app, journey)
    with staff.expect_navigation():
        staff.locator('main ul.cards a[href$="/team/cases"]').first.click()
    with staff.expect_navigation():
        staff.locator(f'main table a[href$="/team/cases/{case_id}"]').click()
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    section = staff.locator('main section[aria-labelledby="consultations"]')
    expect(section.locator('a[href*="/team/consultations/"]')).to_have_count(0)
    expect(section.locator("table")).to_have_count(0)  # no actions yet
    convene_link = section.locator(f'a[href$="/team/cases/{case_id}/consultations/new"]')
    expect(convene_link).to_have_count(1)
    step(journey, staff, "case", staff=True)

    with staff.expect_navigation():
        convene_link.click()
    assert path_of(staff.url) == f"/team/cases/{case_id}/consultations/new"
    form = staff.locator(f'main form[action$="/team/cases/{case_id}/consultations/new"]')
    agencies = form.locator('input[type="checkbox"][name="agencies"]')
    expect(agencies).to_have_count(1)  # only the agency the consent names
    expect(agencies).to_have_attribute("value", agency_id)
    expect(form.locator(f'input[value="{other_agency_id}"]')).to_have_count(0)
    # Every other agency is listed as one that cannot be invited.
    expect(staff.locator("main .notice ul li")).to_have_count(agency_count - 1)
    invite_agency = form.locator('select[name="invite_agency"]')
    expect(invite_agency.locator("option")).to_have_count(2)  # "–" and the police
    expect(invite_agency.locator(f'option[value="{other_agency_id}"]')).to_have_count(0)
    agencies.check()
    form.locator('input[name="starts_on"]').fill(meeting_day.isoformat())
    form.locator('input[name="starts_time"]').fill("00:00")
    form.locator('input[name="duration"]').fill("60")
    form.locator('input[name="place"]').fill(PLACE)
    invite_agency.select_option(agency_id)
    form.locator('input[name="invite_email"]').fill(INVITE_EMAIL)
    step(journey, staff, "convene-form", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/consultations/new")

    match = CONSULTATION_PATH.match(path_of(staff.url))
    assert match, staff.url
    consultation_id = match.group(1)
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(staff.locator("main .notice-warning")).to_have_count(0)  # no clashes
    # Invited so far: the police (no named person yet) and the caseworker who convened.
    invited = staff.locator("main h2 + ul").first.locator("li")
    expect(invited).to_have_count(2)
    expect(
        staff.locator(f'main a[href$="/team/consultations/{consultation_id}/print"]')
    ).to_have_count(1)
    step(journey, staff, "convened", staff=True)
    with live_app.app_context():
        consultation = db.session.get(Consultation, uuid.UUID(consultation_id))
        assert consultation is not None
        assert str(consultation.case_id) == case_id
        assert consultation.status is ConsultationStatus.PLANNED
        assert consultation.starts_at.astimezone(LOCAL_TIME).date() == meeting_day
        assert consultation.duration_minutes == 60
        assert consultation.place == PLACE
        db.session.remove()

    # 3. The invitation e-mail: a link to join, and nothing about the case.
    mail = invitation_mail(live_app, INVITE_EMAIL)
    assert mail.calendar is None
    link_match = JOIN_LINK.search(mail.body)
    assert link_match, mail.body
    join_url, token = link_match.groups()
    assert join_url == f"{base}/join/{token}", join_url
    for secret_text in (reference, CLIENT_NAME, case_id, consultation_id):
        assert secret_text not in mail.subject, (secret_text, mail.subject)
        assert secret_text not in mail.body, (secret_text, mail.body)

    # 4. The new representative joins, enrols a second factor and answers the invitation.
    rep = new_context(viewport=DESK).new_page()
    rep.goto(f"{base}/?lang={LANG}")
    rep.goto(join_url)
    assert path_of(rep.url) == f"/join/{token}"
    join = rep.locator(f'main form[action$="/join/{token}"]')
    join.locator('input[name="username"]').fill(REP_USERNAME)
    join.locator('input[name="password"]').fill(REP_PASSWORD)
    join.locator('input[name="confirm_password"]').fill(REP_PASSWORD)
    step(journey, rep, "rep-join", staff=True)
    submit_to(rep, f"/join/{token}")

    assert path_of(rep.url) == "/login/enrol"
    expect(rep.locator("main .qr svg")).to_have_count(1)
    key = rep.locator("main .secret-key code").inner_text()
    rep_secret = re.sub(r"\s+", "", key)
    assert re.fullmatch(r"[A-Z2-7]{32}", rep_secret), key
    rep.fill('main input[name="code"]', pyotp.TOTP(rep_secret).now())
    step(journey, rep, "rep-enrol", staff=True)
    submit_to(rep, "/login/enrol")
    assert path_of(rep.url) == "/login/enrol"
    expect(rep.locator("main ul.recovery-codes li code")).to_have_count(10)
    step(journey, rep, "rep-recovery-codes", staff=True)
    with rep.expect_navigation():
        rep.locator('main a.button[href$="/start/"]').click()
    assert path_of(rep.url) == "/start/"
    # A representative has no team workspace; just their consultations and their account.
    expect(rep.locator('main ul.cards a[href$="/team/cases"]')).to_have_count(0)
    with rep.expect_navigation():
        rep.locator('main ul.cards a[href$="/agency/"]').first.click()
    assert path_of(rep.url) == "/agency/"
    attend_link = rep.locator(f'main a[href$="/agency/consultations/{consultation_id}"]')
    expect(attend_link).to_have_count(1)
    # No actions from this consultation yet (the demo's own consultation gave the police one).
    from_this = rep.locator(
        f'main form.intervention a[href$="/agency/consultations/{consultation_id}"]'
    )
    expect(from_this).to_have_count(0)
    step(journey, rep, "rep-overview", staff=True)

    with live_app.app_context():
        rep_user = find_user(REP_USERNAME)
        assert rep_user is not None
        assert rep_user.organisation_id == uuid.UUID(agency_id)
        rep_user_id = str(rep_user.id)
        rep_invitation = db.session.scalars(
            sa.select(Invitation).where(
                Invitation.consultation_id == uuid.UUID(consultation_id),
                Invitation.user_id == rep_user.id,
            )
        ).one()
        rep_invitation_id = str(rep_invitation.id)
        assert rep_invitation.response is Response.PENDING
        joined = db.session.scalars(sa.select(AccountInvitation)).one()
        assert joined.accepted_at is not None
        db.session.remove()

    with rep.expect_navigation():
        attend_link.click()
    assert path_of(rep.url) == f"/agency/consultations/{consultation_id}"
    expect(rep.locator('main input[type="radio"][name="response"]')).to_have_count(3)
    rep.check('main input[name="response"][value="accepted"]')
    step(journey, rep, "rep-answer", staff=True)
    submit_to(rep, f"/agency/consultations/{consultation_id}")
    assert path_of(rep.url) == f"/agency/consultations/{consultation_id}"
    expect(rep.locator('main .notice-success[role="status"]')).to_have_count(1)
    # Consent to consult: the needs are shown, the name is not (no information exchange).
    shared = rep.locator("main dl.summary dd.free-text")
    expect(shared).to_have_count(len(NEEDS))
    expect(shared).to_have_text(list(NEEDS.values()))
    expect(rep.locator("main dl.summary dt")).to_have_count(len(NEEDS) + 1)  # + threat level
    assert CLIENT_NAME not in rep.content()
    step(journey, rep, "rep-accepted", staff=True)
    with live_app.app_context():
        answered = db.session.get(Invitation, uuid.UUID(rep_invitation_id))
        assert answered is not None and answered.response is Response.ACCEPTED
        db.session.remove()

    # 5. The caseworker records the minutes and an action for the representative.
    staff.reload()
    assert path_of(staff.url) == f"/team/consultations/{consultation_id}"
    expect(invited).to_have_count(2)  # the representative took the police's seat
    minutes_form = staff.locator(
        f'main form[action$="/team/consultations/{consultation_id}/minutes"]'
    )
    expect(minutes_form.locator('input[type="checkbox"][name="attended"]')).to_have_count(2)
    minutes_form.locator(f'input[name="attended"][value="{rep_invitation_id}"]').check()
    minutes_form.locator('textarea[name="minutes"]').fill(MINUTES)
    minutes_form.locator('textarea[name="decisions"]').fill("\n".join(DECISIONS))
    step(journey, staff, "minutes-form", staff=True)
    submit_to(staff, f"/team/consultations/{consultation_id}/minutes")
    assert path_of(staff.url) == f"/team/consultations/{consultation_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    decisions = minutes_form.locator("xpath=preceding-sibling::ul[1]/li")
    expect(decisions).to_have_text(DECISIONS)
    expect(minutes_form.locator('textarea[name="minutes"]')).to_have_value(MINUTES)
    step(journey, staff, "minutes-saved", staff=True)

    action_form = staff.locator(
        f'main form[action$="/team/consultations/{consultation_id}/actions"]'
    )
    owner = action_form.locator('select[name="owner"]')
    expect(owner.locator(f'option[value="user:{rep_user_id}"]')).to_have_count(1)
    owner.select_option(f"user:{rep_user_id}")
    action_form.locator('textarea[name="description"]').fill(ACTION_TEXT)
    action_form.locator('input[name="due_on"]').fill(due.isoformat())
    step(journey, staff, "action-form", staff=True)
    submit_to(staff, f"/team/consultations/{consultation_id}/actions")
    assert path_of(staff.url) == f"/team/consultations/{consultation_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    actions = staff.locator("main table.action-list tbody tr")
    expect(actions).to_have_count(1)
    expect(actions.locator("td").first).to_have_text(ACTION_TEXT)
    step(journey, staff, "action-added", staff=True)
    with live_app.app_context():
        held = db.session.get(Consultation, uuid.UUID(consultation_id))
        assert held is not None and held.status is ConsultationStatus.HELD
        assert [i.attended for i in held.invitations if str(i.id) == rep_invitation_id] == [True]
        action = db.session.scalars(
            sa.select(Action).where(Action.consultation_id == held.id)
        ).one()
        assert str(action.owner_user_id) == rep_user_id
        assert str(action.owner_organisation_id) == agency_id
        assert action.due_on == due
        assert action.status is ActionStatus.OPEN
        action_id = str(action.id)
        db.session.remove()

    # 6. The representative reports the action done.
    rep.goto(f"{base}/agency/")
    update = rep.locator(f'main form[action$="/agency/actions/{action_id}"]')
    expect(from_this).to_have_count(1)
    expect(update).to_have_count(1)
    expect(update.locator("strong.free-text")).to_have_text(ACTION_TEXT)
    # The action says which consultation gave it, and leads there.
    expect(update.locator(f'a[href$="/agency/consultations/{consultation_id}"]')).to_have_count(1)
    status = update.locator('select[name="status"]')
    expect(status).to_have_value("open")
    status.select_option("done")
    done_label = status.locator('option[value="done"]').inner_text().strip()
    update.locator('textarea[name="outcome"]').fill(OUTCOME)
    step(journey, rep, "rep-action", staff=True)
    submit_to(rep, f"/agency/actions/{action_id}")
    assert path_of(rep.url) == "/agency/"
    expect(rep.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(update).to_have_count(0)  # done: no longer open
    step(journey, rep, "rep-action-done", staff=True)

    # The representative reads the minutes and decisions of the meeting, and the action it
    # gave the police, on the consultation's page; still not the client's name.
    with rep.expect_navigation():
        attend_link.click()
    assert path_of(rep.url) == f"/agency/consultations/{consultation_id}"
    expect(rep.locator("main p.free-text")).to_have_text(MINUTES)
    expect(rep.locator("main h3 + ul li")).to_have_text(DECISIONS)
    rep_actions = rep.locator("main table.action-list tbody tr")
    expect(rep_actions).to_have_count(1)
    expect(rep_actions.locator("td").first).to_have_text(ACTION_TEXT)
    expect(rep_actions.locator("td").nth(2)).to_have_text(done_label)
    assert CLIENT_NAME not in rep.content()
    step(journey, rep, "rep-minutes", staff=True)

    # 7. The caseworker sees it done on the case page, and prints the minutes.
    staff.goto(f"{base}/team/cases/{case_id}")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(
        section.locator(f'ul li a[href$="/team/consultations/{consultation_id}"]')
    ).to_have_count(1)
    row = section.locator("table tbody tr")
    expect(row).to_have_count(1)
    cells = row.locator("td")
    expect(cells).to_have_count(6)  # action, consultation, owner, due, status, outcome
    expect(cells.nth(0)).to_have_text(ACTION_TEXT)
    expect(cells.nth(1).locator(f'a[href$="/team/consultations/{consultation_id}"]')).to_have_count(
        1
    )
    expect(cells.nth(4)).to_have_text(done_label)
    expect(cells.nth(5)).to_have_text(OUTCOME)
    section.scroll_into_view_if_needed()
    step(journey, staff, "case-action-done", staff=True)

    staff.goto(f"{base}/team/consultations/{consultation_id}/print")
    assert path_of(staff.url) == f"/team/consultations/{consultation_id}/print"
    minutes = staff.locator("main article.minutes")
    expect(minutes).to_have_count(1)
    expect(minutes.locator("p.free-text")).to_have_text(MINUTES)
    expect(minutes.locator("h2 + ul").first.locator("li")).to_have_count(1)  # present: the rep
    expect(minutes.locator(f'li:has-text("{REP_USERNAME}")')).to_have_count(1)
    expect(minutes.locator("table tbody tr")).to_have_count(1)
    assert minutes.inner_text().count(CLIENT_NAME) == 1  # the assigned caseworker sees it
    for decision in DECISIONS:
        expect(minutes.locator("li", has_text=decision)).to_have_count(1)
    step(journey, staff, "print", staff=True)

    with live_app.app_context():
        done = db.session.get(Action, uuid.UUID(action_id))
        assert done is not None
        assert done.status is ActionStatus.DONE
        assert done.outcome == OUTCOME
        db.session.remove()
    assert [p.name for p in journey.shots] == sorted(p.name for p in folder.glob("*.png"))
