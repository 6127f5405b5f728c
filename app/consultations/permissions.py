"""Who may see and do what around a consultation."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import Role, User
from app.cases.models import Case
from app.cases.permissions import can_edit_case
from app.consultations.models import Action, ActionStatus, Consultation, Invitation
from app.core.clock import utcnow
from app.extensions import db


def can_manage_consultation(user: User, consultation: Consultation) -> bool:
    """The team members who may work on the case run its consultations."""
    case = db.session.get(Case, consultation.case_id)
    return case is not None and can_edit_case(user, case)


def invitation_of(user: User, consultation: Consultation) -> Invitation | None:
    return db.session.scalar(
        sa.select(Invitation).where(
            Invitation.consultation_id == consultation.id, Invitation.user_id == user.id
        )
    )


def can_attend_as_representative(user: User, consultation: Consultation) -> bool:
    """Invited representatives, until the access period after the meeting runs out."""
    from app.consultations.services import access_until

    return (
        user.is_authenticated
        and user.role is Role.AGENCY_REP
        and invitation_of(user, consultation) is not None
        and utcnow() < access_until(consultation)
    )


def can_update_action(user: User, action: Action) -> bool:
    """An agency's representatives report on its actions for as long as they are open."""
    return (
        user.is_authenticated
        and user.role is Role.AGENCY_REP
        and action.owner_organisation_id == user.organisation_id
        and action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
    )


def is_representative(user: User) -> bool:
    return user.is_authenticated and user.role is Role.AGENCY_REP
