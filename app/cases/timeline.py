"""Everything that happened on a case, in order, for the case page."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.cases.identity import IdentityView
from app.cases.models import (
    CASE_ID,
    Case,
    ContactAttempt,
    Intervention,
    JournalEntry,
    NeedsAssessment,
    ThreatAssessment,
)
from app.consent.models import Consent
from app.consultations.models import Consultation
from app.core.clock import as_utc
from app.core.crypto import keyring
from app.extensions import db
from app.intake.models import ClientRequest
from app.messages.models import Message

# Audit events that are part of the case's story (reads are not).
STORY_ACTIONS = (
    "case.opened",
    "case.status_changed",
    "case.closed",
    "case.assigned",
    "case.unassigned",
    "case.protection_changed",
    "case.break_glass",
    "case.reveal_identity",
    "case.request_linked",
    "case.deadline_met",
    "case.child_investigation_opened",
    "case.clock_started",
    "case.age_recorded",
    "consent.answered",
    "consent.withdrawn",
)

# A case's story by time, without its reads: every staff view of a case writes a
# `case.viewed` event, so after a year of work a case's events are thousands of reads and a
# few dozen story events. An index by subject and action still stepped over the reads (the
# planner sorted them all, or walked the whole table by time). This one holds only the
# story's rows, newest last, so the overview's latest ten are the index's last ten.
# Changing STORY_ACTIONS needs a migration that builds it again with the new list
# (tests/cases/test_timeline_index.py checks that the planner uses it).
STORY_INDEX = sa.Index(
    "ix_audit_events_story",
    AuditEvent.subject_id,
    AuditEvent.occurred_at,
    postgresql_where=AuditEvent.action.in_(STORY_ACTIONS),
    sqlite_where=AuditEvent.action.in_(STORY_ACTIONS),
)


@dataclass(frozen=True)
class TimelineItem:
    at: datetime
    kind: str
    text: str | None = None
    detail: str | None = None
    # Free text withheld by the identity decision: the page says so instead.
    hidden: bool = False


def case_timeline(
    case: Case, identity: IdentityView, latest: int | None = None
) -> list[TimelineItem]:
    """Newest first; with `latest`, only that many (the overview's, however long the case
    has run). Four statements whatever the case holds: the story's audit events, the
    journal, the messages (free text, opened only for the items shown, and a message only
    through the identity decision), and one for every other kind of event, which needs its
    moment and one word. Each gives at most `latest` rows, newest first."""
    statements = _ALL if latest is None else _NEWEST
    values = {"case_id": case.id, "subject_id": str(case.id), "latest": latest}
    # Each item with its free text as stored (encrypted), opened once the newest are chosen:
    # the overview shows ten of up to three times as many rows read.
    items: list[tuple[TimelineItem, str | None]] = []
    for occurred_at, action, details_json in db.session.execute(statements.story, values):
        details = json.loads(details_json)
        detail = (
            details.get("status")
            or details.get("outcome")
            or details.get("level")
            or details.get("rule")  # which deadline started or was met
            or details.get("age_band")
        )
        items.append((TimelineItem(as_utc(occurred_at), action, None, detail), None))
    for created_at, body, occurred_on in db.session.execute(statements.journal, values):
        # Ordered by when it was written; the day it is about is shown with it.
        items.append(
            (TimelineItem(as_utc(created_at), "journal", None, occurred_on.isoformat()), body)
        )
    for at, kind, detail in db.session.execute(statements.plain, values):
        items.append((TimelineItem(as_utc(at), kind, None, detail), None))
    for created_at, from_client, body in db.session.execute(statements.messages, values):
        kind = "message_from_client" if from_client else "message_to_client"
        # A client writes who they are and where they live: identity-bearing text, opened
        # only for a reader the identity decision lets see it.
        item = TimelineItem(as_utc(created_at), kind, hidden=not identity.visible)
        items.append((item, body if identity.visible else None))
    newest = sorted(items, key=lambda pair: pair[0].at, reverse=True)[:latest]
    ring = keyring()
    return [
        replace(item, text=ring.decrypt(sealed)) if sealed is not None else item
        for item, sealed in newest
    ]


# The four statements, built once: each page binds its case (and how many of the newest it
# shows) to them, instead of building a six-part union again for every view of a case.
_REQUESTS = sa.select(ClientRequest.id).where(ClientRequest.case_id == CASE_ID)


def _plain_events() -> sa.CompoundSelect[Any]:
    """Assessments, consents, interventions, meetings and contact attempts: when, what, and
    the one word the timeline shows of each (never their content)."""

    def event(at: Any, kind: str, detail: Any, *where: sa.ColumnElement[bool]) -> sa.Select[Any]:
        return sa.select(
            at.label("at"),
            sa.literal(kind, sa.String).label("kind"),
            sa.cast(detail, sa.String).label("detail"),
        ).where(*where)

    return sa.union_all(
        event(
            ThreatAssessment.created_at,
            "threat",
            ThreatAssessment.level,
            ThreatAssessment.case_id == CASE_ID,
        ),
        event(NeedsAssessment.created_at, "needs", sa.null(), NeedsAssessment.case_id == CASE_ID),
        event(Consent.created_at, "consent", Consent.method, Consent.case_id == CASE_ID),
        event(
            Intervention.created_at,
            "intervention",
            Intervention.kind,
            Intervention.case_id == CASE_ID,
        ),
        event(Consultation.starts_at, "consultation", sa.null(), Consultation.case_id == CASE_ID),
        event(
            ContactAttempt.attempted_at,
            "contact_attempt",
            ContactAttempt.channel + "|" + ContactAttempt.outcome,
            ContactAttempt.request_id.in_(_REQUESTS),
        ),
    )


@dataclass(frozen=True)
class _Statements:
    story: Any
    journal: Any
    plain: Any
    messages: Any


def _statements(newest: bool) -> _Statements:
    """The timeline's statements; `newest`: each reads newest first, at most :latest rows."""

    def cut(query: Any, at: Any) -> Any:
        latest = sa.bindparam("latest", type_=sa.Integer)
        return query.order_by(at.desc()).limit(latest) if newest else query

    story = sa.select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.details).where(
        AuditEvent.subject_type == "cases",
        AuditEvent.subject_id == sa.bindparam("subject_id", type_=sa.String),
        # The kinds written into the statement, not sent as values: only then can the
        # database see that the story's index (whose condition names them) holds the rows.
        AuditEvent.action.in_(
            sa.bindparam("story", STORY_ACTIONS, expanding=True, literal_execute=True)
        ),
    )
    # The bodies as stored: case_timeline opens those it shows.
    journal = sa.select(
        JournalEntry.created_at,
        sa.type_coerce(JournalEntry.body, sa.Text),
        JournalEntry.occurred_on,
    )
    messages = sa.select(
        Message.created_at, Message.from_client, sa.type_coerce(Message.body, sa.Text)
    )
    return _Statements(
        story=cut(story, AuditEvent.occurred_at),
        journal=cut(journal.where(JournalEntry.case_id == CASE_ID), JournalEntry.created_at),
        plain=cut(_plain_events(), sa.literal_column("at")),
        messages=cut(messages.where(Message.request_id.in_(_REQUESTS)), Message.created_at),
    )


_ALL = _statements(newest=False)
_NEWEST = _statements(newest=True)
