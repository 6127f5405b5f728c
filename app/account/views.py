"""A person's own account security: password, devices, recovery codes."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.account import bp
from app.alerts.forms import AlertMailForm
from app.alerts.services import has_notice_address, wants_mail
from app.auth import services
from app.auth.forms import ConfirmForm, PasswordChangeForm
from app.auth.models import Role, UserSession
from app.auth.sessions import expiry_reason, forget_in_browser, open_sessions_of, require_session
from app.auth.stepup import step_up_required
from app.core.access import get_or_404
from app.core.http import form_status


def owns_session(user: object, user_session: UserSession) -> bool:
    return user_session.user_id == getattr(user, "id", None)


@bp.route("/")
def index() -> str:
    this_session = require_session()
    sessions = [s for s in open_sessions_of(current_user) if expiry_reason(s) is None]
    return render_template(
        "account/index.html",
        sessions=sessions,
        this_session=this_session,
        remaining_codes=services.remaining_recovery_codes(current_user),
        form=ConfirmForm(),
        # Staff choose the alert notice here; clients choose theirs on their own pages.
        alert_mail_form=(
            AlertMailForm(formdata=None, alert_mail=wants_mail(current_user))
            if current_user.role is not Role.CLIENT
            else None
        ),
        has_address=has_notice_address(current_user),
    )


@bp.route("/password", methods=["GET", "POST"])
def change_password() -> Response | tuple[str, int]:
    form = PasswordChangeForm()
    if form.validate_on_submit():
        try:
            services.change_password(
                require_session(), form.current_password.data, form.new_password.data
            )
        except services.LoginFailed:
            form.current_password.errors = [_("Your current password is not right.")]
            return render_template("account/password.html", form=form), 400
        except services.WeakPassword as weak:
            form.new_password.errors = weak.problems
            return render_template("account/password.html", form=form), 400
        flash(_("Your password is changed. You were logged out on every other device."), "success")
        return redirect(url_for("account.index"))
    return render_template("account/password.html", form=form), form_status()


@bp.route("/sessions/<session_id>/end", methods=["POST"])
def end_session(session_id: str) -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    target = get_or_404(UserSession, session_id, for_user=current_user, allowed=owns_session)
    services.logout(target)
    if target.id == require_session().id:
        forget_in_browser()
        return redirect(url_for("auth.login"))
    flash(_("That device has been logged out."), "success")
    return redirect(url_for("account.index"))


@bp.route("/sessions/end-all", methods=["POST"])
def end_all_sessions() -> Response:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    services.logout_everywhere(current_user)
    forget_in_browser()
    flash(_("You have logged out on every device."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/recovery-codes", methods=["GET", "POST"])
@step_up_required
def recovery_codes() -> str | tuple[str, int]:
    form = ConfirmForm()
    if form.validate_on_submit():
        codes = services.regenerate_recovery_codes(current_user)
        return render_template("auth/recovery_codes.html", codes=codes, first_time=False)
    return render_template("account/recovery_codes.html", form=form), form_status()
