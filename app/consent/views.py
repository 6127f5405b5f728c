"""The client's side of consent: read it in their language, answer with a code."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import services as auth_services
from app.auth.sessions import require_session
from app.auth.stepup import code_of, code_refused, decision_step_up, without_code
from app.auth.views import code_attempts, locked_message
from app.cases.models import Case
from app.consent import bp, services
from app.consent.forms import ConsentAnswerForm, ConsentWithdrawForm
from app.consent.models import Consent
from app.consent.permissions import owns_consent
from app.core.access import get_or_404
from app.core.http import form_status
from app.extensions import db
from app.intake.permissions import is_client


@bp.before_request
def clients_only() -> None:
    if not is_client(current_user):
        abort(403)


def _language() -> str:
    return str(get_locale() or "sv")


def _consent(consent_id: str) -> tuple[Consent, Case]:
    consent = get_or_404(Consent, consent_id, for_user=current_user, allowed=owns_consent)
    case = db.session.get(Case, consent.case_id)
    if case is None:
        abort(404)
    return consent, case


def _answered_already() -> Response:
    # A second click, or another tab: the first answer is the one that counts.
    flash(_("You have answered this already. Your first answer counts."), "info")
    return redirect(url_for("intake.dashboard"))


@bp.route("/<consent_id>", methods=["GET", "POST"])
@code_attempts
@decision_step_up
def answer(consent_id: str) -> Any:
    consent, case = _consent(consent_id)
    form = without_code(ConsentAnswerForm())
    withdraw_form = without_code(ConsentWithdrawForm(formdata=None))
    if form.validate_on_submit():
        if consent.given is not None:
            return _answered_already()
        try:
            auth_services.confirm_with_code(require_session(), code_of(form), "consent")
        except auth_services.FactorLocked:
            code_refused(form, locked_message())
        except auth_services.CodeRejected:
            code_refused(form, _("That code did not work. Wait for a new code and try again."))
        else:
            try:
                services.answer_consent(
                    consent, case, given=form.answer.data == "yes", language=_language()
                )
            except services.AlreadyAnswered:
                return _answered_already()
            flash(_("Thank you. Your answer is saved."), "success")
            return redirect(url_for("intake.dashboard"))
        return render_template(
            "consent/answer.html", consent=consent, form=form, withdraw_form=withdraw_form
        ), 401
    return (
        render_template(
            "consent/answer.html", consent=consent, form=form, withdraw_form=withdraw_form
        ),
        form_status(),
    )


@bp.route("/<consent_id>/withdraw", methods=["POST"])
@code_attempts
@decision_step_up
def withdraw(consent_id: str) -> Any:
    consent, case = _consent(consent_id)
    form = without_code(ConsentWithdrawForm())
    if not consent.given or consent.withdrawn_at is not None:
        abort(409)
    if form.validate_on_submit():
        try:
            auth_services.confirm_with_code(require_session(), code_of(form), "consent_withdrawal")
        except auth_services.FactorLocked:
            code_refused(form, locked_message())
        except auth_services.CodeRejected:
            code_refused(form, _("That code did not work. Wait for a new code and try again."))
        else:
            services.withdraw_consent(consent, case)
            flash(_("Your consent is withdrawn. We will not share anything more on it."), "success")
            return redirect(url_for("intake.dashboard"))
    return (
        render_template(
            "consent/answer.html",
            consent=consent,
            form=without_code(ConsentAnswerForm(formdata=None)),
            withdraw_form=form,
        ),
        400,
    )
