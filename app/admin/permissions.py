"""Who may decide a role grant. Separation of duties: administrators give roles, but a role
that reads case content also needs a team lead of the organisation, and never the person who
asked for it."""

from __future__ import annotations

from app.auth.models import Role, User
from app.consultations.models import AccountInvitation, RoleApproval

# Roles whose holders open case files. Agency representatives and partners see only what a
# caseworker chooses to send them (a consented consultation, a placement request).
CASE_ROLES = frozenset({Role.CASEWORKER, Role.TEAM_LEAD})


def needs_approval(role: Role) -> bool:
    return role in CASE_ROLES


def can_reactivate(actor: User, target: User) -> bool:
    """Turning an account that reads case files back on is a role grant too: a team lead of
    its organisation does it (not an administrator, and not the account itself)."""
    return (
        actor.is_authenticated
        and actor.role is Role.TEAM_LEAD
        and actor.organisation_id == target.organisation_id
        and actor.id != target.id
        and target.role in CASE_ROLES
        and not target.active
    )


def _same_mailbox(*addresses: str | None) -> bool:
    """Whether two of the known addresses are one mailbox."""
    known = [a.strip().casefold() for a in addresses if a]
    return len(known) != len(set(known))


def can_decide_role_grant(user: User, invitation: AccountInvitation, inviter: User | None) -> bool:
    """A team lead of the invitation's organisation, other than the inviter.

    The same human may hold two accounts (an administrator who is also a team lead): an
    account whose address is the inviter's, or the invited person's, does not decide either;
    and an invitation an administrator sent to their own address is approved by no one.
    """
    return (
        user.is_authenticated
        and user.is_active
        and user.role is Role.TEAM_LEAD
        and user.organisation_id == invitation.organisation_id
        and invitation.approval is RoleApproval.PENDING
        and user.id != invitation.invited_by_id
        and not _same_mailbox(
            user.notify_email, inviter.notify_email if inviter else None, invitation.email
        )
    )
