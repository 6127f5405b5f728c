"""The page a member of staff lands on after logging in; clients go to their own pages."""

from typing import Any

from flask import redirect, render_template, url_for
from flask_login import current_user

from app.auth.permissions import can_change_settings, can_manage_users
from app.cases.permissions import is_team_lead_of
from app.consultations.permissions import is_representative
from app.home import bp
from app.home.counts import start_counts
from app.intake.permissions import is_client
from app.messages.permissions import can_use_team_inbox


@bp.route("/")
def index() -> Any:
    if is_client(current_user):
        return redirect(url_for("intake.dashboard"))
    counts = start_counts(current_user)
    return render_template(
        "home/index.html",
        remaining_codes=counts.remaining_codes,
        tallies=counts.tallies,
        unread_alerts=counts.unread_alerts,
        can_manage_users=can_manage_users(current_user),
        can_change_settings=can_change_settings(current_user),
        can_use_team_inbox=can_use_team_inbox(current_user),
        is_team_lead=is_team_lead_of(current_user, current_user.organisation_id),
        is_representative=is_representative(current_user),
    )
