"""A representative reads the minutes and decisions of the meetings their agency was invited
to, within the client's consent, and nowhere else; each action says its consultation."""
# ruff: noqa: F811  (fixtures shared with the feature's main test module are imported)

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.alerts.models import Alert, AlertKind
from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case
from app.consent.models import Consent
from app.consent.services import withdraw_consent
from app.consultations.models import Action, Consultation, MinutesShare
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage
from app.extensions import db
from tests.consultations.test_consultations import (  # noqa: F401  (fixtures)
    agencies,
    convene,
    give_consent,
    representative,
)

MINUTES = "Polisen berättade om hotbilden kring Storgatan."
DECISION = "Polisen gör en ny hotbildsbedömning före flytten."
ACTION = "Ny hotbildsbedömning."
NEEDS = "Behöver skyddat boende."


def begun(app, consultation_id):
    """The meeting began an hour ago: minutes can be written."""
    with app.app_context():
        db.session.get(Consultation, consultation_id).starts_at = utcnow() - timedelta(hours=1)
        db.session.commit()


def write_minutes(scene, consultation_id, minutes=MINUTES, decisions=DECISION):
    url = f"/team/consultations/{consultation_id}"
    return scene.owner_browser.post(
        f"{url}/minutes", {"minutes": minutes, "decisions": decisions}, form_page=url
    )


def reads(app, action):
    with app.app_context():
        return db.session.scalar(sa.select(sa.func.count()).where(AuditEvent.action == action))


@pytest.fixture
def held(app, scene, agencies, representative):
    """Given a meeting with the police on the client's consent, held, with minutes written
    and an action given to the police's representative."""
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/needs",
        {"housing": NEEDS},
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert convene(scene, [agencies["polisen"]], [account.id]).status_code == 302
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    begun(app, consultation_id)
    assert write_minutes(scene, consultation_id).status_code == 302
    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/actions",
        {
            "owner": f"user:{account.id}",
            "description": ACTION,
            "due_on": (date.today() + timedelta(days=30)).isoformat(),
        },
        form_page=f"/team/consultations/{consultation_id}",
    )
    return consultation_id, account, browser


def test_the_invited_representative_reads_the_minutes_and_decisions_and_it_is_recorded(app, held):
    consultation_id, account, browser = held
    before = reads(app, "disclosure.viewed")
    html = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert MINUTES in html and DECISION in html
    assert NEEDS in html  # the case's snapshot is still the needs, not the minutes
    assert ACTION in html  # the action this meeting gave the agency
    # Both snapshots read (the needs and the minutes), each recorded.
    assert reads(app, "disclosure.viewed") == before + 2
    with app.app_context():
        kinds = set(db.session.scalars(sa.select(Alert.kind).where(Alert.user_id == account.id)))
    assert {AlertKind.MINUTES_SHARED, AlertKind.ACTION_ASSIGNED} <= kinds


def test_the_agency_reads_the_minutes_as_saved_and_a_correction_as_a_new_snapshot(app, scene, held):
    consultation_id, _account, browser = held
    write_minutes(scene, consultation_id, minutes="Rättat: mötet flyttades.", decisions="")
    html = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert "Rättat: mötet flyttades." in html and MINUTES not in html and DECISION not in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MinutesShare.id))) == 2


def test_another_agencys_representative_sees_none_of_it(
    app, scene, agencies, held, make_account, new_browser, log_in
):
    """Given the police's minutes, a representative of the Enforcement Authority (whose
    agency the client has consented to as well, but which was not invited) and a police
    colleague who was not invited find nothing: not the page, not the list, not an alert."""
    consultation_id, _account, _browser = held
    give_consent(app, scene, agencies["kronofogden"])
    for slug in ("kronofogden", "polisen"):
        stranger = new_browser()
        log_in(stranger, make_account(Role.AGENCY_REP, org_slug=slug))
        assert stranger.get(f"/agency/consultations/{consultation_id}").status_code == 404
        for page in ("/agency/", "/alerts/", "/start/"):
            html = stranger.get(page).get_data(as_text=True)
            assert MINUTES not in html and DECISION not in html, (slug, page)
        if slug == "kronofogden":
            assert ACTION not in stranger.get("/agency/").get_data(as_text=True)


def test_minutes_of_a_meeting_the_agency_was_not_invited_to_stay_with_the_others(
    app, scene, agencies, held
):
    """Given a second meeting of the same case with the Enforcement Authority only, the
    police reads its own meeting's minutes and nothing of the other's."""
    consultation_id, _account, browser = held
    give_consent(app, scene, agencies["kronofogden"])
    assert convene(scene, [agencies["kronofogden"]]).status_code == 302
    with app.app_context():
        other = db.session.scalar(
            sa.select(Consultation.id).where(Consultation.id != consultation_id)
        )
    begun(app, other)
    write_minutes(scene, other, minutes="Kronofogden om skulderna.", decisions="Avbetalningsplan.")
    assert browser.get(f"/agency/consultations/{other}").status_code == 404
    html = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert MINUTES in html
    assert "Kronofogden om skulderna." not in html and "Avbetalningsplan." not in html
    with app.app_context():
        shares = db.session.scalars(
            sa.select(MinutesShare).where(MinutesShare.consultation_id == other)
        ).all()
        assert [s.disclosure.recipient_id for s in shares] == [agencies["kronofogden"]]


def test_once_consent_is_withdrawn_the_representative_sees_none_of_it(app, scene, held):
    """Given the police's minutes read once, when the client withdraws the consent, the
    representative finds neither the meeting, its minutes and decisions, nor the action;
    and the service itself gives nothing even if asked directly."""
    from app.consultations.services import minutes_for_representative

    consultation_id, account, browser = held
    assert MINUTES in browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        for consent in db.session.scalars(sa.select(Consent)):
            withdraw_consent(consent, case)
        db.session.commit()
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 404
    for page in ("/agency/", "/agency/?show=due", "/alerts/", "/start/"):
        html = browser.get(page).get_data(as_text=True)
        for secret in (MINUTES, DECISION, ACTION):
            assert secret not in html, (page, secret)
    with app.app_context():
        consultation = db.session.get(Consultation, consultation_id)
        rep = db.session.get(User, account.id)
        assert minutes_for_representative(consultation, rep) is None
        db.session.commit()
    assert reads(app, "disclosure.read_refused") >= 1


def test_a_protected_cases_minutes_go_to_no_agency(app, scene, agencies, representative):
    from tests.cases.test_case_work import protect

    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    protect(scene)
    begun(app, consultation_id)
    assert write_minutes(scene, consultation_id).status_code == 302
    html = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert MINUTES not in html and DECISION not in html
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(MinutesShare.id))) == 0


def test_minutes_leave_in_no_mail(app, scene, held):
    """The notices and invitations the meeting caused carry none of its words."""
    with app.app_context():
        mails = db.session.scalars(sa.select(OutboxMessage)).all()
    for mail in mails:
        for part in (mail.subject, mail.body, mail.calendar or ""):
            assert MINUTES not in part and DECISION not in part and ACTION not in part


def test_each_action_says_which_consultation_it_came_from(app, scene, held):
    """On the representative's list of actions and on the case's, an action links to the
    consultation that gave it."""
    consultation_id, _account, browser = held
    overview = browser.get("/agency/").get_data(as_text=True)
    item = overview.split(ACTION)[1].split("</form>")[0]
    assert f'href="/agency/consultations/{consultation_id}"' in item
    case_page = scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    row = case_page.split(ACTION)[1].split("</tr>")[0]
    assert f'href="/team/consultations/{consultation_id}"' in row
    with app.app_context():
        assert db.session.scalars(sa.select(Action.consultation_id)).one() == consultation_id


def test_the_team_sees_the_minutes_disclosure_in_its_record_by_field_names(app, scene, held):
    """The team's record says the minutes and each decision went to the police, in words,
    on which consent; the record holds the field names, never the words disclosed."""
    consultation_id, _account, _browser = held
    page = scene.owner_browser.get(f"/team/consultations/{consultation_id}")
    record = page.get_data(as_text=True).split("<h2>Disclosed</h2>")[1].split("</table>")[0]
    assert "<li>Minutes</li>" in record and "<li>Decision 1</li>" in record
    assert "decision:" not in record and MINUTES not in record


def test_the_representative_is_alerted_to_the_action_and_the_minutes_from_the_day_given(app, held):
    """As a partner sees a request waiting the day it is sent, the representative's alerts
    list the action and the shared minutes at once, each leading to its page, in words
    that name no case."""
    consultation_id, _account, browser = held
    with app.app_context():
        action_id = db.session.scalars(sa.select(Action.id)).one()
        reference = db.session.get(Case, db.session.get(Consultation, consultation_id).case_id)
        reference = reference.reference
    html = browser.get("/alerts/").get_data(as_text=True)
    assert f'href="/agency/consultations/{consultation_id}"' in html
    assert f'href="/agency/#action-{action_id}"' in html
    for secret in (reference, MINUTES, DECISION, ACTION):
        assert secret not in html
    overview = browser.get("/agency/").get_data(as_text=True)
    assert f'id="action-{action_id}"' in overview


def test_a_moved_meeting_waits_for_the_representatives_answer_again_and_says_so(
    app, scene, agencies, representative
):
    """Moving a meeting asks the invited representative to answer again: the portal tells
    them as it told them of the invitation (the calendar mail goes as before)."""
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    url = f"/team/consultations/{consultation_id}"
    moved = scene.owner_browser.post(
        f"{url}/reschedule",
        {
            "starts_on": (date.today() + timedelta(days=5)).isoformat(),
            "starts_time": "13:00",
            "duration": "60",
            "place": "Rum 4",
        },
        form_page=url,
    )
    assert moved.status_code == 302
    with app.app_context():
        told = db.session.scalar(
            sa.select(sa.func.count()).where(
                Alert.user_id == account.id, Alert.kind == AlertKind.CONSULTATION_INVITATION
            )
        )
    assert told == 2
    assert "/agency/?show=waiting" in browser.get("/start/").get_data(as_text=True)
