"""Deadlines as today's work: overdue, and due within the week.

The start page counts through deadline_counts() and the "my deadlines" list filters
through pick_due(), so a count and the list it links to agree; both read the deadline
queries in app/cases/deadlines.py and are the one place to change when those change.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import timedelta

from app.auth.models import User
from app.cases.deadlines import DueItem, deadlines_for, open_deadlines
from app.core.clock import utcnow

WEEK = timedelta(days=7)
DUE_CHOICES = ("overdue", "week")


def pick_due(items: list[DueItem], which: str | None) -> list[DueItem]:
    """Overdue items, or those due within seven days and not yet overdue; else all."""
    now = utcnow()
    if which == "overdue":
        return [item for item in items if item.due_at < now]
    if which == "week":
        return [item for item in items if now <= item.due_at <= now + WEEK]
    return items


@dataclass(frozen=True)
class DeadlineCounts:
    overdue: int
    this_week: int


def deadline_counts(user: User) -> DeadlineCounts:
    """The user's own deadlines: how many are overdue, how many fall due this week."""
    items = deadlines_for(user)
    return DeadlineCounts(len(pick_due(items, "overdue")), len(pick_due(items, "week")))


def team_overdue_count(organisation_id: uuid.UUID) -> int:
    """The team's overdue items, as the team overview lists them."""
    return len(pick_due(open_deadlines(organisation_id), "overdue"))
