"""The case file's reads reach the audit chain without holding everyone else back.

Appending to the chain takes its head until the transaction ends. The case file records
its reads (the case, the identity, the request's identity) before it is drawn; drawn while
holding the head, every other audited request of the installation waited for it.
"""

from __future__ import annotations

import threading

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.audit.services import record, verify_chain
from app.extensions import db
from app.workspace import casefile


@pytest.fixture
def slow_panel(monkeypatch):
    """A panel that waits, while the page is being put together, until it is let go."""
    drawing, let_go = threading.Event(), threading.Event()

    def waiting_panel(_case, _identity):
        drawing.set()
        let_go.wait(timeout=20)
        return {}

    monkeypatch.setattr(casefile, "PANELS", (*casefile.PANELS, waiting_panel))
    return drawing, let_go


def test_another_audited_write_goes_on_while_a_case_file_is_drawn(app, scene, slow_panel):
    drawing, let_go = slow_panel
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is nothing to hold back")
    answers: list[int] = []
    reading = threading.Thread(
        target=lambda: answers.append(
            scene.owner_browser.get(f"/team/cases/{scene.case_id}").status_code
        )
    )
    reading.start()
    try:
        assert drawing.wait(timeout=20), "the case file never reached its panels"
        # Meanwhile someone else's audited write: it must not wait for the page.
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
                .where(AuditEvent.action.in_(["test.meanwhile", "case.viewed"]))
                .order_by(AuditEvent.seq)
            )
        )
        assert actions[-2:] == ["test.meanwhile", "case.viewed"]  # chained as committed
        assert verify_chain() == []


def test_a_case_file_that_fails_while_drawn_records_nothing_half(app, scene, monkeypatch):
    """An error while the page is put together appends none of its reads: the request
    is rolled back as a whole, its error page says nothing was shown."""

    def broken_panel(_case, _identity):
        raise RuntimeError("panel failed")

    monkeypatch.setattr(casefile, "PANELS", (*casefile.PANELS, broken_panel))
    with app.app_context():
        before = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "case.viewed")
        )
    scene.owner_browser.client.application.config["PROPAGATE_EXCEPTIONS"] = False
    response = scene.owner_browser.get(f"/team/cases/{scene.case_id}")
    assert response.status_code == 500
    with app.app_context():
        after = db.session.scalar(
            sa.select(sa.func.count()).where(AuditEvent.action == "case.viewed")
        )
        assert after == before
        assert verify_chain() == []
