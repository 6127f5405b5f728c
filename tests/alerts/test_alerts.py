"""Alerts: the one who answers for a thing is told, in the portal and (if they asked) by a
mail that says nothing but "log in"; nobody else is told, and time-based alerts come once."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.alerts.models import Alert, AlertKind
from app.alerts.services import set_alert_mail
from app.auth.models import Role, User
from app.cases.models import Case
from app.consultations.models import Action, ActionStatus, Consultation
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import Organisation
from app.placements.models import PlacementRequest
from tests.conftest import register_client
from tests.consultations.test_consultations import convene, give_consent
from tests.placements.test_placements import add_partner, new_placement, send

MESSAGE = "Jag heter Omar och bor på Rosengård"
# What a notice says: nothing but that (mail goes out in the portal's language, Swedish).
NOTICE_BODY = "Något i portalen behöver din uppmärksamhet. Logga in för att se vad."
NOTICE_SUBJECT = "Ett meddelande från portalen"


def opt_in(app, account, address=None):
    """Give the account an address and turn the notice mail on."""
    with app.app_context():
        user = db.session.get(User, account.id)
        user.notify_email = address or f"{account.username}@example.org"
        set_alert_mail(user, True)
        db.session.commit()


def give_address(app, account):
    """An address on the account, but no notice mail chosen."""
    with app.app_context():
        db.session.get(User, account.id).notify_email = f"{account.username}@example.org"
        db.session.commit()


def told(app, account):
    with app.app_context():
        return [
            (a.kind, a.subject_id)
            for a in db.session.scalars(sa.select(Alert).where(Alert.user_id == account.id))
        ]


def mails(app):
    with app.app_context():
        return [
            (m.recipient, m.subject, m.body, m.calendar)
            for m in db.session.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.created_at))
        ]


def notices_to(app, account):
    """The notice mails to the account: each must carry nothing but the call to log in."""
    found = [m for m in mails(app) if m[0] == f"{account.username}@example.org"]
    for _recipient, subject, body, calendar in found:
        assert body == NOTICE_BODY and calendar is None
        assert subject == NOTICE_SUBJECT
    return found


def content_free(app, *secrets):
    """No mail, subject or body, names a reference, a person or a word of the case."""
    for _recipient, subject, body, _calendar in mails(app):
        for secret in secrets:
            assert str(secret) not in subject and str(secret) not in body


@pytest.fixture
def team(app, organisation, other_orgs, make_account):
    """Two team leads (one opted in), a second caseworker (opted in), a lead of another team
    (opted in). Made before anything happens, so each could be told."""
    people = {
        "lead": make_account(Role.TEAM_LEAD),
        "quiet_lead": make_account(Role.TEAM_LEAD),
        "colleague": make_account(Role.CASEWORKER),
        "outsider": make_account(Role.TEAM_LEAD, org_slug="annat-team"),
    }
    for name in ("lead", "colleague", "outsider"):
        opt_in(app, people[name])
    give_address(app, people["quiet_lead"])
    return people


def reference_of(app, request_id):
    with app.app_context():
        return db.session.get(ClientRequest, request_id).reference


# An acute request --------------------------------------------------------------------


def test_an_acute_request_tells_the_team_leads_and_only_they_get_mail_if_they_chose_it(
    app, team, client_browser, fill_request
):
    fill_request(client_browser, kind={"kind": "threatened"}, help={"urgency": "acute"})
    with app.app_context():
        request = db.session.scalars(sa.select(ClientRequest)).one()
        request_id, reference = request.id, request.reference
    assert told(app, team["lead"]) == [(AlertKind.ACUTE_REQUEST, request_id)]
    assert told(app, team["quiet_lead"]) == [(AlertKind.ACUTE_REQUEST, request_id)]
    assert told(app, team["colleague"]) == []  # a caseworker hears once it is theirs
    assert told(app, team["outsider"]) == []  # another team never
    assert len(notices_to(app, team["lead"])) == 1
    assert notices_to(app, team["quiet_lead"]) == []  # an address, but no notice chosen
    assert notices_to(app, team["colleague"]) == notices_to(app, team["outsider"]) == []
    content_free(app, reference, "acute", "akut", "threat")


def test_a_request_that_can_wait_tells_nobody(app, team, client_browser, fill_request):
    fill_request(client_browser)
    assert all(told(app, person) == [] for person in team.values())
    assert mails(app) == []


# A client's message ------------------------------------------------------------------


def write(client_browser, request_id, body=MESSAGE):
    response = client_browser.post(
        f"/my/requests/{request_id}/messages",
        {"body": body},
        form_page=f"/my/requests/{request_id}",
    )
    assert response.status_code == 302


def test_a_message_on_a_case_tells_its_caseworker_only(app, team, scene, client_browser):
    opt_in(app, scene.owner)
    write(client_browser, scene.request_id)
    assert told(app, scene.owner) == [(AlertKind.CLIENT_MESSAGE, scene.request_id)]
    for name in ("lead", "quiet_lead", "colleague", "outsider"):
        assert told(app, team[name]) == [], name  # the case has its caseworker
    assert len(notices_to(app, scene.owner)) == 1
    assert len(mails(app)) == 1
    content_free(app, MESSAGE, "Omar", "Rosengård", reference_of(app, scene.request_id))


def test_a_message_on_an_unassigned_request_tells_the_team_leads(
    app, team, submitted_request, client_browser
):
    write(client_browser, submitted_request)
    assert told(app, team["lead"]) == [(AlertKind.CLIENT_MESSAGE, submitted_request)]
    assert told(app, team["quiet_lead"]) == [(AlertKind.CLIENT_MESSAGE, submitted_request)]
    assert told(app, team["colleague"]) == told(app, team["outsider"]) == []
    assert [m[0] for m in mails(app)] == [f"{team['lead'].username}@example.org"]


def test_no_mail_for_the_caseworker_who_did_not_opt_in(app, team, scene, client_browser):
    give_address(app, scene.owner)
    write(client_browser, scene.request_id)
    assert told(app, scene.owner) == [(AlertKind.CLIENT_MESSAGE, scene.request_id)]
    assert mails(app) == []


def test_turning_the_notice_on_and_off_on_the_account_page(app, scene, client_browser):
    give_address(app, scene.owner)
    page = scene.owner_browser.get("/account/").get_data(as_text=True)
    assert "E-mail me when something needs my attention" in page
    # The form needs its CSRF token like every other.
    refused = scene.owner_browser.client.post("/alerts/mail", data={"alert_mail": "y"})
    assert refused.status_code == 400
    scene.owner_browser.post("/alerts/mail", {"alert_mail": "y"}, form_page="/account/")
    write(client_browser, scene.request_id, "Första")
    assert len(notices_to(app, scene.owner)) == 1
    scene.owner_browser.post("/alerts/mail", {}, form_page="/account/")
    write(client_browser, scene.request_id, "Andra")
    assert len(notices_to(app, scene.owner)) == 1  # off again: the portal alert only
    assert len(told(app, scene.owner)) == 2


# An agency's answer, and the invitation that waits for the representative -------------


@pytest.fixture
def consultation(app, team, scene, make_account, new_browser, log_in):
    with app.app_context():
        police = db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == "polisen"))
    give_consent(app, scene, police)
    rep = make_account(Role.AGENCY_REP, org_slug="polisen")
    other_rep = make_account(Role.AGENCY_REP, org_slug="polisen")
    opt_in(app, rep)
    opt_in(app, other_rep)
    opt_in(app, scene.owner)
    assert convene(scene, [police], [rep.id]).status_code == 302
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    browser = new_browser()
    log_in(browser, rep)
    return consultation_id, rep, other_rep, browser


def test_the_invited_representative_sees_the_invitation_waiting(app, team, consultation):
    consultation_id, rep, other_rep, _browser = consultation
    assert told(app, rep) == [(AlertKind.CONSULTATION_INVITATION, consultation_id)]
    assert told(app, other_rep) == []
    # One mail for one invitation: the calendar invitation, no second notice beside it.
    to_rep = [m for m in mails(app) if m[0] == f"{rep.username}@example.org"]
    assert len(to_rep) == 1 and to_rep[0][3] is not None


def test_an_agency_answer_tells_the_case_caseworker(app, team, scene, consultation):
    consultation_id, _rep, _other, browser = consultation
    before = len(mails(app))
    response = browser.post(
        f"/agency/consultations/{consultation_id}",
        {
            "response": "proposed",
            "proposed_on": (date.today() + timedelta(days=5)).isoformat(),
            "proposed_time": "13:00",
        },
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-1500:]
    assert told(app, scene.owner) == [(AlertKind.AGENCY_ANSWER, consultation_id)]
    for name in ("lead", "quiet_lead", "colleague", "outsider"):
        assert told(app, team[name]) == [], name
    assert len(notices_to(app, scene.owner)) == 1
    assert len(mails(app)) == before + 1
    content_free(app, "Polisen", "proposed", reference_of(app, scene.request_id))


# A partner's offer or decline, and the request that waits for the partner -------------


def test_a_placement_request_waits_for_the_partner_from_the_day_it_is_sent(
    app, team, scene, make_account
):
    vaxjo = add_partner(app, "vaxjo-p", "Växjö")
    lund = add_partner(app, "lund-p", "Lund")
    partner, other_partner = (
        make_account(Role.PARTNER, org_slug="vaxjo-p"),
        make_account(Role.PARTNER, org_slug="lund-p"),
    )
    opt_in(app, partner)
    opt_in(app, other_partner)
    placement_id = new_placement(scene)
    assert send(scene.owner_browser, placement_id, [vaxjo]).status_code == 302
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
    assert told(app, partner) == [(AlertKind.PLACEMENT_REQUEST, request_id)]
    assert told(app, other_partner) == []  # not sent to Lund
    assert len(notices_to(app, partner)) == 1 and notices_to(app, other_partner) == []
    assert lund  # the other partner exists and could have been chosen


@pytest.mark.parametrize("answer", ["accept", "decline"])
def test_a_partner_answer_tells_the_case_caseworker(
    app, team, scene, make_account, new_browser, log_in, answer
):
    vaxjo = add_partner(app, "vaxjo-p", "Växjö")
    partner = make_account(Role.PARTNER, org_slug="vaxjo-p")
    opt_in(app, scene.owner)
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [vaxjo])
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
    browser = new_browser()
    log_in(browser, partner)
    data = (
        {
            "housing_type": "Lägenhet",
            "move_in_on": (date.today() + timedelta(days=20)).isoformat(),
            "contact": "Eva, socialtjänsten",
        }
        if answer == "accept"
        else {"reason": "Fullt hos oss."}
    )
    response = browser.post(
        f"/partner/requests/{request_id}/{answer}",
        data,
        form_page=f"/partner/requests/{request_id}",
    )
    assert response.status_code == 302
    assert told(app, scene.owner) == [(AlertKind.PARTNER_ANSWER, uuid_of(placement_id))]
    for name in ("lead", "quiet_lead", "colleague", "outsider"):
        assert told(app, team[name]) == [], name
    assert len(notices_to(app, scene.owner)) == 1
    content_free(app, "Växjö", "Lägenhet", "Fullt", "Eva")


def uuid_of(raw):
    import uuid

    return uuid.UUID(str(raw))


# Someone breaks the glass on my case ------------------------------------------------------


def test_breaking_the_glass_tells_the_assigned_caseworker_not_the_one_who_did_it(
    app, team, scene, new_browser, log_in
):
    opt_in(app, scene.owner)
    colleague = new_browser()
    log_in(colleague, team["colleague"])
    response = colleague.post(
        f"/team/cases/{scene.case_id}/break-glass", {"reason": "Klienten ringde akut, Omar"}
    )
    assert response.status_code == 302
    assert told(app, scene.owner) == [(AlertKind.CASE_ACCESSED, scene.case_id)]
    assert told(app, team["colleague"]) == []
    assert told(app, team["lead"]) == told(app, team["outsider"]) == []
    assert len(notices_to(app, scene.owner)) == 1
    assert notices_to(app, team["colleague"]) == []
    content_free(app, "Omar", "akut", "glass", reference_of(app, scene.request_id))


# Time passing: the daily job --------------------------------------------------------------


def overdue_action(app, scene, owner_user=None):
    """An open action of the police on the case, due tomorrow."""
    with app.app_context():
        police = db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == "polisen"))
    give_consent(app, scene, police)
    assert convene(scene, [police]).status_code == 302
    with app.app_context():
        consultation = db.session.scalars(sa.select(Consultation)).one()
        action = Action(
            consultation_id=consultation.id,
            case_id=scene.case_id,
            owner_organisation_id=police,
            owner_user_id=owner_user.id if owner_user else None,
            description="Kontakta Omar om hotet",
            due_on=date.today() + timedelta(days=1),
            status=ActionStatus.OPEN,
        )
        db.session.add(action)
        db.session.commit()
        return action.id


def test_the_reminder_job_tells_of_late_requests_and_overdue_actions_once(
    app, clock, team, scene, fill_request, make_account, new_browser, organisation
):
    rep = make_account(Role.AGENCY_REP, org_slug="polisen")
    opt_in(app, rep)
    opt_in(app, scene.owner)
    action_id = overdue_action(app, scene, owner_user=rep)
    # Another person's request, still waiting in triage (one person has one open at a time).
    fill_request(register_client(new_browser()))
    with app.app_context():
        waiting = db.session.scalar(
            sa.select(ClientRequest.id).where(ClientRequest.case_id.is_(None))
        )
    runner = app.test_cli_runner()
    # Before anything is late, nothing to tell.
    assert "made 0 alerts" in runner.invoke(args=["alerts", "remind"]).output
    clock.shift(timedelta(days=30))
    before = len(mails(app))
    first = runner.invoke(args=["alerts", "remind"])
    assert first.exit_code == 0 and "made" in first.output, first.output
    # The late request goes to the team's leads (nobody has it); the action to the case's
    # caseworker and to the agency's named owner.
    assert told(app, team["lead"]) == [(AlertKind.REQUEST_LATE, waiting)]
    assert told(app, team["quiet_lead"]) == [(AlertKind.REQUEST_LATE, waiting)]
    assert told(app, scene.owner) == [(AlertKind.ACTION_OVERDUE, action_id)]
    assert told(app, rep) == [(AlertKind.ACTION_OVERDUE, action_id)]
    assert told(app, team["colleague"]) == told(app, team["outsider"]) == []
    sent = mails(app)[before:]
    # One notice per person who chose it, however many alerts they got.
    assert sorted(m[0] for m in sent) == sorted(
        f"{a.username}@example.org" for a in (team["lead"], scene.owner, rep)
    )
    content_free(app, "Kontakta", "Omar", reference_of(app, waiting))

    # The same day again: the day is taken, nothing is sent twice.
    again = runner.invoke(args=["alerts", "remind"])
    assert "nothing sent: it has already run today" in again.output
    # The next day: the same late things are not told again.
    clock.shift(timedelta(days=1))
    later = runner.invoke(args=["alerts", "remind"])
    assert "made 0 alerts for 0 people" in later.output, later.output
    assert len(mails(app)) == before + 3
    assert len(told(app, team["lead"])) == 1


# Reading and marking alerts -------------------------------------------------------------


def test_alerts_are_listed_for_their_reader_and_marked_read_with_a_form(
    app, team, scene, client_browser, new_browser, log_in
):
    write(client_browser, scene.request_id)
    page = scene.owner_browser.get("/alerts/?unread=1").get_data(as_text=True)
    assert "New message from a client" in page
    assert f"/inbox/{scene.request_id}" in page
    assert MESSAGE not in page and reference_of(app, scene.request_id) not in page
    with app.app_context():
        alert_id = db.session.scalars(sa.select(Alert.id)).one()
    # Without its token the form changes nothing.
    assert (
        scene.owner_browser.client.post("/alerts/read", data={"alert": str(alert_id)}).status_code
        == 400
    )
    # Someone else's alert is not there for them.
    stranger = new_browser()
    log_in(stranger, team["colleague"])
    assert (
        stranger.post("/alerts/read", {"alert": str(alert_id)}, form_page="/alerts/").status_code
        == 404
    )
    with app.app_context():
        assert db.session.get(Alert, alert_id).read_at is None
    done = scene.owner_browser.post("/alerts/read", {"alert": str(alert_id)}, form_page="/alerts/")
    assert done.status_code == 302
    with app.app_context():
        first_read = db.session.get(Alert, alert_id).read_at
        assert first_read is not None
    # A second click (another tab) is no error and keeps the first time.
    again = scene.owner_browser.post("/alerts/read", {"alert": str(alert_id)}, form_page="/alerts/")
    assert again.status_code == 302
    with app.app_context():
        assert db.session.get(Alert, alert_id).read_at == first_read
    assert "New message from a client" not in scene.owner_browser.get("/alerts/?unread=1").get_data(
        as_text=True
    )


def test_an_alert_about_a_case_goes_quiet_when_its_reader_leaves_the_case(
    app, team, scene, client_browser
):
    write(client_browser, scene.request_id)
    assert "New message from a client" in scene.owner_browser.get("/alerts/").get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        case.assignments = []
        db.session.commit()
    assert "New message from a client" not in scene.owner_browser.get("/alerts/").get_data(
        as_text=True
    )


def test_clients_have_no_alert_pages(app, client_browser):
    assert client_browser.get("/alerts/").status_code == 403
