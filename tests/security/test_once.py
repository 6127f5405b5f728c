"""Once means once, under concurrency: a draft, a join link and a consent answer are each
consumed by one guarded statement, and N parallel attempts give exactly one success.

Each race sends N requests from N separate clients that carry the same cookie (a double
click, two tabs, two app instances behind a load balancer) and releases them together with
a barrier. The races run on PostgreSQL (where the guarded statement's row count is what
decides) and on SQLite (where writers take turns and the row count still decides).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from app.audit.models import AuditEvent
from app.extensions import db
from app.intake.models import ClientRequest, RequestDraft
from tests.conftest import STEPS, Browser

N = 6
SESSION_COOKIE = "utvag"


def same_browser(app: Flask, browser: Browser) -> FlaskClient:
    """A separate client that sends the same cookie as `browser` (another tab, a double click)."""
    client = app.test_client()
    client.environ_base.update(browser.client.environ_base)
    cookie = browser.client.get_cookie(SESSION_COOKIE)
    if cookie is not None:
        client.set_cookie(SESSION_COOKIE, cookie.value)
    return client


def race(attempts: list[Callable[[], Any]]) -> list[Any]:
    """Run the attempts in parallel threads released together; return their results."""
    barrier = threading.Barrier(len(attempts))
    results: list[Any] = [None] * len(attempts)
    errors: list[BaseException] = []

    def run(index: int) -> None:
        barrier.wait()
        try:
            results[index] = attempts[index]()
        except BaseException as error:  # reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(attempts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert all(not thread.is_alive() for thread in threads)
    return results


def audit_count(app: Flask, action: str) -> int:
    with app.app_context():
        return int(
            db.session.scalar(
                sa.select(sa.func.count())
                .select_from(AuditEvent)
                .where(AuditEvent.action == action)
            )
        )


def count(app: Flask, model: Any) -> int:
    with app.app_context():
        return int(db.session.scalar(sa.select(sa.func.count()).select_from(model)))


# Draft submission ------------------------------------------------------------------------------


def fill_steps(browser: Browser) -> None:
    for step in ("kind", "help", "contact", "identity", "story"):
        response = browser.post(f"/my/request/{step}", STEPS[step])
        assert response.status_code == 302, step


def test_a_request_sent_n_times_at_once_is_stored_once(app, client_browser):
    """Given a complete draft, when N clicks of "Send" with the same cookie and token arrive
    together, then one request is stored, every click lands on its status page, and the
    audit trail says "submitted" once."""
    fill_steps(client_browser)
    client_browser.get("/my/request/review")
    csrf = client_browser.last_csrf
    clients = [same_browser(app, client_browser) for _ in range(N)]

    responses = race(
        [lambda c=c: c.post("/my/request/review", data={"csrf_token": csrf}) for c in clients]
    )

    assert [r.status_code for r in responses] == [302] * N
    with app.app_context():
        request_id = db.session.scalars(sa.select(ClientRequest.id)).one()
    assert {r.headers["Location"] for r in responses} == {f"/my/requests/{request_id}"}
    assert count(app, RequestDraft) == 0
    assert audit_count(app, "request.submitted") == 1
    # The click that lost is shown the request the first one made, as received.
    page = clients[-1].get(f"/my/requests/{request_id}").get_data(as_text=True)
    assert "Thank you. We have received your request." in page


def test_sending_again_after_the_request_was_stored_shows_it_and_stores_nothing(
    app, client_browser, fill_request
):
    first = fill_request(client_browser)
    again = client_browser.post("/my/request/review", {})
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert count(app, ClientRequest) == 1
    assert audit_count(app, "request.submitted") == 1


def test_a_draft_that_changed_to_incomplete_is_kept_whole(app, client_browser, monkeypatch):
    """The draft is checked when read and again when taken; if another tab made it
    incomplete in between, the refusal puts it back as it was."""
    from app.intake import services

    fill_steps(client_browser)
    checks = []
    real_check = services._check_complete

    def check_then_tab_changes_it(data):
        checks.append(1)
        if len(checks) == 2:
            raise services.IntakeError("person")
        real_check(data)

    monkeypatch.setattr(services, "_check_complete", check_then_tab_changes_it)
    response = client_browser.post("/my/request/review", {})
    assert response.status_code == 302 and response.headers["Location"].endswith("/person")
    assert count(app, ClientRequest) == 0
    assert count(app, RequestDraft) == 1
    with app.app_context():
        from app.auth.models import User

        client = db.session.scalars(sa.select(User)).one()
        assert services.load_draft(client)["kind"] == "defector"
