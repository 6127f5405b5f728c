"""The mail outbox: messages are written in the same transaction as what caused them and
delivered later, so a restart or a mail-server outage loses nothing.

Delivery claims one row at a time with a lease before talking to the mail server; a row is
sent again only if its lease ran out without the row being marked sent (the process died
mid-send, or the database went away before the row could be marked).
Each message carries a stable Message-ID, so a receiving server can drop that rare duplicate.
"""

from __future__ import annotations

import smtplib
import ssl
import time
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import make_msgid

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import utcnow
from app.core.crypto import EncryptedText
from app.core.db import Base, PublicIdMixin, TimestampMixin
from app.extensions import db

# A message's lease: far longer than one send may take (SMTP_TIMEOUT per exchange).
LEASE = timedelta(minutes=2)
SMTP_TIMEOUT = 15
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


def _claim_next() -> OutboxMessage | None:
    """Lease one due message, committed before it is sent.

    One at a time: a lease covers one message's send, however slow the mail server is, so
    it never runs out while the row waits behind others (a batch's lease did, and a second
    service then sent the same messages again). The lease is taken by one guarded update
    whose row count decides, so of two services only one ever holds a message.
    """
    now = utcnow()
    free = sa.and_(
        OutboxMessage.sent_at.is_(None),
        OutboxMessage.next_attempt_at <= now,
        sa.or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < now),
    )
    while True:
        candidate = db.session.scalar(
            sa.select(OutboxMessage.id)
            .where(free)
            .order_by(OutboxMessage.next_attempt_at)
            .limit(1)
            # PostgreSQL hands each service another row at once; elsewhere the update decides.
            .with_for_update(skip_locked=True)
        )
        if candidate is None:
            db.session.rollback()
            return None
        leased = db.session.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.id == candidate, free)
            .values(leased_until=now + LEASE, attempts=OutboxMessage.attempts + 1)
            .execution_options(synchronize_session=False)
        )
        db.session.commit()
        if leased.rowcount == 1:  # type: ignore[attr-defined]
            return db.session.get(OutboxMessage, candidate)


def _connect() -> smtplib.SMTP:
    config = current_app.config
    host, port, security = config["SMTP_HOST"], config["SMTP_PORT"], config["SMTP_SECURITY"]
    context = ssl.create_default_context(cafile=config["SMTP_CA_FILE"])
    smtp: smtplib.SMTP
    if security == "tls":
        smtp = smtplib.SMTP_SSL(host, port, timeout=SMTP_TIMEOUT, context=context)
    else:
        smtp = smtplib.SMTP(host, port, timeout=SMTP_TIMEOUT)
        if security == "starttls":
            smtp.starttls(context=context)
    if config["SMTP_USERNAME"]:
        smtp.login(config["SMTP_USERNAME"], config["SMTP_PASSWORD"] or "")
    return smtp


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
    with _connect() as smtp:
        smtp.send_message(email)


def deliver_due(limit: int = 50) -> tuple[int, int]:
    """Try up to `limit` due messages once each; returns (sent, failed)."""
    if not current_app.config["SMTP_HOST"]:
        return 0, 0
    sent = failed = 0
    for _ in range(limit):
        message = _claim_next()
        if message is None:
            break
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
    """Send due messages through SMTP_HOST; failures are retried with backoff.

    As a service (--loop) it outlives the database: a round that cannot reach it is
    reported in one line and tried again, and mail queued meanwhile is sent afterwards.
    """
    if not current_app.config["SMTP_HOST"]:
        raise click.ClickException("SMTP_HOST is not set: messages stay queued")
    while True:
        try:
            sent, failed = deliver_due()
        except SQLAlchemyError as error:
            if not loop:
                raise click.ClickException("the database does not answer") from error
            db.session.rollback()
            # The class only: a driver's message can carry connection details.
            click.echo(f"database unavailable ({type(error).__name__}); trying again", err=True)
        else:
            click.echo(f"sent {sent}, failed {failed}")
            if not loop:
                return
        time.sleep(interval)
