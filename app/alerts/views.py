"""The alert list, marking alerts read, and the choice of a notice mail."""

from __future__ import annotations

import uuid
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from werkzeug.wrappers import Response

from app.alerts import bp, inbox, services
from app.alerts.forms import AlertMailForm, MarkReadForm
from app.alerts.labels import alert_label, alert_link
from app.alerts.models import AlertKind
from app.auth.models import Role


@bp.before_request
def staff_only() -> None:
    # Clients have their own notices (the notification address on their pages).
    if current_user.role is Role.CLIENT:
        abort(403)


def _kind(raw: str | None) -> AlertKind | None:
    if not raw:
        return None
    try:
        return AlertKind(raw)
    except ValueError:
        abort(404)


@bp.route("/")
def index() -> str:
    kind = _kind(request.args.get("kind"))
    unread = request.args.get("unread") == "1"
    return render_template(
        "alerts/index.html",
        alerts=inbox.alerts_for(current_user, kind=kind, unread=unread),
        kind=kind,
        unread=unread,
        label=alert_label,
        link=alert_link,
        form=MarkReadForm(formdata=None),
    )


@bp.route("/read", methods=["POST"])
def mark_read() -> Response:
    form = MarkReadForm()
    if not form.validate_on_submit():
        abort(400)
    alert_id = uuid.UUID(form.alert.data) if form.alert.data else None
    # Only the reader's own alerts change: someone else's id matches nothing.
    if not services.mark_read(current_user, alert_id) and alert_id is not None:
        abort(404)
    return redirect(url_for("alerts.index", **_back()))


def _back() -> dict[str, Any]:
    """Back to the list as it was filtered (only the two known filters, never a URL)."""
    kept = {}
    if (kind := request.form.get("kind")) and kind in AlertKind.__members__.values():
        kept["kind"] = kind
    if request.form.get("unread") == "1":
        kept["unread"] = "1"
    return kept


@bp.route("/mail", methods=["POST"])
def mail_choice() -> Response:
    form = AlertMailForm()
    if not form.validate_on_submit():
        abort(400)
    services.set_alert_mail(current_user, bool(form.alert_mail.data))
    if form.alert_mail.data:
        flash(_("You will get an e-mail when something needs your attention."), "success")
    else:
        flash(_("You will no longer get e-mails about alerts."), "info")
    return redirect(url_for("account.index"))
