"""The page a member of staff or a client lands on after logging in."""

from flask import render_template
from flask_login import current_user

from app.auth import services
from app.auth.permissions import can_manage_users
from app.home import bp


@bp.route("/")
def index() -> str:
    return render_template(
        "home/index.html",
        remaining_codes=services.remaining_recovery_codes(current_user),
        can_manage_users=can_manage_users(current_user),
    )
