"""Deadlines as today's work: overdue, and due within the week.

The "my deadlines" list and the team overview filter through pick_due(); the start page
counts the same thing in SQL with app/cases/deadlines.count_due(), and
tests/home/test_due_counts.py holds the two to the same answers.
"""

from __future__ import annotations

from app.cases.deadlines import WEEK, DueItem
from app.core.clock import utcnow

DUE_CHOICES = ("overdue", "week")


def pick_due(items: list[DueItem], which: str | None) -> list[DueItem]:
    """Overdue items, or those due within seven days and not yet overdue; else all."""
    now = utcnow()
    if which == "overdue":
        return [item for item in items if item.due_at < now]
    if which == "week":
        return [item for item in items if now <= item.due_at <= now + WEEK]
    return items
