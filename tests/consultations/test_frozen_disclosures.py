"""What an agency sees of a case is a frozen snapshot, and it ends with the consent."""
# ruff: noqa: F811  (fixtures shared with the feature's main test module are imported)

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import User
from app.cases.models import Case
from app.consent.models import Consent, ConsentMethod, Disclosure, Purpose
from app.consent.services import record_consent, withdraw_consent
from app.consultations.models import Action, ActionStatus, Consultation, Invitation
from app.consultations.models import Response as Answer
from app.extensions import db
from app.orgs.models import Organisation
from tests.consultations.test_consultations import (  # noqa: F401  (fixtures)
    NAME,
    agencies,
    convene,
    give_consent,
    representative,
)

ACTION_TEXT = "Kontakta Adam Testsson på Storgatan 1 om boendet."


def needs(scene, text):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/needs",
        {"housing": text},
        form_page=f"/team/cases/{scene.case_id}",
    )


@pytest.fixture
def convened(app, scene, agencies, representative):
    """Given a consultation with the police on the client's consent, and an action for them."""
    account, browser = representative
    give_consent(app, scene, agencies["polisen"])
    needs(scene, "Behöver skyddat boende.")
    assert convene(scene, [agencies["polisen"]], [account.id]).status_code == 302
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/actions",
        {
            "owner": f"user:{account.id}",
            "description": ACTION_TEXT,
            "due_on": (date.today() + timedelta(days=30)).isoformat(),
        },
        form_page=f"/team/consultations/{consultation_id}",
    )
    with app.app_context():
        action_id = db.session.scalars(sa.select(Action.id)).one()
    return consultation_id, action_id, browser, account


def test_a_later_change_does_not_reach_the_agency_until_the_team_shares_again(app, scene, convened):
    consultation_id, _action_id, browser, _account = convened
    needs(scene, "Har fått ett nytt boende.")
    page = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert "Behöver skyddat boende." in page
    assert "Har fått ett nytt boende." not in page

    scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/disclose",
        {},
        form_page=f"/team/consultations/{consultation_id}",
    )
    page = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert "Har fått ett nytt boende." in page
    assert "Behöver skyddat boende." not in page
    with app.app_context():
        disclosures = db.session.scalars(sa.select(Disclosure).order_by(Disclosure.created_at))
        assert [d.field_names for d in disclosures] == [
            ["threat_level", "need:housing"],
            ["threat_level", "need:housing"],
        ]
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "disclosure.viewed")
            )
            == 2
        )
    team_page = scene.owner_browser.get(f"/team/consultations/{consultation_id}")
    assert "Housing" in team_page.get_data(as_text=True)  # the record, field by field


def end_consent(app, scene, how, clock):
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        if how == "withdrawn":
            for consent in db.session.scalars(sa.select(Consent)):
                withdraw_consent(consent, case)
        else:
            consent = db.session.scalars(sa.select(Consent)).one()
            consent.valid_until = date.today() + timedelta(days=1)
        db.session.commit()
    if how == "expired":
        clock.shift(timedelta(days=3))


@pytest.mark.parametrize("how", ["withdrawn", "expired"])
def test_when_consent_ends_the_agency_loses_the_case_and_its_actions_at_once(
    app, clock, scene, convened, how
):
    """Given an agency with an open action whose text names the client, when the consent
    is withdrawn or runs out, then its representative sees neither the consultation nor the
    action, and cannot update the action or answer the invitation: nothing is saved."""
    consultation_id, action_id, browser, account = convened
    overview = browser.get("/agency/").get_data(as_text=True)
    assert ACTION_TEXT in overview
    end_consent(app, scene, how, clock)
    if how == "expired":
        from tests.conftest import code_for

        # The session has aged with the clock: sign in again as the same representative.
        browser.post("/login", {"username": account.username, "password": account.password})
        browser.post("/login/code", {"code": code_for(app, account)})

    overview = browser.get("/agency/")
    assert overview.status_code == 200
    html = overview.get_data(as_text=True)
    assert ACTION_TEXT not in html and str(action_id) not in html
    assert str(consultation_id) not in html
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 404
    response = browser.post(
        f"/agency/actions/{action_id}",
        {"status": "done", "outcome": "Klart, bor nu på Storgatan 1."},
        form_page="/agency/",
    )
    assert response.status_code == 404
    answer = browser.post(
        f"/agency/consultations/{consultation_id}",
        {"response": "declined"},
        form_page="/agency/",
    )
    assert answer.status_code == 404
    with app.app_context():
        action = db.session.get(Action, action_id)
        assert action.status is ActionStatus.OPEN and action.outcome is None
        invitation = db.session.scalars(
            sa.select(Invitation).where(Invitation.user_id.is_not(None))
        ).all()
        assert all(i.response in (Answer.PENDING, Answer.ACCEPTED) for i in invitation)
        assert (
            db.session.scalar(
                sa.select(sa.func.count()).where(AuditEvent.action == "access.denied")
            )
            >= 3
        )


def test_identity_reaches_an_agency_only_as_a_disclosure_on_information_exchange(
    app,
    scene,
    agencies,
    representative,
):
    account, browser = representative
    with app.app_context():
        record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[db.session.get(Organisation, agencies["polisen"])],
            purposes={Purpose.CONSULTATION, Purpose.INFORMATION_EXCHANGE},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        db.session.commit()
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {"full_name": NAME, "adults": "1"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    convene(scene, [agencies["polisen"]], [account.id])
    with app.app_context():
        consultation_id = db.session.scalars(sa.select(Consultation.id)).one()
        rows = {d.purpose: d.field_names for d in db.session.scalars(sa.select(Disclosure))}
    assert rows == {"consultation": ["threat_level"], "information_exchange": ["full_name"]}
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {"full_name": "Bertil Nyname", "adults": "1"},
        form_page=f"/team/cases/{scene.case_id}",
    )
    page = browser.get(f"/agency/consultations/{consultation_id}").get_data(as_text=True)
    assert NAME in page and "Bertil Nyname" not in page


def test_sharing_again_without_a_consent_that_holds_shares_nothing(app, scene, convened):
    consultation_id, _action_id, browser, _account = convened
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        for consent in db.session.scalars(sa.select(Consent)):
            withdraw_consent(consent, case)
        db.session.commit()
        before = db.session.scalar(sa.select(sa.func.count(Disclosure.id)))
    response = scene.owner_browser.post(
        f"/team/consultations/{consultation_id}/disclose",
        {},
        form_page=f"/team/consultations/{consultation_id}",
    )
    assert response.status_code == 302
    page = scene.owner_browser.get(response.headers["Location"]).get_data(as_text=True)
    assert "nothing was shared" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Disclosure.id))) == before
    assert browser.get(f"/agency/consultations/{consultation_id}").status_code == 404
