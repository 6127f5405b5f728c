"""Who may read and write secure messages."""

from __future__ import annotations

from app.auth.models import Role, User
from app.intake.models import ClientRequest

TEAM_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


def can_use_team_inbox(user: User) -> bool:
    return user.is_authenticated and user.role in TEAM_ROLES


def can_message_about(user: User, request: ClientRequest) -> bool:
    """The team that received the request answers it; once it is a case, only those who
    may see the case do."""
    if not (can_use_team_inbox(user) and user.organisation_id == request.organisation_id):
        return False
    if request.case_id is None:
        return True
    from app.cases.models import Case
    from app.cases.permissions import can_view_case
    from app.extensions import db

    case = db.session.get(Case, request.case_id)
    return case is not None and can_view_case(user, case)
