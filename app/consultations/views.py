"""Consultation pages: the team convenes and records; representatives answer and report."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth.guard import public
from app.auth.models import User
from app.auth.services import AccountError, WeakPassword
from app.auth.sessions import bind_to_browser
from app.cases.identity import identity_of
from app.cases.models import Case
from app.cases.permissions import can_edit_case, can_see_identity, is_team_member
from app.consent.models import Purpose
from app.consent.services import NotCovered, disclosures_of
from app.consultations import agency_bp, bp, join_bp, services
from app.consultations.forms import (
    ActionForm,
    ActionUpdateForm,
    ConveneForm,
    JoinForm,
    MinutesForm,
    RescheduleForm,
    RespondForm,
)
from app.consultations.models import Action, ActionStatus, Consultation
from app.consultations.models import Response as Answer
from app.consultations.permissions import (
    can_attend_as_representative,
    can_manage_consultation,
    can_update_action,
    invitation_of,
    is_representative,
)
from app.core.access import get_or_404, parse_public_id
from app.core.http import form_status
from app.core.urls import external_url
from app.extensions import db, limiter
from app.orgs.models import Organisation
from app.rules import LOCAL_TIME


def _when(day: Any, moment: Any) -> datetime:
    return datetime.combine(day, moment, tzinfo=LOCAL_TIME)


def _plan(form: Any, agenda: str | None = None) -> services.Plan:
    return services.Plan(
        _when(form.starts_on.data, form.starts_time.data),
        form.duration.data,
        form.place.data,
        agenda,
    )


# The team's side -------------------------------------------------------------------------


@bp.before_request
def team_only() -> None:
    if not is_team_member(current_user, current_user.organisation_id):
        abort(403)


@bp.route("/cases/<case_id>/consultations/new", methods=["GET", "POST"])
def convene(case_id: str) -> Any:
    case = get_or_404(Case, case_id, for_user=current_user, allowed=can_edit_case)
    choices = services.agency_choices(case)
    form = ConveneForm()
    form.agencies.choices = [(str(a.id), a.name) for a, covered in choices if covered]
    representatives = services.representatives_of([a.id for a, covered in choices if covered])
    form.representatives.choices = [
        (str(u.id), f"{u.username} ({u.organisation.name})")
        for u in representatives
        if u.organisation
    ]
    earlier = services.consultations_of_case(case.id)
    form.invite_agency.choices = [("", "–"), *form.agencies.choices]
    form.previous.choices = [("", "–")] + [
        (str(c.id), c.starts_at.astimezone(LOCAL_TIME).strftime("%Y-%m-%d %H:%M")) for c in earlier
    ]
    warnings: list[User] = []
    if request.method == "GET":
        services.view_convening(case)
    if form.validate_on_submit():
        plan = _plan(form, form.agenda.data)
        previous = (
            db.session.get(Consultation, parse_public_id(form.previous.data))
            if form.previous.data
            else None
        )
        try:
            consultation = services.convene(
                case,
                current_user,
                plan,
                [parse_public_id(a) for a in form.agencies.data],
                [parse_public_id(r) for r in form.representatives.data or []],
                previous if previous and previous.case_id == case.id else None,
            )
        except NotCovered:
            abort(403)
        except services.ConsultationError:
            abort(400)
        if form.invite_email.data and form.invite_agency.data in (form.agencies.data or []):
            agency = db.session.get(Organisation, parse_public_id(form.invite_agency.data))
            assert agency is not None
            services.invite_representative(
                agency,
                form.invite_email.data,
                current_user,
                consultation,
                external_url("join.join", token="TOKEN"),  # noqa: S106  (a placeholder)
            )
        warnings = services.conflicts(
            [i.user for i in consultation.invitations if i.user], plan, consultation
        )
        for person in warnings:
            flash(
                _("%(name)s already has a consultation at that time.", name=person.username),
                "warning",
            )
        flash(_("The consultation is convened and the invitations are on their way."), "success")
        return redirect(url_for("consultations.consultation", consultation_id=consultation.id))
    return (
        render_template(
            "consultations/convene.html",
            case=case,
            form=form,
            uncovered=[a for a, covered in choices if not covered],
        ),
        form_status(),
    )


def _managed(consultation_id: str) -> tuple[Consultation, Case]:
    consultation = get_or_404(
        Consultation, consultation_id, for_user=current_user, allowed=can_manage_consultation
    )
    case = db.session.get(Case, consultation.case_id)
    assert case is not None
    return consultation, case


def _render(consultation: Consultation, case: Case, status: int = 200, **forms: Any) -> Any:
    # Minutes, decisions and actions may name the person: through the identity decision.
    identity = identity_of(case, current_user, purpose="consultation")
    minutes = MinutesForm(
        formdata=None,
        minutes=identity.text(consultation.minutes),
        attended=[str(i.id) for i in consultation.invitations if i.attended],
        decisions=identity.text("\n".join(d.text for d in services.decisions_of(consultation))),
    )
    minutes.attended.choices = [(str(i.id), _invitee(i)) for i in consultation.invitations]
    action = ActionForm(formdata=None)
    action.owner.choices = _owner_choices(consultation)
    context = {
        "reschedule_form": RescheduleForm(formdata=None),
        "minutes_form": minutes,
        "action_form": action,
        **forms,
    }
    return (
        render_template(
            "consultations/consultation.html",
            consultation=consultation,
            case=case,
            identity=identity,
            decisions=services.decisions_of(consultation),
            actions=[
                a for a in services.actions_of_case(case.id) if a.consultation_id == consultation.id
            ],
            disclosures=disclosures_of(case, [Purpose.CONSULTATION, Purpose.INFORMATION_EXCHANGE]),
            **context,
        ),
        status,
    )


def _invitee(invitation: Any) -> str:
    name = invitation.organisation.name
    return f"{invitation.user.username} ({name})" if invitation.user else name


def _owner_choices(consultation: Consultation) -> list[tuple[str, str]]:
    choices: list[tuple[str, str]] = []
    for invitation in consultation.invitations:
        if invitation.user is not None:
            choices.append((f"user:{invitation.user.id}", _invitee(invitation)))
        else:
            choices.append((f"org:{invitation.organisation_id}", invitation.organisation.name))
    return choices


@bp.route("/agencies")
def agencies() -> str:
    found = services.agency_directory()
    return render_template("consultations/agencies.html", agencies=found)


@bp.route("/actions")
def actions_due() -> str:
    """Actions due within the week on my cases: the reference, the agency and the date,
    not the action's words (they are read on the case, where reading is audited)."""
    return render_template(
        "consultations/actions_due.html", rows=services.actions_due_on_my_cases(current_user)
    )


@bp.route("/consultations/<consultation_id>")
def consultation(consultation_id: str) -> Any:
    found, case = _managed(consultation_id)
    return _render(found, case)


@bp.route("/consultations/<consultation_id>/reschedule", methods=["POST"])
def reschedule(consultation_id: str) -> Any:
    found, case = _managed(consultation_id)
    form = RescheduleForm()
    if not form.validate_on_submit():
        return _render(found, case, 400, reschedule_form=form)
    try:
        services.reschedule(found, case, _plan(form, found.agenda))
    except services.ConsultationError:
        abort(409)
    flash(_("The consultation is moved and everyone is told."), "success")
    return redirect(url_for("consultations.consultation", consultation_id=found.id))


@bp.route("/consultations/<consultation_id>/cancel", methods=["POST"])
def cancel(consultation_id: str) -> Response:
    found, case = _managed(consultation_id)
    try:
        services.cancel(found, case)
    except services.ConsultationError:
        abort(409)
    flash(_("The consultation is cancelled and everyone is told."), "success")
    return redirect(url_for("workspace.case", case_id=case.id))


@bp.route("/consultations/<consultation_id>/minutes", methods=["POST"])
def minutes(consultation_id: str) -> Any:
    found, case = _managed(consultation_id)
    if not can_see_identity(current_user, case):
        abort(403)  # minutes one may not read are not theirs to overwrite
    form = MinutesForm()
    form.attended.choices = [(str(i.id), _invitee(i)) for i in found.invitations]
    if not form.validate_on_submit():
        return _render(found, case, 400, minutes_form=form)
    decisions = [line.strip() for line in (form.decisions.data or "").splitlines() if line.strip()]
    try:
        services.record_meeting(
            found,
            form.minutes.data,
            {parse_public_id(i) for i in form.attended.data or []},
            decisions,
            current_user,
        )
    except services.ConsultationError as error:
        if error.reason != "not_started":
            abort(409)
        form.minutes.errors = [_("The consultation has not started yet.")]
        return _render(found, case, 400, minutes_form=form)
    flash(_("The minutes are saved."), "success")
    return redirect(url_for("consultations.consultation", consultation_id=found.id))


@bp.route("/consultations/<consultation_id>/actions", methods=["POST"])
def add_action(consultation_id: str) -> Any:
    found, case = _managed(consultation_id)
    form = ActionForm()
    form.owner.choices = _owner_choices(found)
    if not form.validate_on_submit():
        return _render(found, case, 400, action_form=form)
    kind, _sep, raw_id = form.owner.data.partition(":")
    owner_user = db.session.get(User, parse_public_id(raw_id)) if kind == "user" else None
    owner = (
        owner_user.organisation
        if owner_user
        else db.session.get(Organisation, parse_public_id(raw_id))
    )
    if owner is None:
        abort(400)
    try:
        services.add_action(found, owner, owner_user, form.description.data, form.due_on.data)
    except services.ConsultationError:
        abort(400)
    flash(_("The action is added."), "success")
    return redirect(url_for("consultations.consultation", consultation_id=found.id))


@bp.route("/consultations/<consultation_id>/disclose", methods=["POST"])
def disclose(consultation_id: str) -> Response:
    """Share the case as it is now with the invited agencies: a new, recorded disclosure."""
    found, case = _managed(consultation_id)
    try:
        given = services.disclose_to_agencies(found, case, current_user)
    except services.ConsultationError:
        abort(409)
    if given:
        flash(_("The invited agencies now see the case as it is today; it is recorded."), "success")
    else:
        flash(_("No invited agency has the client's consent: nothing was shared."), "error")
    return redirect(url_for("consultations.consultation", consultation_id=found.id))


@bp.route("/consultations/<consultation_id>/print")
def print_minutes(consultation_id: str) -> str:
    found, case = _managed(consultation_id)
    return render_template(
        "consultations/print.html",
        consultation=found,
        case=case,
        identity=identity_of(case, current_user, purpose="minutes_print"),
        decisions=services.decisions_of(found),
        actions=[a for a in services.actions_of_case(case.id) if a.consultation_id == found.id],
    )


# The representative's side -----------------------------------------------------------------


@agency_bp.before_request
def representatives_only() -> None:
    if not is_representative(current_user):
        abort(403)


@agency_bp.route("/")
def overview() -> str:
    # The start page's counts link here: "waiting" narrows to unanswered invitations,
    # "due" to actions due within the week; both with the same tests the counts use.
    show = request.args.get("show")
    consultations = [
        c
        for c in services.consultations_for(current_user)
        if can_attend_as_representative(current_user, c)
        and (show != "waiting" or services.awaits_answer(current_user, c))
    ]
    actions = services.actions_for(current_user)
    if show == "due":
        actions = [a for a in actions if services.action_due_soon(a)]
    return render_template(
        "consultations/agency.html",
        consultations=consultations,
        actions=actions,
        # An action links to its consultation while the representative may still open it.
        attendable={
            a.consultation_id
            for a in actions
            if can_attend_as_representative(current_user, a.consultation)
        },
        show=show if show in ("waiting", "due") else None,
        update_form=ActionUpdateForm(formdata=None),
    )


@agency_bp.route("/consultations/<consultation_id>", methods=["GET", "POST"])
def attend(consultation_id: str) -> Any:
    found = get_or_404(
        Consultation, consultation_id, for_user=current_user, allowed=can_attend_as_representative
    )
    invitation = invitation_of(current_user, found)
    assert invitation is not None
    if request.method == "GET" and invitation.response is not Answer.PENDING:
        form = RespondForm(formdata=None, response=invitation.response.value)
    else:
        form = RespondForm()
    if form.validate_on_submit():
        proposed = (
            _when(form.proposed_on.data, form.proposed_time.data)
            if form.proposed_on.data and form.proposed_time.data
            else None
        )
        try:
            services.respond(invitation, Answer(form.response.data), proposed)
        except services.ConsultationError:
            form.proposed_on.errors = [_("Give the date and time you propose.")]
        else:
            flash(_("Your answer is sent."), "success")
            return redirect(url_for("agency.attend", consultation_id=found.id))
    try:
        view = services.view_for_representative(found, current_user)
    except NotCovered:
        abort(404)
    return (
        render_template(
            "consultations/attend.html",
            consultation=found,
            invitation=invitation,
            view=view,
            minutes=services.minutes_for_representative(found, current_user),
            actions=services.agency_actions_of(found, current_user),
            form=form,
        ),
        form_status(),
    )


@agency_bp.route("/actions/<action_id>", methods=["POST"])
def update_action(action_id: str) -> Response:
    action = get_or_404(Action, action_id, for_user=current_user, allowed=can_update_action)
    form = ActionUpdateForm()
    if not form.validate_on_submit():
        abort(400)
    services.update_action(action, ActionStatus(form.status.data), form.outcome.data)
    flash(_("The action is updated."), "success")
    return redirect(url_for("agency.overview"))


# Joining through an e-mailed invitation ------------------------------------------------------


def _joined_already() -> Response:
    # A second click, or another tab: the account exists, made by the first one.
    flash(_("This link has been used. Log in with the username you chose."), "info")
    return redirect(url_for("auth.login"))


@join_bp.route("/join/<token>", methods=["GET", "POST"])
@public
@limiter.limit("20 per hour")
def join(token: str) -> Any:
    invitation = services.find_account_invitation(token)
    form = JoinForm()
    if invitation is None:
        if form.validate_on_submit() and services.account_invitation_used(token):
            return _joined_already()
        abort(404)
    if form.validate_on_submit():
        try:
            _session, session_token = services.accept_account_invitation(
                invitation, form.username.data, form.password.data
            )
        except services.InvitationUsed:
            return _joined_already()
        except WeakPassword as weak:
            form.password.errors = weak.problems
        except AccountError:
            form.username.errors = [_("That username is taken. Choose another one.")]
        else:
            bind_to_browser(session_token)
            return redirect(url_for("auth.enrol"))
        return render_template("consultations/join.html", form=form, invitation=invitation), 400
    return render_template(
        "consultations/join.html", form=form, invitation=invitation
    ), form_status()
