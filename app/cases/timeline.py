"""Everything that happened on a case, in order, for the case page."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

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


def case_timeline(case: Case, identity: IdentityView) -> list[TimelineItem]:
    items: list[TimelineItem] = []
    for event in db.session.scalars(
        sa.select(AuditEvent).where(
            AuditEvent.subject_type == "cases",
            AuditEvent.subject_id == str(case.id),
            AuditEvent.action.in_(STORY_ACTIONS),
        )
    ):
        details = json.loads(event.details)
        detail = (
            details.get("status")
            or details.get("outcome")
            or details.get("level")
            or details.get("rule")  # which deadline started or was met
            or details.get("age_band")
        )
        items.append(TimelineItem(as_utc(event.occurred_at), event.action, None, detail))
    for entry in db.session.scalars(sa.select(JournalEntry).where(JournalEntry.case_id == case.id)):
        # Ordered by when it was written; the day it is about is shown with it.
        items.append(
            TimelineItem(
                as_utc(entry.created_at), "journal", entry.body, entry.occurred_on.isoformat()
            )
        )
    for threat in db.session.scalars(
        sa.select(ThreatAssessment).where(ThreatAssessment.case_id == case.id)
    ):
        items.append(TimelineItem(as_utc(threat.created_at), "threat", None, threat.level.value))
    for needs in db.session.scalars(
        sa.select(NeedsAssessment).where(NeedsAssessment.case_id == case.id)
    ):
        items.append(TimelineItem(as_utc(needs.created_at), "needs"))
    for consent in db.session.scalars(sa.select(Consent).where(Consent.case_id == case.id)):
        items.append(
            TimelineItem(as_utc(consent.created_at), "consent", None, consent.method.value)
        )
    for intervention in db.session.scalars(
        sa.select(Intervention).where(Intervention.case_id == case.id)
    ):
        items.append(
            TimelineItem(as_utc(intervention.created_at), "intervention", None, intervention.kind)
        )
    for consultation in db.session.scalars(
        sa.select(Consultation).where(Consultation.case_id == case.id)
    ):
        items.append(TimelineItem(as_utc(consultation.starts_at), "consultation", None, None))
    requests = sa.select(ClientRequest.id).where(ClientRequest.case_id == case.id)
    for attempt in db.session.scalars(
        sa.select(ContactAttempt).where(ContactAttempt.request_id.in_(requests))
    ):
        detail = f"{attempt.channel}|{attempt.outcome}"
        items.append(TimelineItem(as_utc(attempt.attempted_at), "contact_attempt", None, detail))
    for message in db.session.scalars(sa.select(Message).where(Message.request_id.in_(requests))):
        kind = "message_from_client" if message.from_client else "message_to_client"
        # A client writes who they are and where they live: identity-bearing text.
        body = identity.text(message.body)
        items.append(TimelineItem(as_utc(message.created_at), kind, body, hidden=body is None))
    return sorted(items, key=lambda item: item.at, reverse=True)
