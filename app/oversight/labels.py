"""Translated names for the categories in the statistics (the CSV keeps the codes, which
stay stable for the evaluators' scripts whatever the page language)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel import Locale
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from app.cases.models import CaseOutcome, CaseSource
from app.consultations.models import ActionStatus
from app.intake.choices import INTERVENTIONS
from app.intake.models import RequestKind
from app.placements.models import RequestStatus

CATEGORY_LABELS: dict[str, Mapping[Any, object]] = {
    "requests_by_kind": RequestKind.labels(),
    "cases_by_source": CaseSource.labels(),
    "consent_answers": {"given": _l("Given"), "refused": _l("Refused")},
    "consultations": {"held": _l("Held"), "cancelled": _l("Cancelled")},
    "actions": ActionStatus.labels(),
    "actions_on_time": {
        "on_time": _l("Done on time"),
        "late": _l("Done late"),
        "overdue": _l("Overdue, not done"),
    },
    "interventions_by_type": INTERVENTIONS,
    "placement_answers": RequestStatus.labels(),
    "outcomes": CaseOutcome.labels(),
}


def category_label(table: str, code: str) -> str:
    if table == "requests_by_language":
        # In the reader's language (the picker names each language in itself instead), and
        # in a script the server's chart font can draw.
        return str(Locale.parse(code).get_display_name(str(get_locale() or "sv")))
    return str(CATEGORY_LABELS.get(table, {}).get(code, code))
