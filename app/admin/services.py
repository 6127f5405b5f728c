"""Inviting staff into an organisation, and the team lead's approval of role grants. Other
administration verbs live with their models (app/auth/services.py for accounts,
app/orgs/services.py for organisations)."""

from __future__ import annotations

import secrets
import uuid

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _

from app.admin.permissions import can_decide_role_grant, needs_approval
from app.audit.services import record
from app.auth.models import Role, User
from app.auth.sessions import hash_token
from app.consultations.models import AccountInvitation, RoleApproval
from app.consultations.services import INVITATION_VALIDITY, new_account_invitation
from app.core.clock import utcnow
from app.core.db import rows_matched
from app.core.outbox import enqueue_email
from app.extensions import db
from app.orgs.models import Organisation


class RoleGrantError(ValueError):
    """The invitation cannot be decided by this person (or no longer waits)."""


def _mail_invitation(invitation: AccountInvitation, token: str, join_url: str) -> None:
    with force_locale("sv"):
        enqueue_email(
            invitation.email,
            _("Invitation to Utväg"),
            _(
                "You are invited to Utväg for %(organisation)s. "
                "Open this link within 7 days to create your account: %(link)s",
                organisation=invitation.organisation.name,
                link=join_url.replace("TOKEN", token),
            ),
        )


def invite_member(
    organisation: Organisation, role: Role, email: str, invited_by: User, join_url: str
) -> AccountInvitation:
    """Mail a single-use link to create an account with `role` (and set up two-step login).

    A role that reads case content is not given by one administrator alone: the invitation
    waits, without a working link, until a team lead approves it (approve_role_grant).
    The caller has checked the role is one the inviter may give (see invitable_roles).
    """
    invitation, token = new_account_invitation(organisation, email, invited_by, role)
    pending = needs_approval(role)
    if pending:
        # The token made above is dropped unsent; approval makes and mails a new one.
        invitation.approval = RoleApproval.PENDING
    else:
        _mail_invitation(invitation, token, join_url)
    record(
        "account.invited",
        subject=invitation,
        organisation_id=invited_by.organisation_id,
        details={
            "organisation": str(organisation.id),
            "role": role.value,
            "approval": "pending" if pending else "not_needed",
        },
    )
    return invitation


def pending_role_grants(organisation_id: uuid.UUID) -> list[AccountInvitation]:
    return list(
        db.session.scalars(
            sa.select(AccountInvitation)
            .where(
                AccountInvitation.organisation_id == organisation_id,
                AccountInvitation.approval == RoleApproval.PENDING,
            )
            .order_by(AccountInvitation.created_at)
        )
    )


def role_grants(organisation_id: uuid.UUID, limit: int = 100) -> list[AccountInvitation]:
    """Every invitation that gave, or asked for, a role in the organisation: newest first."""
    return list(
        db.session.scalars(
            sa.select(AccountInvitation)
            .where(AccountInvitation.organisation_id == organisation_id)
            .order_by(AccountInvitation.created_at.desc())
            .limit(limit)
        )
    )


def _decide(invitation: AccountInvitation, by: User, decision: RoleApproval) -> None:
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    if not can_decide_role_grant(by, invitation, inviter):
        record(
            "role_grant.refused_to_decide",
            subject=invitation,
            organisation_id=invitation.organisation_id,
            details={"role": invitation.role.value},
        )
        raise RoleGrantError(str(invitation.id))
    # One guarded update decides: two team leads pressing at once cannot both decide.
    decided = db.session.execute(
        sa.update(AccountInvitation)
        .where(
            AccountInvitation.id == invitation.id,
            AccountInvitation.approval == RoleApproval.PENDING,
        )
        .values(approval=decision, decided_by_id=by.id, decided_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    if rows_matched(decided) != 1:
        raise RoleGrantError(str(invitation.id))
    db.session.refresh(invitation)
    record(
        f"role_grant.{decision.value}",
        subject=invitation,
        organisation_id=invitation.organisation_id,
        details={
            "role": invitation.role.value,
            "invited_by": str(invitation.invited_by_id),
        },
    )


def approve_role_grant(invitation: AccountInvitation, by: User, join_url: str) -> None:
    """A team lead approves: the link is made now and mailed, valid for the usual 7 days."""
    _decide(invitation, by, RoleApproval.APPROVED)
    token = secrets.token_urlsafe(32)
    invitation.token_hash = hash_token(token)
    invitation.expires_at = utcnow() + INVITATION_VALIDITY
    _mail_invitation(invitation, token, join_url)


def refuse_role_grant(invitation: AccountInvitation, by: User) -> None:
    """A team lead refuses: no link is ever sent."""
    _decide(invitation, by, RoleApproval.REFUSED)
