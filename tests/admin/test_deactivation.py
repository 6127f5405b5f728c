"""Deactivating an account or an organisation ends access at once: its open sessions are
revoked in the same request, its logins are refused like a wrong password, and a session
that somehow outlived the change is refused on its next request."""

import re

import sqlalchemy as sa

from app.auth.models import Role, UserSession
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import create_organisation


def _partner_org(app):
    with app.app_context():
        org = create_organisation("vaxjo-kommun", "Växjö kommun", OrgKind.PARTNER)
        db.session.commit()
        return org.id


def _open_sessions(app, account):
    with app.app_context():
        return db.session.scalar(
            sa.select(sa.func.count(UserSession.id)).where(
                UserSession.user_id == account.id, UserSession.revoked_at.is_(None)
            )
        )


def _page(response):
    # The page as a person reads it: the per-form CSRF token differs on every answer.
    return re.sub(r'value="[^"]*"', "", response.get_data(as_text=True))


def _deactivate_org(browser, org_id):
    # The form sends "active" unticked: the organisation is switched off.
    return browser.post(f"/admin/organisations/{org_id}", {"name": "Växjö kommun", "mailbox": ""})


def test_deactivating_an_organisation_revokes_its_members_sessions_in_the_same_request(
    app, browser, new_browser, make_account, log_in
):
    # Given a partner logged in on two devices
    org_id = _partner_org(app)
    partner = make_account(Role.PARTNER, org_slug="vaxjo-kommun")
    phone, laptop = new_browser(), new_browser()
    log_in(phone, partner)
    log_in(laptop, partner)
    assert phone.get("/partner/").status_code == 200
    # When the host team's administrator deactivates the partner organisation
    log_in(browser, make_account(Role.ADMIN))
    assert _deactivate_org(browser, org_id).status_code == 302
    # Then no session of the partner is open any more, and both devices are sent to login
    assert _open_sessions(app, partner) == 0
    for device in (phone, laptop):
        response = device.get("/partner/")
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_a_member_of_a_deactivated_organisation_gets_the_wrong_password_answer(
    app, browser, new_browser, make_account, log_in
):
    org_id = _partner_org(app)
    partner = make_account(Role.PARTNER, org_slug="vaxjo-kommun")
    log_in(browser, make_account(Role.ADMIN))
    _deactivate_org(browser, org_id)

    refused = new_browser().post(
        "/login", {"username": partner.username, "password": partner.password}
    )
    wrong = new_browser().post("/login", {"username": partner.username, "password": "fel-ord"})
    assert refused.status_code == wrong.status_code == 401
    # The same words as a wrong password: a stranger learns nothing about the account.
    assert _page(refused) == _page(wrong)
    assert _open_sessions(app, partner) == 0


def test_a_session_that_outlived_its_organisation_is_refused_on_its_next_request(
    app, new_browser, make_account, log_in
):
    # Given a partner's session, and the organisation switched off behind the app's back
    # (another instance, a database console): nothing revoked the session
    org_id = _partner_org(app)
    partner = make_account(Role.PARTNER, org_slug="vaxjo-kommun")
    device = new_browser()
    log_in(device, partner)
    with app.app_context():
        db.session.get(Organisation, org_id).active = False
        db.session.commit()
    # When the partner asks for the hand-over page, the request is refused
    response = device.get("/partner/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert _open_sessions(app, partner) == 0


def test_a_deactivated_account_gets_the_wrong_password_answer_and_loses_its_sessions(
    app, browser, new_browser, make_account, log_in
):
    worker = make_account(Role.CASEWORKER)
    device = new_browser()
    log_in(device, worker)
    log_in(browser, make_account(Role.ADMIN))
    browser.post(
        f"/admin/users/{worker.id}/deactivate", {"back": "/admin/users"}, form_page="/admin/users"
    )
    assert _open_sessions(app, worker) == 0
    refused = new_browser().post(
        "/login", {"username": worker.username, "password": worker.password}
    )
    wrong = new_browser().post("/login", {"username": worker.username, "password": "fel-ord"})
    assert refused.status_code == wrong.status_code == 401
    assert _page(refused) == _page(wrong)


def test_an_invitation_into_a_deactivated_organisation_no_longer_opens(
    app, browser, new_browser, make_account, log_in
):
    from app.core.outbox import OutboxMessage

    org_id = _partner_org(app)
    log_in(browser, make_account(Role.ADMIN))
    browser.post(
        "/admin/users/invite",
        {"organisation": str(org_id), "role": "partner", "email": "ny@vaxjo.test"},
    )
    with app.app_context():
        body = db.session.scalars(sa.select(OutboxMessage)).one().body
    path = "/join/" + re.search(r"/join/(\S+)", body).group(1)
    assert new_browser().get(path).status_code == 200
    _deactivate_org(browser, org_id)
    assert new_browser().get(path).status_code == 404
