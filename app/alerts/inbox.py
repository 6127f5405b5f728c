"""Reading alerts: a person's own, and only while they may still see what they are about."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa

from app.alerts.models import Alert, AlertKind
from app.auth.models import Asker, User
from app.cases.permissions import case_viewable
from app.extensions import db


def _visible(user: Asker, now: Any = None) -> sa.ColumnElement[bool]:
    """The user's own alerts, and of those about a case only while they may still see it
    (unassigned since, or the break-glass ran out: the alert goes quiet)."""
    return sa.and_(
        Alert.user_id == user.id,
        sa.or_(Alert.case_id.is_(None), case_viewable(user, Alert.case_id, now)),
    )


def alerts_for(
    user: User, *, kind: AlertKind | None = None, unread: bool = False, limit: int = 200
) -> list[Alert]:
    query = sa.select(Alert).where(_visible(user))
    if kind is not None:
        query = query.where(Alert.kind == kind)
    if unread:
        query = query.where(Alert.read_at.is_(None))
    return list(db.session.scalars(query.order_by(Alert.created_at.desc()).limit(limit)))


def unread_counts(user: Asker, kinds: Iterable[AlertKind], now: Any = None) -> sa.Subquery:
    """How many unread alerts the user may still see: all of them ("all") and of each of
    `kinds` (by its value), counted in one pass."""
    return (
        sa.select(
            sa.func.count().label("all"),
            *(sa.func.count().filter(Alert.kind == kind).label(kind.value) for kind in kinds),
        )
        .where(_visible(user, now), Alert.read_at.is_(None))
        .subquery()
    )
