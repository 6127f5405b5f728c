"""The team lead's side of role grants: approve or refuse invitations to roles that read case
content, and see every grant of the team (they are part of the access review)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import services as grants
from app.admin.permissions import can_decide_role_grant, can_reactivate
from app.auth import services as accounts
from app.auth.forms import ConfirmForm
from app.auth.models import User
from app.auth.stepup import step_up_required
from app.consultations.models import AccountInvitation
from app.core.access import get_or_404, parse_public_id
from app.core.urls import external_url
from app.extensions import db
from app.oversight import bp


def _names(invitations: list[AccountInvitation]) -> dict[Any, str]:
    ids = {i.invited_by_id for i in invitations} | {i.decided_by_id for i in invitations}
    ids.discard(None)
    if not ids:
        return {}
    rows = db.session.execute(sa.select(User.id, User.username).where(User.id.in_(ids)))
    return {user_id: username for user_id, username in rows}


def grant_review_context(organisation_id: Any) -> dict[str, Any]:
    """What the access review shows of role grants: all of them, newest first."""
    listed = grants.role_grants(organisation_id)
    return {"role_grants": listed, "grant_names": _names(listed)}


def _may_decide(invitation: AccountInvitation) -> bool:
    inviter = db.session.get(User, invitation.invited_by_id) if invitation.invited_by_id else None
    return can_decide_role_grant(current_user, invitation, inviter)


@bp.route("/role-grants")
def role_grants() -> str:
    pending = grants.pending_role_grants(current_user.organisation_id)
    inactive = db.session.scalars(
        sa.select(User)
        .where(User.organisation_id == current_user.organisation_id, User.active.is_(False))
        .order_by(User.username)
    ).all()
    return render_template(
        "oversight/role_grants.html",
        pending=pending,
        may_decide={i.id: _may_decide(i) for i in pending},
        reactivatable=[u for u in inactive if can_reactivate(current_user, u)],
        form=ConfirmForm(),
        **grant_review_context(current_user.organisation_id),
    )


def _pending(invitation_id: str) -> AccountInvitation:
    invitation = db.session.get(AccountInvitation, parse_public_id(invitation_id))
    if invitation is None or invitation.organisation_id != current_user.organisation_id:
        abort(404)
    return invitation


@bp.route("/role-grants/<invitation_id>/approve", methods=["POST"])
@step_up_required
def approve_role_grant(invitation_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    invitation = _pending(invitation_id)
    try:
        grants.approve_role_grant(
            invitation,
            current_user,
            external_url("join.join", token="TOKEN"),  # noqa: S106  (placeholder)
        )
    except grants.RoleGrantError:
        abort(403)
    flash(_("Approved. The invitation link is sent."), "success")
    return redirect(url_for("oversight.role_grants"))


@bp.route("/role-grants/<invitation_id>/refuse", methods=["POST"])
@step_up_required
def refuse_role_grant(invitation_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    invitation = _pending(invitation_id)
    try:
        grants.refuse_role_grant(invitation, current_user)
    except grants.RoleGrantError:
        abort(403)
    flash(_("Refused. No link is sent."), "success")
    return redirect(url_for("oversight.role_grants"))


@bp.route("/role-grants/accounts/<user_id>/reactivate", methods=["POST"])
@step_up_required
def reactivate(user_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = get_or_404(User, user_id, for_user=current_user, allowed=can_reactivate)
    accounts.set_active(user, True)
    flash(_("%(name)s can log in again.", name=user.username), "success")
    return redirect(url_for("oversight.role_grants"))
