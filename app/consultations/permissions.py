"""Who may see and do what around a consultation."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from app.auth.models import Role, User
from app.cases.models import Case
from app.cases.permissions import can_edit_case
from app.consent.models import Purpose
from app.consent.services import consent_covers
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


def _consent_holds(user: User, case_id: uuid.UUID) -> bool:
    """The client's consent to consult with the user's agency is in force now.

    Withdrawal or expiry ends an agency's reach into the case at once: its consultation
    pages, and the actions whose text the team wrote and which may carry case data.
    """
    case = db.session.get(Case, case_id)
    agency = user.organisation
    return (
        case is not None
        and agency is not None
        and consent_covers(case, agency, Purpose.CONSULTATION)
    )


def can_attend_as_representative(user: User, consultation: Consultation) -> bool:
    """Invited representatives, until the access period after the meeting runs out, and
    only while consent holds."""
    from app.consultations.services import access_until

    return (
        user.is_authenticated
        and user.role is Role.AGENCY_REP
        and invitation_of(user, consultation) is not None
        and utcnow() < access_until(consultation)
        and _consent_holds(user, consultation.case_id)
    )


def can_update_action(user: User, action: Action) -> bool:
    """An agency's representatives report on its actions for as long as they are open and
    the client's consent to consult with the agency holds."""
    return (
        user.is_authenticated
        and user.role is Role.AGENCY_REP
        and action.owner_organisation_id == user.organisation_id
        and action.status in (ActionStatus.OPEN, ActionStatus.IN_PROGRESS)
        and _consent_holds(user, action.case_id)
    )


def is_representative(user: User) -> bool:
    return user.is_authenticated and user.role is Role.AGENCY_REP
