"""Placement requests to partners: conflict checks, answers, one confirmation, hand-over."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from app.alerts.models import AlertKind
from app.alerts.services import case_team, notify, organisation_members
from app.audit.services import record
from app.auth.models import Role, User
from app.cases.models import CASE_ID, Case, ThreatAssessment
from app.cases.permissions import is_team_lead_of
from app.cases.services import latest_threat_assessment
from app.consent.models import Disclosure, Purpose
from app.consent.services import (
    NotCovered,
    consent_covers,
    read_disclosure,
    readable_disclosure,
    record_disclosure,
)
from app.core.clock import utcnow
from app.extensions import db
from app.orgs.models import Organisation
from app.placements.models import (
    PARTNER_SERVICES,
    FollowUp,
    PartnerProfile,
    Placement,
    PlacementRequest,
    PlacementStatus,
    RequestStatus,
)
from app.rules import LOCAL_TIME, rule
from app.rules.municipalities import display, is_code, swedish_sort_key


class PlacementError(ValueError):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConflictFound(Exception):
    """Sending would risk placing the person near a threat. Says nothing about which case."""


class AlreadyAsked(PlacementError):
    """The request was sent to these partners before (or by a parallel send just now)."""

    def __init__(self, partners: list[Organisation]) -> None:
        super().__init__("already_asked")
        self.partners = partners


class MoveDatePassed(PlacementError):
    """The earliest move date is today or past: partners could not answer before it."""

    def __init__(self) -> None:
        super().__init__("move_date_passed")


def _audit(action: str, placement: Placement, **details: str | int | bool | None) -> None:
    record(
        action,
        subject=placement,
        organisation_id=placement.organisation_id,
        details={"case": str(placement.case_id), **details},
    )


def areas_to_avoid(case: Case) -> set[str]:
    """The codes of the municipalities the latest threat assessment says to avoid.

    Text kept from before municipalities were chosen from the list is in the set too; it
    equals no partner's code, and conflict_reasons refuses to call such an area safe.
    """
    threat = latest_threat_assessment(case)
    return set(json.loads(threat.areas_to_avoid)) if threat else set()


def _groups(case_id: uuid.UUID) -> set[uuid.UUID]:
    threat = db.session.scalar(
        sa.select(ThreatAssessment)
        .where(ThreatAssessment.case_id == case_id)
        .order_by(ThreatAssessment.assessed_on.desc(), ThreatAssessment.created_at.desc())
        .limit(1)
    )
    return {g.id for g in threat.groups} if threat else set()


def conflict_reasons(case: Case, partner: PartnerProfile) -> list[str]:
    """Why sending this case to this partner is dangerous; empty when it is not.

    Two checks: the partner's municipality is one the person must avoid, or another case
    whose threat sources share a group with this one (in either direction) has an active
    placement in that municipality. The reasons are for the audit trail, never for the page.
    """
    reasons = []
    avoid = areas_to_avoid(case)
    # Codes against codes: no collation or case folding decides whether two places are one.
    if partner.municipality in avoid:
        reasons.append("area_to_avoid")
    # A place written by hand before the list existed cannot be compared with anything:
    # it is not called safe. A team lead may still override, with a reason, flagged.
    if not is_code(partner.municipality) or any(not is_code(area) for area in avoid):
        reasons.append("municipality_unrecognised")
    ours = _groups(case.id)
    if ours:
        active = db.session.execute(
            sa.select(Placement.case_id)
            .join(PlacementRequest, PlacementRequest.placement_id == Placement.id)
            .join(PartnerProfile, PartnerProfile.organisation_id == PlacementRequest.partner_id)
            .where(
                Placement.case_id != case.id,
                Placement.status == PlacementStatus.CONFIRMED,
                PlacementRequest.status == RequestStatus.CONFIRMED,
                PartnerProfile.municipality == partner.municipality,
            )
        ).scalars()
        if any(_groups(other) & ours for other in set(active)):
            reasons.append("group_conflict")
    return reasons


@dataclass(frozen=True)
class PartnerOption:
    profile: PartnerProfile
    excluded: str | None  # "area_to_avoid" or "no_capacity"


def partner_options(case: Case) -> list[PartnerOption]:
    """Partners to choose from, filtered by the areas to avoid and by capacity."""
    avoid = areas_to_avoid(case)
    profiles = db.session.scalars(
        sa.select(PartnerProfile).join(Organisation).where(Organisation.active.is_(True))
    )
    options = []
    for profile in sorted(profiles, key=lambda p: swedish_sort_key(display(p.municipality))):
        excluded = None
        if profile.municipality in avoid:
            excluded = "area_to_avoid"
        elif profile.capacity <= 0:
            excluded = "no_capacity"
        options.append(PartnerOption(profile, excluded))
    return options


@dataclass(frozen=True)
class Needs:
    adults: int
    children_ages: list[int]
    housing_needs: str | None
    support_needs: str | None
    earliest_move_on: date
    expected_duration: str | None
    free_text: str | None
    services: list[str] = field(default_factory=list)


def create_placement(case: Case, by: User, needs: Needs) -> Placement:
    unknown = set(needs.services) - set(PARTNER_SERVICES)
    if unknown:
        raise PlacementError("services")
    placement = Placement(
        case_id=case.id,
        organisation_id=case.organisation_id,
        created_by_id=by.id,
        status=PlacementStatus.OPEN,
        adults=needs.adults,
        children_ages=", ".join(str(a) for a in needs.children_ages),
        housing_needs=needs.housing_needs or None,
        support_needs=needs.support_needs or None,
        earliest_move_on=needs.earliest_move_on,
        # In the list's order, whatever order they were ticked in.
        services=",".join(s for s in PARTNER_SERVICES if s in needs.services) or None,
        expected_duration=needs.expected_duration or None,
        free_text=needs.free_text or None,
    )
    db.session.add(placement)
    db.session.flush()
    _audit("placement.created", placement)
    return placement


def send_requests(
    placement: Placement,
    case: Case,
    partner_ids: list[uuid.UUID],
    by: User,
    override_reason: str | None,
) -> int:
    """Send the request to partners, after the conflict check.

    A conflict blocks everything unless a team lead overrides it with a reason; the
    override is audited and flagged for review. Each partner gets the request once: naming
    a partner asked before refuses the whole send (AlreadyAsked), and so does losing a race
    with another send of it, which the database's unique key decides.
    """
    if placement.status is not PlacementStatus.OPEN:
        raise PlacementError("not_open")
    if placement.earliest_move_on <= utcnow().astimezone(LOCAL_TIME).date():
        raise MoveDatePassed
    profiles = list(
        db.session.scalars(
            sa.select(PartnerProfile).where(PartnerProfile.organisation_id.in_(partner_ids))
        )
    )
    if not profiles or len(profiles) != len(set(partner_ids)):
        raise PlacementError("partners")
    asked = [p.organisation for p in profiles if p.organisation_id in _asked(placement)]
    if asked:
        _audit("placement.already_asked", placement, partners=len(asked))
        raise AlreadyAsked(asked)
    found = {p.organisation_id: conflict_reasons(case, p) for p in profiles}
    if any(found.values()):
        if not (override_reason and is_team_lead_of(by, case.organisation_id)):
            _audit(
                "placement.conflict_blocked",
                placement,
                reasons=",".join(sorted({r for rs in found.values() for r in rs})),
            )
            raise ConflictFound
        placement.override_by_id = by.id
        placement.override_reason = override_reason
        _audit("placement.conflict_overridden", placement, flagged=True)
    respond_by = answer_deadline(placement, utcnow())
    new_requests = [
        PlacementRequest(
            placement_id=placement.id,
            partner_id=profile.organisation_id,
            status=RequestStatus.SENT,
            respond_by=respond_by,
        )
        for profile in profiles
    ]
    try:
        # The unique key on (placement, partner) decides between two sends at once: the
        # second waits for the first and then fails here. Only the savepoint is undone, so
        # the refusal can still be recorded and answered.
        with db.session.begin_nested():
            db.session.add_all(new_requests)
            db.session.flush()
    except IntegrityError:
        db.session.expire(placement, ["requests"])
        asked = [p.organisation for p in profiles if p.organisation_id in _asked(placement)]
        _audit("placement.already_asked", placement, partners=len(asked))
        raise AlreadyAsked(asked) from None
    db.session.expire(placement, ["requests"])
    sent = len(new_requests)
    for sent_request in new_requests:
        # The partner's people see it waiting from the day it is sent, not only when the
        # answer is nearly due. No case: a partner never sees the case, only this request.
        notify(
            AlertKind.PLACEMENT_REQUEST,
            organisation_members(sent_request.partner_id, Role.PARTNER),
            sent_request.id,
        )
    _audit("placement.sent", placement, partners=sent)
    return sent


def _asked(placement: Placement) -> set[uuid.UUID]:
    """The partners this placement was sent to already, as the database has it now."""
    return set(
        db.session.scalars(
            sa.select(PlacementRequest.partner_id).where(
                PlacementRequest.placement_id == placement.id
            )
        )
    )


def answer_deadline(placement: Placement, now: datetime) -> datetime:
    """The partners' answer is due by the rule's period, and never after the day before the
    earliest move date: an answer that comes after the move is no answer."""
    by_rule = rule("partner_answer").due(now)
    day_before_move = datetime.combine(
        placement.earliest_move_on, time(0), tzinfo=LOCAL_TIME
    ) - timedelta(seconds=1)
    return max(min(by_rule, day_before_move), now)


def expire_due() -> int:
    """Requests not answered by their deadline expire (the partner must answer in time)."""
    result = db.session.execute(
        sa.update(PlacementRequest)
        .where(
            PlacementRequest.status == RequestStatus.SENT, PlacementRequest.respond_by < utcnow()
        )
        .values(status=RequestStatus.EXPIRED)
        .execution_options(synchronize_session=False)
    )
    count = int(getattr(result, "rowcount", 0) or 0)
    record("placement.requests_expired", details={"count": count})
    return count


def _is_live(request: PlacementRequest) -> bool:
    return request.respond_by > utcnow() and request.placement.status is PlacementStatus.OPEN


def accept(request: PlacementRequest, housing_type: str, move_in_on: date, contact: str) -> None:
    if request.status is not RequestStatus.SENT or not _is_live(request):
        raise PlacementError("not_open")
    request.status = RequestStatus.ACCEPTED
    request.answered_at = utcnow()
    request.offer_housing_type = housing_type
    request.offer_move_in_on = move_in_on
    request.offer_contact = contact
    record(
        "placement.offer_made", subject=request, details={"placement": str(request.placement_id)}
    )
    _alert_team(request.placement)


def decline(request: PlacementRequest, reason: str) -> None:
    if request.status is not RequestStatus.SENT or not _is_live(request):
        raise PlacementError("not_open")
    request.status = RequestStatus.DECLINED
    request.answered_at = utcnow()
    request.decline_reason = reason
    record("placement.declined", subject=request, details={"placement": str(request.placement_id)})
    _alert_team(request.placement)


def _alert_team(placement: Placement) -> None:
    """A partner answered: the case's caseworkers (or the leads) decide what follows."""
    notify(
        AlertKind.PARTNER_ANSWER,
        case_team(db.session.get_one(Case, placement.case_id)),
        placement.id,
        case_id=placement.case_id,
    )


def confirm(placement: Placement, chosen: PlacementRequest) -> None:
    """Confirm one offer and close every other request — exactly once, even under races.

    The guarded UPDATE is the lock: of two confirmations at once, only one finds the
    placement still open; the other changes nothing and is refused.
    """
    if chosen.placement_id != placement.id or chosen.status is not RequestStatus.ACCEPTED:
        raise PlacementError("not_an_offer")
    won = db.session.execute(
        sa.update(Placement)
        .where(Placement.id == placement.id, Placement.status == PlacementStatus.OPEN)
        .values(status=PlacementStatus.CONFIRMED)
        .execution_options(synchronize_session=False)
    )
    if int(getattr(won, "rowcount", 0) or 0) != 1:
        raise PlacementError("already_confirmed")
    db.session.execute(
        sa.update(PlacementRequest)
        .where(
            PlacementRequest.placement_id == placement.id,
            PlacementRequest.id != chosen.id,
            PlacementRequest.status.in_([RequestStatus.SENT, RequestStatus.ACCEPTED]),
        )
        .values(status=RequestStatus.CLOSED)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(PlacementRequest)
        .where(PlacementRequest.id == chosen.id)
        .values(status=RequestStatus.CONFIRMED, follow_up=FollowUp.PLANNED)
        .execution_options(synchronize_session=False)
    )
    db.session.expire(placement)
    db.session.expire(chosen)
    _audit("placement.confirmed", placement, partner=str(chosen.partner_id))


@dataclass(frozen=True)
class Handover:
    full_name: str | None
    personal_number: str | None
    phone: str | None
    minimum_only: bool
    handed_over_at: datetime


def handover_fields(case: Case) -> list[tuple[str, str | None]]:
    """What a partner receives: for a protected identity, only the name."""
    if case.is_protected:
        return [("full_name", case.full_name)]
    return [
        ("full_name", case.full_name),
        ("personal_number", case.personal_number),
        ("phone", case.phone),
    ]


def hand_over(request: PlacementRequest, case: Case, by: User) -> Disclosure:
    """Disclose identity to the confirmed partner, only on consent, as a frozen snapshot.

    Doing it again after the case changed is a new, recorded disclosure: that is the only
    way a change reaches the partner.
    """
    if request.status is not RequestStatus.CONFIRMED:
        raise PlacementError("not_confirmed")
    if not consent_covers(case, request.partner, Purpose.PLACEMENT):
        record(
            "placement.handover_refused",
            subject=request,
            organisation_id=case.organisation_id,
            details={"case": str(case.id)},
        )
        raise NotCovered
    disclosure = record_disclosure(
        case, request.partner, Purpose.PLACEMENT, handover_fields(case), by
    )
    request.handed_over_at = utcnow()
    return disclosure


def handover_snapshot(request: PlacementRequest, case: Case) -> Disclosure | None:
    """The hand-over the partner may read now; None before it or once consent has ended."""
    if request.handed_over_at is None:
        return None
    return readable_disclosure(case, request.partner, Purpose.PLACEMENT)


def handover_data(request: PlacementRequest, case: Case, reader: User) -> Handover | None:
    """What the partner sees after hand-over: the snapshot, never the live case; audited."""
    snapshot = handover_snapshot(request, case)
    if snapshot is None:
        return None
    read_disclosure(snapshot, case, reader)
    return Handover(
        full_name=snapshot.value("full_name"),
        personal_number=snapshot.value("personal_number"),
        phone=snapshot.value("phone"),
        minimum_only="personal_number" not in snapshot.field_names,
        handed_over_at=snapshot.created_at,
    )


def report_follow_up(request: PlacementRequest, stage: FollowUp, report: str | None) -> None:
    if request.status is not RequestStatus.CONFIRMED:
        raise PlacementError("not_confirmed")
    request.follow_up = stage
    request.report = report or None
    record("placement.follow_up", subject=request, details={"stage": stage.value})


def update_profile(profile: PartnerProfile, services: list[str], capacity: int) -> None:
    profile.services = ",".join(services)
    profile.capacity = capacity
    profile.updated_at = utcnow()
    record("partner.profile_updated", subject=profile.organisation, details={"capacity": capacity})


def incoming(partner_id: uuid.UUID) -> list[PlacementRequest]:
    return list(
        db.session.scalars(
            sa.select(PlacementRequest)
            .where(PlacementRequest.partner_id == partner_id)
            .order_by(PlacementRequest.created_at.desc())
        )
    )


def waiting_count(partner_id: uuid.UUID) -> int:
    """Requests still open for the partner's answer: those whose shown_status is SENT."""
    return (
        db.session.scalar(
            sa.select(sa.func.count(PlacementRequest.id)).where(
                PlacementRequest.partner_id == partner_id,
                PlacementRequest.status == RequestStatus.SENT,
                PlacementRequest.respond_by > utcnow(),
            )
        )
        or 0
    )


def placements_of_case(case_id: uuid.UUID) -> list[Placement]:
    return list(db.session.scalars(_PLACEMENTS_OF_CASE, {"case_id": case_id}))


_PLACEMENTS_OF_CASE = (
    sa.select(Placement).where(Placement.case_id == CASE_ID).order_by(Placement.created_at)
)


def view_inbox(requests: list[PlacementRequest]) -> None:
    """A partner's inbox shows each request's household, services and dates: the reading
    of each row is recorded as the opening of the request is."""
    for listed in requests:
        record(
            "placement.request_listed",
            subject=listed,
            details={"placement": str(listed.placement_id)},
        )


def view_request(request: PlacementRequest) -> None:
    """A partner reading a request is audited like any read of case data."""
    record(
        "placement.request_viewed",
        subject=request,
        details={"placement": str(request.placement_id)},
    )
