"""The case file, composed from the features' panels."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import render_template
from flask_login import current_user

from app.audit import services as audit
from app.cases import panels as case_panels
from app.cases import services
from app.cases.identity import IdentityView, identity_of, identity_of_request
from app.cases.models import Case
from app.consent.panels import consent_panel
from app.consultations.panels import consultations_panel
from app.intake.answers import chosen_codes
from app.placements.panels import placements_panel

Panel = Callable[[Case, IdentityView], dict[str, Any]]

# Every panel of the page, each the context its part needs (its blank forms included).
PANELS: tuple[Panel, ...] = (
    case_panels.identity_panel,
    case_panels.assessments_panel,
    consent_panel,
    case_panels.interventions_panel,
    case_panels.status_panel,
    case_panels.caseworkers_panel,
    case_panels.deadlines_panel,
    consultations_panel,
    placements_panel,
    case_panels.journal_panel,
)


def render_case_file(case: Case, status: int = 200, **forms: Any) -> Any:
    """The case file; `forms` (a refused panel's form, with its errors and what was typed)
    take the place of the panels' blank ones."""
    # Its reads are audited as they happen and appended to the chain when the page is drawn
    # (appended_at_the_end: drawing must not hold every other audited request back).
    with audit.appended_at_the_end():
        return _draw(case, status, forms)


def _draw(case: Case, status: int, forms: dict[str, Any]) -> Any:
    # Identity through its one decision, audited when shown; then the read of the case.
    identity = identity_of(case, current_user, purpose="case_page")
    services.view_case(case, identity_shown=identity.visible)
    origin = services.originating_request(case)
    # How to reach the person safely and what they asked for, at the head of the case:
    # through the request's own identity decision (audited when shown).
    origin_identity = (
        identity_of_request(origin, current_user, purpose="case_page")
        if origin is not None
        else None
    )
    chosen = chosen_codes(origin)
    context: dict[str, Any] = {}
    for panel in PANELS:
        context.update(panel(case, identity))
    context.update(forms)
    return (
        render_template(
            "workspace/case_file.html",
            case=case,
            identity=identity,
            identity_visible=identity.visible,
            origin=origin,
            origin_identity=origin_identity,
            origin_help=chosen.help_wanted,
            origin_safe_times=chosen.safe_times,
            **context,
        ),
        status,
    )
