"""Invitations reach a real SMTP server exactly once, across an outage."""

import socket
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller

from app import create_app
from app.core.outbox import OutboxMessage, deliver_due, enqueue_email
from app.extensions import db


class Collector:
    def __init__(self) -> None:
        self.message_ids: list[str] = []

    async def handle_DATA(self, server, session, envelope):
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids.append(line.split(":", 1)[1].strip())
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def mail_app(settings):
    port = free_port()
    app = create_app(replace(settings, smtp_host="127.0.0.1", smtp_port=port))
    yield app, port
    with app.app_context():
        db.session.execute(sa.delete(OutboxMessage))
        db.session.commit()
        db.engine.dispose()


def test_every_invitation_arrives_exactly_once_after_the_server_comes_back(mail_app, clock):
    app, port = mail_app
    collector = Collector()
    server = Controller(collector, hostname="127.0.0.1", port=port)
    server.start()
    with app.app_context():
        for n in range(3):
            enqueue_email(
                f"rep{n}@example.org",
                "Konsultation",
                "Du är inbjuden.",
                calendar="BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
                calendar_method="REQUEST",
            )
        db.session.commit()
        assert deliver_due(limit=1) == (1, 0)  # one goes out, then the server stops mid-way
        server.stop()
        assert deliver_due() == (0, 2)
        for n in range(3, 5):  # more are queued while it is down
            enqueue_email(f"rep{n}@example.org", "Konsultation", "Du är inbjuden.")
        db.session.commit()
        assert deliver_due() == (0, 2)

        server = Controller(collector, hostname="127.0.0.1", port=port)
        server.start()
        try:
            clock.shift(timedelta(minutes=5))
            sent, failed = deliver_due()
            sent += deliver_due()[0]  # a second round finds nothing left to send
        finally:
            server.stop()
        assert (sent, failed) == (4, 0)
        queued = db.session.scalars(sa.select(OutboxMessage)).all()
        assert all(m.sent_at is not None for m in queued)
        expected = sorted(m.message_id for m in queued)
    assert sorted(collector.message_ids) == expected  # five messages, each exactly once
