"""The case file's routes: its overview and each part's page. Each form's POST route is its
feature's."""

from __future__ import annotations

from typing import Any

from flask import abort
from flask.blueprints import BlueprintSetupState
from flask_login import current_user

from app.cases.access import get_case_or_404
from app.cases.permissions import is_team_member
from app.core.panels import install_case_file
from app.workspace import bp
from app.workspace.casefile import PART_BY_SLUG, PARTS, render_case_file, render_case_part


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


# A part's page sits at the address its main form posts to (werkzeug matches the POST-only
# rule first and falls through to this one for a GET), so a refused form and a reload of
# its page show the same thing.
@bp.route(f"/cases/<case_id>/<any({', '.join(part.slug for part in PARTS)}):slug>")
def part(case_id: str, slug: str) -> Any:
    return render_case_part(get_case_or_404(case_id, for_user=current_user), PART_BY_SLUG[slug])
