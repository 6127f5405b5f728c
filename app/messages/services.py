"""Secure messages between a client and the team."""

from __future__ import annotations

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from app.alerts.models import AlertKind
from app.alerts.services import notify, request_team
from app.audit.services import record
from app.auth.models import Asker, User
from app.cases.models import CaseAssignment
from app.core.clock import utcnow
from app.core.outbox import enqueue_email
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.messages.models import Message


class MessagingClosed(Exception):
    """The request no longer takes messages."""


def thread(request: ClientRequest) -> list[Message]:
    return list(
        db.session.scalars(
            sa.select(Message).where(Message.request_id == request.id).order_by(Message.created_at)
        )
    )


def send_from_client(request: ClientRequest, body: str) -> Message:
    """A client writes to the team about their request."""
    if request.status is RequestStatus.WITHDRAWN:
        raise MessagingClosed
    message = Message(request_id=request.id, from_client=True, body=body)
    db.session.add(message)
    db.session.flush()
    record(
        "message.sent",
        subject=request,
        organisation_id=request.organisation_id,
        details={"from": "client"},
    )
    notify(AlertKind.CLIENT_MESSAGE, request_team(request), request.id, case_id=request.case_id)
    return message


def send_from_team(request: ClientRequest, author: User, body: str) -> Message:
    """The team answers; the client gets a content-free notice if they asked for one."""
    if request.client is None or request.status is RequestStatus.WITHDRAWN:
        raise MessagingClosed
    message = Message(
        request_id=request.id, staff_author_id=author.id, from_client=False, body=body
    )
    db.session.add(message)
    db.session.flush()
    record(
        "message.sent",
        subject=request,
        organisation_id=request.organisation_id,
        details={"from": "team"},
    )
    client = request.client
    if client.notify_email:
        # Nothing about the request, the team or the sender: the mail may be read by others.
        with force_locale(client.locale or "sv"):
            enqueue_email(
                client.notify_email,
                _("You have a new message"),
                _("You have a new message. Log in to read it."),
            )
    return message


def mark_read(request: ClientRequest, *, by_client: bool) -> None:
    """Mark the other side's messages read, and audit the reading.

    Called when a thread is opened (a GET): the read receipt is, like the audit event
    beside it, a record of the reading itself, the one write a GET is allowed besides the
    audit trail (tests/security/test_gets_change_nothing.py lists it).
    """
    db.session.execute(
        sa.update(Message)
        .where(
            Message.request_id == request.id,
            Message.from_client.is_(not by_client),
            Message.read_at.is_(None),
        )
        .values(read_at=utcnow())
    )
    record(
        "message.read",
        subject=request,
        organisation_id=request.organisation_id,
        details={"by": "client" if by_client else "team"},
    )


def unread_for_client(client: User) -> int:
    return (
        db.session.scalar(
            sa.select(sa.func.count(Message.id))
            .join(ClientRequest, ClientRequest.id == Message.request_id)
            .where(
                ClientRequest.client_id == client.id,
                Message.from_client.is_(False),
                Message.read_at.is_(None),
            )
        )
        or 0
    )


def team_inbox(organisation_id: object) -> list[tuple[ClientRequest, int]]:
    """The organisation's open requests with how many client messages are unread."""
    unread = (
        sa.select(sa.func.count(Message.id))
        .where(
            Message.request_id == ClientRequest.id,
            Message.from_client.is_(True),
            Message.read_at.is_(None),
        )
        .scalar_subquery()
    )
    rows = db.session.execute(
        sa.select(ClientRequest, unread)
        .where(ClientRequest.organisation_id == organisation_id)
        .order_by(unread.desc(), ClientRequest.submitted_at.desc())
        .limit(200)
    ).all()
    return [(row[0], row[1]) for row in rows]


def on_my_work(user: Asker) -> sa.ColumnElement[bool]:
    """Requests that are the user's own work: of a case assigned to them, or claimed by
    them while not yet a case. Every one of them is one can_message_about lets them answer
    (an assigned caseworker may view the case), so the count shows nothing hidden."""
    mine = sa.select(CaseAssignment.case_id).where(CaseAssignment.user_id == user.id)
    return sa.and_(
        ClientRequest.organisation_id == user.organisation_id,
        sa.or_(
            ClientRequest.case_id.in_(mine),
            sa.and_(ClientRequest.case_id.is_(None), ClientRequest.assigned_to_id == user.id),
        ),
    )


def count_unread_on_my_work(user: Asker) -> sa.ScalarSelect[int]:
    """Unread client messages on the user's own requests and cases."""
    return (
        sa.select(sa.func.count(Message.id))
        .join(ClientRequest, ClientRequest.id == Message.request_id)
        .where(on_my_work(user), Message.from_client.is_(True), Message.read_at.is_(None))
        .scalar_subquery()
    )


def unread_on_my_work(user: User) -> int:
    return db.session.scalar(sa.select(count_unread_on_my_work(user))) or 0


def unread_threads_of(user: User) -> list[tuple[ClientRequest, int]]:
    """The user's own requests with unread client messages: what unread_on_my_work counts."""
    unread = sa.func.count(Message.id)
    rows = db.session.execute(
        sa.select(ClientRequest, unread)
        .join(Message, Message.request_id == ClientRequest.id)
        .where(on_my_work(user), Message.from_client.is_(True), Message.read_at.is_(None))
        .group_by(ClientRequest.id)
        .order_by(unread.desc())
        .limit(200)
    ).all()
    return [(row[0], row[1]) for row in rows]
