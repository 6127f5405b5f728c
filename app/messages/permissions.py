"""Who may read and write secure messages."""

from __future__ import annotations

from app.auth.models import Role, User
from app.intake.models import ClientRequest

TEAM_ROLES = (Role.CASEWORKER, Role.TEAM_LEAD)


def can_use_team_inbox(user: User) -> bool:
    return user.is_authenticated and user.role in TEAM_ROLES


def can_message_about(user: User, request: ClientRequest) -> bool:
    """The team that received the request answers it; nobody else sees the thread.

    The caseworker workspace narrows this to the caseworkers assigned to the case.
    """
    return can_use_team_inbox(user) and user.organisation_id == request.organisation_id
