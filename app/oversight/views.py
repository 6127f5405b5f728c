"""The team lead's review of the access log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from app.audit.labels import action_label
from app.audit.models import AuditEvent
from app.audit.services import record, verify_recent
from app.auth.models import User
from app.cases.permissions import is_team_lead_of
from app.core.access import parse_public_id
from app.extensions import db
from app.oversight import bp, services
from app.oversight import statistics as stats
from app.oversight.forms import LogFilterForm, ReviewForm
from app.oversight.grants import grant_review_context
from app.oversight.labels import category_label

FLAG_LABELS = {
    "emergency": _l("emergency access"),
    "protected": _l("protected identity"),
    "out_of_hours": _l("outside office hours"),
    "volume": _l("unusual volume"),
    "role_grant": _l("role grant"),
    "after_lowering": _l("identity read after a lowered protection level"),
}


TALLY_LABELS = {
    "login.failed": _l("Failed logins (wrong password)"),
    "throttled": _l("Refused for too many attempts"),
}


@bp.before_request
def team_leads_only() -> None:
    if not is_team_lead_of(current_user, current_user.organisation_id):
        abort(403)


def _render(review_form: ReviewForm | None = None, status: int = 200) -> Any:
    form = LogFilterForm(request.args)
    people = db.session.scalars(
        sa.select(User)
        .where(User.organisation_id == current_user.organisation_id)
        .order_by(User.username)
    ).all()
    form.user.choices = [("", _("All")), *((str(u.id), u.username) for u in people)]
    actions = db.session.scalars(
        sa.select(AuditEvent.action)
        .where(AuditEvent.organisation_id == current_user.organisation_id)
        .distinct()
        .order_by(AuditEvent.action)
    ).all()
    form.action.choices = [
        ("", _("All")),
        *sorted(((a, action_label(a)) for a in actions), key=lambda choice: choice[1]),
    ]
    page = services.Page([], None)
    security = None
    before = request.args.get("before", type=int)
    if form.validate():
        page = services.team_events(
            current_user.organisation_id,
            services.Filters(
                user_id=parse_public_id(form.user.data) if form.user.data else None,
                case_id=form.case.data or None,
                action=form.action.data or None,
                start=form.start.data,
                end=form.end.data,
                flagged_only=bool(form.flagged.data),
            ),
            before=before,
        )
        security = services.security_summary(
            current_user.organisation_id, form.start.data, form.end.data
        )
    elif status == 200:
        status = 400
    return (
        render_template(
            "oversight/access_log.html",
            form=form,
            rows=page.rows,
            names={u.id: u.username for u in people},
            actors=services.actors(page.rows),
            references=services.subjects(page.rows),
            action_label=action_label,
            next_page=(
                url_for("oversight.access_log", **_with(before=page.next_before))
                if page.next_before
                else None
            ),
            flag_labels=FLAG_LABELS,
            unreviewed=services.unreviewed_previous_month(current_user.organisation_id),
            chain=verify_recent(),
            security=security,
            tally_labels=TALLY_LABELS,
            reviews=services.reviews(current_user.organisation_id),
            review_form=review_form or ReviewForm(formdata=None, period=services.previous_month()),
            **grant_review_context(current_user.organisation_id),
        ),
        status,
    )


def _with(**changes: Any) -> dict[str, Any]:
    """This page's query with some parameters changed (the filter kept across pages)."""
    args: dict[str, Any] = request.args.to_dict()
    args.update(changes)
    return args


@bp.route("/access-log")
def access_log() -> Any:
    services.view_access_log()
    return _render()


@bp.route("/access-log/reviews", methods=["POST"])
def record_review() -> Any:
    form = ReviewForm()
    if form.validate_on_submit():
        try:
            with db.session.begin_nested():
                services.record_review(
                    current_user.organisation_id, current_user, form.period.data, form.findings.data
                )
        except IntegrityError:
            form.period.errors = [_("That month is reviewed already.")]
        else:
            flash(_("The review is recorded."), "success")
            return redirect(url_for("oversight.access_log"))
    return _render(form, 400)


# Statistics for evaluation ------------------------------------------------------------------

TABLE_TITLES = {
    "requests_by_kind": _l("Requests by kind"),
    "requests_by_month": _l("Requests by month"),
    "requests_by_language": _l("Requests by language"),
    "cases_by_source": _l("Cases by source"),
    "consent_answers": _l("Consent answers"),
    "consultations": _l("Consultations"),
    "actions": _l("Actions by status"),
    "actions_on_time": _l("Actions done on time"),
    "interventions_by_type": _l("Interventions by type"),
    "placement_answers": _l("Placement requests by answer"),
    "outcomes": _l("Outcomes at closing"),
}


@bp.route("/statistics")
def statistics_page() -> str:
    record("statistics.viewed")
    return render_template(
        "oversight/statistics.html",
        tables=stats.team_tables(current_user.organisation_id),
        durations=stats.durations(current_user.organisation_id),
        titles=TABLE_TITLES,
        category_label=category_label,
    )


@bp.route("/statistics.csv")
def statistics_csv() -> Response:
    record("statistics.exported")
    body = stats.as_csv(stats.team_tables(current_user.organisation_id))
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="statistics.csv"'},
    )


@bp.route("/statistics/charts/<key>.png")
def statistics_chart(key: str) -> Response:
    if key not in TABLE_TITLES:
        abort(404)
    (table,) = stats.team_tables(current_user.organisation_id, keys={key})
    png = stats.chart_png(table, str(TABLE_TITLES[key]), lambda code: category_label(key, code))
    return Response(png, mimetype="image/png")
