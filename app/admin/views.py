"""Administration: accounts, organisations and installation settings. No case content here:
nothing in this module reads a case, a request or a message."""

from __future__ import annotations

import uuid
from datetime import date, time
from typing import Any

import sqlalchemy as sa
from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.admin import bp
from app.admin import services as admin_services
from app.admin.forms import InviteForm, OrganisationForm, SettingsForm
from app.admin.permissions import needs_approval
from app.auth import services
from app.auth.forms import ConfirmForm
from app.auth.models import Role, User
from app.auth.permissions import (
    can_change_settings,
    can_edit_organisation,
    can_manage_organisations,
    can_manage_user,
    can_manage_users,
    invitable_roles,
)
from app.auth.stepup import step_up_required
from app.core.access import get_or_404
from app.core.http import form_status
from app.core.urls import external_url
from app.extensions import db
from app.feedback import services as feedback
from app.feedback.permissions import can_read_feedback
from app.i18n import language_name
from app.orgs import services as orgs
from app.orgs.models import Organisation, OrgKind
from app.rules import rule
from app.settings import services as site_settings
from app.settings.services import EDITABLE_PERIODS, LANGUAGES_KEY, PERIOD_PREFIX
from app.templating import role_label


@bp.before_request
def only_administrators() -> None:
    if not can_manage_users(current_user):
        abort(403)


def _managed_user(user_id: str) -> User:
    return get_or_404(User, user_id, for_user=current_user, allowed=can_manage_user)


def _require(allowed: bool) -> None:
    if not allowed:
        abort(403)


# Accounts ------------------------------------------------------------------------------------


@bp.route("/users")
def users() -> str:
    staff = db.session.scalars(
        sa.select(User)
        .where(User.organisation_id == current_user.organisation_id)
        .order_by(User.username)
    ).all()
    return render_template(
        "admin/users.html",
        users=staff,
        form=ConfirmForm(),
        with_second_factor=services.with_second_factor(staff),
    )


def _invitation_targets() -> list[Organisation]:
    organisations = db.session.scalars(
        sa.select(Organisation).where(Organisation.active.is_(True)).order_by(Organisation.name)
    ).all()
    return [org for org in organisations if invitable_roles(current_user, org)]


@bp.route("/users/invite", methods=["GET", "POST"])
@step_up_required
def invite() -> Any:
    targets = {str(org.id): org for org in _invitation_targets()}
    form = InviteForm()
    form.organisation.choices = [(key, org.name) for key, org in targets.items()]
    form.role.choices = [(role.value, str(role_label(role))) for role in Role if role.is_staff]
    if form.validate_on_submit():
        organisation = targets[form.organisation.data]
        role = Role(form.role.data)
        if role not in invitable_roles(current_user, organisation):
            form.role.errors = [_("This organisation cannot have members with that role.")]
        else:
            invitation = admin_services.invite_member(
                organisation,
                role,
                form.email.data,
                current_user,
                external_url("join.join", token="TOKEN"),  # noqa: S106  (placeholder)
            )
            if invitation.approval is None:
                flash(_("The invitation is sent. The link works once, for 7 days."), "success")
            else:
                flash(
                    _(
                        "The invitation waits for a team lead's approval: this role reads case "
                        "files. The link is sent when a team lead approves it."
                    ),
                    "success",
                )
            return redirect(url_for("admin.users"))
        return render_template("admin/invite.html", form=form, targets=targets), 400
    return render_template("admin/invite.html", form=form, targets=targets), form_status()


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
def activate(user_id: str) -> Response | tuple[str, int]:
    if not ConfirmForm().validate_on_submit():
        abort(400)
    user = _managed_user(user_id)
    if not user.active and needs_approval(user.role):
        # Separation of duties: an administrator does not alone give case access back.
        flash(
            _("A team lead turns an account that reads case files back on, under Role approvals."),
            "error",
        )
        return users(), 403
    services.set_active(user, True)
    flash(_("%(name)s can log in again.", name=user.username), "success")
    return redirect(url_for("admin.users"))


# Organisations -------------------------------------------------------------------------------


@bp.route("/organisations")
def organisations() -> str:
    _require(can_manage_organisations(current_user))
    listed = db.session.scalars(
        sa.select(Organisation).order_by(Organisation.kind, Organisation.name)
    ).all()
    return render_template("admin/organisations.html", organisations=listed)


@bp.route("/organisations/new", methods=["GET", "POST"])
@step_up_required
def new_organisation() -> Any:
    _require(can_manage_organisations(current_user))
    form = OrganisationForm()
    if form.validate_on_submit():
        org = orgs.add_organisation(form.name.data, OrgKind(form.kind.data), form.mailbox.data)
        flash(_("%(name)s is added.", name=org.name), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", form=form, org=None), form_status()


@bp.route("/organisations/<org_id>", methods=["GET", "POST"])
@step_up_required
def edit_organisation(org_id: str) -> Any:
    org = get_or_404(Organisation, org_id, for_user=current_user, allowed=can_edit_organisation)
    form = OrganisationForm(obj=org)
    form.kind.render_kw = {"disabled": True}  # what an organisation is never changes
    form.kind.data = org.kind.value
    if form.validate_on_submit():
        try:
            orgs.update_organisation(
                org, form.name.data, form.mailbox.data, form.active.data, by=current_user
            )
        except orgs.OwnOrganisation:
            form.active.errors = [_("You cannot deactivate your own organisation.")]
            return render_template("admin/organisation.html", form=form, org=org), 400
        flash(_("Saved."), "success")
        return redirect(url_for("admin.organisations"))
    return render_template("admin/organisation.html", form=form, org=org), form_status()


# Settings ------------------------------------------------------------------------------------


@bp.route("/settings", methods=["GET", "POST"])
@step_up_required
def settings() -> Any:
    _require(can_change_settings(current_user))
    form = SettingsForm()
    public: tuple[str, ...] = current_app.config["PUBLIC_LANGUAGES"]
    form.enabled_languages.choices = [(code, language_name(code)) for code in public]
    teams = orgs.active_exit_teams()
    receiving = orgs.receiving_team()
    if len(teams) > 1:
        form.intake_organisation.choices = [(team.slug, team.name) for team in teams]
    else:
        del form.intake_organisation  # the only exit team receives them: nothing to choose
    if not form.is_submitted():
        values = site_settings.in_force()
        for key in EDITABLE_PERIODS:
            getattr(form, key).data = values[PERIOD_PREFIX + key]
        form.enabled_languages.data = values[LANGUAGES_KEY]
        form.quick_exit_url.data = values[site_settings.QUICK_EXIT_KEY]
        form.neutral_title.data = values[site_settings.TITLE_KEY]
        form.dpo_contact.data = values[site_settings.DPO_KEY]
        form.accessibility_reviewed_on.data = date.fromisoformat(
            values[site_settings.STATEMENT_REVIEWED_KEY]
        )
        form.office_opens.data = time.fromisoformat(values[site_settings.OFFICE_OPENS_KEY])
        form.office_closes.data = time.fromisoformat(values[site_settings.OFFICE_CLOSES_KEY])
        if "intake_organisation" in form:
            form.intake_organisation.data = receiving.slug if receiving else None
    if form.validate_on_submit():
        proposed: dict[str, Any] = {
            PERIOD_PREFIX + key: getattr(form, key).data for key in EDITABLE_PERIODS
        }
        proposed[LANGUAGES_KEY] = [c for c in public if c in form.enabled_languages.data]
        proposed[site_settings.QUICK_EXIT_KEY] = form.quick_exit_url.data.strip()
        proposed[site_settings.TITLE_KEY] = form.neutral_title.data.strip()
        proposed[site_settings.DPO_KEY] = (form.dpo_contact.data or "").strip()
        proposed[site_settings.STATEMENT_REVIEWED_KEY] = (
            form.accessibility_reviewed_on.data.isoformat()
        )
        proposed[site_settings.OFFICE_OPENS_KEY] = form.office_opens.data.isoformat("minutes")
        proposed[site_settings.OFFICE_CLOSES_KEY] = form.office_closes.data.isoformat("minutes")
        if "intake_organisation" in form:
            proposed[site_settings.INTAKE_KEY] = form.intake_organisation.data
        site_settings.save(proposed, current_user)
        flash(_("Settings saved."), "success")
        return redirect(url_for("admin.settings"))
    return (
        render_template(
            "admin/settings.html",
            form=form,
            law=rule("records_deletion"),
            no_receiving_team=receiving is None,
        ),
        form_status(),
    )


# Accessibility feedback ----------------------------------------------------------------------


@bp.route("/feedback")
def feedback_list() -> str:
    _require(can_read_feedback(current_user))
    return render_template(
        "admin/feedback.html", reports=feedback.all_feedback(), form=ConfirmForm()
    )


@bp.route("/feedback/delete", methods=["POST"])
def delete_feedback() -> Response:
    _require(can_read_feedback(current_user))
    form = ConfirmForm()
    try:
        feedback_id = uuid.UUID(request.form.get("feedback", ""))
    except ValueError:
        abort(400)
    if not form.validate_on_submit():
        abort(400)
    if feedback.delete_feedback(feedback_id):
        flash(_("The report is deleted."), "success")
    return redirect(url_for("admin.feedback_list"))
