"""A client answers only the consents of their own case."""

from __future__ import annotations

import sqlalchemy as sa

from app.auth.models import Role, User
from app.consent.models import Consent
from app.extensions import db
from app.intake.models import ClientRequest


def owns_consent(user: User, consent: Consent) -> bool:
    """The consent belongs to a case that the client's own request opened.

    A relative's request linked to the case does not count: a relative never sees, or
    answers for, the person they worry about.
    """
    if not (user.is_authenticated and user.role is Role.CLIENT):
        return False
    return (
        db.session.scalar(
            sa.select(ClientRequest.id).where(
                ClientRequest.case_id == consent.case_id,
                ClientRequest.client_id == user.id,
                ClientRequest.became_case_at.is_not(None),
            )
        )
        is not None
    )


def consents_for_client(user: User) -> list[Consent]:
    cases = sa.select(ClientRequest.case_id).where(
        ClientRequest.client_id == user.id, ClientRequest.became_case_at.is_not(None)
    )
    return list(
        db.session.scalars(
            sa.select(Consent).where(Consent.case_id.in_(cases)).order_by(Consent.created_at.desc())
        )
    )
