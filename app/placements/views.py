"""Placement pages: the team asks and confirms; partners answer, take over, report."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.cases.forms import parse_ages
from app.cases.identity import identity_of
from app.cases.models import Case
from app.cases.permissions import can_edit_case, is_team_lead_of, is_team_member
from app.consent.models import Purpose
from app.consent.services import NotCovered, disclosures_of
from app.core.access import get_or_404, parse_public_id
from app.core.http import form_status
from app.extensions import db
from app.placements import bp, partner_bp, services
from app.placements.forms import (
    DeclineForm,
    FollowUpForm,
    OfferForm,
    PlacementForm,
    ProfileForm,
    SendForm,
)
from app.placements.models import (
    FollowUp,
    PartnerProfile,
    Placement,
    PlacementRequest,
    RequestStatus,
)
from app.placements.permissions import (
    belongs_to_placement,
    can_direct_placement,
    can_manage_placement,
    can_open_request,
    is_partner,
)
from app.rules.municipalities import display as municipality_name

# The team's side ------------------------------------------------------------------------------


@bp.before_request
def team_only() -> None:
    if not is_team_member(current_user, current_user.organisation_id):
        abort(403)


@bp.route("/cases/<case_id>/placements/new", methods=["GET", "POST"])
def new_placement(case_id: str) -> Any:
    case = get_or_404(Case, case_id, for_user=current_user, allowed=can_edit_case)
    form = PlacementForm()
    if form.validate_on_submit():
        ages = parse_ages(form.children_ages.data)
        placement = services.create_placement(
            case,
            current_user,
            services.Needs(
                form.adults.data,
                ages,
                form.housing_needs.data,
                form.support_needs.data,
                form.earliest_move_on.data,
                form.expected_duration.data,
                form.free_text.data,
                form.services.data or [],
            ),
        )
        return redirect(url_for("placements.placement", placement_id=placement.id))
    return render_template("placements/new.html", case=case, form=form), form_status()


def _managed(placement_id: str) -> tuple[Placement, Case]:
    placement = get_or_404(
        Placement, placement_id, for_user=current_user, allowed=can_manage_placement
    )
    case = db.session.get(Case, placement.case_id)
    assert case is not None
    return placement, case


def _directed(placement_id: str) -> tuple[Placement, Case]:
    """A placement the user may see, and may also decide about (see can_direct_placement)."""
    placement, case = _managed(placement_id)
    if not can_direct_placement(current_user, placement):
        abort(403)
    return placement, case


def _render(
    placement: Placement, case: Case, status: int = 200, send_form: SendForm | None = None
) -> Any:
    options = services.partner_options(case)
    if send_form is None:
        send_form = SendForm(formdata=None)
    asked = {r.partner_id for r in placement.requests}
    # A partner asked already is not offered again (the service refuses it in any case).
    send_form.partners.choices = [
        (
            str(o.profile.organisation_id),
            f"{o.profile.organisation.name} ({municipality_name(o.profile.municipality)})",
        )
        for o in options
        if o.excluded is None and o.profile.organisation_id not in asked
    ]
    return (
        render_template(
            "placements/placement.html",
            placement=placement,
            case=case,
            # Where the person goes and their children's ages are identity and location.
            identity=identity_of(case, current_user, purpose="placement"),
            send_form=send_form,
            excluded=[o for o in options if o.excluded],
            is_team_lead=is_team_lead_of(current_user, case.organisation_id),
            disclosures=disclosures_of(case, [Purpose.PLACEMENT]),
        ),
        status,
    )


@bp.route("/placements/<placement_id>")
def placement(placement_id: str) -> Any:
    found, case = _managed(placement_id)
    return _render(found, case)


@bp.route("/placements/<placement_id>/send", methods=["POST"])
def send(placement_id: str) -> Any:
    found, case = _directed(placement_id)
    form = SendForm()
    form.partners.choices = [
        (str(o.profile.organisation_id), o.profile.organisation.name)
        for o in services.partner_options(case)
        if o.excluded is None
    ]
    if not form.validate_on_submit():
        return _render(found, case, 400, form)
    try:
        services.send_requests(
            found,
            case,
            [parse_public_id(p) for p in form.partners.data],
            current_user,
            form.override_reason.data,
        )
    except services.ConflictFound:
        # Deliberately vague: the caseworker must not learn which other case is involved.
        form.partners.errors = [_("Conflict with an active placement – ask your team lead.")]
        return _render(found, case, 409, form)
    except services.AlreadyAsked as asked:
        form.partners.errors = [
            _(
                "This request was sent to %(partners)s already: a partner gets it once. "
                "Nothing was sent.",
                partners=", ".join(sorted(p.name for p in asked.partners)),
            )
        ]
        return _render(found, case, 409, form)
    except services.MoveDatePassed:
        form.partners.errors = [
            _("The earliest move date has passed: start a new request with a later date.")
        ]
        return _render(found, case, 409, form)
    except services.PlacementError:
        abort(409)
    flash(_("The request is sent."), "success")
    return redirect(url_for("placements.placement", placement_id=found.id))


@bp.route("/placements/<placement_id>/requests/<request_id>/confirm", methods=["POST"])
def confirm(placement_id: str, request_id: str) -> Response:
    found, _case = _directed(placement_id)
    chosen = get_or_404(PlacementRequest, request_id, for_user=found, allowed=belongs_to_placement)
    try:
        services.confirm(found, chosen)
    except services.PlacementError:
        abort(409)
    flash(_("The placement is confirmed; the other partners are told."), "success")
    return redirect(url_for("placements.placement", placement_id=found.id))


@bp.route("/placements/<placement_id>/requests/<request_id>/hand-over", methods=["POST"])
def hand_over(placement_id: str, request_id: str) -> Response:
    found, case = _directed(placement_id)
    chosen = get_or_404(PlacementRequest, request_id, for_user=found, allowed=belongs_to_placement)
    try:
        services.hand_over(chosen, case, current_user)
    except NotCovered:
        flash(
            _(
                "The client has not consented to a placement with this partner: "
                "nothing was handed over."
            ),
            "error",
        )
        return redirect(url_for("placements.placement", placement_id=found.id))
    except services.PlacementError:
        abort(409)
    flash(_("The identity is handed over to the partner and recorded."), "success")
    return redirect(url_for("placements.placement", placement_id=found.id))


# The partner's side ----------------------------------------------------------------------------


@partner_bp.before_request
def partners_only() -> None:
    if not is_partner(current_user):
        abort(403)


@partner_bp.route("/")
def inbox() -> str:
    # Expiry is not written here (a GET changes nothing): the page reads each request's
    # shown_status, and the daily `flask placements remind` records the expiries.
    profile = db.session.get(PartnerProfile, current_user.organisation_id)
    # "waiting": only the requests still open for the partner's answer (the start page's count).
    waiting = request.args.get("show") == "waiting"
    shown = [
        r
        for r in services.incoming(current_user.organisation_id)
        if can_open_request(current_user, r)
        and (not waiting or r.shown_status is RequestStatus.SENT)
    ]
    services.view_inbox(shown)
    return render_template(
        "placements/partner_inbox.html", requests=shown, profile=profile, waiting=waiting
    )


def _own(request_id: str) -> PlacementRequest:
    return get_or_404(PlacementRequest, request_id, for_user=current_user, allowed=can_open_request)


def _render_request(found: PlacementRequest, status: int = 200, **forms: Any) -> Any:
    case = db.session.get(Case, found.placement.case_id)
    assert case is not None
    context = {
        "offer_form": OfferForm(formdata=None),
        "decline_form": DeclineForm(formdata=None),
        "follow_up_form": FollowUpForm(
            formdata=None, stage=(found.follow_up or FollowUp.PLANNED).value, report=found.report
        ),
        **forms,
    }
    return (
        render_template(
            "placements/partner_request.html",
            req=found,
            placement=found.placement,
            handover=services.handover_data(found, case, current_user),
            **context,
        ),
        status,
    )


@partner_bp.route("/requests/<request_id>")
def request_page(request_id: str) -> Any:
    found = _own(request_id)
    services.view_request(found)
    return _render_request(found)


@partner_bp.route("/requests/<request_id>/accept", methods=["POST"])
def accept(request_id: str) -> Any:
    found = _own(request_id)
    form = OfferForm()
    if not form.validate_on_submit():
        return _render_request(found, 400, offer_form=form)
    try:
        services.accept(found, form.housing_type.data, form.move_in_on.data, form.contact.data)
    except services.PlacementError:
        abort(409)
    flash(_("Your offer is sent."), "success")
    return redirect(url_for("partner.request_page", request_id=found.id))


@partner_bp.route("/requests/<request_id>/decline", methods=["POST"])
def decline(request_id: str) -> Any:
    found = _own(request_id)
    form = DeclineForm()
    if not form.validate_on_submit():
        return _render_request(found, 400, decline_form=form)
    try:
        services.decline(found, form.reason.data)
    except services.PlacementError:
        abort(409)
    flash(_("Your answer is sent."), "success")
    return redirect(url_for("partner.inbox"))


@partner_bp.route("/requests/<request_id>/follow-up", methods=["POST"])
def follow_up(request_id: str) -> Any:
    found = _own(request_id)
    form = FollowUpForm()
    if not form.validate_on_submit():
        return _render_request(found, 400, follow_up_form=form)
    try:
        services.report_follow_up(found, FollowUp(form.stage.data), form.report.data)
    except services.PlacementError:
        abort(409)
    flash(_("The report is saved."), "success")
    return redirect(url_for("partner.request_page", request_id=found.id))


@partner_bp.route("/profile", methods=["GET", "POST"])
def profile() -> Any:
    found = db.session.get(PartnerProfile, current_user.organisation_id)
    if found is None:
        abort(404)
    if request.method == "GET":
        current = {
            "services": [s for s in found.services.split(",") if s],
            "capacity": found.capacity,
        }
        form = ProfileForm(data=current)
    else:
        form = ProfileForm()
    if form.validate_on_submit():
        services.update_profile(found, form.services.data or [], form.capacity.data)
        flash(_("Saved."), "success")
        return redirect(url_for("partner.inbox"))
    return render_template("placements/profile.html", form=form, profile=found), form_status()
