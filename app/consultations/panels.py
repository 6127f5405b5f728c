"""The consultations panel of the case file: the case's meetings and the actions they gave.
Convening happens on a page of its own (app/consultations/views.py)."""

from __future__ import annotations

from typing import Any

from app.cases.identity import IdentityView
from app.cases.models import Case
from app.consultations.services import actions_of_case, consultations_of_case


def consultations_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {
        "consultations": consultations_of_case(case.id),
        "case_actions": actions_of_case(case.id),
    }
