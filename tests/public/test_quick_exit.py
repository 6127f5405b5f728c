"""Quick exit ends the session on the server, forgets it in the browser and goes elsewhere.

The browser tests (tests/browser/test_quick_exit.py) show the same from the person's side:
Back shows nothing of the portal, with and without JavaScript.
"""

from __future__ import annotations

import json
import re

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from app.audit.models import AuditEvent
from app.auth import services as auth_services
from app.auth.models import Role, UserSession
from app.extensions import db
from app.settings import services as site_settings

COOKIE = "s"
QUICK_EXIT_FORM = re.compile(
    r'<form method="post" action="/leave" class="quick-exit-form" data-target="([^"]+)">'
)


def cookie_deleted(response) -> bool:
    return any(
        header.startswith(f"{COOKIE}=;") and "Expires=Thu, 01 Jan 1970" in header
        for header in response.headers.getlist("Set-Cookie")
    )


def session_reasons(app) -> list[str | None]:
    with app.app_context():
        return list(db.session.scalars(sa.select(UserSession.revoked_reason)))


def leave(browser, page="/my/", **data):
    """Press the quick-exit button of `page`, as its form sends it."""
    browser.get(page)
    return browser.client.post("/leave", data={"csrf_token": browser.last_csrf, **data})


def test_a_client_leaves_and_the_session_ends_on_the_server(app, client_browser):
    """Given a logged-in client, when they press quick exit, then the answer sends the
    browser to the neutral site, deletes the cookie, asks the browser to drop what it
    holds of the site, and the session is ended on the server (and audited as a quick
    exit, not a logout)."""
    old_cookie = client_browser.client.get_cookie(COOKIE).value

    response = leave(client_browser)

    assert response.status_code == 303
    assert response.headers["Location"] == app.config["QUICK_EXIT_URL"]
    assert cookie_deleted(response)
    assert response.headers["Clear-Site-Data"] == '"cache"'
    assert response.headers["Cache-Control"] == "no-store"
    assert session_reasons(app) == ["quick_exit"]
    with app.app_context():
        reasons = [
            json.loads(event.details).get("reason")
            for event in db.session.scalars(
                sa.select(AuditEvent).where(AuditEvent.action == "session.revoked")
            )
        ]
    assert reasons == ["quick_exit"]

    # Whoever picks up the phone and puts the old cookie back gets nothing.
    client_browser.client.set_cookie(COOKIE, old_cookie)
    again = client_browser.client.get("/my/")
    assert again.status_code == 302 and again.headers["Location"].startswith("/login")


def test_the_page_carries_the_form_with_its_target(app, client_browser):
    html = client_browser.get("/my/").get_data(as_text=True)
    match = QUICK_EXIT_FORM.search(html)
    assert match and match.group(1) == app.config["QUICK_EXIT_URL"]
    assert 'id="quick-exit"' in html


def test_a_get_changes_nothing(app, client_browser):
    """Given a logged-in client, a GET of the quick-exit address (a link, a prefetch) is
    refused and the session goes on."""
    response = client_browser.client.get("/leave")
    assert response.status_code == 405
    assert client_browser.get("/my/").status_code == 200
    assert session_reasons(app) == [None]


def test_without_the_token_the_person_still_leaves_but_no_session_ends(app, client_browser):
    """Given a request without the form's token (forged from another site, or a page left
    open too long), then the person is still sent away and the browser's cookie is
    deleted, but the session on the server is left as it was."""
    client_browser.get("/my/")
    response = client_browser.client.post("/leave", data={"csrf_token": "not-the-token"})
    assert response.status_code == 303
    assert response.headers["Location"] == app.config["QUICK_EXIT_URL"]
    assert cookie_deleted(response)
    assert session_reasons(app) == [None]


def test_a_visitor_without_a_cookie_gets_a_link_and_no_cookie(app, browser, organisation):
    """Reading the public pages sets no cookie, so there is no token for a form: the control
    is a plain link to the neutral site, and pressing it changes nothing here."""
    response = browser.client.get("/")
    html = response.get_data(as_text=True)
    assert f'<a class="quick-exit" id="quick-exit" href="{app.config["QUICK_EXIT_URL"]}"' in html
    assert "/leave" not in html
    assert response.headers.getlist("Set-Cookie") == []


def test_a_visitor_who_chose_a_language_leaves_without_a_trace(app, browser, organisation):
    browser.get("/?lang=ar")
    html = browser.get("/").get_data(as_text=True)
    assert QUICK_EXIT_FORM.search(html)
    response = browser.client.post("/leave", data={"csrf_token": browser.last_csrf})
    assert response.status_code == 303
    assert cookie_deleted(response)
    assert browser.client.get_cookie(COOKIE) is None


def test_a_login_half_done_is_ended_too(app, browser, make_account):
    """Given a password typed but the code not yet, quick exit ends that session too."""
    account = make_account(Role.CLIENT)
    browser.post("/login", {"username": account.username, "password": account.password})
    response = leave(browser, "/login/code")
    assert response.status_code == 303
    assert session_reasons(app) == ["quick_exit"]


def test_the_target_is_the_one_the_administrator_chose(app, client_browser):
    chosen = "https://www.example.org/weather"
    with app.test_request_context():
        site_settings.save({site_settings.QUICK_EXIT_KEY: chosen}, by=None)
        db.session.commit()
    html = client_browser.get("/my/").get_data(as_text=True)
    assert QUICK_EXIT_FORM.search(html).group(1) == chosen
    assert leave(client_browser).headers["Location"] == chosen


@pytest.mark.parametrize("failing", ["revoke", "commit"])
def test_the_person_leaves_even_when_the_database_fails(app, client_browser, monkeypatch, failing):
    """Given a database that fails while the session is being ended, the person is still
    sent away at once (no error page) and the browser forgets the session."""

    real_commit = db.session.commit
    failed = []

    def broken(*args, **kwargs):
        if failed:  # the connection came back (a later commit has nothing to write anyway)
            return real_commit(*args, **kwargs)
        failed.append(True)
        raise OperationalError("UPDATE", {}, Exception("connection lost"))

    client_browser.get("/my/")
    if failing == "revoke":
        monkeypatch.setattr(auth_services, "quick_exit", broken)
    else:
        monkeypatch.setattr(db.session, "commit", broken)
    response = client_browser.client.post("/leave", data={"csrf_token": client_browser.last_csrf})
    monkeypatch.undo()
    assert failed, "the failure was never met"
    assert response.status_code == 303
    assert response.headers["Location"] == app.config["QUICK_EXIT_URL"]
    assert cookie_deleted(response)
