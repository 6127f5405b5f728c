"""Telling people what happened on their cases and requests.

An event is told to whoever answers for it: the case's assigned caseworkers, or the
team's leads while nobody is assigned. Each gets an alert in the portal and, if they
asked for it, an e-mail that says only that something waits in the portal: no kind, no
reference, no name, because a mailbox is read on lock screens and by others.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import TYPE_CHECKING

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from app.alerts.models import Alert, AlertKind, AlertPreference
from app.audit.services import record
from app.auth.models import Role, User
from app.core.clock import utcnow
from app.core.db import insert_unless_present, rows_matched
from app.core.outbox import enqueue_email
from app.extensions import db

if TYPE_CHECKING:
    # Types only: the features that raise alerts import this module while they load.
    from app.cases.models import Case
    from app.intake.models import ClientRequest


def team_leads(organisation_id: uuid.UUID) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.organisation_id == organisation_id,
                User.role == Role.TEAM_LEAD,
                User.active.is_(True),
            )
        )
    )


def case_team(case: Case) -> list[User]:
    """Who answers for a case: its assigned caseworkers, else the team's leads."""
    assigned = [a.user for a in case.assignments if a.user.active]
    return assigned or team_leads(case.organisation_id)


def request_team(request: ClientRequest) -> list[User]:
    """Who answers for a request: its case's team once it is one, else whoever claimed
    it, else the team's leads."""
    if request.case is not None:
        return case_team(request.case)
    claimed = request.assigned_to
    if claimed is not None and claimed.active:
        return [claimed]
    return team_leads(request.organisation_id)


def organisation_members(organisation_id: uuid.UUID, role: Role) -> list[User]:
    return list(
        db.session.scalars(
            sa.select(User).where(
                User.organisation_id == organisation_id, User.role == role, User.active.is_(True)
            )
        )
    )


def notify(
    kind: AlertKind,
    recipients: Iterable[User],
    subject_id: uuid.UUID,
    *,
    case_id: uuid.UUID | None = None,
    mail: bool = True,
) -> list[Alert]:
    """Alert each recipient once (in the caller's transaction); mail those who opted in.

    mail=False where the event already sent its own mail to the same person (a
    consultation invitation), so nobody gets two mails for one thing.
    """
    alerts = []
    people = list({p.id: p for p in recipients}.values())
    for person in people:
        alert = Alert(user_id=person.id, kind=kind, subject_id=subject_id, case_id=case_id)
        db.session.add(alert)
        alerts.append(alert)
    db.session.flush()
    if mail:
        send_notice(people)
    return alerts


def send_notice(people: Iterable[User]) -> int:
    """Queue the one content-free notice to each of them who opted in; how many went."""
    ids = [p.id for p in people]
    if not ids:
        return 0
    opted_in = (
        sa.select(AlertPreference.user_id)
        .where(AlertPreference.user_id.in_(ids), AlertPreference.mail.is_(True))
        .scalar_subquery()
    )
    sent = 0
    # The addresses are deferred (encrypted, loaded only where used): read them here.
    for person in db.session.scalars(
        sa.select(User)
        .where(User.id.in_(opted_in), User.active.is_(True))
        .options(undefer(User.notify_email))
    ):
        if not person.notify_email:
            continue
        with force_locale(person.locale or "sv"):
            enqueue_email(
                person.notify_email,
                _("A notice from the portal"),
                _("Something needs your attention in the portal. Log in to see it."),
            )
        sent += 1
    return sent


def wants_mail(user: User) -> bool:
    return bool(
        db.session.scalar(sa.select(AlertPreference.mail).where(AlertPreference.user_id == user.id))
    )


def has_notice_address(user: User) -> bool:
    """Whether a notice could reach the user: an address is on their account."""
    address = db.session.scalar(sa.select(User.notify_email).where(User.id == user.id))
    return bool(address)


def already_told(user_id: uuid.UUID, kind: AlertKind, subject_id: uuid.UUID) -> bool:
    """Whether the person was ever alerted of this kind about this subject (time-based
    alerts are told once, not every day the thing stays late)."""
    return (
        db.session.scalar(
            sa.select(Alert.id)
            .where(Alert.subject_id == subject_id, Alert.user_id == user_id, Alert.kind == kind)
            .limit(1)
        )
        is not None
    )


def mark_read(user: User, alert_id: uuid.UUID | None = None) -> int:
    """Mark one of the user's alerts read (or all of them); how many were theirs.

    Only the user's own rows match, so someone else's id changes nothing (and counts 0);
    one already read keeps the time it was first read, and still counts as theirs.
    """
    query = sa.update(Alert).where(Alert.user_id == user.id)
    if alert_id is not None:
        query = query.where(Alert.id == alert_id)
    else:
        query = query.where(Alert.read_at.is_(None))
    # The time bound with the column's own type, so it is stored as UTC on both databases.
    now = sa.literal(utcnow(), type_=Alert.__table__.c.read_at.type)
    first_read = sa.func.coalesce(Alert.read_at, now)
    result = db.session.execute(
        query.values(read_at=first_read).execution_options(synchronize_session=False)
    )
    return rows_matched(result)


def set_alert_mail(user: User, enabled: bool) -> None:
    """Save the person's choice: one row each, written or rewritten (two saves at once
    both land on the one row instead of the second failing on its key)."""
    now = utcnow()
    values = {"user_id": user.id, "mail": enabled, "updated_at": now}
    db.session.execute(insert_unless_present(AlertPreference, db.engine.dialect.name, values))
    db.session.execute(
        sa.update(AlertPreference)
        .where(AlertPreference.user_id == user.id)
        .values(mail=enabled, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    record(
        "account.alert_mail_changed",
        subject=user,
        actor_id=user.id,
        organisation_id=user.organisation_id,
        details={"enabled": enabled},
    )
