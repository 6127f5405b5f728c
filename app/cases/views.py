"""The team's workspace: triage, cases, deadlines, the team lead's overview."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import abort, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.auth import services as auth_services
from app.auth.models import User
from app.auth.sessions import require_session
from app.auth.stepup import code_of, code_refused, decision_step_up, without_code
from app.cases import bp, services
from app.cases import panels as case_panels
from app.cases import protection as protection_services
from app.cases.access import editable_case, get_case_or_404
from app.cases.deadlines import deadlines_for, open_deadlines
from app.cases.due import DUE_CHOICES, pick_due
from app.cases.forms import (
    ALL_CASES,
    AgeForm,
    ApproveLoweringForm,
    AssignForm,
    CaseFilterForm,
    CloseCaseForm,
    CloseRequestForm,
    ContactAttemptForm,
    GrantForm,
    GroupForm,
    IdentityForm,
    InterventionForm,
    InterventionUpdateForm,
    JournalForm,
    LinkForm,
    LowerProtectionForm,
    NeedsForm,
    NewCaseForm,
    ProtectionForm,
    StatusForm,
    ThreatForm,
    parse_ages,
)
from app.cases.identity import identity_of, identity_of_request, thread_of
from app.cases.models import (
    AccessGrant,
    Case,
    CaseOutcome,
    CaseSource,
    CaseStatus,
    GrantKind,
    Intervention,
    InterventionStatus,
    ProtectionChange,
    ProtectionChangeStatus,
    ProtectionLevel,
    ThreatLevel,
    is_lowering,
)
from app.cases.panels import assign_choices, group_choices, intervention_choices
from app.cases.permissions import (
    belongs_to_case,
    can_assign_cases,
    can_decide_protection_change,
    can_open_or_break_glass,
    can_review_grant,
    can_review_protection_change,
    can_see_identity,
    can_triage,
    can_view_case,
    deadline_of_case,
    is_team_lead_of,
    is_team_member,
)
from app.core.access import get_or_404, parse_public_id
from app.core.clock import utcnow
from app.core.http import form_status, page_number
from app.core.panels import back_to_case_file, case_file
from app.extensions import db
from app.intake.answers import chosen_codes
from app.intake.models import ClientRequest
from app.oversight import services as oversight
from app.rules.models import AgeBand, Deadline

PER_PAGE = 50


@bp.before_request
def team_only() -> None:
    if not is_team_member(current_user, current_user.organisation_id):
        abort(403)


# Triage ------------------------------------------------------------------------------


def _triage_request(request_id: str) -> ClientRequest:
    return get_or_404(ClientRequest, request_id, for_user=current_user, allowed=can_triage)


@bp.route("/triage")
def triage() -> str:
    show = request.args.get("show")
    show = show if show in services.TRIAGE_FILTERS else None
    queue = services.filter_triage(services.triage_queue(current_user.organisation_id), show)
    due = {r.id: services.first_contact_due(r) for r in queue}
    return render_template("cases/triage.html", queue=queue, due=due, now=utcnow(), show=show)


@bp.route("/triage/<request_id>")
def triage_request(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    services.view_request_for_triage(client_request)
    return _render_triage(client_request)


def _render_triage(client_request: ClientRequest, status: int = 200, **forms: Any) -> Any:
    assign = AssignForm(formdata=None, assignee=str(current_user.id))
    assign.assignee.choices = assign_choices()
    context = {
        "assign_form": assign,
        "contact_form": ContactAttemptForm(formdata=None),
        "close_form": CloseRequestForm(formdata=None),
        "link_form": LinkForm(formdata=None),
        **forms,
    }
    chosen = chosen_codes(client_request)
    return (
        render_template(
            "cases/triage_request.html",
            req=client_request,
            attempts=services.contact_attempts(client_request),
            due=services.first_contact_due(client_request),
            help_wanted=chosen.help_wanted,
            safe_times=chosen.safe_times,
            identity=identity_of_request(client_request, current_user, purpose="triage"),
            thread=thread_of(client_request, current_user),
            **context,
        ),
        status,
    )


@bp.route("/triage/<request_id>/assign", methods=["POST"])
def assign_request(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    form = AssignForm()
    form.assignee.choices = assign_choices()
    if not form.validate_on_submit():
        return _render_triage(client_request, 400, assign_form=form)
    assignee = db.session.get(User, parse_public_id(form.assignee.data))
    if assignee is None:
        abort(400)
    services.assign_request(client_request, assignee)
    flash(_("The request is assigned to %(name)s.", name=assignee.username), "success")
    return redirect(url_for("cases.triage_request", request_id=client_request.id))


@bp.route("/triage/<request_id>/contact", methods=["POST"])
def log_contact(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    form = ContactAttemptForm()
    if not form.validate_on_submit():
        return _render_triage(client_request, 400, contact_form=form)
    services.log_contact_attempt(
        client_request, current_user, form.channel.data, form.outcome.data, utcnow()
    )
    flash(_("The contact attempt is logged."), "success")
    return redirect(url_for("cases.triage_request", request_id=client_request.id))


@bp.route("/triage/<request_id>/close", methods=["POST"])
def close_request(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    form = CloseRequestForm()
    if not form.validate_on_submit():
        return _render_triage(client_request, 400, close_form=form)
    try:
        services.close_request(client_request, form.reason.data)
    except services.CaseError:
        abort(409)
    flash(_("The request is closed."), "success")
    return redirect(url_for("cases.triage"))


@bp.route("/triage/<request_id>/open-case", methods=["POST"])
def open_case(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    # CSRFProtect has checked the token: a button with no fields needs no form object.
    try:
        case = services.open_case(client_request, current_user)
    except services.CaseError:
        abort(409)
    flash(
        _("Case %(reference)s is opened and assigned to you.", reference=case.reference), "success"
    )
    return back_to_case_file(case)


@bp.route("/triage/<request_id>/link", methods=["POST"])
def link_request(request_id: str) -> Any:
    client_request = _triage_request(request_id)
    form = LinkForm()
    if not form.validate_on_submit():
        return _render_triage(client_request, 400, link_form=form)
    case = services.find_case_by_reference(current_user.organisation_id, form.reference.data)
    if case is None or not can_view_case(current_user, case):
        form.reference.errors = [_("No case of yours has that reference.")]
        return _render_triage(client_request, 400, link_form=form)
    try:
        services.link_request(client_request, case)
    except services.CaseError:
        abort(409)
    flash(_("The request is linked to case %(reference)s.", reference=case.reference), "success")
    return back_to_case_file(case)


# Cases -------------------------------------------------------------------------------


@bp.route("/cases")
def cases() -> str | tuple[str, int]:
    form = CaseFilterForm(request.args)
    lead = is_team_lead_of(current_user, current_user.organisation_id)
    if lead:
        form.caseworker.choices = [("", _("All")), *assign_choices()]
    else:
        del form.caseworker  # a caseworker's list holds only their own cases
    if not form.validate():
        # A filter that is not one of the choices comes from an edited address: show why,
        # and no cases, rather than fail on it.
        empty = services.CasePage(cases=[], total=0, has_next=False)
        return render_template("cases/list.html", form=form, listing=empty, page=1), 400
    page = page_number()
    chosen = form.status.data or ""
    listing = services.team_cases(
        current_user.organisation_id,
        reference=form.reference.data or None,
        status=CaseStatus(chosen) if chosen not in ("", ALL_CASES) else None,
        open_only=chosen == "",
        protection=ProtectionLevel(form.protection.data) if form.protection.data else None,
        caseworker_id=parse_public_id(form.caseworker.data)
        if lead and form.caseworker.data
        else None,
        deadline_before=_deadline_limit(form.deadline.data),
        only_for=None if lead else current_user,
        page=page,
        per_page=PER_PAGE,
    )
    return render_template("cases/list.html", form=form, listing=listing, page=page)


def _deadline_limit(choice: str | None) -> datetime | None:
    if choice == "overdue":
        return utcnow()
    if choice == "week":
        return utcnow() + timedelta(days=7)
    return None


@bp.route("/cases/new", methods=["GET", "POST"])
def new_case() -> Any:
    form = NewCaseForm()
    form.reporting_organisation.choices = [("", _("No agency")), *_reporter_choices()]
    if form.validate_on_submit():
        reporter = form.reporting_organisation.data
        created = services.create_case(
            current_user.organisation_id,
            CaseSource(form.source.data),
            form.full_name.data,
            current_user,
            age_band=AgeBand(form.age_band.data),
            reporting_organisation_id=parse_public_id(reporter) if reporter else None,
        )
        flash(
            _("Case %(reference)s is opened and assigned to you.", reference=created.reference),
            "success",
        )
        return back_to_case_file(created)
    return render_template("cases/new.html", form=form), form_status()


def _reporter_choices() -> list[tuple[str, str]]:
    return [(str(agency.id), agency.name) for agency in services.reporting_agencies()]


@bp.route("/cases/<case_id>/extract")
def register_extract(case_id: str) -> str:
    # The extract holds identity and location, so it follows who may see them.
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_see_identity)
    # Imported on use, like the extract itself (see _extract).
    from app.cases.extract_view import readable_extract

    data = _extract(found)
    return render_template(
        "cases/extract.html", case=found, data=data, sections=readable_extract(data)
    )


def _extract(case: Case) -> dict[str, Any]:
    # Imported on use: the extract reads every feature's models, and importing them all
    # while this blueprint registers would close an import cycle through consent/intake.
    from app.cases.extract import register_extract

    return register_extract(case, identity_of(case, current_user, purpose="register_extract"))


@bp.route("/cases/<case_id>/extract.json")
def register_extract_json(case_id: str) -> Response:
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_see_identity)
    response = jsonify(_extract(found))
    response.headers["Content-Disposition"] = (
        f'attachment; filename="register-extract-{found.reference}.json"'
    )
    return response


@bp.route("/cases/<case_id>/identity", methods=["POST"])
def identity(case_id: str) -> Any:
    found = editable_case(case_id)
    if not can_see_identity(current_user, found):
        abort(403)
    form = IdentityForm(stored_municipality=found.municipality)
    if not form.validate_on_submit():
        return case_file(found, 400, identity_form=form)
    ages = parse_ages(form.children_ages.data)
    try:
        duplicates = services.update_identity(
            found,
            services.IdentityChange(
                form.full_name.data,
                form.personal_number.data,
                form.phone.data,
                form.address.data,
                form.municipality.data,
                form.adults.data or 0,
                ages,
            ),
            current_user,
        )
    except services.CaseError:
        form.personal_number.errors = [_("This is not a valid personal identity number.")]
        return case_file(found, 400, identity_form=form)
    if duplicates.visible:
        flash(
            _(
                "Warning: the same personal identity number is on case %(reference)s.",
                reference=", ".join(duplicates.visible),
            ),
            "warning",
        )
    if duplicates.withheld:
        flash(
            _(
                "The same personal identity number may be on a case you cannot see. "
                "The team lead has been told."
            ),
            "warning",
        )
    flash(_("Identity and household saved."), "success")
    return back_to_case_file(found, "#identity")


@bp.route("/cases/<case_id>/protection", methods=["POST"])
def protection(case_id: str) -> Any:
    found = editable_case(case_id)
    form = ProtectionForm()
    if not form.validate_on_submit():
        return case_file(found, 400, protection_form=form)
    level = ProtectionLevel(form.level.data)
    if is_lowering(found.protection_level, level):
        # Lowering asks again on a page of its own, for a reason and a fresh code.
        return _render_lowering(
            found, without_code(LowerProtectionForm(formdata=None, level=level.value))
        )
    protection_services.change_protection(found, level, current_user)
    flash(_("Protected identity level saved."), "success")
    return back_to_case_file(found, "#identity")


def _render_lowering(case: Case, form: LowerProtectionForm, status: int = 200) -> Any:
    level = next((lv for lv in ProtectionLevel if lv.value == form.level.data), None)
    return (
        render_template(
            "cases/lower_protection.html",
            case=case,
            form=form,
            level=level,
            needs_approval=level is not None
            and protection_services.needs_approval(case, current_user, level),
        ),
        status,
    )


@bp.route("/cases/<case_id>/protection/lower", methods=["POST"])
@decision_step_up
def lower_protection(case_id: str) -> Any:
    found = editable_case(case_id)
    form = without_code(LowerProtectionForm())
    if not form.validate_on_submit():
        return _render_lowering(found, form, 400)
    level = ProtectionLevel(form.level.data)
    if not is_lowering(found.protection_level, level):
        flash(_("The level has changed in the meantime. Choose again."), "error")
        return back_to_case_file(found, "#identity")
    try:
        auth_services.confirm_with_code(require_session(), code_of(form), "protection_lowering")
    except auth_services.CodeRejected:
        code_refused(form, _("That code did not work. Wait for a new code and try again."))
        return _render_lowering(found, form, 401)
    try:
        change = protection_services.change_protection(found, level, current_user, form.reason.data)
    except services.CaseError:
        flash(_("A lowering of this level is already waiting for approval."), "error")
        return back_to_case_file(found, "#identity")
    if change is not None and change.status is ProtectionChangeStatus.PENDING:
        flash(
            _(
                "Another team member set this level: the lowering waits for their or another "
                "colleague's approval. Until then the level stays."
            ),
            "warning",
        )
    else:
        flash(_("The level is lowered. This is recorded and reviewed by the team lead."), "warning")
    return back_to_case_file(found, "#identity")


def _waiting_change(case: Case, change_id: str) -> ProtectionChange:
    return get_or_404(ProtectionChange, change_id, for_user=case, allowed=belongs_to_case)


@bp.route("/cases/<case_id>/protection/<change_id>/approve", methods=["POST"])
@decision_step_up
def approve_lowering(case_id: str, change_id: str) -> Any:
    found = editable_case(case_id)
    change = _waiting_change(found, change_id)
    if not can_decide_protection_change(current_user, found, change):
        abort(403)
    form = without_code(ApproveLoweringForm())
    if not form.validate_on_submit():
        return case_file(found, 400, approve_form=form)
    try:
        auth_services.confirm_with_code(require_session(), code_of(form), "protection_lowering")
    except auth_services.CodeRejected:
        code_refused(form, _("That code did not work. Wait for a new code and try again."))
        return case_file(found, 401, approve_form=form)
    try:
        protection_services.approve_change(change, found, current_user)
    except services.CaseError:
        abort(409)
    flash(_("The level is lowered. This is recorded and reviewed by the team lead."), "warning")
    return back_to_case_file(found, "#identity")


@bp.route("/cases/<case_id>/protection/<change_id>/reject", methods=["POST"])
def reject_lowering(case_id: str, change_id: str) -> Any:
    found = editable_case(case_id)
    change = _waiting_change(found, change_id)
    if not can_decide_protection_change(current_user, found, change):
        abort(403)
    try:
        protection_services.reject_change(change, found, current_user)
    except services.CaseError:
        abort(409)
    flash(_("The lowering is refused; the level stays."), "success")
    return back_to_case_file(found, "#identity")


@bp.route("/cases/<case_id>/reveal", methods=["POST"])
def reveal(case_id: str) -> Any:
    found = get_case_or_404(case_id, for_user=current_user)
    form = GrantForm()
    if not form.validate_on_submit():
        return case_file(found, 400, reveal_form=form)
    services.grant_access(found, current_user, GrantKind.REVEAL_IDENTITY, form.reason.data)
    flash(_("Identity revealed. This is recorded and reviewed by the team lead."), "warning")
    return back_to_case_file(found, "#identity")


@bp.route("/cases/<case_id>/break-glass", methods=["GET", "POST"])
def break_glass(case_id: str) -> Any:
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_open_or_break_glass)
    if can_view_case(current_user, found):
        return back_to_case_file(found)
    form = GrantForm()
    if form.validate_on_submit():
        services.grant_access(found, current_user, GrantKind.BREAK_GLASS, form.reason.data)
        return back_to_case_file(found)
    return render_template(
        "cases/break_glass.html", case=found, form=form
    ), 400 if request.method == "POST" else 200


@bp.route("/cases/<case_id>/status", methods=["POST"])
def status(case_id: str) -> Any:
    found = editable_case(case_id)
    form = StatusForm()
    if not form.validate_on_submit():
        return case_file(found, 400, status_form=form)
    services.change_status(found, CaseStatus(form.status.data))
    flash(_("Status saved."), "success")
    return back_to_case_file(found)


@bp.route("/cases/<case_id>/close", methods=["POST"])
def close(case_id: str) -> Any:
    found = editable_case(case_id)
    form = CloseCaseForm()
    if not form.validate_on_submit():
        return case_file(found, 400, close_form=form)
    if form.confirmed.data != "yes":
        outcome = CaseOutcome(form.outcome.data)
        return render_template("cases/close_confirm.html", case=found, form=form, outcome=outcome)
    try:
        services.close_case(found, CaseOutcome(form.outcome.data))
    except services.CaseError:
        abort(409)  # closed meanwhile, by another press
    flash(_("The case is closed."), "success")
    return back_to_case_file(found)


@bp.route("/cases/<case_id>/journal", methods=["POST"])
def journal(case_id: str) -> Any:
    # A closed case still takes journal notes.
    found = editable_case(case_id, while_closed=True)
    form = JournalForm()
    if not form.validate_on_submit():
        return case_file(found, 400, journal_form=form)
    services.add_journal_entry(found, current_user, form.occurred_on.data, form.body.data)
    flash(_("The note is saved."), "success")
    return back_to_case_file(found, "#timeline")


@bp.route("/cases/<case_id>/threat", methods=["POST"])
def threat(case_id: str) -> Any:
    found = editable_case(case_id)
    form = ThreatForm()
    form.groups.choices = group_choices()
    if not form.validate_on_submit():
        return case_file(found, 400, threat_form=form)
    services.record_threat_assessment(
        found,
        current_user,
        level=ThreatLevel(form.level.data),
        by_police=form.by_police.data == "yes",
        assessed_on=form.assessed_on.data,
        sources=form.sources.data,
        group_ids=form.groups.data or [],
        areas_to_avoid=form.areas_to_avoid.data or [],
        next_review_on=form.next_review_on.data,
    )
    flash(_("The threat assessment is saved."), "success")
    return back_to_case_file(found, "#threat")


@bp.route("/cases/<case_id>/needs", methods=["POST"])
def needs(case_id: str) -> Any:
    found = editable_case(case_id)
    form = NeedsForm()
    if not form.validate_on_submit():
        return case_file(found, 400, needs_form=form)
    services.record_needs_assessment(found, current_user, utcnow().date(), form.notes())
    flash(_("The needs assessment is saved."), "success")
    return back_to_case_file(found, "#needs")


@bp.route("/cases/<case_id>/interventions", methods=["POST"])
def add_intervention(case_id: str) -> Any:
    found = editable_case(case_id)
    form = InterventionForm()
    form.kind.choices = intervention_choices()
    if not form.validate_on_submit():
        return case_file(found, 400, intervention_form=form)
    try:
        services.add_intervention(
            found, form.kind.data, form.provider.data, form.starts_on.data, form.ends_on.data
        )
    except services.CaseError:
        form.ends_on.errors = [_("The end date is before the start date.")]
        return case_file(found, 400, intervention_form=form)
    flash(_("The intervention is added."), "success")
    return back_to_case_file(found, "#interventions")


@bp.route("/cases/<case_id>/interventions/<intervention_id>", methods=["POST"])
def update_intervention(case_id: str, intervention_id: str) -> Any:
    found = editable_case(case_id)
    item = get_or_404(Intervention, intervention_id, for_user=found, allowed=belongs_to_case)
    form = InterventionUpdateForm()
    if not form.validate_on_submit():
        return case_file(found, 400, update_form=form)
    services.update_intervention(
        item, found, InterventionStatus(form.status.data), form.outcome.data
    )
    flash(_("The intervention is updated."), "success")
    return back_to_case_file(found, "#interventions")


@bp.route("/cases/<case_id>/assign", methods=["POST"])
def assign_case(case_id: str) -> Any:
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_assign_cases)
    form = AssignForm()
    form.assignee.choices = assign_choices()
    if not form.validate_on_submit():
        return case_file(found, 400, assign_form=form)
    assignee = db.session.get(User, parse_public_id(form.assignee.data))
    if assignee is None:
        abort(400)
    services.assign_case(found, assignee)
    flash(_("%(name)s is assigned to the case.", name=assignee.username), "success")
    return back_to_case_file(found)


@bp.route("/cases/<case_id>/unassign/<user_id>", methods=["POST"])
def unassign_case(case_id: str, user_id: str) -> Any:
    found = get_or_404(Case, case_id, for_user=current_user, allowed=can_assign_cases)
    if not services.unassign_case(found, parse_public_id(user_id)):
        abort(404)  # not on this case (perhaps not even on this team)
    flash(_("The assignment is removed."), "success")
    return back_to_case_file(found)


# Deadlines and the team lead's overview -------------------------------------------------


@bp.route("/deadlines")
def my_deadlines() -> str:
    which = request.args.get("due")
    which = which if which in DUE_CHOICES else None
    items = pick_due(deadlines_for(current_user), which)
    return render_template("cases/deadlines.html", items=items, mine=True, which=which)


@bp.route("/overview")
def overview() -> str:
    if not is_team_lead_of(current_user, current_user.organisation_id):
        abort(403)
    team = case_panels.team()
    workload = services.open_case_counts(current_user.organisation_id)
    items = open_deadlines(current_user.organisation_id)
    return render_template(
        "cases/overview.html",
        team=team,
        workload=workload,
        items=[i for i in items if i.overdue],
        # Every clock from the day it starts, not only once it is late.
        running=[i for i in items if not i.overdue],
        grants=services.grants_to_review(current_user.organisation_id),
        lowerings=protection_services.lowerings_to_review(current_user.organisation_id),
        waiting=protection_services.waiting_lowerings(current_user.organisation_id),
        references=_references(current_user.organisation_id),
        # The monthly access-log review is the lead's duty: remind where they look daily.
        unreviewed=oversight.unreviewed_previous_month(current_user.organisation_id),
        users={u.id: u for u in team},
        form=GrantForm(formdata=None),
    )


@bp.route("/overview/grants/<grant_id>/reviewed", methods=["POST"])
def review_grant(grant_id: str) -> Response:
    if not is_team_lead_of(current_user, current_user.organisation_id):
        abort(403)
    grant = get_or_404(AccessGrant, grant_id, for_user=current_user, allowed=can_review_grant)
    services.review_grant(grant, current_user)
    return redirect(url_for("cases.overview"))


def _references(organisation_id: object) -> dict[Any, str]:
    """Case references of the lowerings on the overview: a reference names no person."""
    ids = [
        change.case_id
        for change in protection_services.lowerings_to_review(organisation_id)
        + protection_services.waiting_lowerings(organisation_id)
    ]
    rows = db.session.execute(sa.select(Case.id, Case.reference).where(Case.id.in_(ids)))
    return {case_id: reference for case_id, reference in rows}


@bp.route("/overview/lowerings/<change_id>/reviewed", methods=["POST"])
def review_lowering(change_id: str) -> Response:
    if not is_team_lead_of(current_user, current_user.organisation_id):
        abort(403)
    change = get_or_404(
        ProtectionChange, change_id, for_user=current_user, allowed=can_review_protection_change
    )
    protection_services.review_lowering(change, current_user)
    return redirect(url_for("cases.overview"))


@bp.route("/groups", methods=["GET", "POST"])
def groups() -> Any:
    form = GroupForm()
    if form.validate_on_submit():
        try:
            services.add_group(current_user.organisation_id, form.name.data)
        except services.CaseError:
            form.name.errors = [_("That group is on the list already.")]
        else:
            flash(_("The group is added."), "success")
            return redirect(url_for("cases.groups"))
        status = 400
    else:
        status = form_status()
    return render_template(
        "cases/groups.html", groups=services.team_groups(current_user.organisation_id), form=form
    ), status


@bp.route("/cases/<case_id>/deadlines/<deadline_id>/met", methods=["POST"])
def meet_deadline(case_id: str, deadline_id: str) -> Response:
    found = editable_case(case_id)
    deadline = get_or_404(Deadline, deadline_id, for_user=found, allowed=deadline_of_case)
    services.meet_deadline(found, deadline)
    flash(_("The deadline is marked as met."), "success")
    return back_to_case_file(found, "#deadlines")


@bp.route("/cases/<case_id>/age", methods=["POST"])
def record_age(case_id: str) -> Any:
    found = editable_case(case_id)
    form = AgeForm()
    if not form.validate_on_submit():
        return case_file(found, 400, age_form=form)
    started = services.set_age_band(found, AgeBand(form.age_band.data))
    if started:
        flash(_("The age is recorded and the deadlines it calls for have started."), "success")
    else:
        flash(_("The age is recorded."), "success")
    return back_to_case_file(found, "#deadlines")


@bp.route("/cases/<case_id>/child-investigation", methods=["POST"])
def open_child_investigation(case_id: str) -> Response:
    found = editable_case(case_id)
    try:
        services.open_child_investigation(found)
    except services.CaseError:
        abort(409)
    flash(_("The investigation is opened; it must be finished within four months."), "success")
    return back_to_case_file(found, "#deadlines")
