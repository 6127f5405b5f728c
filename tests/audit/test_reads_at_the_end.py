"""Every page that only reads appends its audit events when it has been drawn.

Appending takes the chain's head until the commit. A page that recorded its reads first
and then drew itself held every other audited request of the installation back while it
drew; the case file was the worst (tests/workspace/test_case_file_audit.py), the triage
request, the meetings and the placement pages did the same.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.services import record, verify_chain
from app.cases import views as case_views
from app.extensions import db


def read_events(app, request_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.subject_id == str(request_id))
                .order_by(AuditEvent.seq)
            )
        )


@pytest.fixture
def triage(app, submitted_request, make_account, new_browser, log_in):
    from app.auth.models import Role

    lead = make_account(Role.TEAM_LEAD, username="ledare")
    browser = new_browser()
    log_in(browser, lead)
    return browser, f"/team/triage/{submitted_request}", submitted_request


def test_a_page_s_reads_are_in_the_chain_once_after_it(app, triage):
    browser, page, request_id = triage
    before = read_events(app, request_id)
    assert browser.get(page).status_code == 200
    added = read_events(app, request_id)[len(before) :]
    assert added.count("request.viewed") == 1
    with app.app_context():
        assert verify_chain() == []


def test_a_read_that_fails_while_drawn_appends_nothing(app, triage, monkeypatch):
    browser, page, request_id = triage
    before = read_events(app, request_id)

    def broken(_request):
        raise RuntimeError("the page could not be drawn")

    monkeypatch.setattr(case_views, "chosen_codes", broken)
    assert browser.get(page).status_code == 500
    assert read_events(app, request_id) == before


def test_another_audited_write_goes_on_while_a_triage_page_is_drawn(app, triage, monkeypatch):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is nothing to hold back")
    browser, page, _request = triage
    drawing, let_go = threading.Event(), threading.Event()
    chosen_codes = case_views.chosen_codes

    def waiting(client_request):
        drawing.set()
        let_go.wait(timeout=20)
        return chosen_codes(client_request)

    monkeypatch.setattr(case_views, "chosen_codes", waiting)
    another_write_goes_on_while_drawn(
        app, lambda: browser.get(page).status_code, drawing, let_go, "request.viewed"
    )


def another_write_goes_on_while_drawn(
    app, get: Callable[[], int], drawing: threading.Event, let_go: threading.Event, read: str
) -> None:
    """While a page is held mid-draw (`drawing` set, waiting for `let_go`), someone else's
    audited write commits under a 3 s lock timeout; then the page answers 200, its read
    `read` is chained after that write, and the chain holds."""
    answers: list[int] = []
    reading = threading.Thread(target=lambda: answers.append(get()))
    reading.start()
    try:
        assert drawing.wait(timeout=20), "the page never began to draw"
        with app.app_context():
            db.session.execute(sa.text("SET LOCAL lock_timeout = '3s'"))
            record("test.meanwhile")
            db.session.commit()
    finally:
        let_go.set()
        reading.join(timeout=30)
    assert answers == [200]
    with app.app_context():
        actions = list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(AuditEvent.action.in_(["test.meanwhile", read]))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions[-2:] == ["test.meanwhile", read]  # chained as committed
        assert verify_chain() == []
