"""What the team does with requests and cases. Every operation audits itself and flushes;
the request that called it commits."""

from __future__ import annotations

import functools
import json
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

import sqlalchemy as sa

from app.alerts.models import AlertKind
from app.alerts.services import case_team, notify
from app.audit.services import record
from app.auth.models import User
from app.cases.models import (
    CASE_ID,
    NEEDS,
    AccessGrant,
    Case,
    CaseAssignment,
    CaseOutcome,
    CaseSource,
    CaseStatus,
    ContactAttempt,
    GrantKind,
    Intervention,
    InterventionStatus,
    JournalEntry,
    NeedsAssessment,
    ProtectionLevel,
    ThreatAssessment,
    ThreatGroup,
    ThreatLevel,
    case_is_open,
)
from app.cases.permissions import can_see_identity
from app.cases.personal_number import InvalidPersonalNumber, normalise_personal_number
from app.core.clock import utcnow
from app.core.crypto import blind_index, blind_index_candidates
from app.core.db import rows_matched
from app.extensions import db
from app.intake.models import ClientRequest, RequestKind, RequestStatus, Urgency
from app.orgs.models import Organisation, OrgKind
from app.rules import LOCAL_TIME, clocks_for, rule
from app.rules.models import AgeBand, Deadline
from app.rules.municipalities import require_code

if TYPE_CHECKING:  # deadlines.py reads this module
    from app.cases.deadlines import DueEdges

GRANT_VALIDITY = timedelta(hours=8)
CONTACT_CHANNELS = ("phone", "sms", "message", "meeting", "other")
CONTACT_OUTCOMES = ("reached", "no_answer", "voicemail", "wrong_number", "unsafe")
REQUEST_CLOSE_REASONS = ("not_reached", "no_longer_wanted", "referred", "duplicate", "other")


class CaseError(ValueError):
    """The operation does not fit the case's state; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _audit(action: str, case: Case, **details: str | int | bool | None) -> None:
    record(action, subject=case, organisation_id=case.organisation_id, details=details)


def _audit_request(action: str, request: ClientRequest, **details: str | int | bool | None) -> None:
    record(action, subject=request, organisation_id=request.organisation_id, details=details)


# Triage ------------------------------------------------------------------------------


def first_contact_due(request: ClientRequest) -> datetime:
    key = "first_contact_acute" if request.urgency is Urgency.ACUTE else "first_contact_other"
    return rule(key).due(request.submitted_at)


def _waiting_for(organisation_id: object) -> sa.ColumnElement[bool]:
    return sa.and_(
        ClientRequest.organisation_id == organisation_id,
        ClientRequest.status.in_([RequestStatus.RECEIVED, RequestStatus.CONTACTED]),
        ClientRequest.case_id.is_(None),
    )


def triage_queue(organisation_id: object) -> list[ClientRequest]:
    """Requests still waiting for the team: urgent first, then the longest waiting."""
    return list(
        db.session.scalars(
            sa.select(ClientRequest)
            .where(_waiting_for(organisation_id))
            .order_by(ClientRequest.urgent.desc(), ClientRequest.submitted_at)
            .limit(500)
        )
    )


def triage_counts(organisation_id: object, edges: DueEdges) -> sa.Subquery:
    """How many requests filter_triage(triage_queue(...), show) would hold at `edges.now`
    for each `show` (and "all": the whole queue), counted by the database in one pass (for
    the start page, in one statement with its other counts)."""
    acute = ClientRequest.urgency == Urgency.ACUTE
    shows: dict[str, sa.ColumnElement[bool]] = {
        "acute": ClientRequest.urgent.is_(True),
        "late": sa.and_(
            ClientRequest.first_contact_at.is_(None),
            sa.or_(
                sa.and_(acute, ClientRequest.submitted_at < edges.acute_late),
                sa.and_(~acute, ClientRequest.submitted_at < edges.other_late),
            ),
        ),
        "unassigned": ClientRequest.assigned_to_id.is_(None),
    }
    return (
        sa.select(
            sa.func.count().label("all"),
            *(sa.func.count().filter(where).label(show) for show, where in shows.items()),
        )
        .where(_waiting_for(organisation_id))
        .subquery()
    )


def is_past_target(request: ClientRequest, now: datetime) -> bool:
    """Not yet reached, and the first-contact target has passed."""
    return request.first_contact_at is None and first_contact_due(request) < now


# The triage list's filters; the start page counts with the same ones, so a count and the
# list it links to always agree.
TRIAGE_FILTERS: dict[str, Callable[[ClientRequest, datetime], bool]] = {
    "acute": lambda request, _now: request.urgent,
    "late": is_past_target,
    "unassigned": lambda request, _now: request.assigned_to_id is None,
}


def filter_triage(queue: list[ClientRequest], show: str | None) -> list[ClientRequest]:
    """The queue narrowed to one filter (unknown or none: the whole queue)."""
    keep = TRIAGE_FILTERS.get(show or "")
    if keep is None:
        return queue
    now = utcnow()
    return [request for request in queue if keep(request, now)]


def view_request_for_triage(request: ClientRequest) -> None:
    _audit_request("request.viewed", request)


def assign_request(request: ClientRequest, assignee: User) -> None:
    """Claim a request (assignee is oneself) or give it to a colleague of the same team."""
    if assignee.organisation_id != request.organisation_id:
        raise CaseError("other_team")
    request.assigned_to = assignee
    _audit_request("request.assigned", request, assignee=str(assignee.id))


def log_contact_attempt(
    request: ClientRequest, author: User, channel: str, outcome: str, at: datetime
) -> ContactAttempt:
    if channel not in CONTACT_CHANNELS or outcome not in CONTACT_OUTCOMES:
        raise CaseError("invalid_choice")
    attempt = ContactAttempt(
        request_id=request.id,
        author_id=author.id,
        attempted_at=at,
        channel=channel,
        outcome=outcome,
    )
    db.session.add(attempt)
    if outcome == "reached" and request.first_contact_at is None:
        request.first_contact_at = at
        if request.status is RequestStatus.RECEIVED:
            request.status = RequestStatus.CONTACTED
    db.session.flush()
    _audit_request("request.contact_logged", request, channel=channel, outcome=outcome)
    return attempt


def contact_attempts(request: ClientRequest) -> list[ContactAttempt]:
    return list(
        db.session.scalars(
            sa.select(ContactAttempt)
            .where(ContactAttempt.request_id == request.id)
            .order_by(ContactAttempt.attempted_at)
        )
    )


def close_request(request: ClientRequest, reason: str) -> None:
    if reason not in REQUEST_CLOSE_REASONS:
        raise CaseError("invalid_choice")
    if request.case_id is not None:
        raise CaseError("has_case")
    request.status = RequestStatus.CLOSED
    request.closed_reason = reason
    _audit_request("request.closed", request, reason=reason)


def _new_reference() -> str:
    year = utcnow().year
    while True:
        reference = f"K-{year}-{secrets.randbelow(900000) + 100000}"
        if not db.session.scalar(sa.select(Case.id).where(Case.reference == reference)):
            return reference


def open_case(request: ClientRequest, opened_by: User) -> Case:
    """Turn a request into a case assigned to whoever opens it."""
    if request.case_id is not None:
        raise CaseError("has_case")
    now = utcnow()
    case = Case(
        reference=_new_reference(),
        organisation_id=request.organisation_id,
        status=CaseStatus.NEW,
        source=CaseSource.RELATIVE
        if request.kind is RequestKind.RELATIVE
        else CaseSource.SELF_SERVICE,
        opened_at=now,
        age_band=request.age_band,
        full_name=request.identity_name,
        phone=request.phone,
    )
    db.session.add(case)
    db.session.flush()
    case.assignments.append(CaseAssignment(user_id=opened_by.id))
    request.case_id = case.id
    request.became_case_at = now
    request.status = RequestStatus.IN_PROGRESS
    db.session.flush()
    _audit("case.opened", case, request=str(request.id))
    _audit_request("request.became_case", request, case=str(case.id))
    return case


def link_request(request: ClientRequest, case: Case) -> None:
    """Attach a relative's request to an existing case; nothing of it is shown to the client."""
    if request.case_id is not None or request.organisation_id != case.organisation_id:
        raise CaseError("cannot_link")
    request.case_id = case.id
    request.status = RequestStatus.IN_PROGRESS
    _audit("case.request_linked", case, request=str(request.id))


def find_case_by_reference(organisation_id: object, reference: str) -> Case | None:
    return db.session.scalar(
        sa.select(Case).where(
            Case.organisation_id == organisation_id, Case.reference == reference.strip().upper()
        )
    )


# The case ----------------------------------------------------------------------------


def view_case(case: Case, *, identity_shown: bool) -> None:
    _audit("case.viewed", case, identity_shown=identity_shown)


def assign_case(case: Case, assignee: User) -> None:
    if assignee.organisation_id != case.organisation_id:
        raise CaseError("other_team")
    if assignee.id not in case.assignee_ids:
        case.assignments.append(CaseAssignment(user_id=assignee.id))
        db.session.flush()
    _audit("case.assigned", case, assignee=str(assignee.id))


def unassign_case(case: Case, assignee_id: object) -> bool:
    """Take a caseworker off the case; False (and nothing audited) if they were not on it."""
    kept = [a for a in case.assignments if a.user_id != assignee_id]
    if len(kept) == len(case.assignments):
        return False
    case.assignments = kept
    _audit("case.unassigned", case, assignee=str(assignee_id))
    return True


def grant_access(case: Case, user: User, kind: GrantKind, reason: str) -> AccessGrant:
    """Break the glass, or reveal a protected identity: with a reason, flagged for review."""
    grant = AccessGrant(
        case_id=case.id,
        user_id=user.id,
        kind=kind,
        reason=reason,
        expires_at=utcnow() + GRANT_VALIDITY,
    )
    db.session.add(grant)
    db.session.flush()
    _audit(f"case.{kind.value}", case, flagged=True)
    # Those who answer for the case learn that someone else went in (never the one who did).
    told = [p for p in case_team(case) if p.id != user.id]
    notify(AlertKind.CASE_ACCESSED, told, case.id, case_id=case.id)
    return grant


def grants_to_review(organisation_id: object) -> list[AccessGrant]:
    return list(
        db.session.scalars(
            sa.select(AccessGrant)
            .join(Case, Case.id == AccessGrant.case_id)
            .where(Case.organisation_id == organisation_id, AccessGrant.reviewed_at.is_(None))
            .order_by(AccessGrant.created_at)
        )
    )


def review_grant(grant: AccessGrant, reviewer: User) -> None:
    grant.reviewed_at = utcnow()
    grant.reviewed_by_id = reviewer.id
    record("access_grant.reviewed", subject=grant, details={"case": str(grant.case_id)})


@dataclass(frozen=True)
class IdentityChange:
    full_name: str | None
    personal_number: str | None
    phone: str | None
    address: str | None
    municipality: str | None
    adults: int
    children_ages: list[int]


def _municipality(value: str | None, *, kept: str | None) -> str | None:
    """A code from the list; or the text written before the list existed, left as it was."""
    if not value:
        return None
    if value == kept:
        return kept
    return require_code(value)


@dataclass(frozen=True)
class DuplicateCheck:
    """What the person saving a personal identity number may learn of other cases with it.

    Only the team's cases whose identity they may see are named; that others exist is told
    to the team lead (flagged in the access log), never to them: a number typed into a
    throwaway case must not find out who else the team holds, nor how many.
    """

    visible: list[str]
    withheld: bool


def update_identity(case: Case, change: IdentityChange, by: User) -> DuplicateCheck:
    """Save identity and household, and check the team's other cases for the same number."""
    number = None
    if change.personal_number:
        try:
            number = normalise_personal_number(change.personal_number)
        except InvalidPersonalNumber as error:
            raise CaseError("personal_number") from error
    case.full_name = change.full_name or None
    case.personal_number = number
    case.personal_number_index = blind_index(number, "personal-number") if number else None
    case.phone = change.phone or None
    case.address = change.address or None
    case.municipality = _municipality(change.municipality, kept=case.municipality)
    case.household = json.dumps({"adults": change.adults, "children_ages": change.children_ages})
    _audit("case.identity_updated", case)
    if not number:
        return DuplicateCheck([], withheld=False)
    return _check_duplicates(case, by, number)


def _check_duplicates(case: Case, by: User, number: str) -> DuplicateCheck:
    # Never across organisations: another team's cases are not this team's to know about.
    # Every key's index is asked for: during a re-index another case may still be under
    # the earlier BLIND_INDEX_KEY.
    others = db.session.scalars(
        sa.select(Case).where(
            Case.personal_number_index.in_(blind_index_candidates(number, "personal-number")),
            Case.organisation_id == case.organisation_id,
            Case.id != case.id,
        )
    ).all()
    visible = sorted(other.reference for other in others if can_see_identity(by, other))
    withheld = [other for other in others if not can_see_identity(by, other)]
    _audit("case.duplicate_number_checked", case, shown=len(visible), withheld=bool(withheld))
    if withheld:
        # For the team lead's review: which cases, by id; the person saving learns nothing.
        _audit(
            "case.duplicate_number_withheld",
            case,
            cases=",".join(sorted(str(other.id) for other in withheld)),
            flagged=True,
        )
    return DuplicateCheck(visible, withheld=bool(withheld))


STATUS_ORDER = list(CaseStatus)


def change_status(case: Case, status: CaseStatus) -> None:
    if case.status is CaseStatus.CLOSED:
        raise CaseError("closed")
    if status is CaseStatus.CLOSED:
        raise CaseError("use_close")
    case.status = status
    _audit("case.status_changed", case, status=status.value)


def close_case(case: Case, outcome: CaseOutcome) -> None:
    # One guarded update decides: of two presses at once, one closes and one is refused,
    # so the trail records one closing.
    closed = rows_matched(
        db.session.execute(
            sa.update(Case)
            .where(Case.id == case.id, Case.status != CaseStatus.CLOSED)
            .values(status=CaseStatus.CLOSED, outcome=outcome, closed_at=utcnow())
            .execution_options(synchronize_session=False)
        )
    )
    if not closed:
        raise CaseError("closed")
    db.session.refresh(case, ["status", "outcome", "closed_at"])
    db.session.execute(
        sa.update(CaseAssignment)
        .where(CaseAssignment.case_id == case.id)
        .values(case_open=False)
        .execution_options(synchronize_session="fetch")
    )
    for request in db.session.scalars(
        sa.select(ClientRequest).where(ClientRequest.case_id == case.id)
    ):
        request.status = RequestStatus.CLOSED
    _audit("case.closed", case, outcome=outcome.value)


def add_journal_entry(case: Case, author: User, occurred_on: date, body: str) -> JournalEntry:
    entry = JournalEntry(case_id=case.id, author_id=author.id, occurred_on=occurred_on, body=body)
    db.session.add(entry)
    db.session.flush()
    _audit("case.journal_added", case)
    return entry


def record_threat_assessment(
    case: Case,
    assessor: User,
    *,
    level: ThreatLevel,
    by_police: bool,
    assessed_on: date,
    sources: str | None,
    group_ids: list[str],
    areas_to_avoid: list[str],
    next_review_on: date | None,
) -> ThreatAssessment:
    groups = list(
        db.session.scalars(
            sa.select(ThreatGroup).where(
                ThreatGroup.organisation_id == case.organisation_id,
                ThreatGroup.id.in_([_uuid(g) for g in group_ids]),
            )
        )
    )
    assessment = ThreatAssessment(
        case_id=case.id,
        level=level,
        assessed_by_police=by_police,
        assessor_id=assessor.id,
        assessed_on=assessed_on,
        sources=sources or None,
        # Codes only, each once: the conflict check compares them as they are.
        areas_to_avoid=json.dumps(sorted({require_code(code) for code in areas_to_avoid})),
        next_review_on=next_review_on,
        groups=groups,
    )
    db.session.add(assessment)
    db.session.flush()
    _audit("case.threat_assessed", case, level=level.value)
    return assessment


def _uuid(raw: str) -> object:
    try:
        return uuid.UUID(raw)
    except ValueError as error:
        raise CaseError("invalid_choice") from error


def latest_threat_assessment(case: Case) -> ThreatAssessment | None:
    return db.session.scalars(_LATEST_THREAT, {"case_id": case.id}).unique().first()


def record_needs_assessment(
    case: Case, assessor: User, assessed_on: date, notes: dict[str, str]
) -> NeedsAssessment:
    unknown = set(notes) - set(NEEDS)
    if unknown:
        raise CaseError("invalid_choice")
    assessment = NeedsAssessment(
        case_id=case.id,
        assessor_id=assessor.id,
        assessed_on=assessed_on,
        notes=json.dumps({k: v for k, v in notes.items() if v}, ensure_ascii=False),
    )
    db.session.add(assessment)
    db.session.flush()
    _audit("case.needs_assessed", case)
    return assessment


def add_intervention(
    case: Case, kind: str, provider: str | None, starts_on: date | None, ends_on: date | None
) -> Intervention:
    from app.intake.choices import INTERVENTIONS

    if kind not in INTERVENTIONS or kind == "unsure":
        raise CaseError("invalid_choice")
    if starts_on and ends_on and ends_on < starts_on:
        raise CaseError("dates")
    intervention = Intervention(
        case_id=case.id,
        kind=kind,
        provider=provider or None,
        starts_on=starts_on,
        ends_on=ends_on,
        status=InterventionStatus.PLANNED,
    )
    db.session.add(intervention)
    db.session.flush()
    _audit("case.intervention_added", case, kind=kind)
    return intervention


def update_intervention(
    intervention: Intervention, case: Case, status: InterventionStatus, outcome: str | None
) -> None:
    intervention.status = status
    intervention.outcome = outcome or None
    _audit("case.intervention_updated", case, status=status.value)


# A list counts exactly up to here and says "more than" beyond: counting a team's whole
# history on every view of the list would make it slower with every year of work.
COUNT_LIMIT = 1000


@dataclass(frozen=True)
class ListedCase:
    """One line of a case list."""

    id: uuid.UUID
    reference: str
    status: CaseStatus
    protection_level: ProtectionLevel
    opened_at: datetime
    assignees: str


@dataclass(frozen=True)
class CasePage:
    """One page of a case list, and how many cases the filters found."""

    cases: list[ListedCase]
    total: int
    has_next: bool
    # False when the count stopped at COUNT_LIMIT: there are more than `total`.
    total_is_exact: bool = True

    @property
    def count_limit(self) -> int:
        return COUNT_LIMIT


def team_cases(
    organisation_id: object,
    *,
    reference: str | None = None,
    status: CaseStatus | None = None,
    open_only: bool = False,
    caseworker_id: object | None = None,
    protection: ProtectionLevel | None = None,
    deadline_before: datetime | None = None,
    only_for: User | None = None,
    page: int = 1,
    per_page: int = 50,
) -> CasePage:
    """A page of the team's cases with filters; `only_for` keeps a caseworker's own, and
    `open_only` leaves out closed cases unless a reference is asked for.

    Newest first. The page and its count cost the same whatever the size of the team's
    history: open cases are read from their own (partial) index, the count stops at
    COUNT_LIMIT, and a list that fits on its page is not counted again.
    """
    query = sa.select(Case.id).where(Case.organisation_id == organisation_id)
    if only_for is not None or caseworker_id is not None:
        person = only_for.id if only_for is not None else caseworker_id
        query = query.where(
            Case.id.in_(sa.select(CaseAssignment.case_id).where(CaseAssignment.user_id == person))
        )
    if reference:
        query = query.where(Case.reference == reference.strip().upper())
    if status is not None:
        query = query.where(Case.status == status)
    elif open_only and not reference:  # a reference names one case, open or closed
        query = query.where(case_is_open())
    if protection is not None:
        query = query.where(Case.protection_level == protection)
    if deadline_before is not None:
        # An unmet legal deadline, or a threat review, falls due before the given moment.
        unmet = sa.and_(Deadline.met_at.is_(None), Deadline.due_at < deadline_before)
        legal = sa.union(
            sa.select(ClientRequest.case_id)
            .join(Deadline, Deadline.request_id == ClientRequest.id)
            .where(unmet),
            sa.select(Deadline.case_id).where(unmet, Deadline.case_id.is_not(None)),
        )
        review_day = deadline_before.astimezone(LOCAL_TIME).date()
        reviews = sa.select(ThreatAssessment.case_id).where(
            ThreatAssessment.next_review_on < review_day
        )
        query = query.where(case_is_open(), sa.or_(Case.id.in_(legal), Case.id.in_(reviews)))
    # Plain rows, not Case objects: a list shows no identity, so nothing is decrypted. One
    # row more than the page tells whether there is a next page.
    rows = db.session.execute(
        query.add_columns(
            Case.reference,
            Case.status,
            Case.protection_level,
            Case.opened_at,
            _caseworker_names().label("assignees"),
        )
        .order_by(Case.opened_at.desc(), Case.id)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    ).all()
    whole = page == 1 and len(rows) <= per_page
    if whole:
        total = len(rows)  # all of them are on this page: nothing more to count
    else:
        counted = query.limit(COUNT_LIMIT + 1).subquery()
        total = db.session.scalar(sa.select(sa.func.count()).select_from(counted)) or 0
    return CasePage(
        cases=[
            ListedCase(
                row.id,
                row.reference,
                row.status,
                row.protection_level,
                row.opened_at,
                row.assignees or "",
            )
            for row in rows[:per_page]
        ],
        total=total,
        has_next=len(rows) > per_page,
        total_is_exact=whole or total <= COUNT_LIMIT,
    )


@functools.cache
def _caseworker_names() -> sa.ScalarSelect[str]:
    """The case's caseworkers, first assigned first, as "anna, bo". Built once: statements
    are immutable, and building this one cost a quarter of a millisecond a page."""
    names = (
        sa.select(User.username)
        .join(CaseAssignment, CaseAssignment.user_id == User.id)
        .where(CaseAssignment.case_id == Case.id)
        .order_by(CaseAssignment.created_at, User.username)
        .correlate(Case)
        .subquery()
    )
    return sa.select(sa.func.aggregate_strings(names.c.username, ", ")).scalar_subquery()


def open_case_counts(organisation_id: object) -> dict[uuid.UUID, int]:
    """How many open cases each member of the team has: their workload."""
    return dict(
        db.session.execute(
            sa.select(CaseAssignment.user_id, sa.func.count())
            .join(Case, Case.id == CaseAssignment.case_id)
            .where(Case.organisation_id == organisation_id, case_is_open())
            .group_by(CaseAssignment.user_id)
        ).all()
    )


def team_groups(organisation_id: object) -> list[ThreatGroup]:
    return list(
        db.session.scalars(
            sa.select(ThreatGroup)
            .where(ThreatGroup.organisation_id == organisation_id)
            .order_by(ThreatGroup.name)
        )
    )


def add_group(organisation_id: uuid.UUID, name: str) -> ThreatGroup:
    """Add a group to the team's list; the same name twice is refused."""
    name = " ".join(name.split())
    exists = db.session.scalar(
        sa.select(ThreatGroup.id).where(
            ThreatGroup.organisation_id == organisation_id,
            sa.func.lower(ThreatGroup.name) == name.lower(),
        )
    )
    if exists:
        raise CaseError("duplicate")
    group = ThreatGroup(organisation_id=organisation_id, name=name)
    db.session.add(group)
    db.session.flush()
    record("threat_group.added", subject=group, organisation_id=organisation_id)
    return group


def case_deadlines(case: Case) -> list[Deadline]:
    """The legal deadlines running on the case and on the requests behind it."""
    return list(db.session.scalars(_CASE_DEADLINES, {"case_id": case.id}))


def start_case_clocks(case: Case, started_at: datetime) -> list[Deadline]:
    """Start the statutory clocks the case's source and the person's age call for
    (app/rules/clocks.toml) that do not already run on it; each from `started_at`."""
    running = {d.rule_key for d in case_deadlines(case)}
    started = []
    for key in clocks_for(case.source.value, case.age_band.value if case.age_band else None):
        if key in running:
            continue
        applied = rule(key)
        started.append(
            Deadline(
                case_id=case.id,
                rule_key=key,
                citation=applied.citation,
                due_at=applied.due(started_at),
            )
        )
    db.session.add_all(started)
    db.session.flush()
    for deadline in started:
        _audit("case.clock_started", case, rule=deadline.rule_key)
    return started


def set_age_band(case: Case, age_band: AgeBand) -> list[Deadline]:
    """Record how old the person is; clocks that age now calls for start today."""
    if case.age_band is age_band:
        return []
    case.age_band = age_band
    _audit("case.age_recorded", case, age_band=age_band.value)
    return start_case_clocks(case, utcnow())


def meet_deadline(case: Case, deadline: Deadline) -> None:
    if deadline.met_at is None:
        deadline.met_at = utcnow()
        _audit("case.deadline_met", case, rule=deadline.rule_key)


def open_child_investigation(case: Case) -> Deadline:
    """The decision to investigate is made: it meets that deadline and starts the 4 months."""
    deadlines = case_deadlines(case)
    decision = next((d for d in deadlines if d.rule_key == "child_investigation_decision"), None)
    if decision is None or any(d.rule_key == "child_investigation_completed" for d in deadlines):
        raise CaseError("no_child_concern")
    meet_deadline(case, decision)
    applied = rule("child_investigation_completed")
    investigation = Deadline(
        request_id=decision.request_id,
        case_id=case.id,
        rule_key=applied.key,
        citation=applied.citation,
        due_at=applied.due(utcnow()),
    )
    db.session.add(investigation)
    db.session.flush()
    _audit("case.child_investigation_opened", case)
    return investigation


def originating_request(case: Case) -> ClientRequest | None:
    """The request the case was opened from (not a relative's linked request)."""
    return db.session.scalar(_ORIGIN, {"case_id": case.id})


def reporting_agencies() -> list[Organisation]:
    """The agencies a report of concern can come from."""
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrgKind.AGENCY, Organisation.active.is_(True))
            .order_by(Organisation.name)
        )
    )


def create_case(
    organisation_id: uuid.UUID,
    source: CaseSource,
    full_name: str | None,
    by: User,
    *,
    age_band: AgeBand | None = None,
    reporting_organisation_id: uuid.UUID | None = None,
) -> Case:
    """A case that came by phone, from the police, probation, another agency, a call-in or a
    home visit; the statutory clocks its source and the person's age call for start now."""
    if source is CaseSource.SELF_SERVICE:
        raise CaseError("invalid_choice")
    if reporting_organisation_id is not None and reporting_organisation_id not in {
        agency.id for agency in reporting_agencies()
    }:
        raise CaseError("invalid_choice")
    now = utcnow()
    case = Case(
        reference=_new_reference(),
        organisation_id=organisation_id,
        status=CaseStatus.NEW,
        source=source,
        reporting_organisation_id=reporting_organisation_id,
        age_band=age_band,
        opened_at=now,
        full_name=full_name or None,
    )
    db.session.add(case)
    db.session.flush()
    case.assignments.append(CaseAssignment(user_id=by.id))
    db.session.flush()
    _audit(
        "case.opened",
        case,
        source=source.value,
        age_band=age_band.value if age_band else None,
        reporter=str(reporting_organisation_id) if reporting_organisation_id else None,
    )
    start_case_clocks(case, now)
    return case


def latest_needs_assessment(case: Case) -> NeedsAssessment | None:
    return db.session.scalar(_LATEST_NEEDS, {"case_id": case.id})


# What every view of a case reads, built once and bound to the case (CASE_ID).
# The latest assessment with its groups in one statement (the groups' own load was another).
_LATEST_THREAT = (
    sa.select(ThreatAssessment)
    .where(ThreatAssessment.case_id == CASE_ID)
    .order_by(ThreatAssessment.assessed_on.desc(), ThreatAssessment.created_at.desc())
    .limit(1)
    .options(sa.orm.joinedload(ThreatAssessment.groups))
)
_LATEST_NEEDS = (
    sa.select(NeedsAssessment)
    .where(NeedsAssessment.case_id == CASE_ID)
    .order_by(NeedsAssessment.assessed_on.desc(), NeedsAssessment.created_at.desc())
    .limit(1)
)
_ORIGIN = sa.select(ClientRequest).where(
    ClientRequest.case_id == CASE_ID, ClientRequest.became_case_at.is_not(None)
)
# A case's clocks, found through each of the two indexes and joined by id: "on the case OR
# on one of its requests" in one condition made PostgreSQL read every deadline of the
# installation (3 ms at 100,000 cases, on every view of a case).
_CASE_DEADLINES = (
    sa.select(Deadline)
    .where(
        Deadline.id.in_(
            sa.union(
                sa.select(Deadline.id).where(Deadline.case_id == CASE_ID),
                sa.select(Deadline.id)
                .join(ClientRequest, Deadline.request_id == ClientRequest.id)
                .where(ClientRequest.case_id == CASE_ID),
            )
        )
    )
    .order_by(Deadline.due_at)
)
