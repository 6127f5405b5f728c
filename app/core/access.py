"""Loading objects and checking access in one step, so no view forgets the check."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from flask import abort
from sqlalchemy.orm.interfaces import ORMOption

from app.audit.services import record
from app.extensions import db

T = TypeVar("T")


def parse_public_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError):
        abort(404)


def get_or_404(
    model: type[T],
    raw_id: str,
    *,
    for_user: Any,
    allowed: Callable[[Any, T], bool],
    options: Sequence[ORMOption] = (),
) -> T:
    """Load by public id and apply a permission predicate.

    A refusal looks exactly like a missing object (404), so nobody can probe which
    identifiers exist; it is audited, because probing is worth a team lead's look.
    """
    obj = db.session.get(model, parse_public_id(raw_id), options=options)
    if obj is None:
        abort(404)
    if not allowed(for_user, obj):
        record(
            "access.denied",
            subject_type=getattr(model, "__tablename__", model.__name__),
            subject_id=raw_id,
        )
        abort(404)
    return obj
