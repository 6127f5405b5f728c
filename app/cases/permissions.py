"""Need-to-know on cases, as named predicates. Every case route goes through these."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import InstrumentedAttribute

from app.auth.models import Asker, Role, User
from app.cases.models import AccessGrant, Case, CaseAssignment, GrantKind, ProtectionChange
from app.core.clock import utcnow
from app.extensions import db
from app.intake.models import ClientRequest

TEAM_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


def is_team_member(user: User, organisation_id: object) -> bool:
    return (
        user.is_authenticated
        and user.role in TEAM_ROLES
        and user.organisation_id == organisation_id
    )


def is_team_lead_of(user: User, organisation_id: object) -> bool:
    return is_team_member(user, organisation_id) and user.role is Role.TEAM_LEAD


def is_assigned(user: User, case: Case) -> bool:
    return user.is_authenticated and user.id in case.assignee_ids


def has_grant(user: User, case: Case, kind: GrantKind) -> bool:
    return (
        db.session.scalar(
            sa.select(AccessGrant.id)
            .where(
                AccessGrant.case_id == case.id,
                AccessGrant.user_id == user.id,
                AccessGrant.kind == kind,
                AccessGrant.expires_at > utcnow(),
            )
            .limit(1)
        )
        is not None
    )


def can_view_case(user: User, case: Case) -> bool:
    """Assigned caseworkers and the team lead; others of the team only through break-glass.

    Another team's cases are never reachable, whatever the role.
    """
    if not is_team_member(user, case.organisation_id):
        return False
    return (
        is_assigned(user, case)
        or user.role is Role.TEAM_LEAD
        or has_grant(user, case, GrantKind.BREAK_GLASS)
    )


def case_viewable(
    user: Asker,
    case_id: sa.ColumnElement[Any] | InstrumentedAttribute[Any],
    now: Any = None,
) -> sa.ColumnElement[bool]:
    """can_view_case as SQL, for counting and listing many rows at once: the same three
    ways in (assigned, team lead, a running break-glass grant), within the user's team.

    Correlated EXISTS on indexed keys, so a count over a large history stays cheap.
    """
    if not (user.is_authenticated and user.role in TEAM_ROLES):
        return sa.false()
    in_team = sa.and_(Case.id == case_id, Case.organisation_id == user.organisation_id)
    if user.role is Role.TEAM_LEAD:
        return sa.exists().where(in_team)
    assigned = sa.exists().where(
        CaseAssignment.case_id == case_id, CaseAssignment.user_id == user.id
    )
    glass = sa.exists().where(
        AccessGrant.case_id == case_id,
        AccessGrant.user_id == user.id,
        AccessGrant.kind == GrantKind.BREAK_GLASS,
        # A placeholder for a statement built once: the time is bound at each run.
        AccessGrant.expires_at > (utcnow() if now is None else now),
    )
    return sa.and_(sa.exists().where(in_team), sa.or_(assigned, glass))


def can_edit_case(user: User, case: Case) -> bool:
    return can_view_case(user, case)


def can_break_glass(user: User, case: Case) -> bool:
    return (
        is_team_member(user, case.organisation_id)
        and user.role is Role.CASEWORKER
        and not is_assigned(user, case)
    )


def can_see_identity(user: User, case: Case) -> bool:
    """Identity and location of a protected case are for its assigned caseworkers only,
    unless someone who may view the case reveals them with a reason."""
    if not can_view_case(user, case):
        return False
    if not case.is_protected or is_assigned(user, case):
        return True
    return has_grant(user, case, GrantKind.REVEAL_IDENTITY)


def can_assign_cases(user: User, case: Case) -> bool:
    return is_team_lead_of(user, case.organisation_id)


def can_triage(user: User, request: ClientRequest) -> bool:
    """Every caseworker and the team lead of the receiving team may triage its requests.

    Once a request is part of a case, its page (name, phone, code word, account, messages)
    is the case's identity and contact data: only those who may see the case's identity.
    """
    if not is_team_member(user, request.organisation_id):
        return False
    if request.case_id is None:
        return True
    case = db.session.get(Case, request.case_id)
    return case is not None and can_see_identity(user, case)


def can_open_or_break_glass(user: User, case: Case) -> bool:
    return can_view_case(user, case) or can_break_glass(user, case)


def can_review_grant(user: User, grant: AccessGrant) -> bool:
    case = db.session.get(Case, grant.case_id)
    return case is not None and is_team_lead_of(user, case.organisation_id)


def can_decide_protection_change(user: User, case: Case, change: ProtectionChange) -> bool:
    """A waiting lowering is approved or refused by someone on the case, never its asker:
    one person alone cannot lower a level another set."""
    return (
        change.case_id == case.id
        and can_edit_case(user, case)
        and change.requested_by_id != user.id
    )


def can_review_protection_change(user: User, change: ProtectionChange) -> bool:
    case = db.session.get(Case, change.case_id)
    return case is not None and is_team_lead_of(user, case.organisation_id)


def belongs_to_case(case: Case, item: Any) -> bool:
    """For loading a case's parts: the part must be of the case already authorised."""
    return bool(item.case_id == case.id)


def deadline_of_case(case: Case, deadline: Any) -> bool:
    """A clock runs on the case itself, or on a request behind it."""
    if deadline.case_id is not None:
        return bool(deadline.case_id == case.id)
    request = db.session.get(ClientRequest, deadline.request_id)
    return request is not None and request.case_id == case.id
