"""The relocation panel of the case file: the case's placement requests. A new request is
made on a page of its own (app/placements/views.py)."""

from __future__ import annotations

from typing import Any

from app.cases.identity import IdentityView
from app.cases.models import Case
from app.placements.services import placements_of_case


def placements_panel(case: Case, identity: IdentityView) -> dict[str, Any]:
    return {"placements": placements_of_case(case.id)}
