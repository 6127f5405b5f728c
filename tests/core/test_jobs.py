"""Scheduled jobs are safe to repeat and to overlap: a daily reminder goes out once a day
however often its timer fires, and two runs at the same moment never both act."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.core.jobs import claim_today, exclusive
from app.extensions import db

THREADS = 6


def test_a_daily_reminder_runs_once_a_day_however_often_it_is_started(app, clock):
    runner = app.test_cli_runner()
    # Deadline reminders claim each clock for the day instead (tests/cases/test_clocks.py):
    # they may run every hour, so a same-day clock is reminded of before it runs out.
    for command in (["actions", "remind"], ["placements", "remind"]):
        first = runner.invoke(args=command)
        assert "queued 0 reminders" in first.output, first.output
        again = runner.invoke(args=command)
        assert again.exit_code == 0
        assert "nothing sent: it has already run today" in again.output
    clock.shift(timedelta(days=1))
    assert "queued 0 reminders" in runner.invoke(args=["actions", "remind"]).output


def test_a_run_that_fails_does_not_use_up_the_day(app):
    """The claim is written in the run's transaction: if the run fails, it is undone."""
    with app.app_context():
        assert claim_today("actions.remind")
        db.session.rollback()
        assert claim_today("actions.remind")
        assert not claim_today("actions.remind")


def at_once(app, work, *, hold: bool):
    """Run `work` in THREADS threads released together, each in its own transaction;
    `hold` keeps every transaction open until all have done their work."""
    barrier = threading.Barrier(THREADS)
    results: list[object] = []
    lock = threading.Lock()

    def one() -> None:
        with app.app_context():
            barrier.wait()
            outcome = work()
            if hold:
                barrier_after.wait()
            db.session.commit()
            with lock:
                results.append(outcome)

    barrier_after = threading.Barrier(THREADS, timeout=30)
    threads = [threading.Thread(target=one) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


@pytest.fixture
def postgres_app(app):
    with app.app_context():
        if db.engine.dialect.name != "postgresql":
            pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
    return app


def test_of_runs_started_at_the_same_moment_one_claims_the_day(postgres_app):
    # The later inserts wait for the first one's transaction, so nothing is held open here.
    results = at_once(postgres_app, lambda: claim_today("deadlines.remind"), hold=False)
    assert sorted(results) == [False] * (THREADS - 1) + [True]


def test_of_runs_started_at_the_same_moment_one_gets_the_lock(postgres_app):
    results = at_once(postgres_app, lambda: exclusive("retention.run"), hold=True)
    assert sorted(results) == [False] * (THREADS - 1) + [True]


def test_reminders_started_together_are_queued_once(postgres_app):
    """Six timers fire at once: one run reminds (and records it), the others stop."""
    from app.consultations.cli import remind_command

    barrier = threading.Barrier(THREADS)
    # The command itself, without the click context that `flask` would give it.
    remind = remind_command.callback.__wrapped__
    errors: list[BaseException] = []

    def run() -> None:
        with postgres_app.app_context():
            barrier.wait()
            try:
                remind(within_days=3)
            except BaseException as error:
                errors.append(error)

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with postgres_app.app_context():
        reminded = sa.select(sa.func.count()).where(AuditEvent.action == "actions.reminded")
        assert db.session.scalar(reminded) == 1
