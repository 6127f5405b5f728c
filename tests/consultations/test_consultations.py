"""Consultations: consent decides who may be invited and what they see."""

import uuid
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from icalendar import Calendar

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case
from app.consent.models import ConsentMethod, Disclosure, Purpose
from app.consent.services import record_consent
from app.consultations.models import Action, Consultation
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.orgs.models import Organisation

NAME = "Adam Testsson"


@pytest.fixture
def agencies(app, other_orgs):
    from app.orgs.models import OrgKind
    from app.orgs.services import create_organisation

    with app.app_context():
        create_organisation("kronofogden", "Kronofogden", OrgKind.AGENCY)
        db.session.commit()
        return {
            slug: db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == slug))
            for slug in ("polisen", "kronofogden")
        }


def give_consent(app, scene, agency_id, purposes=(Purpose.CONSULTATION,)):
    with app.app_context():
        record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[db.session.get(Organisation, agency_id)],
            purposes=set(purposes),
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        db.session.commit()


@pytest.fixture
def representative(app, agencies, make_account, new_browser, log_in):
    account = make_account(Role.AGENCY_REP, org_slug="polisen")
    with app.app_context():
        db.session.get(User, account.id).notify_email = "polis@example.org"
        db.session.commit()
    browser = new_browser()
    log_in(browser, account)
    return account, browser


def convene(scene, agency_ids, rep_ids=(), when=None):
    when = when or date.today() + timedelta(days=3)
    return scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consultations/new",
        {
            "agencies": [str(a) for a in agency_ids],
            "representatives": [str(r) for r in rep_ids],
            "starts_on": when.isoformat(),
            "starts_time": "10:00",
            "duration": "90",
            "place": "Polishuset, rum 3",
        },
        form_page=f"/team/cases/{scene.case_id}/consultations/new",
    )


def test_only_agencies_with_consent_can_be_chosen(app, scene, agencies):
    give_consent(app, scene, agencies["polisen"])
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}/consultations/new").get_data(
        as_text=True
    )
    assert f'value="{agencies["polisen"]}"' in page
    assert f'value="{agencies["kronofogden"]}"' not in page
    assert "Kronofogden" in page  # named among those that cannot be invited, with the reason


def test_a_crafted_post_naming_an_agency_without_consent_is_refused_and_audited(
    app, scene, agencies
):
    give_consent(app, scene, agencies["polisen"])
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consultations/new",
        {
            "agencies": [str(agencies["polisen"]), str(agencies["kronofogden"])],
            "starts_on": (date.today() + timedelta(days=3)).isoformat(),
            "starts_time": "10:00",
            "duration": "90",
            "place": "Rum 3",
        },
        form_page=f"/team/cases/{scene.case_id}/consultations/new",
    )
    assert response.status_code == 400  # not among the choices: the form refuses it
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0


def test_the_service_refuses_an_agency_without_consent_even_if_the_form_is_bypassed(
    app, scene, agencies
):
    from app.consent.services import NotCovered
    from app.consultations.services import Plan
    from app.consultations.services import convene as convene_service
    from app.core.clock import utcnow

    give_consent(app, scene, agencies["polisen"])
    with app.app_context():
        with pytest.raises(NotCovered):
            convene_service(
                db.session.get(Case, scene.case_id),
                db.session.get(User, scene.owner.id),
                Plan(utcnow() + timedelta(days=2), 60, "Rum 3", None),
                [agencies["polisen"], agencies["kronofogden"]],
                [],
            )
        db.session.commit()
        assert db.session.scalar(sa.select(sa.func.count(Consultation.id))) == 0
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "consultation.refused_agency")
            )
            == 1
        )


def test_the_invitation_parses_back_with_uid_sequence_method_and_time_zone(
    app, scene, agencies, representative
):
    account, _browser = representative
    give_consent(app, scene, agencies["polisen"])
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {"full_name": NAME, "municipality": "1280", "adults": "1"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert convene(scene, [agencies["polisen"]], [account.id]).status_code == 302
    with app.app_context():
        consultation = db.session.scalars(sa.select(Consultation)).one()
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        reference = db.session.get(Case, scene.case_id).reference
    assert mail.calendar_method == "REQUEST"
    calendar = Calendar.from_ical(mail.calendar)
    assert str(calendar["METHOD"]) == "REQUEST"
    event = calendar.walk("VEVENT")[0]
    assert str(event["UID"]) == consultation.ical_uid
    assert int(event["SEQUENCE"]) == 0
    assert str(event["DTSTART"].dt.tzinfo) == "Europe/Stockholm"
    assert event["DTSTART"].dt.hour == 10
    assert calendar.walk("VTIMEZONE")
    assert reference not in str(event["SUMMARY"]) and reference not in mail.subject
    for secret in (NAME, "Malmö", "Testsson"):
        assert secret not in mail.calendar and secret not in mail.body

    # Moving it keeps the UID and raises SEQUENCE; cancelling sends METHOD:CANCEL.
    scene.owner_browser.post(
        f"/team/consultations/{consultation.id}/reschedule",
        {
            "starts_on": (date.today() + timedelta(days=4)).isoformat(),
            "starts_time": "13:30",
            "duration": "60",
            "place": "Rum 4",
        },
        form_page=f"/team/consultations/{consultation.id}",
    )
    scene.owner_browser.post(
        f"/team/consultations/{consultation.id}/cancel",
        {},
        form_page=f"/team/consultations/{consultation.id}",
    )
    with app.app_context():
        mails = db.session.scalars(
            sa.select(OutboxMessage).order_by(OutboxMessage.created_at)
        ).all()
    moved, cancelled = Calendar.from_ical(mails[1].calendar), Calendar.from_ical(mails[2].calendar)
    assert str(moved.walk("VEVENT")[0]["UID"]) == consultation.ical_uid
    assert int(moved.walk("VEVENT")[0]["SEQUENCE"]) == 1
    assert str(cancelled["METHOD"]) == "CANCEL"
    assert int(cancelled.walk("VEVENT")[0]["SEQUENCE"]) == 2


def test_a_representative_sees_what_consent_covers_and_it_is_recorded(
    app, scene, agencies, representative
):
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {"full_name": NAME, "adults": "1"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/needs",
        {"housing": "Behöver skyddat boende."},
        form_page=f"/team/cases/{scene.case_id}",
    )
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    page = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert "Behöver skyddat boende." in page
    assert NAME not in page  # consultation only: identity is not shared
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Disclosure.id))) == 1
    give_consent(
        app, scene, agencies["polisen"], (Purpose.CONSULTATION, Purpose.INFORMATION_EXCHANGE)
    )
    # A wider consent changes nothing by itself: the agency reads what it was given...
    assert NAME not in browser.get(f"/agency/consultations/{consultation_id}").get_data(
        as_text=True
    )
    # ...until the team shares again, which is a new, recorded disclosure.
    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/disclose",
        {},
        form_page=f"/team/consultations/{consultation_id}",
    )
    assert NAME in browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    with app.app_context():
        purposes = sorted(db.session.scalars(sa.select(Disclosure.purpose)))
    assert purposes == ["consultation", "consultation", "information_exchange"]


def test_a_representative_of_another_agency_sees_nothing(
    app, scene, agencies, representative, make_account, new_browser, log_in
):
    account, _browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    stranger = new_browser()
    log_in(stranger, make_account(Role.AGENCY_REP, org_slug="kronofogden"))
    assert stranger.get(f"/agency/consultations/{consultation_id}").status_code == 404
    overview = stranger.get("/agency/").get_data(as_text=True)
    assert str(consultation_id) not in overview
    assert stranger.get(f"/team/consultations/{consultation_id}").status_code == 403


def test_access_ends_after_the_configured_days_but_open_actions_stay(
    app, clock, scene, agencies, representative
):
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id], when=date.today() + timedelta(days=1))
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/actions",
        {
            "owner": f"user:{account.id}",
            "description": "Kontrollera hotbilden.",
            "due_on": (date.today() + timedelta(days=30)).isoformat(),
        },
        form_page=f"/team/consultations/{consultation_id}",
    )
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 200
    days = app.config["CONSULTATION_ACCESS_DAYS"]
    clock.shift(timedelta(days=days + 3))
    from tests.conftest import code_for

    # A new login after the long pause: the session itself has expired by now.
    browser.post("/login", {"username": account.username, "password": account.password})
    browser.post("/login/code", {"code": code_for(app, account)})
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 404
    overview = browser.get("/agency/").get_data(as_text=True)
    assert "Kontrollera hotbilden." in overview
    with app.app_context():
        action_id = db.session.scalars(sa.select(Action.id)).one()
    done = browser.post(
        f"/agency/actions/{action_id}",
        {"status": "done", "outcome": "Klart."},
        form_page="/agency/",
    )
    assert done.status_code == 302
    with app.app_context():
        assert db.session.get(Action, action_id).status.value == "done"
    # Once done, the action is final for the agency: a further change is refused.
    again = browser.post(
        f"/agency/actions/{action_id}", {"status": "open", "outcome": ""}, form_page="/agency/"
    )
    assert again.status_code == 404


def test_a_new_representative_joins_by_the_emailed_link_and_enrols(
    app, scene, agencies, new_browser
):
    import re

    import pyotp

    give_consent(app, scene, agencies["polisen"])
    response = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/consultations/new",
        {
            "agencies": [str(agencies["polisen"])],
            "starts_on": (date.today() + timedelta(days=3)).isoformat(),
            "starts_time": "10:00",
            "duration": "60",
            "place": "Rum 3",
            "invite_agency": str(agencies["polisen"]),
            "invite_email": "ny.polis@example.org",
        },
        form_page=f"/team/cases/{scene.case_id}/consultations/new",
    )
    assert response.status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
        reference = db.session.get(Case, scene.case_id).reference
    assert mail.recipient == "ny.polis@example.org"
    assert reference not in mail.body and reference not in mail.subject
    link = re.search(r"https?://\S+/join/(\S+)", mail.body)
    assert link
    path = "/join/" + link.group(1)

    newcomer = new_browser()
    joined = newcomer.post(
        path,
        {
            "username": "ny-polis",
            "password": "tre-lugna-ord-i-natten",
            "confirm_password": "tre-lugna-ord-i-natten",
        },
    )
    assert joined.status_code == 302 and joined.headers["Location"].endswith("/login/enrol")
    html = newcomer.get("/login/enrol").get_data(as_text=True)
    key = (
        html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1]
        .split("<")[0]
        .replace(" ", "")
    )
    assert newcomer.post("/login/enrol", {"code": pyotp.TOTP(key).now()}).status_code == 200
    assert newcomer.get(f"/agency/consultations/{consultation_id}").status_code == 200
    # The link works once.
    assert new_browser().get(path).status_code == 404


def test_owners_of_actions_due_soon_get_a_content_free_reminder(
    app, scene, agencies, representative
):
    account, _browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/actions",
        {
            "owner": f"user:{account.id}",
            "description": "Hemligt: kontakta hotad familj.",
            "due_on": (date.today() + timedelta(days=1)).isoformat(),
        },
        form_page=f"/team/consultations/{consultation_id}",
    )
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
    result = app.test_cli_runner().invoke(args=["actions", "remind"])
    assert "queued 1 reminders" in result.output
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
    assert mail.recipient == "polis@example.org"
    assert "Hemligt" not in mail.body and "familj" not in mail.body


def test_an_agency_without_a_named_representative_is_invited_at_its_mailbox(app, scene, agencies):
    with app.app_context():
        db.session.get(Organisation, agencies["polisen"]).mailbox = "konsultation@polisen.example"
        db.session.commit()
    give_consent(app, scene, agencies["polisen"])
    assert convene(scene, [agencies["polisen"]]).status_code == 302
    with app.app_context():
        mail = db.session.scalars(sa.select(OutboxMessage)).one()
    assert mail.recipient == "konsultation@polisen.example"
    assert mail.calendar_method == "REQUEST"


def test_minutes_wait_for_the_meeting_and_keep_attendance_when_corrected(
    app, clock, scene, agencies, representative
):
    account, _browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id], when=date.today() + timedelta(days=1))
    with app.app_context():
        consultation = db.session.scalars(sa.select(Consultation)).one()
        rep_seat = next(str(i.id) for i in consultation.invitations if i.user_id == account.id)
    url = f"/team/consultations/{consultation.id}"
    early = scene.owner_browser.post(
        f"{url}/minutes", {"minutes": "Tidigt.", "attended": [rep_seat]}, form_page=url
    )
    assert early.status_code == 400
    clock.shift(timedelta(days=2))
    from tests.conftest import code_for

    scene.owner_browser.post(
        "/login", {"username": scene.owner.username, "password": scene.owner.password}
    )
    scene.owner_browser.post("/login/code", {"code": code_for(app, scene.owner)})
    saved = scene.owner_browser.post(
        f"{url}/minutes",
        {"minutes": "Mötet hölls.", "attended": [rep_seat], "decisions": "Ett\nTvå"},
        form_page=url,
    )
    assert saved.status_code == 302
    page = scene.owner_browser.get(url).get_data(as_text=True)
    assert (
        "checked"
        in page.split(f'value="{rep_seat}"')[0][-200:] + page.split(f'value="{rep_seat}"')[1][:50]
    )
    again = scene.owner_browser.post(
        f"{url}/minutes",
        {"minutes": "Mötet hölls (rättat).", "attended": [rep_seat], "decisions": "Ett\nTvå"},
        form_page=url,
    )
    assert again.status_code == 302
    from app.consultations.models import Decision, Invitation

    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Decision.id))) == 2
        assert db.session.get(Invitation, uuid.UUID(rep_seat)).attended is True


def test_a_colleague_of_the_invited_representative_is_not_invited_with_them(
    app, scene, agencies, representative, make_account, new_browser, log_in
):
    """Given a consultation to which one police representative is invited, another
    representative of the police, not invited, finds nothing there."""
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    colleague = new_browser()
    log_in(colleague, make_account(Role.AGENCY_REP, org_slug="polisen"))
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 200
    assert colleague.get(f"/agency/consultations/{consultation_id}").status_code == 404
