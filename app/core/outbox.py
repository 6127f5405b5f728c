"""The mail outbox: messages are written in the same transaction as what caused them and
delivered later, so a restart or a mail-server outage loses nothing.

Delivery claims a row with a lease before talking to the mail server; a row is sent again
only if its lease ran out without the row being marked sent (the process died mid-send).
Each message carries a stable Message-ID, so a receiving server can drop that rare duplicate.
"""

from __future__ import annotations

import smtplib
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin
from app.extensions import db

LEASE = timedelta(minutes=2)
MAX_BACKOFF = timedelta(hours=1)


class OutboxMessage(PublicIdMixin, TimestampMixin, Base):
    __tablename__ = "outbox"

    # Everything a message says is encrypted: a body can hold a working join link, a
    # calendar file the meeting's place, and the address names a person. Delivery reads
    # rows by their timestamps only, so none of these needs to be searchable.
    recipient: Mapped[str] = mapped_column(EncryptedText)
    subject: Mapped[str] = mapped_column(EncryptedText)
    body: Mapped[str] = mapped_column(EncryptedText)
    # An iCalendar attachment (a meeting invitation or cancellation), and its METHOD.
    calendar: Mapped[str | None] = mapped_column(EncryptedText)
    calendar_method: Mapped[str | None] = mapped_column(sa.String(10))
    message_id: Mapped[str] = mapped_column(sa.String(200), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(index=True)
    leased_until: Mapped[datetime | None]
    sent_at: Mapped[datetime | None] = mapped_column(index=True)
    last_error: Mapped[str | None] = mapped_column(sa.String(200))


def enqueue_email(
    recipient: str,
    subject: str,
    body: str,
    *,
    calendar: str | None = None,
    calendar_method: str | None = None,
) -> OutboxMessage:
    """Queue an e-mail inside the caller's transaction. Never put case content in it: not in
    the subject (lock screens show it), and not in the body or calendar file either."""
    message = OutboxMessage(
        recipient=recipient,
        subject=subject,
        body=body,
        calendar=calendar,
        calendar_method=calendar_method,
        message_id=make_msgid(idstring=uuid.uuid4().hex, domain="utvag.invalid"),
        next_attempt_at=utcnow(),
    )
    db.session.add(message)
    db.session.flush()
    return message


def _claim_due(limit: int) -> list[OutboxMessage]:
    now = utcnow()
    query = (
        sa.select(OutboxMessage)
        .where(
            OutboxMessage.sent_at.is_(None),
            OutboxMessage.next_attempt_at <= now,
            sa.or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < now),
        )
        .order_by(OutboxMessage.next_attempt_at)
        .limit(limit)
        # Two workers never claim the same row on PostgreSQL; SQLite serialises writers.
        .with_for_update(skip_locked=True)
    )
    claimed = list(db.session.scalars(query))
    for message in claimed:
        message.leased_until = now + LEASE
        message.attempts += 1
    db.session.commit()
    return claimed


def _send(message: OutboxMessage) -> None:
    config = current_app.config
    email = EmailMessage()
    email["From"] = config["SMTP_SENDER"]
    email["To"] = message.recipient
    email["Subject"] = message.subject
    email["Message-ID"] = message.message_id
    email.set_content(message.body)
    if message.calendar:
        email.add_attachment(
            message.calendar.encode(),
            maintype="text",
            subtype="calendar",
            filename="invite.ics",
            params={"method": message.calendar_method or "REQUEST"},
        )
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=15) as smtp:
        smtp.send_message(email)


def deliver_due(limit: int = 50) -> tuple[int, int]:
    """Try every due message once; returns (sent, failed)."""
    if not current_app.config["SMTP_HOST"]:
        return 0, 0
    sent = failed = 0
    for message in _claim_due(limit):
        try:
            _send(message)
        except (OSError, smtplib.SMTPException) as error:
            backoff = min(timedelta(seconds=30) * 2 ** (message.attempts - 1), MAX_BACKOFF)
            message.next_attempt_at = utcnow() + backoff
            message.leased_until = None
            # The error's class only: server replies can echo the recipient address.
            message.last_error = type(error).__name__
            failed += 1
        else:
            message.sent_at = utcnow()
            sent += 1
        db.session.commit()
    return sent, failed


outbox_cli = AppGroup("outbox", help="Deliver queued e-mail.")


@outbox_cli.command("deliver")
@click.option("--loop", is_flag=True, help="Keep delivering every few seconds.")
@click.option("--interval", default=10, show_default=True, help="Seconds between rounds.")
def deliver_command(loop: bool, interval: int) -> None:
    """Send due messages through SMTP_HOST; failures are retried with backoff."""
    import time

    if not current_app.config["SMTP_HOST"]:
        raise click.ClickException("SMTP_HOST is not set: messages stay queued")
    while True:
        sent, failed = deliver_due()
        click.echo(f"sent {sent}, failed {failed}")
        if not loop:
            return
        time.sleep(interval)
