"""Account administration for the administrator's own organisation. No case content here."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.auth import services
from app.auth.forms import ConfirmForm
from app.auth.models import User
from app.auth.permissions import can_manage_user, can_manage_users
from app.auth.stepup import step_up_required
from app.core.access import get_or_404
from app.extensions import db


@bp.before_request
def only_administrators() -> None:
    if not can_manage_users(current_user):
        abort(403)


def _managed_user(user_id: str) -> User:
    return get_or_404(User, user_id, for_user=current_user, allowed=can_manage_user)


@bp.route("/users")
def users() -> str:
    staff = db.session.scalars(
        sa.select(User)
        .where(User.organisation_id == current_user.organisation_id)
        .order_by(User.username)
    ).all()
    return render_template("admin/users.html", users=staff, form=ConfirmForm())


@bp.route("/users/<user_id>/reset-second-factor", methods=["POST"])
@step_up_required
def reset_second_factor(user_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = _managed_user(user_id)
    services.reset_second_factor(user)
    flash(
        _(
            "The second factor of %(name)s was reset. They set it up again at their next login.",
            name=user.username,
        ),
        "success",
    )
    return redirect(url_for("admin.users"))


@bp.route("/users/<user_id>/deactivate", methods=["POST"])
@step_up_required
def deactivate(user_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = _managed_user(user_id)
    services.set_active(user, False)
    flash(_("%(name)s can no longer log in.", name=user.username), "success")
    return redirect(url_for("admin.users"))


@bp.route("/users/<user_id>/activate", methods=["POST"])
@step_up_required
def activate(user_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = _managed_user(user_id)
    services.set_active(user, True)
    flash(_("%(name)s can log in again.", name=user.username), "success")
    return redirect(url_for("admin.users"))
