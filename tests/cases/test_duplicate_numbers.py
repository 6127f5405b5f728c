"""The duplicate check of personal identity numbers answers only what its user may know."""

import json

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role
from app.cases import services
from app.cases.models import Case, CaseAssignment, CaseSource, ProtectionLevel
from app.cases.protection import change_protection
from app.extensions import db
from app.orgs.models import Organisation
from tests.cases.test_case_work import NUMBER, save_identity


def other_case(app, *, slug, owner_id, protected=False):
    """A case with the same personal identity number, in the team `slug`."""
    with app.test_request_context():
        org = db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
        from app.auth.models import User

        owner = db.session.get(User, owner_id)
        case = services.create_case(org.id, CaseSource.POLICE, "Annan Person", owner)
        services.update_identity(
            case, services.IdentityChange(None, NUMBER, None, None, None, 1, []), owner
        )
        if protected:
            change_protection(case, ProtectionLevel.PROTECTED_REGISTRATION, owner)
        db.session.commit()
        return case.reference, case.id


def test_the_check_never_answers_across_organisations(app, scene, other_orgs, make_account):
    """Given another team's case with a number, when a caseworker puts that number on a
    case of theirs, they learn nothing of it: no reference, no hint, no lead told."""
    stranger = make_account(Role.CASEWORKER, org_slug="annat-team")
    reference, _id = other_case(app, slug="annat-team", owner_id=stranger.id)
    response = save_identity(scene)
    assert response.status_code == 302
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    assert reference not in page
    assert "same personal identity number" not in page
    with app.app_context():
        withheld = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "case.duplicate_number_withheld")
        )
        assert withheld is None


def test_a_duplicate_the_user_may_not_see_is_told_to_the_team_lead_only(
    app, scene, make_account, new_browser, log_in
):
    """Given a protected case of the team with the number, assigned to someone else, when a
    caseworker puts the number on a throwaway case, they are told only that the team lead
    knows — no reference, no count — and the lead finds it flagged in the access log."""
    holder = make_account(Role.CASEWORKER)
    reference, hidden_id = other_case(app, slug="malmo-team", owner_id=holder.id, protected=True)
    save_identity(scene)
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    assert reference not in page
    assert "The team lead has been told." in page
    with app.app_context():
        event = db.session.scalar(
            sa.select(AuditEvent).where(AuditEvent.action == "case.duplicate_number_withheld")
        )
        assert event is not None and str(hidden_id) in json.loads(event.details)["cases"]
        checked = db.session.scalar(
            sa.select(AuditEvent).where(
                AuditEvent.action == "case.duplicate_number_checked",
                AuditEvent.subject_id == str(scene.case_id),
            )
        )
        assert json.loads(checked.details) == {"shown": 0, "withheld": True}
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    log = lead.get("/team/access-log?flagged=y").get_data(as_text=True)
    assert "<td>Possible duplicate not shown to the user</td>" in log


def test_a_duplicate_the_user_may_see_is_named(app, scene):
    """Given a case of theirs with the same number, the caseworker is shown its reference."""
    reference, case_id = other_case(app, slug="malmo-team", owner_id=scene.owner.id)
    save_identity(scene)
    page = scene.owner_browser.get(f"/team/cases/{scene.case_id}").get_data(as_text=True)
    assert reference in page and "same personal identity number" in page
    assert "The team lead has been told." not in page
    with app.app_context():
        assert db.session.get(CaseAssignment, (case_id, scene.owner.id)) is not None
        assert db.session.get(Case, case_id).organisation_id is not None
