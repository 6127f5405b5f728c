"""The delivery service (`flask outbox deliver --loop`) outlives its database: PostgreSQL
stops under it and comes back, the service carries on without a restart, and every
message, queued before and after, arrives exactly once."""

from __future__ import annotations

import subprocess
import time

import sqlalchemy as sa
from aiosmtpd.controller import Controller

from tests.faults import harness
from tests.faults.conftest import migrate
from tests.faults.test_mail_server_down import wait_until

BEFORE, AFTER = 15, 15


def queue(env: dict[str, str], first: int, count: int) -> None:
    from app.core.outbox import enqueue_email
    from app.extensions import db

    with harness.app_context(env):
        for n in range(first, first + count):
            enqueue_email(f"rep{n}@example.org", "Konsultation", "Du är inbjuden.")
        db.session.commit()


def queued_ids(env: dict[str, str]) -> set[str]:
    from app.core.outbox import OutboxMessage
    from app.extensions import db

    with harness.app_context(env):
        return set(db.session.scalars(sa.select(OutboxMessage.message_id)))


def test_the_delivery_service_carries_on_after_postgresql_comes_back(private_postgres, tmp_path):
    smtp_port = harness.free_port()
    mailbox = harness.Mailbox()
    server = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    server.start()
    env = harness.production_env(
        private_postgres.url, SMTP_HOST="127.0.0.1", SMTP_PORT=str(smtp_port)
    )
    migrate(env)
    queue(env, 0, BEFORE)
    log = tmp_path / "delivery.log"
    with log.open("w") as out:
        service = subprocess.Popen(
            [str(harness.VENV_BIN / "flask"), "--app", "wsgi",
             "outbox", "deliver", "--loop", "--interval", "1"],
            cwd=harness.ROOT, env={**env, "PYTHONUNBUFFERED": "1"},
            stdout=out, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
    try:
        wait_until(lambda: sum(mailbox.message_ids.values()) == BEFORE, "the first mail went")

        private_postgres.crash()
        wait_until(lambda: "database unavailable" in log.read_text(), "the outage was noticed")
        time.sleep(2)
        assert service.poll() is None, log.read_text()

        private_postgres.start()
        queue(env, BEFORE, AFTER)
        wait_until(
            lambda: sum(mailbox.message_ids.values()) == BEFORE + AFTER, "the later mail went"
        )
        assert service.poll() is None, log.read_text()
        expected = queued_ids(env)
    finally:
        service.terminate()
        service.wait(timeout=30)
        server.stop()
        harness.release_port(smtp_port)
    assert dict(mailbox.message_ids) == dict.fromkeys(expected, 1)
    assert "Traceback" not in log.read_text()
