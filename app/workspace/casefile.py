"""The case file, composed from the features' panels: an overview that only reads, and a page
for each part where it is worked on.

The overview is the page staff open most: what the person asked for, who they are, the latest
assessments, consent, interventions, clocks, meetings, relocation and the timeline, with a
link to each part. It draws no form, so it costs what its reads cost. A part's page draws the
same header and that part's panels with their forms; its forms post to their features' routes
(at the part's own address where there is one), which go back to the overview when saved and
draw the part's page again, with the refused form, when not.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import render_template
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from app.audit import services as audit
from app.cases import panels as case_panels
from app.cases import services
from app.cases.identity import IdentityView, identity_of, identity_of_request
from app.cases.models import Case
from app.consent.panels import consent_forms, consent_panel
from app.consultations.panels import consultations_panel
from app.intake.answers import chosen_codes
from app.placements.panels import placements_panel

Panel = Callable[[Case, IdentityView], dict[str, Any]]

# What every page of the case draws in its header: the clocks (with the latest threat
# assessment, whose review is one of them), and whether the reader may give the case to a
# colleague.
HEADER: tuple[Panel, ...] = (case_panels.deadlines_panel, case_panels.caseworkers_panel)

OVERVIEW: tuple[Panel, ...] = (
    *HEADER,
    case_panels.identity_panel,
    case_panels.needs_panel,
    consent_panel,
    case_panels.interventions_panel,
    consultations_panel,
    placements_panel,
    case_panels.latest_events_panel,
)


@dataclass(frozen=True)
class Part:
    """A part of the case worked on on a page of its own, at /team/cases/<id>/<slug>."""

    slug: str
    title: Any  # a lazy string: the page's language decides
    templates: tuple[str, ...]
    panels: tuple[Panel, ...]  # its data beyond the header's, and its blank forms
    form_names: tuple[str, ...]  # the forms it draws: a refused one draws this part again


PARTS: tuple[Part, ...] = (
    Part(
        "identity",
        _l("Identity and protection"),
        ("cases/panels/identity.html",),
        (case_panels.identity_panel, case_panels.identity_forms),
        ("identity_form", "protection_form", "reveal_form", "approve_form"),
    ),
    Part(
        "threat",
        _l("Threat assessment"),
        ("cases/panels/threat.html",),
        (case_panels.threat_forms,),  # the header reads the latest threat assessment
        ("threat_form",),
    ),
    Part(
        "needs",
        _l("Needs assessment"),
        ("cases/panels/needs.html",),
        (case_panels.needs_panel, case_panels.needs_forms),
        ("needs_form",),
    ),
    Part(
        "consents",
        _l("Consent"),
        ("case_consent/panel.html",),
        (consent_panel, consent_forms),
        ("consent_form",),
    ),
    Part(
        "interventions",
        _l("Interventions"),
        ("cases/panels/interventions.html",),
        (case_panels.interventions_panel, case_panels.interventions_forms),
        ("intervention_form", "update_form"),
    ),
    Part(
        "status",
        _l("Status and caseworkers"),
        ("cases/panels/status.html", "cases/panels/caseworkers.html"),
        (case_panels.status_forms, case_panels.caseworkers_forms),
        ("status_form", "close_form", "assign_form"),
    ),
    Part(
        "deadlines",
        _l("Deadlines and age"),
        ("cases/panels/deadlines.html",),
        (case_panels.deadlines_forms,),  # the header reads the deadlines
        ("age_form",),
    ),
    Part(
        "journal",
        _l("Journal and timeline"),
        ("cases/panels/journal.html",),
        (case_panels.journal_panel, case_panels.journal_forms),
        ("journal_form",),
    ),
)
PART_BY_SLUG = {part.slug: part for part in PARTS}
_PART_OF_FORM = {name: part for part in PARTS for name in part.form_names}


def render_case_file(case: Case, status: int = 200, **forms: Any) -> Any:
    """The case file; with `forms` (a refused form, with its errors and what was typed), the
    page of the part that draws them."""
    part = _PART_OF_FORM[next(iter(forms))] if forms else None
    return _render(case, part, status, forms)


def render_case_part(case: Case, part: Part) -> Any:
    """A part's page: the header, the part's panels and its blank forms."""
    return _render(case, part, 200, {})


def _render(case: Case, part: Part | None, status: int, forms: dict[str, Any]) -> Any:
    """The overview (no part), or a part's page with its forms (the given ones in place of
    their blank ones)."""
    panels = OVERVIEW if part is None else (*HEADER, *part.panels)
    # Its reads are audited as they happen and appended to the chain when the page is drawn
    # (appended_at_the_end: drawing must not hold every other audited request back).
    with audit.appended_at_the_end():
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
        for panel in panels:
            context.update(panel(case, identity))
        context.update(forms)
        return (
            render_template(
                "workspace/case_file.html" if part is None else "workspace/case_part.html",
                case=case,
                identity=identity,
                identity_visible=identity.visible,
                origin=origin,
                origin_identity=origin_identity,
                origin_help=chosen.help_wanted,
                origin_safe_times=chosen.safe_times,
                parts=PARTS,
                part=part,
                editing=part is not None,
                # what a part's error summary lists
                part_forms=[context.get(name) for name in part.form_names] if part else [],
                **context,
            ),
            status,
        )
