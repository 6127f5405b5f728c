"""Who may do what with accounts. Every rule is a named predicate; views only call them."""

from __future__ import annotations

from app.auth.models import Role, User
from app.orgs.models import Organisation, OrgKind


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


def administers_exit_team(user: User) -> bool:
    """The host team's administrators run the installation: organisations and settings."""
    return (
        is_admin(user)
        and user.organisation is not None
        and user.organisation.kind is OrgKind.EXIT_TEAM
    )


def can_manage_organisations(user: User) -> bool:
    return administers_exit_team(user)


def can_edit_organisation(user: User, organisation: Organisation) -> bool:
    return can_manage_organisations(user)


def can_change_settings(user: User) -> bool:
    return administers_exit_team(user)


# The role an organisation's ordinary members have, by what kind of organisation it is.
MEMBER_ROLES: dict[OrgKind, tuple[Role, ...]] = {
    OrgKind.EXIT_TEAM: (Role.CASEWORKER, Role.TEAM_LEAD),
    OrgKind.AGENCY: (Role.AGENCY_REP,),
    OrgKind.PARTNER: (Role.PARTNER,),
}


def invitable_roles(actor: User, organisation: Organisation) -> tuple[Role, ...]:
    """Roles `actor` may invite someone to in `organisation` (empty: none).

    Administrators invite colleagues, including further administrators, into their own
    organisation; the host team's administrators also bring in the first member of an
    agency or partner they have added.
    """
    if not is_admin(actor) or not organisation.active:
        return ()
    if organisation.id == actor.organisation_id:
        return (*MEMBER_ROLES[organisation.kind], Role.ADMIN)
    if can_manage_organisations(actor) and organisation.kind is not OrgKind.EXIT_TEAM:
        return MEMBER_ROLES[organisation.kind]
    return ()
