"""The case file's one route: reading it. Each panel's POST route is its feature's."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask.blueprints import BlueprintSetupState
from flask_login import current_user

from app.cases.access import get_case_or_404
from app.cases.permissions import is_team_member
from app.core.panels import install_case_file
from app.workspace import bp
from app.workspace.casefile import render_case_file


@bp.record_once
def install(state: BlueprintSetupState) -> None:
    # The features' panel routes draw the case file again through this, without importing it.
    install_case_file(state.app, render_case_file, "workspace.case")


@bp.before_request
def team_only() -> None:
    if not is_team_member(current_user, current_user.organisation_id):
        abort(403)


@bp.route("/cases/<case_id>")
def case(case_id: str) -> Any:
    return render_case_file(get_case_or_404(case_id, for_user=current_user))
