"""Login, second factor, enrolment, step-up and the account's own security pages."""

from __future__ import annotations

import hashlib

from flask import abort, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import bp, passkeys, services, totp
from app.auth.forms import CodeForm, ConfirmForm, LoginForm, PasskeyForm, RecoveryForm
from app.auth.guard import public, second_factor_pending
from app.auth.models import PasskeyPurpose, Role, UserSession
from app.auth.sessions import bind_to_browser, current_session, forget_in_browser, require_session
from app.core.http import form_status
from app.core.urls import safe_next
from app.extensions import limiter

NEXT_KEY = "after_login"


def failed(response: Response) -> bool:
    # Only failures spend the budget, so a person who logs in right is never slowed down.
    return response.status_code >= 400


def _account_key() -> str:
    username = services.normalise_username(request.form.get("username", ""))[:200]
    # Hashed so the limiter's store (Redis in production) holds no usernames.
    return "account:" + hashlib.sha256(username.encode()).hexdigest()


def session_user_key() -> str:
    user_session = current_session()
    return f"user:{user_session.user_id}" if user_session else "anonymous"


def _limit(name: str) -> str:
    limit: str = current_app.config[name]
    return limit


# One budget per person for every place a code is typed (login, recovery, enrolment,
# step-up, consent): guessing cannot be spread across pages.
code_attempts = limiter.shared_limit(
    lambda: _limit("CODE_LIMIT_PER_USER"),
    scope="code-attempts",
    key_func=session_user_key,
    methods=["POST"],
    deduct_when=failed,
)


def locked_message() -> str:
    """What a person sees wherever a code is asked for once their codes are locked."""
    message: str = _(
        "Codes from your authenticator app no longer work for this account: wrong codes "
        "were typed too many times. Log in with one of your recovery codes instead. If you "
        "have none left, contact the team."
    )
    return message


def _after_login() -> Response:
    target = safe_next(session.pop(NEXT_KEY, None))
    return redirect(target or url_for("home.index"))


@bp.route("/login", methods=["GET", "POST"])
@public
@limiter.limit(lambda: _limit("LOGIN_LIMIT_PER_ADDRESS"), methods=["POST"], deduct_when=failed)
@limiter.limit(
    lambda: _limit("LOGIN_LIMIT_PER_ACCOUNT"),
    key_func=_account_key,
    methods=["POST"],
    deduct_when=failed,
)
def login() -> Response | tuple[str, int]:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    form = LoginForm()
    if request.method == "GET":
        form.next.data = request.args.get("next", "")
    if form.validate_on_submit():
        try:
            _user_session, token = services.authenticate(form.username.data, form.password.data)
        except services.LoginFailed:
            form.form_errors.append(_("The username or password is wrong."))
            return render_template("auth/login.html", form=form), 401
        bind_to_browser(token)
        session[NEXT_KEY] = safe_next(form.next.data)
        return redirect(url_for("auth.second_factor"))
    return render_template("auth/login.html", form=form), form_status()


@bp.route("/login/code", methods=["GET", "POST"])
@second_factor_pending
@code_attempts
def second_factor() -> Response | tuple[str, int]:
    user_session = require_session()
    if user_session.is_fully_authenticated:
        return _after_login()
    if not services.has_second_factor(user_session.user):
        return redirect(url_for("auth.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            token = services.verify_second_factor(user_session, form.code.data)
        except services.FactorLocked:
            return _code_page_locked(user_session, form), 403
        except services.CodeRejected:
            form.code.errors = [_("That code did not work. Wait for a new code and try again.")]
            return _code_page(user_session, form), 401
        bind_to_browser(token)
        return _after_login()
    if services.totp_locked(user_session.user):
        return _code_page_locked(user_session, form), 200
    return _code_page(user_session, form), form_status()


def _code_page(user_session: UserSession, form: CodeForm, **context: object) -> str:
    # A passkey is offered beside the code (it needs JavaScript; the code never does). An
    # account with a passkey only gets no code field: a code can never work for it.
    return render_template(
        "auth/second_factor.html",
        form=form,
        has_codes=user_session.user.has_totp,
        passkey_form=PasskeyForm(formdata=None)
        if services.has_passkeys(user_session.user)
        else None,
        **context,
    )


def _code_page_locked(user_session: UserSession, form: CodeForm) -> str:
    # No code field: whatever is typed is refused, so the page names the ways in instead.
    return _code_page(user_session, form, locked_message=locked_message())


def _json(body: str) -> Response:
    return current_app.response_class(body, mimetype="application/json")


def _assertion_options(user_session: UserSession, purpose: PasskeyPurpose) -> Response:
    if not ConfirmForm().validate_on_submit() or not services.has_passkeys(user_session.user):
        abort(400)
    return _json(passkeys.authentication_options(user_session, purpose))


@bp.route("/login/passkey/options", methods=["POST"])
@second_factor_pending
def passkey_login_options() -> Response:
    user_session = require_session()
    if user_session.is_fully_authenticated:
        abort(409)
    return _assertion_options(user_session, PasskeyPurpose.LOGIN)


@bp.route("/login/passkey", methods=["POST"])
@second_factor_pending
@code_attempts
def passkey_login() -> Response | tuple[str, int]:
    user_session = require_session()
    if user_session.is_fully_authenticated:
        return _after_login()
    form = PasskeyForm()
    if not form.validate_on_submit():
        # No answer at all (the script did not run): nothing was tried, nothing to count.
        return _code_page(user_session, CodeForm(formdata=None), passkey_failed=True), 400
    try:
        token = services.log_in_with_passkey(user_session, form.credential.data)
    except passkeys.PasskeyRejected:
        return _code_page(user_session, CodeForm(formdata=None), passkey_failed=True), 401
    bind_to_browser(token)
    return _after_login()


@bp.route("/login/recovery", methods=["GET", "POST"])
@second_factor_pending
@code_attempts
def recovery() -> Response | tuple[str, int]:
    user_session = require_session()
    if user_session.is_fully_authenticated:
        return _after_login()
    form = RecoveryForm()
    if form.validate_on_submit():
        try:
            token = services.use_recovery_code(user_session, form.recovery_code.data)
        except services.CodeRejected:
            form.recovery_code.errors = [_("That recovery code did not work.")]
            return render_template("auth/recovery.html", form=form), 401
        bind_to_browser(token)
        remaining = services.remaining_recovery_codes(user_session.user)
        flash(
            _(
                "You logged in with a recovery code. It cannot be used again; "
                "%(count)d codes are left.",
                count=remaining,
            ),
            "warning",
        )
        return _after_login()
    return render_template("auth/recovery.html", form=form), form_status()


@bp.route("/login/enrol", methods=["GET", "POST"])
@second_factor_pending
@code_attempts
def enrol() -> Response | tuple[str, int] | str:
    user_session = require_session()
    if services.has_second_factor(user_session.user):
        return redirect(url_for("auth.second_factor"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            token, codes = services.confirm_enrolment(user_session, form.code.data)
        except services.CodeRejected:
            form.code.errors = [
                _("That code did not match. Check that the key was typed correctly and try again.")
            ]
        else:
            bind_to_browser(token)
            return _first_recovery_codes(user_session, codes)
        return _enrol_page(user_session, form), 401
    return _enrol_page(user_session, form), form_status()


@bp.route("/login/enrol/passkey/options", methods=["POST"])
@second_factor_pending
def enrol_passkey_options() -> Response:
    user_session = require_session()
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if services.has_second_factor(user_session.user):
        abort(409)
    # The name the phone saves the passkey under: the neutral one, as for the app's entry.
    # (The site settings sit above this package, which they import: read here, at use.)
    from app.settings import services as site_settings

    rp_name = site_settings.current().neutral_title
    return _json(passkeys.registration_options(user_session, rp_name))


@bp.route("/login/enrol/passkey", methods=["POST"])
@second_factor_pending
@code_attempts
def enrol_passkey() -> Response | tuple[str, int] | str:
    user_session = require_session()
    if user_session.is_fully_authenticated:
        return _after_login()
    form = PasskeyForm()
    if not form.validate_on_submit():
        return _enrol_page(user_session, CodeForm(formdata=None), passkey_failed=True), 400
    try:
        token, codes = services.enrol_first_passkey(user_session, form.credential.data)
    except services.AlreadyEnrolled:
        return redirect(url_for("auth.second_factor"))
    except passkeys.PasskeyRejected:
        return _enrol_page(user_session, CodeForm(formdata=None), passkey_failed=True), 400
    bind_to_browser(token)
    return _first_recovery_codes(user_session, codes)


def _enrol_page(user_session: UserSession, form: CodeForm, **context: object) -> str:
    secret = services.offer_enrolment(user_session)
    # The otpauth:// address and its QR code are drawn by the template helpers, which know
    # the installation's neutral name (the site settings sit above this module).
    return render_template(
        "auth/enrol.html",
        form=form,
        secret=secret,
        grouped_key=totp.grouped(secret),
        username=user_session.user.username,
        passkey_form=PasskeyForm(formdata=None),
        **context,
    )


def _first_recovery_codes(user_session: UserSession, codes: list[str]) -> str:
    # Shown in this response only; the codes are stored hashed and cannot be shown again.
    # A new client came to ask for help: the next page is the request's first step.
    after = (
        url_for("intake.request_step", step="kind")
        if user_session.user.role is Role.CLIENT
        else url_for("home.index")
    )
    return render_template(
        "auth/recovery_codes.html", codes=codes, first_time=True, continue_url=after
    )


@bp.route("/logout", methods=["POST"])
@second_factor_pending
def logout() -> Response:
    form = ConfirmForm()
    user_session = current_session()
    if form.validate_on_submit() and user_session is not None:
        was_client = not user_session.user.role.is_staff
        services.logout(user_session)
        forget_in_browser()
        flash(_("You have logged out."), "info")
        return redirect(url_for("public.index" if was_client else "auth.login"))
    abort(400)


@bp.route("/step-up", methods=["GET", "POST"])
@code_attempts
def step_up() -> Response | tuple[str, int]:
    user_session = require_session()
    form = CodeForm()
    target = safe_next(request.args.get("next")) or url_for("account.index")
    if form.validate_on_submit():
        try:
            services.step_up(user_session, form.code.data)
        except services.FactorLocked:
            form.code.errors = [locked_message()]
            return _step_up_page(user_session, form, target), 403
        except services.CodeRejected:
            form.code.errors = [_("That code did not work. Wait for a new code and try again.")]
            return _step_up_page(user_session, form, target), 401
        return redirect(target)
    return _step_up_page(user_session, form, target), form_status()


def _step_up_page(user_session: UserSession, form: CodeForm, target: str, **context: object) -> str:
    return render_template(
        "auth/step_up.html",
        form=form,
        has_codes=user_session.user.has_totp,
        target=target,
        passkey_form=PasskeyForm(formdata=None)
        if services.has_passkeys(user_session.user)
        else None,
        **context,
    )


@bp.route("/step-up/passkey/options", methods=["POST"])
def step_up_passkey_options() -> Response:
    return _assertion_options(require_session(), PasskeyPurpose.STEP_UP)


@bp.route("/step-up/passkey", methods=["POST"])
@code_attempts
def step_up_passkey() -> Response | tuple[str, int]:
    user_session = require_session()
    target = safe_next(request.args.get("next")) or url_for("account.index")
    form = PasskeyForm()
    failed = CodeForm(formdata=None)
    if not form.validate_on_submit():
        return _step_up_page(user_session, failed, target, passkey_failed=True), 400
    try:
        services.step_up_with_passkey(user_session, form.credential.data)
    except passkeys.PasskeyRejected:
        return _step_up_page(user_session, failed, target, passkey_failed=True), 401
    return redirect(target)
