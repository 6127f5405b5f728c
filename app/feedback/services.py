"""Reports of accessibility problems: kept whole, read and deleted by an administrator."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.audit.services import record
from app.core.db import rows_matched
from app.extensions import db
from app.feedback.models import AccessibilityFeedback


def receive_feedback(message: str, reply_to: str | None, language: str) -> AccessibilityFeedback:
    """Keep a report from the public pages.

    Not chained in the audit trail: anyone can send one without logging in, and a stranger
    must not be able to grow the chain (the rate limits bound how many arrive).
    """
    feedback = AccessibilityFeedback(
        message=message.strip(), reply_to=(reply_to or "").strip() or None, language=language
    )
    db.session.add(feedback)
    db.session.flush()
    return feedback


def all_feedback() -> list[AccessibilityFeedback]:
    return list(
        db.session.scalars(
            sa.select(AccessibilityFeedback).order_by(AccessibilityFeedback.created_at.desc())
        )
    )


def delete_feedback(feedback_id: uuid.UUID) -> bool:
    """Delete a handled report; once, however many times it is asked."""
    result = db.session.execute(
        sa.delete(AccessibilityFeedback).where(AccessibilityFeedback.id == feedback_id)
    )
    if not rows_matched(result):
        return False
    record("feedback.deleted", subject_type="accessibility_feedback", subject_id=str(feedback_id))
    return True
