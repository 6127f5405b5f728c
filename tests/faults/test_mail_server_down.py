"""The mail server is down for a while: the operator's `flask outbox deliver` runs keep
failing, mail keeps being queued, and once the server is back every message arrives exactly
once, even with two delivery services running at the same time.

tests/consultations/test_mail_outage.py follows a few invitations through deliver_due in
the test's own process; this one runs the delivery services as production does
(`flask outbox deliver --loop`, two at once on PostgreSQL) through an outage, with mail
queued while they keep failing.
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tests.faults import harness
from tests.faults.conftest import KINDS

QUEUED_BEFORE, QUEUED_DURING = 60, 40
TOTAL = QUEUED_BEFORE + QUEUED_DURING
ROUND = re.compile(r"^sent (\d+), failed (\d+)$", re.MULTILINE)




@pytest.fixture
def smtp_port():
    port = harness.free_port()
    yield port
    harness.release_port(port)


@pytest.fixture
def start_delivery(tmp_path):
    """`flask outbox deliver --loop` services, as the README runs them; stopped at the end."""
    services: list[tuple[subprocess.Popen[str], Path]] = []

    def start(env: dict[str, str]) -> None:
        log = tmp_path / f"delivery-{len(services)}.log"
        with log.open("w") as out:
            command = ["outbox", "deliver", "--loop", "--interval", "1"]
            process = subprocess.Popen(
                [str(harness.VENV_BIN / "flask"), "--app", "wsgi", *command],
                cwd=harness.ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
                stdout=out, stderr=subprocess.STDOUT, text=True,
            )  # fmt: skip
        services.append((process, log))

    def rounds() -> list[tuple[int, int]]:
        """Every round each service reported: (sent, failed)."""
        found = []
        for process, log in services:
            assert process.poll() is None, log.read_text()
            found += [(int(s), int(f)) for s, f in ROUND.findall(log.read_text())]
        return found

    start.rounds = rounds  # type: ignore[attr-defined]
    yield start
    for process, _log in services:
        process.terminate()
        process.wait(timeout=30)


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"gave up waiting until {what}"
        time.sleep(0.5)


@pytest.mark.parametrize("kind", KINDS)
def test_mail_queued_during_an_outage_arrives_exactly_once_afterwards(
    kind, make_database, smtp_port, start_delivery
):
    from app.core.clock import utcnow
    from app.core.outbox import OutboxMessage, enqueue_email
    from app.extensions import db

    # Nothing listens on the port: the mail server is down from the start.
    env = make_database(kind, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port))
    with harness.app_context(env):

        def queue(first: int, count: int) -> None:
            for n in range(first, first + count):
                enqueue_email(f"rep{n}@example.org", "Konsultation", "Du är inbjuden.")
            db.session.commit()

        def count(*where: sa.ColumnElement[bool]) -> int:
            db.session.rollback()  # a fresh look at what the services did meanwhile
            query = sa.select(sa.func.count()).select_from(OutboxMessage).where(*where)
            return db.session.scalar(query) or 0

        queue(0, QUEUED_BEFORE)
        # PostgreSQL lets two delivery services share the queue (each claims its own rows);
        # the embedded database has one.
        for _ in range(2 if kind == "postgresql" else 1):
            start_delivery(env)
        wait_until(
            lambda: count(OutboxMessage.last_error.is_not(None)) == QUEUED_BEFORE, "all failed"
        )
        queue(QUEUED_BEFORE, QUEUED_DURING)
        wait_until(
            lambda: count(OutboxMessage.last_error.is_not(None)) == TOTAL, "the new ones failed"
        )
        assert count(OutboxMessage.sent_at.is_not(None)) == 0

        mailbox = harness.Mailbox()
        server = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
        server.start()
        try:

            def all_sent() -> bool:
                # Time runs faster here: the retry backoff is over at once.
                db.session.execute(
                    sa.update(OutboxMessage)
                    .where(OutboxMessage.sent_at.is_(None))
                    .values(next_attempt_at=utcnow())
                )
                db.session.commit()
                return count(OutboxMessage.sent_at.is_not(None)) == TOTAL

            wait_until(all_sent, "every message was sent")
            time.sleep(2.5)  # a few more rounds of every service find nothing to send
        finally:
            server.stop()
        queued = db.session.scalars(sa.select(OutboxMessage)).all()
        expected = {message.message_id: 1 for message in queued}

    rounds = start_delivery.rounds()
    assert sum(failed for _sent, failed in rounds) >= TOTAL  # the outage was noticed
    assert sum(sent for sent, _failed in rounds) == TOTAL
    assert len(expected) == TOTAL
    assert dict(mailbox.message_ids) == expected
