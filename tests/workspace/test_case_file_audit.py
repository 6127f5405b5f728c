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
from app.audit.services import appended_at_the_end, record, verify_chain
from app.extensions import db
from app.workspace import casefile
from tests.audit.test_reads_at_the_end import another_write_goes_on_while_drawn


@pytest.fixture
def slow_panel(monkeypatch):
    """A panel that waits, while the page is being put together, until it is let go."""
    drawing, let_go = threading.Event(), threading.Event()

    def waiting_panel(_case, _identity):
        drawing.set()
        let_go.wait(timeout=20)
        return {}

    monkeypatch.setattr(casefile, "OVERVIEW", (*casefile.OVERVIEW, waiting_panel))
    return drawing, let_go


def test_another_audited_write_goes_on_while_a_case_file_is_drawn(app, scene, slow_panel):
    drawing, let_go = slow_panel
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is nothing to hold back")
    another_write_goes_on_while_drawn(
        app,
        lambda: scene.owner_browser.get(f"/team/cases/{scene.case_id}").status_code,
        drawing,
        let_go,
        "case.viewed",
    )


def case_file_events(app, case_id) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent.action)
                .where(
                    AuditEvent.action.in_(["case.viewed", "identity.viewed"]),
                    AuditEvent.subject_id == str(case_id),
                )
                .order_by(AuditEvent.seq)
            )
        )


def test_a_refused_panel_form_leaves_the_case_file_s_reads_once(app, scene):
    """A panel's refused form draws the case file again (400): its reads were appended at
    the end of drawing, then rolled back with the refusal and written again after it.
    Each must be in the chain once, not lost and not twice."""
    before = case_file_events(app, scene.case_id)
    shown = scene.owner_browser.get(f"/team/cases/{scene.case_id}")
    assert shown.status_code == 200
    one_view = case_file_events(app, scene.case_id)[len(before) :]
    assert "case.viewed" in one_view

    refused = scene.owner_browser.post(
        f"/team/cases/{scene.case_id}/journal",
        {"occurred_on": "", "body": ""},
        form_page=f"/team/cases/{scene.case_id}",
    )
    assert refused.status_code == 400
    after = case_file_events(app, scene.case_id)
    # The form's page (a view) and the refused answer (a second view): each read once.
    assert after[len(before) :] == one_view * 3
    with app.app_context():
        assert verify_chain() == []


def test_events_recorded_in_a_block_that_fails_are_not_appended(app):
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError), appended_at_the_end():
            assert record("test.inside") is None  # waiting for the block's end
            raise RuntimeError("the page could not be drawn")
        record("test.after")
        actions = db.session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.action.like("test.%"))
        ).all()
        assert actions == ["test.after"]
        db.session.rollback()


def test_a_block_inside_another_leaves_the_appending_to_the_outer_one(app):
    with app.test_request_context("/"):
        with appended_at_the_end():
            record("test.first")
            with appended_at_the_end():
                record("test.second")
            assert not db.session.scalars(
                sa.select(AuditEvent.seq).where(AuditEvent.action.like("test.%"))
            ).all()
        actions = db.session.scalars(
            sa.select(AuditEvent.action)
            .where(AuditEvent.action.like("test.%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert actions == ["test.first", "test.second"]
        db.session.rollback()


def head_moves(app) -> tuple[list[str], object]:
    """The statements that move the chain's head, as they are run."""
    moves: list[str] = []

    def seen(_conn, _cursor, statement, _params, _context, _many):
        if statement.lstrip().upper().startswith("UPDATE AUDIT_HEAD"):
            moves.append(statement)

    return moves, seen


def test_a_block_s_events_take_consecutive_places_with_one_move_of_the_head(app):
    with app.test_request_context("/"):
        record("test.before")
        moves, seen = head_moves(app)
        sa.event.listen(db.engine, "before_cursor_execute", seen)
        try:
            with appended_at_the_end():
                for n in range(3):
                    record(f"test.read_{n}")
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", seen)
        db.session.commit()
        # Its place taken for all three at once, its hash set once at the end.
        assert len(moves) == 2
        events = db.session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action.like("test.%")).order_by(AuditEvent.seq)
        ).all()
        assert [e.action for e in events] == [
            "test.before",
            "test.read_0",
            "test.read_1",
            "test.read_2",
        ]
        assert [e.seq - events[0].seq for e in events] == [0, 1, 2, 3]
        assert [e.prev_hash for e in events[1:]] == [e.hash for e in events[:-1]]
        assert verify_chain() == []


def test_blocks_appended_at_the_same_moment_each_keep_their_places_together(app):
    """Several case files finishing at once (PostgreSQL lets their requests run together):
    each one's events land side by side, and the chain holds."""
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time")
    writers = 6
    barrier = threading.Barrier(writers)
    failures: list[BaseException] = []

    def page(n: int) -> None:
        try:
            with app.test_request_context("/"):
                with appended_at_the_end():
                    for part in ("case", "identity", "request"):
                        record(f"test.page_{n}.{part}")
                    barrier.wait(timeout=20)
                db.session.commit()
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=page, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    with app.app_context():
        rows = db.session.execute(
            sa.select(AuditEvent.action, AuditEvent.seq)
            .where(AuditEvent.action.like("test.page_%"))
            .order_by(AuditEvent.seq)
        ).all()
        assert len(rows) == writers * 3
        for start in range(0, len(rows), 3):
            three = rows[start : start + 3]
            pages = {action.split(".")[1] for action, _ in three}
            assert len(pages) == 1, three
            assert [seq - three[0].seq for _, seq in three] == [0, 1, 2]
        assert verify_chain() == []
