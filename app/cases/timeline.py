"""Everything that happened on a case, in order, for the case page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.cases.identity import IdentityView
from app.cases.models import (
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
    journal, the messages (free text, each through its own decryption and identity
    decision), and one for every other kind of event, which needs its moment and one word.
    Each gives at most `latest` rows, newest first, so nothing older is decrypted."""

    def newest(query: Any, at: Any) -> Any:
        return query if latest is None else query.order_by(at.desc()).limit(latest)

    requests = sa.select(ClientRequest.id).where(ClientRequest.case_id == case.id)
    items: list[TimelineItem] = []
    story = sa.select(AuditEvent.occurred_at, AuditEvent.action, AuditEvent.details).where(
        AuditEvent.subject_type == "cases",
        AuditEvent.subject_id == str(case.id),
        AuditEvent.action.in_(STORY_ACTIONS),
    )
    for occurred_at, action, details_json in db.session.execute(
        newest(story, AuditEvent.occurred_at)
    ):
        details = json.loads(details_json)
        detail = (
            details.get("status")
            or details.get("outcome")
            or details.get("level")
            or details.get("rule")  # which deadline started or was met
            or details.get("age_band")
        )
        items.append(TimelineItem(as_utc(occurred_at), action, None, detail))
    journal = sa.select(JournalEntry.created_at, JournalEntry.body, JournalEntry.occurred_on)
    for created_at, body, occurred_on in db.session.execute(
        newest(journal.where(JournalEntry.case_id == case.id), JournalEntry.created_at)
    ):
        # Ordered by when it was written; the day it is about is shown with it.
        items.append(TimelineItem(as_utc(created_at), "journal", body, occurred_on.isoformat()))
    plain = _plain_events(case, requests)
    for at, kind, detail in db.session.execute(newest(plain, sa.literal_column("at"))):
        items.append(TimelineItem(as_utc(at), kind, None, detail))
    messages = sa.select(Message.created_at, Message.from_client, Message.body).where(
        Message.request_id.in_(requests)
    )
    for created_at, from_client, message_body in db.session.execute(
        newest(messages, Message.created_at)
    ):
        kind = "message_from_client" if from_client else "message_to_client"
        # A client writes who they are and where they live: identity-bearing text.
        text = identity.text(message_body)
        items.append(TimelineItem(as_utc(created_at), kind, text, hidden=text is None))
    return sorted(items, key=lambda item: item.at, reverse=True)[:latest]


def _plain_events(case: Case, requests: sa.Select[Any]) -> sa.CompoundSelect[Any]:
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
            ThreatAssessment.case_id == case.id,
        ),
        event(NeedsAssessment.created_at, "needs", sa.null(), NeedsAssessment.case_id == case.id),
        event(Consent.created_at, "consent", Consent.method, Consent.case_id == case.id),
        event(
            Intervention.created_at,
            "intervention",
            Intervention.kind,
            Intervention.case_id == case.id,
        ),
        event(Consultation.starts_at, "consultation", sa.null(), Consultation.case_id == case.id),
        event(
            ContactAttempt.attempted_at,
            "contact_attempt",
            ContactAttempt.channel + "|" + ContactAttempt.outcome,
            ContactAttempt.request_id.in_(requests),
        ),
    )
