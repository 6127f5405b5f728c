"""Client pages: registration, the request in steps, status, additions, the client's data."""

from __future__ import annotations

from typing import Any

from flask import (
    Response,
    abort,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf import FlaskForm

from app.auth import services as auth_services
from app.auth.forms import ConfirmForm
from app.auth.guard import public
from app.auth.sessions import bind_to_browser, forget_in_browser
from app.auth.stepup import step_up_required
from app.consent.permissions import consents_for_client
from app.core.access import get_or_404
from app.core.http import form_status
from app.extensions import limiter
from app.intake import bp, services
from app.intake.answers import draft_answers
from app.intake.choices import STATUS_TIMELINE
from app.intake.forms import (
    AdditionForm,
    ContactForm,
    HelpForm,
    IdentityForm,
    KindForm,
    MessageForm,
    NotificationForm,
    PersonForm,
    RegisterForm,
    RelativeHelpForm,
    RelativeStoryForm,
    StoryForm,
    SubmitForm,
)
from app.intake.models import ClientRequest, RequestKind
from app.intake.permissions import is_client, owns_request
from app.messages import services as messages
from app.rules import rule

STEP_FORMS: dict[str, type[FlaskForm]] = {
    "kind": KindForm,
    "person": PersonForm,
    "help": HelpForm,
    "contact": ContactForm,
    "identity": IdentityForm,
    "story": StoryForm,
}
# A relative is asked in words about their worry and offered help for themselves.
RELATIVE_FORMS: dict[str, type[FlaskForm]] = {"help": RelativeHelpForm, "story": RelativeStoryForm}
STEP_FIELDS = {
    "kind": ["kind"],
    "person": ["relationship", "age_band"],
    "help": ["help_wanted", "urgency"],
    "identity": ["name", "birth_year"],
    "story": ["account_text"],
}
# A step opened from the review page ("change") returns there when it is saved.
RETURN_TO_REVIEW = "review"


def steps_for(draft: dict[str, Any]) -> list[str]:
    """The steps this request goes through; only a relative is asked about the person."""
    steps = ["kind", "help", "contact", "identity", "story", "review"]
    if is_relative(draft):
        steps.insert(1, "person")
    return steps


def is_relative(draft: dict[str, Any]) -> bool:
    return draft.get("kind") == RequestKind.RELATIVE.value


def form_for(step: str, draft: dict[str, Any]) -> FlaskForm:
    form_class = (RELATIVE_FORMS if is_relative(draft) else {}).get(step, STEP_FORMS[step])
    if request.method != "GET":
        form = form_class()
    elif step == "contact" and not draft.get("contact_language"):
        # Someone reading the pages in Somali most likely wants to be spoken to in Somali.
        form = form_class(data={**draft, "contact_language": _default_contact_language()})
    else:
        form = form_class(data=draft)
    if isinstance(form, ContactForm):
        form.contact_language.choices = _language_choices()
    return form


def _default_contact_language() -> str:
    language = _language()
    return language if language in current_app.config["PUBLIC_LANGUAGES"] else "other"


def _language() -> str:
    return str(get_locale() or "sv")


@bp.before_request
def clients_only() -> None:
    endpoint = request.endpoint or ""
    if endpoint == "intake.register":
        return
    if not is_client(current_user):
        abort(403)


OFFERED_USERNAME = "offered_username"


@bp.route("/register", methods=["GET", "POST"])
@public
@limiter.limit("10 per hour", methods=["POST"])
def register() -> Any:
    if current_user.is_authenticated:
        return redirect(url_for("home.index"))
    # The name shown is kept in this browser's signed session: a posted username is ignored,
    # so no one can ask whether a name exists.
    if OFFERED_USERNAME not in session:
        session[OFFERED_USERNAME] = services.suggest_username()
    offered = str(session[OFFERED_USERNAME])
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            _session, token = services.register_client(form.password.data, _language(), offered)
        except auth_services.WeakPassword as weak:
            form.password.errors = weak.problems
        else:
            bind_to_browser(token)
            return redirect(url_for("auth.enrol"))
        return render_template("intake/register.html", form=form, username=offered), 400
    return render_template("intake/register.html", form=form, username=offered), form_status()


@bp.route("/")
def dashboard() -> str:
    return render_template(
        "intake/dashboard.html",
        requests=services.requests_of(current_user),
        has_draft=bool(services.load_draft(current_user)),
        open_request=services.open_request(current_user),
        unread=messages.unread_for_client(current_user),
        consents=consents_for_client(current_user),
    )


def _not_a_submission() -> bool:
    return (request.view_args or {}).get("step") != "review"


@bp.route("/request/<step>", methods=["GET", "POST"])
@limiter.limit("10 per hour", methods=["POST"], exempt_when=_not_a_submission)
def request_step(step: str) -> Any:
    draft = services.load_draft(current_user)
    steps = steps_for(draft)
    if step == "review":
        return _review(draft, steps)
    if step not in STEP_FORMS or step not in steps:
        abort(404)
    already = services.open_request(current_user)
    if already is not None:
        return _already_open(already)
    returning = request.args.get("then") == RETURN_TO_REVIEW
    if returning and request.method == "POST" and request.form.get("back"):
        # "Back without changing": the review as it was, nothing of this page saved.
        return redirect(url_for("intake.request_step", step="review"))
    form = form_for(step, draft)
    if form.validate_on_submit():
        answers = (
            form.answers()
            if isinstance(form, ContactForm)
            else {name: form[name].data for name in STEP_FIELDS[step]}
        )
        draft = services.save_draft(current_user, answers)
        return redirect(_next_step(step, draft, returning, back=bool(request.form.get("back"))))
    if request.method == "POST" and request.form.get("back") and step != steps[0]:
        # Going back never needs a valid page: nothing of this page is saved.
        return redirect(_next_step(step, draft, returning, back=True))
    return (
        render_template(
            f"intake/step_{step}.html",
            form=form,
            step=step,
            steps=steps,
            position=steps.index(step) + 1,
            returning=returning,
            relative=is_relative(draft),
            acute=draft.get("urgency") == "acute",
            child_rules=_child_rules() if step == "person" else None,
        ),
        form_status(),
    )


def _next_step(step: str, draft: dict[str, Any], returning: bool, back: bool) -> str:
    steps = steps_for(draft)
    if returning:
        # Back from a change goes back to the review; a change that calls for another
        # answer (a new kind needs the person's details) asks for it on the way.
        missing = None if back else services.missing_step(draft)
        if missing is not None and missing != step and missing in steps:
            return url_for("intake.request_step", step=missing, then=RETURN_TO_REVIEW)
        return url_for("intake.request_step", step="review")
    index = steps.index(step)
    return url_for("intake.request_step", step=steps[max(index - 1, 0) if back else index + 1])


def _child_rules() -> dict[str, int]:
    """The law's numbers the relative is told, from the rules data."""
    return {
        "child_age": rule("duty_to_report_age_limit").value,
        "days": rule("child_investigation_decision").value,
        "police_age": rule("police_information_age_limit").value,
    }


def _already_open(existing: ClientRequest) -> tuple[str, int]:
    # One request at a time: a second would split the story and the team's answer in two.
    return render_template("intake/already_open.html", req=existing), 409


def _language_choices() -> list[tuple[str, str]]:
    from app.i18n import language_name

    codes = current_app.config["PUBLIC_LANGUAGES"]
    return [(code, language_name(code)) for code in codes] + [("other", _("Another language"))]


def _review(draft: dict[str, Any], steps: list[str]) -> Any:
    form = SubmitForm()
    if form.validate_on_submit():
        return _submit()
    status = form_status()
    if not draft.get("kind"):
        already = services.open_request(current_user)
        if already is not None:
            return _already_open(already)
        return redirect(url_for("intake.request_step", step="kind"))
    return (
        render_template(
            "intake/review.html",
            draft=draft,
            answers=draft_answers(draft),
            form=form,
            steps=steps,
            step="review",
            position=len(steps),
            acute=draft.get("urgency") == "acute",
        ),
        status,
    )


def _submit() -> Any:
    try:
        created = services.send_request(current_user, _language())
    except services.NothingToSubmit:
        # The same request sent twice: the second click lands where the first one did.
        sent = services.recent_submission(current_user)
        if sent is None:
            return redirect(url_for("intake.request_step", step="kind"))
        created = sent
    except services.IntakeError as error:
        if error.reason == "no_team":
            abort(503)
        already = services.open_request(current_user)
        if error.reason == "open_request" and already is not None:
            return _already_open(already)
        flash(_("Some answers are missing. Please check each step."), "error")
        step = services.REQUIRED_ANSWERS.get(error.reason, "kind")
        return redirect(url_for("intake.request_step", step=step))
    session["just_submitted"] = str(created.id)
    return redirect(url_for("intake.status", request_id=created.id))


def _own_request(request_id: str) -> ClientRequest:
    return get_or_404(ClientRequest, request_id, for_user=current_user, allowed=owns_request)


@bp.route("/requests/<request_id>")
def status(request_id: str) -> str:
    client_request = _own_request(request_id)
    services.view_request(client_request)
    messages.mark_read(client_request, by_client=True)
    return render_template(
        "intake/status.html",
        req=client_request,
        timeline=STATUS_TIMELINE,
        thread=messages.thread(client_request),
        addition_form=AdditionForm(formdata=None),
        message_form=MessageForm(formdata=None),
        confirm_form=ConfirmForm(formdata=None),
        just_submitted=session.pop("just_submitted", None) == str(client_request.id),
    )


@bp.route("/requests/<request_id>/add", methods=["POST"])
def add_information(request_id: str) -> Any:
    client_request = _own_request(request_id)
    form = AdditionForm()
    if not form.validate_on_submit():
        return _status_with_errors(client_request, addition_form=form)
    try:
        services.add_information(client_request, form.text.data)
    except services.IntakeError:
        abort(409)
    flash(_("Thank you. The information was added to your request."), "success")
    return redirect(url_for("intake.status", request_id=client_request.id))


@bp.route("/requests/<request_id>/messages", methods=["POST"])
def send_message(request_id: str) -> Any:
    client_request = _own_request(request_id)
    form = MessageForm()
    if not form.validate_on_submit():
        return _status_with_errors(client_request, message_form=form)
    try:
        messages.send_from_client(client_request, form.body.data)
    except messages.MessagingClosed:
        abort(409)
    flash(_("Your message was sent."), "success")
    return redirect(url_for("intake.status", request_id=client_request.id) + "#messages")


def _status_with_errors(client_request: ClientRequest, **forms: Any) -> tuple[str, int]:
    context = {
        "addition_form": AdditionForm(formdata=None),
        "message_form": MessageForm(formdata=None),
        "confirm_form": ConfirmForm(formdata=None),
        **forms,
    }
    return (
        render_template(
            "intake/status.html",
            req=client_request,
            timeline=STATUS_TIMELINE,
            thread=messages.thread(client_request),
            just_submitted=False,
            **context,
        ),
        400,
    )


@bp.route("/requests/<request_id>/withdraw", methods=["GET", "POST"])
def withdraw(request_id: str) -> Any:
    client_request = _own_request(request_id)
    form = ConfirmForm()
    if form.validate_on_submit():
        try:
            services.withdraw_request(client_request)
        except services.IntakeError:
            abort(409)
        flash(_("Your request is withdrawn. You can send a new one at any time."), "info")
        return redirect(url_for("intake.dashboard"))
    return render_template("intake/withdraw.html", req=client_request, form=form), form_status()


@bp.route("/notifications", methods=["GET", "POST"])
def notifications() -> Any:
    form = NotificationForm()
    if request.method == "GET":
        form.email.data = current_user.notify_email
    if form.validate_on_submit():
        services.set_notification_address(current_user, form.email.data)
        flash(_("Your choice is saved."), "success")
        return redirect(url_for("intake.dashboard"))
    return render_template("intake/notifications.html", form=form), form_status()


@bp.route("/data")
def my_data() -> str:
    return render_template("intake/my_data.html", data=services.export_client_data(current_user))


@bp.route("/data.json")
def my_data_json() -> Response:
    response = jsonify(services.export_client_data(current_user))
    response.headers["Content-Disposition"] = 'attachment; filename="my-data.json"'
    return response


@bp.route("/delete", methods=["GET", "POST"])
@step_up_required
def delete_account() -> Any:
    form = ConfirmForm()
    requests = services.requests_of(current_user)
    if form.validate_on_submit():
        services.delete_client_account(current_user)
        forget_in_browser()
        flash(_("Your account is deleted."), "info")
        return redirect(url_for("public.index"))
    return (
        render_template(
            "intake/delete.html",
            form=form,
            kept=[r for r in requests if r.became_case_at is not None],
        ),
        form_status(),
    )
