"""Inviting staff into an organisation. Other administration verbs live with their models
(app/auth/services.py for accounts, app/orgs/services.py for organisations)."""

from __future__ import annotations

from flask_babel import force_locale
from flask_babel import gettext as _

from app.audit.services import record
from app.auth.models import Role, User
from app.consultations.models import AccountInvitation
from app.consultations.services import new_account_invitation
from app.core.outbox import enqueue_email
from app.orgs.models import Organisation


def invite_member(
    organisation: Organisation, role: Role, email: str, invited_by: User, join_url: str
) -> AccountInvitation:
    """Mail a single-use link to create an account with `role` (and set up two-step login).

    The caller has checked the role is one the inviter may give (see invitable_roles).
    """
    invitation, token = new_account_invitation(organisation, email, invited_by, role)
    with force_locale("sv"):
        enqueue_email(
            email,
            _("Invitation to Utväg"),
            _(
                "You are invited to Utväg for %(organisation)s. "
                "Open this link within 7 days to create your account: %(link)s",
                organisation=organisation.name,
                link=join_url.replace("TOKEN", token),
            ),
        )
    record(
        "account.invited",
        subject=invitation,
        organisation_id=invited_by.organisation_id,
        details={"organisation": str(organisation.id), "role": role.value},
    )
    return invitation
