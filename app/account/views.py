"""A person's own account security: password, devices, recovery codes."""

from __future__ import annotations

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.account import bp
from app.alerts.forms import AlertMailForm
from app.alerts.services import has_notice_address, wants_mail
from app.auth import passkeys, services
from app.auth.forms import ConfirmForm, PasskeyForm, PasswordChangeForm
from app.auth.models import Passkey, Role, UserSession
from app.auth.sessions import expiry_reason, forget_in_browser, open_sessions_of, require_session
from app.auth.stepup import step_up_required
from app.core.access import get_or_404
from app.core.http import form_status
from app.settings import services as site_settings


def owns_session(user: object, user_session: UserSession) -> bool:
    return user_session.user_id == getattr(user, "id", None)


def owns_passkey(user: object, passkey: Passkey) -> bool:
    return passkey.user_id == getattr(user, "id", None)


@bp.route("/")
def index() -> str:
    return _index_page()


def _index_page(**context: object) -> str:
    this_session = require_session()
    sessions = [s for s in open_sessions_of(current_user) if expiry_reason(s) is None]
    return render_template(
        "account/index.html",
        sessions=sessions,
        this_session=this_session,
        remaining_codes=services.remaining_recovery_codes(current_user),
        passkeys=passkeys.passkeys_of(current_user),
        form=ConfirmForm(),
        # Staff choose the alert notice here; clients choose theirs on their own pages.
        alert_mail_form=(
            AlertMailForm(formdata=None, alert_mail=wants_mail(current_user))
            if current_user.role is not Role.CLIENT
            else None
        ),
        has_address=has_notice_address(current_user),
        **context,
    )


@bp.route("/passkeys/new")
@step_up_required
def new_passkey() -> str:
    return render_template("account/passkey_new.html", form=PasskeyForm(formdata=None))


@bp.route("/passkeys/options", methods=["POST"])
@step_up_required
def passkey_options() -> Response:
    # Asked for by script from a page that was itself behind a fresh step-up; if that has
    # run out meanwhile, the script gets the step-up page instead of options and says the
    # passkey could not be added.
    if not ConfirmForm().validate_on_submit():
        abort(400)
    # The name the phone saves the passkey under: the neutral one, as for the app's entry.
    rp_name = site_settings.current().neutral_title
    options = passkeys.registration_options(require_session(), rp_name)
    return current_app.response_class(options, mimetype="application/json")


@bp.route("/passkeys", methods=["POST"])
@step_up_required
def add_passkey() -> Response | tuple[str, int]:
    form = PasskeyForm()
    if form.validate_on_submit():
        try:
            services.enrol_passkey(require_session(), form.credential.data)
        except passkeys.PasskeyRejected:
            pass
        else:
            flash(_("The passkey is added."), "success")
            return redirect(url_for("account.index"))
    return render_template("account/passkey_new.html", form=form, failed=True), 400


@bp.route("/passkeys/<passkey_id>/remove", methods=["POST"])
@step_up_required
def remove_passkey(passkey_id: str) -> Response | tuple[str, int]:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    passkey = get_or_404(Passkey, passkey_id, for_user=current_user, allowed=owns_passkey)
    try:
        services.remove_passkey(current_user, passkey)
    except services.LastFactor:
        return _index_page(last_factor=True), 409
    flash(_("The passkey is removed."), "success")
    return redirect(url_for("account.index"))


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
