"""What the retention rules say is due for deletion, and deleting it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa

from app.audit.services import (
    count_events_before,
    count_tallies_before,
    delete_events_before,
    delete_tallies_before,
)
from app.auth.models import User
from app.cases.models import Case, CaseStatus, Intervention, JournalEntry
from app.consultations.models import Consultation
from app.core.clock import utcnow
from app.core.crypto import blind_index_candidates
from app.core.outbox import OutboxMessage
from app.extensions import db
from app.feedback.models import AccessibilityFeedback
from app.intake.models import ClientRequest, RequestStatus
from app.intake.services import stale_client_accounts
from app.rules import rule

# Born on these days of the month: kept for the research sample (municipal practice).
RESEARCH_SAMPLE_DAYS = {5, 15, 25}


@dataclass
class Due:
    client_accounts: list[User] = field(default_factory=list)
    requests: list[ClientRequest] = field(default_factory=list)
    cases: list[Case] = field(default_factory=list)
    sent_mail: list[OutboxMessage] = field(default_factory=list)
    undelivered_mail: list[OutboxMessage] = field(default_factory=list)
    accessibility_feedback: list[AccessibilityFeedback] = field(default_factory=list)
    audit_events: int = 0
    audit_cutoff: datetime | None = None
    security_tallies: int = 0
    tallies_cutoff: datetime | None = None
    kept_for_research: int = 0
    kept_for_other_data: int = 0

    def counts(self) -> dict[str, int]:
        return {
            "client_accounts": len(self.client_accounts),
            "requests": len(self.requests),
            "cases": len(self.cases),
            "sent_mail": len(self.sent_mail),
            "undelivered_mail": len(self.undelivered_mail),
            "accessibility_feedback": len(self.accessibility_feedback),
            "audit_events": self.audit_events,
            "security_tallies": self.security_tallies,
            "kept_for_research": self.kept_for_research,
            "kept_for_other_data": self.kept_for_other_data,
        }


def _months_ago(months: int) -> datetime:
    now = utcnow()
    return now - timedelta(days=round(months * 30.44))


def last_entry(case: Case) -> datetime:
    """The newest thing written on the case: the five years run from here."""
    moments = [case.closed_at or case.opened_at]
    for model in (JournalEntry, Intervention, Consultation):
        newest = db.session.scalar(
            sa.select(sa.func.max(model.created_at)).where(model.case_id == case.id)
        )
        if newest is not None:
            moments.append(newest)
    return max(moments)


def in_research_sample(case: Case) -> bool:
    """Birth day from the personal identity number (a coordination number adds 60)."""
    if not case.personal_number:
        return False
    day = int(case.personal_number[6:8])
    return (day - 60 if day > 60 else day) in RESEARCH_SAMPLE_DAYS


def due_for_deletion() -> Due:
    due = Due()
    limit = rule("unsubmitted_client_account")
    due.client_accounts = stale_client_accounts(timedelta(days=limit.value))

    cutoff = _months_ago(rule("request_without_case").value)
    due.requests = list(
        db.session.scalars(
            sa.select(ClientRequest).where(
                ClientRequest.case_id.is_(None),
                ClientRequest.status.in_([RequestStatus.CLOSED, RequestStatus.WITHDRAWN]),
                ClientRequest.submitted_at < cutoff,
            )
        )
    )

    years = rule("records_deletion").value
    closed = db.session.scalars(sa.select(Case).where(Case.status == CaseStatus.CLOSED)).all()
    eligible: list[Case] = []
    for case in closed:
        ends = last_entry(case)
        if ends + timedelta(days=round(years * 365.25)) > utcnow():
            continue
        if in_research_sample(case):
            due.kept_for_research += 1
            continue
        eligible.append(case)
    eligible_ids = {c.id for c in eligible}
    for case in eligible:
        # Not while other data on the person is kept: another case with the same
        # personal identity number that is not itself due keeps this one too.
        # (Every key's index is asked for: during a re-index the other case may still be
        # under the earlier BLIND_INDEX_KEY, and missing it would delete what must be kept.)
        if case.personal_number and db.session.scalar(
            sa.select(Case.id)
            .where(
                Case.personal_number_index.in_(
                    blind_index_candidates(case.personal_number, "personal-number")
                ),
                Case.id.not_in(eligible_ids),
            )
            .limit(1)
        ):
            due.kept_for_other_data += 1
            continue
        due.cases.append(case)

    sent_cutoff = utcnow() - timedelta(days=rule("sent_mail").value)
    due.sent_mail = list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.sent_at.is_not(None), OutboxMessage.sent_at < sent_cutoff
            )
        )
    )
    unsent_cutoff = utcnow() - timedelta(days=rule("undelivered_mail").value)
    due.undelivered_mail = list(
        db.session.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.sent_at.is_(None),
                OutboxMessage.created_at < unsent_cutoff,
                # Not one a delivery is sending right now: it is gone at the next run.
                sa.or_(OutboxMessage.leased_until.is_(None), OutboxMessage.leased_until < utcnow()),
            )
        )
    )
    feedback_cutoff = _months_ago(rule("accessibility_feedback").value)
    due.accessibility_feedback = list(
        db.session.scalars(
            sa.select(AccessibilityFeedback).where(
                AccessibilityFeedback.created_at < feedback_cutoff
            )
        )
    )
    due.audit_cutoff = utcnow() - timedelta(days=round(rule("audit_events").value * 365.25))
    due.audit_events = count_events_before(due.audit_cutoff)
    due.tallies_cutoff = _months_ago(rule("security_tallies").value)
    due.security_tallies = count_tallies_before(due.tallies_cutoff)
    return due


def delete(due: Due) -> None:
    """Delete for real: rows go, and with them their encrypted payloads."""
    case_ids: list[uuid.UUID] = [c.id for c in due.cases]
    if case_ids:
        # The self-service requests behind the cases are part of the same records.
        db.session.execute(
            sa.delete(ClientRequest).where(
                ClientRequest.case_id.in_(case_ids), ClientRequest.became_case_at.is_not(None)
            )
        )
    for item in [
        *due.cases,
        *due.requests,
        *due.client_accounts,
        *due.sent_mail,
        *due.undelivered_mail,
        *due.accessibility_feedback,
    ]:
        db.session.delete(item)
    db.session.flush()
    if due.audit_cutoff is not None:
        due.audit_events = delete_events_before(due.audit_cutoff)
    if due.tallies_cutoff is not None:
        due.security_tallies = delete_tallies_before(due.tallies_cutoff)
