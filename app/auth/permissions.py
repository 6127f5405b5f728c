"""Who may do what with accounts. Every rule is a named predicate; views only call them."""

from __future__ import annotations

from app.auth.models import Role, User


def is_admin(user: User) -> bool:
    return user.is_authenticated and user.role is Role.ADMIN


def can_manage_users(user: User) -> bool:
    return is_admin(user)


def can_manage_user(actor: User, target: User) -> bool:
    """Administrators manage staff of their own organisation only.

    Scoping by organisation lets one installation serve several municipalities' teams
    without one team's administrator touching another's staff. Clients are nobody's to
    manage here: their accounts are theirs.
    """
    return (
        is_admin(actor)
        and target.role is not Role.CLIENT
        and target.organisation_id == actor.organisation_id
        and target.id != actor.id
    )
