"""Clients see their own requests and nothing else."""

from __future__ import annotations

from app.auth.models import Role, User
from app.intake.models import ClientRequest


def is_client(user: User) -> bool:
    return user.is_authenticated and user.role is Role.CLIENT


def owns_request(user: User, request: ClientRequest) -> bool:
    return is_client(user) and request.client_id == user.id
