"""Separation of duties: no administrator alone gives anyone, themselves included, a role
that reads case files. A team lead of the organisation (never the inviter, nor another
account of the same person) approves; every grant shows in the access review."""

import re

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Role, User
from app.consultations.models import AccountInvitation, RoleApproval
from app.core.outbox import OutboxMessage
from app.extensions import db

NEW_ACCOUNT = {
    "username": "ny-teamledare",
    "password": "tre-lugna-ord-i-natten",
    "confirm_password": "tre-lugna-ord-i-natten",
}


def _invite(browser, organisation, role="team_lead", email="ny@malmo.test"):
    response = browser.post(
        "/admin/users/invite",
        {"organisation": str(organisation.id), "role": role, "email": email},
    )
    assert response.status_code == 302
    return db.session.scalars(
        sa.select(AccountInvitation.id).order_by(AccountInvitation.created_at.desc())
    ).first()


def _mails(app):
    with app.app_context():
        return db.session.scalars(sa.select(OutboxMessage)).all()


def _set_address(app, account, address):
    with app.app_context():
        db.session.get(User, account.id).notify_email = address
        db.session.commit()


def _decide(browser, invitation_id, decision):
    return browser.post(
        f"/team/role-grants/{invitation_id}/{decision}",
        {"back": "/team/role-grants"},
        form_page="/team/role-grants",
    )


def test_an_administrator_alone_cannot_give_themselves_a_team_lead_account(
    app, browser, new_browser, make_account, log_in, organisation
):
    # Given an administrator who invites a team-lead account for their own address
    admin = make_account(Role.ADMIN)
    _set_address(app, admin, "admin@malmo.test")
    log_in(browser, admin)
    with app.app_context():
        invitation_id = _invite(browser, organisation, email="Admin@Malmo.test")
        invitation = db.session.get(AccountInvitation, invitation_id)
        assert invitation.approval is RoleApproval.PENDING
    # Then no link is mailed, and the administrator cannot approve it
    assert _mails(app) == []
    assert browser.get("/team/role-grants").status_code == 403
    assert _decide(browser, invitation_id, "approve").status_code == 403
    # Nor can any team lead: it is the inviter's own address
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    assert "Another team lead decides this one." in lead.get("/team/role-grants").get_data(
        as_text=True
    )
    assert _decide(lead, invitation_id, "approve").status_code == 403
    assert _mails(app) == []
    with app.app_context():
        assert db.session.get(AccountInvitation, invitation_id).approval is RoleApproval.PENDING


def test_a_team_lead_approves_and_only_then_the_link_is_sent_and_works(
    app, browser, new_browser, make_account, log_in, organisation
):
    log_in(browser, make_account(Role.ADMIN))
    with app.app_context():
        invitation_id = _invite(browser, organisation, role="caseworker")
    lead_account = make_account(Role.TEAM_LEAD, username="teamledaren")
    lead = new_browser()
    log_in(lead, lead_account)
    page = lead.get("/team/role-grants").get_data(as_text=True)
    assert "ny@malmo.test" in page and "Approve" in page
    assert _decide(lead, invitation_id, "approve").status_code == 302
    (mail,) = _mails(app)
    path = "/join/" + re.search(r"/join/(\S+)", mail.body).group(1)
    assert new_browser().post(path, NEW_ACCOUNT).status_code == 302
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == "ny-teamledare")).one()
        assert user.role is Role.CASEWORKER
        invitation = db.session.get(AccountInvitation, invitation_id)
        assert invitation.decided_by_id == lead_account.id
    # A decision is made once
    assert _decide(lead, invitation_id, "refuse").status_code == 403
    # And the grant is in the access review: who asked, who approved, flagged in the log
    review = lead.get("/team/access-log").get_data(as_text=True)
    section = review[review.index('id="role-grants"') :]
    assert "approved" in section and "teamledaren" in section
    assert "role grant" in review
    with app.app_context():
        actions = set(db.session.scalars(sa.select(AuditEvent.action)))
    assert {"account.invited", "role_grant.approved"} <= actions


def test_a_refused_grant_never_sends_a_link_and_shows_in_the_review(
    app, browser, new_browser, make_account, log_in, organisation
):
    log_in(browser, make_account(Role.ADMIN))
    with app.app_context():
        invitation_id = _invite(browser, organisation)
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    assert _decide(lead, invitation_id, "refuse").status_code == 302
    assert _mails(app) == []
    assert _decide(lead, invitation_id, "approve").status_code == 403
    assert _mails(app) == []
    section = lead.get("/team/access-log").get_data(as_text=True)
    assert "refused" in section[section.index('id="role-grants"') :]


def test_the_inviters_own_team_lead_account_cannot_approve(
    app, browser, new_browser, make_account, log_in, organisation
):
    # Given one person with an administrator account and a team-lead account (same address)
    admin = make_account(Role.ADMIN)
    own_lead = make_account(Role.TEAM_LEAD)
    _set_address(app, admin, "kim@malmo.test")
    _set_address(app, own_lead, "KIM@malmo.test")
    log_in(browser, admin)
    with app.app_context():
        invitation_id = _invite(browser, organisation, email="friend@malmo.test")
    lead = new_browser()
    log_in(lead, own_lead)
    # When that team-lead account tries to approve, it is refused and nothing is sent
    assert _decide(lead, invitation_id, "approve").status_code == 403
    assert _mails(app) == []
    # Another team lead may
    other = new_browser()
    log_in(other, make_account(Role.TEAM_LEAD))
    assert _decide(other, invitation_id, "approve").status_code == 302
    assert len(_mails(app)) == 1


def test_a_team_lead_of_another_organisation_cannot_decide(
    app, browser, new_browser, make_account, log_in, organisation
):
    from app.orgs.models import OrgKind
    from app.orgs.services import create_organisation

    with app.app_context():
        create_organisation("annat-team", "Annat team", OrgKind.EXIT_TEAM)
        db.session.commit()
    log_in(browser, make_account(Role.ADMIN))
    with app.app_context():
        invitation_id = _invite(browser, organisation)
    stranger = new_browser()
    log_in(stranger, make_account(Role.TEAM_LEAD, org_slug="annat-team"))
    assert "ny@malmo.test" not in stranger.get("/team/role-grants").get_data(as_text=True)
    assert _decide(stranger, invitation_id, "approve").status_code == 404
    assert _mails(app) == []


def test_roles_that_read_no_case_files_are_sent_at_once(
    app, browser, make_account, log_in, organisation
):
    log_in(browser, make_account(Role.ADMIN))
    with app.app_context():
        invitation_id = _invite(browser, organisation, role="admin")
        assert db.session.get(AccountInvitation, invitation_id).approval is None
    assert len(_mails(app)) == 1


def test_an_account_that_reads_case_files_is_turned_back_on_by_a_team_lead_not_an_admin(
    app, browser, new_browser, make_account, log_in
):
    # Given a caseworker an administrator deactivated
    worker = make_account(Role.CASEWORKER)
    log_in(browser, make_account(Role.ADMIN))
    browser.post(
        f"/admin/users/{worker.id}/deactivate", {"back": "/admin/users"}, form_page="/admin/users"
    )
    # When the administrator tries to turn it back on, it is refused and stays off
    refused = browser.post(
        f"/admin/users/{worker.id}/activate", {"back": "/admin/users"}, form_page="/admin/users"
    )
    assert refused.status_code == 403
    assert "A team lead turns an account that reads case files back on" in refused.get_data(
        as_text=True
    )
    with app.app_context():
        assert not db.session.get(User, worker.id).active
    # A team lead of the organisation does it, and it is flagged in the log
    lead = new_browser()
    log_in(lead, make_account(Role.TEAM_LEAD))
    turned_on = lead.post(
        f"/team/role-grants/accounts/{worker.id}/reactivate",
        {"back": "/team/role-grants"},
        form_page="/team/role-grants",
    )
    assert turned_on.status_code == 302
    with app.app_context():
        assert db.session.get(User, worker.id).active
    log = lead.get("/team/access-log?action=user.activated").get_data(as_text=True)
    assert "role grant" in log


def test_two_team_leads_approving_at_once_send_one_link(
    app, browser, make_account, log_in, organisation
):
    """Given a waiting grant and two team leads who may decide it, when both approve at the
    same moment, one decision is taken and one link is mailed (PostgreSQL: SQLite lets one
    writer in at a time)."""
    import threading

    import pytest

    from app.admin.services import RoleGrantError, approve_role_grant

    log_in(browser, make_account(Role.ADMIN))
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
        invitation_id = _invite(browser, organisation, role="caseworker")
    leads = [make_account(Role.TEAM_LEAD, username=f"teamledare-{n}") for n in (1, 2)]
    barrier = threading.Barrier(len(leads))
    decided: list[str] = []

    def approve(lead_id) -> None:
        with app.app_context():
            invitation = db.session.get(AccountInvitation, invitation_id)
            lead = db.session.get(User, lead_id)
            barrier.wait()
            try:
                approve_role_grant(invitation, lead, "http://127.0.0.1:5000/join/TOKEN")
                db.session.commit()
                decided.append(str(lead_id))
            except RoleGrantError:
                db.session.rollback()

    threads = [threading.Thread(target=approve, args=(lead.id,)) for lead in leads]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(decided) == 1
    assert len(_mails(app)) == 1
    with app.app_context():
        approvals = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "role_grant.approved")
        )
    assert approvals == 1
