"""Rotating SECRET_KEY does what the README says: it ends every session and every open form,
and nothing else; an invitation link in someone's mailbox keeps working (its token is
random and stored hashed, not signed with the key)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.admin.services import invite_member
from app.auth.models import Role, User
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.orgs.models import Organisation
from tests.conftest import Browser

NEW_SECRET = "a-new-secret-key-after-the-rotation"


@contextmanager
def restarted(settings) -> Iterator[Flask]:
    """The portal restarted on the same database with a new SECRET_KEY."""
    other = create_app(replace(settings, secret_key=NEW_SECRET))
    try:
        yield other
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()


def carried_over(browser: Browser, app: Flask) -> Browser:
    """The same browser (its cookies) talking to the restarted portal."""
    moved = Browser(app.test_client())
    for cookie in browser.client._cookies.values():
        moved.client.set_cookie(cookie.key, cookie.value, domain=cookie.domain)
    moved.last_csrf = browser.last_csrf
    return moved


def test_a_new_secret_key_ends_sessions_and_open_forms(
    app, settings, browser, make_account, log_in
):
    """Given a logged-in caseworker with a form open, when SECRET_KEY changes, then the next
    page asks them to log in, and the open form answers that it expired."""
    log_in(browser, make_account())
    assert browser.get("/account/").status_code == 200
    browser.get("/account/recovery-codes")  # a form open, its CSRF token in hand
    with restarted(settings) as portal:
        same = carried_over(browser, portal)
        page = same.client.get("/account/")
        assert page.status_code == 302 and "/login" in page.headers["Location"]
        answer = same.client.post("/account/recovery-codes", data={"csrf_token": same.last_csrf})
        assert answer.status_code == 400
        assert "The form had expired" in answer.get_data(as_text=True)


def test_an_invitation_link_outlives_a_new_secret_key(app, settings, make_account):
    admin = make_account(Role.ADMIN)
    with app.test_request_context():
        inviter = db.session.get(User, admin.id)
        organisation = db.session.get(Organisation, inviter.organisation_id)
        invite_member(
            organisation, Role.ADMIN, "ny@malmo.test", inviter, "http://127.0.0.1/join/TOKEN"
        )
        db.session.commit()
        body = db.session.scalars(sa.select(OutboxMessage)).one().body
    path = "/join/" + re.search(r"/join/(\S+)", body).group(1)
    with restarted(settings) as portal:
        assert Browser(portal.test_client()).get(path).status_code == 200
