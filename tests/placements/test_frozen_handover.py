"""A hand-over is a frozen, recorded snapshot that ends when the placement consent ends."""
# ruff: noqa: F811  (fixtures shared with the feature's main test module are imported)

from datetime import date

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.cases.models import Case
from app.consent.models import Consent, ConsentMethod, DisclosedField, Disclosure, Purpose
from app.consent.services import record_consent, withdraw_consent
from app.extensions import db
from app.orgs.models import Organisation
from app.placements.models import PlacementRequest
from tests.placements.test_placements import (  # noqa: F401  (fixtures)
    NAME,
    NUMBER,
    identify,
    new_placement,
    partner_browser,
    partners,
    send,
)

NEW_NAME = "Bertil Nyname"
NEW_NUMBER = "19900101-1239"
NEW_PHONE = "0709999999"


@pytest.fixture
def handed_over(app, scene, partners, partner_browser):
    """Given a confirmed placement with Växjö, on consent, with the identity handed over."""
    identify(scene)
    placement_id = new_placement(scene)
    send(scene.owner_browser, placement_id, [partners["vaxjo"]])
    with app.app_context():
        request_id = db.session.scalars(sa.select(PlacementRequest.id)).one()
        record_consent(
            db.session.get(Case, scene.case_id),
            db.session.get(User, scene.owner.id),
            agencies=[db.session.get(Organisation, partners["vaxjo"])],
            purposes={Purpose.PLACEMENT},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        db.session.commit()
    vaxjo = partner_browser("vaxjo")
    vaxjo.post(
        f"/partner/requests/{request_id}/accept",
        {"housing_type": "Lägenhet", "move_in_on": date.today().isoformat(), "contact": "Eva"},
        form_page=f"/partner/requests/{request_id}",
    )
    for step in ("confirm", "hand-over"):
        response = scene.owner_browser.post(
            f"/team/placements/{placement_id}/requests/{request_id}/{step}",
            {},
            form_page=f"/team/placements/{placement_id}",
        )
        assert response.status_code == 302
    return placement_id, request_id, vaxjo


def change_identity(scene):
    scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/identity",
        {
            "full_name": NEW_NAME,
            "personal_number": NEW_NUMBER,
            "municipality": "1281",  # Lund
            "phone": NEW_PHONE,
            "adults": "1",
        },
        form_page=f"/team/cases/{scene.case_id}",
    )


def withdraw(app, scene):
    with app.app_context():
        case = db.session.get(Case, scene.case_id)
        for consent in db.session.scalars(sa.select(Consent)):
            withdraw_consent(consent, case)
        db.session.commit()


def test_a_later_change_of_identity_does_not_reach_the_partner(app, scene, handed_over):
    """Given a hand-over, when the team corrects the name, number and phone, then the
    partner still reads what was handed over, until the team hands over again."""
    placement_id, request_id, vaxjo = handed_over
    change_identity(scene)
    with app.app_context():
        assert db.session.get(Case, scene.case_id).full_name == NEW_NAME  # the change is saved

    page = vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    assert NAME in page and NUMBER in page and "0701234567" in page
    for new in (NEW_NAME, NEW_NUMBER, NEW_PHONE):
        assert new not in page

    # Handing over again is the one way a change reaches the partner: a new disclosure.
    scene.owner_browser.post(
        f"/team/placements/{placement_id}/requests/{request_id}/hand-over",
        {},
        form_page=f"/team/placements/{placement_id}",
    )
    page = vaxjo.get(f"/partner/requests/{request_id}").get_data(as_text=True)
    assert NEW_NAME in page and NEW_NUMBER in page and NEW_PHONE in page
    assert NAME not in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Disclosure.id))) == 2
        viewed = db.session.scalars(
            sa.select(AuditEvent.subject_id).where(AuditEvent.action == "disclosure.viewed")
        ).all()
    # Every reading of a snapshot is audited, under the case, for the team lead's log.
    assert viewed == [str(scene.case_id)] * 2


def test_the_disclosure_record_lists_each_field_with_its_value_encrypted(
    app, scene, handed_over, partners
):
    placement_id, _request_id, _vaxjo = handed_over
    with app.app_context():
        disclosure = db.session.scalars(sa.select(Disclosure)).one()
        assert disclosure.purpose == "placement"
        assert disclosure.recipient_id == partners["vaxjo"]
        assert disclosure.consent_id is not None
        assert disclosure.disclosed_by_id == scene.owner.id
        assert [(f.name, f.value) for f in disclosure.fields] == [
            ("full_name", NAME),
            ("personal_number", NUMBER),
            ("phone", "0701234567"),
        ]
        raw = db.session.execute(sa.select(sa.type_coerce(DisclosedField.value, sa.Text))).scalars()
        assert all(NAME not in value and NUMBER not in value for value in raw)
    page = scene.owner_browser.get(f"/team/placements/{placement_id}").get_data(as_text=True)
    for label in ("Name", "Personal identity number", "Phone", "Växjö kommun"):
        assert label in page
    assert scene.owner.username in page  # who decided


def test_withdrawing_the_placement_consent_ends_the_partners_access_at_once(
    app, scene, handed_over
):
    """Given a hand-over, when the client withdraws the placement consent, then the partner
    gets 404 on the hand-over and cannot write a report onto the case."""
    _placement_id, request_id, vaxjo = handed_over
    assert vaxjo.get(f"/partner/requests/{request_id}").status_code == 200
    withdraw(app, scene)

    assert vaxjo.get(f"/partner/requests/{request_id}").status_code == 404
    assert str(request_id) not in vaxjo.get("/partner/").get_data(as_text=True)
    response = vaxjo.post(
        f"/partner/requests/{request_id}/follow-up",
        {"stage": "moved_in", "report": "Flyttat in på Storgatan 1."},
        form_page="/partner/",
    )
    assert response.status_code == 404
    with app.app_context():
        request = db.session.get(PlacementRequest, request_id)
        assert request.report is None and request.follow_up.value == "planned"
        denied = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "access.denied")
        )
    assert denied >= 2
    # Nor can the team hand over again without a consent that holds.
    with app.app_context():
        before = db.session.scalar(sa.select(sa.func.count(Disclosure.id)))
    scene.owner_browser.post(
        f"/team/placements/{_placement_id}/requests/{request_id}/hand-over",
        {},
        form_page=f"/team/placements/{_placement_id}",
    )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(Disclosure.id))) == before


def test_only_those_who_may_see_the_identity_hand_it_over(
    app, handed_over, scene, make_account, new_browser, log_in
):
    """Given a protected case, the team lead (who may open the placement, not the identity)
    cannot hand the identity over again, nor confirm or send: 403 and nothing disclosed;
    the assigned caseworker can."""
    from tests.cases.test_case_work import protect

    placement_id, request_id, _vaxjo = handed_over
    protect(scene)
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    page = f"/team/placements/{placement_id}"

    def disclosures():
        with app.app_context():
            return db.session.scalar(sa.select(sa.func.count()).select_from(Disclosure))

    before = disclosures()
    for step in ("hand-over", "confirm"):
        refused = lead.post(f"{page}/requests/{request_id}/{step}", {}, form_page=page)
        assert refused.status_code == 403, step
    assert lead.post(f"{page}/send", {"partners": []}, form_page=page).status_code == 403
    assert disclosures() == before
    again = scene.owner_browser.post(f"{page}/requests/{request_id}/hand-over", {}, form_page=page)
    assert again.status_code == 302
    assert disclosures() == before + 1
