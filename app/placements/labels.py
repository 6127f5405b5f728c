"""Placements' words for the templates (registered in app/templating.py)."""

from __future__ import annotations

from collections.abc import Iterable

from app.placements.forms import SERVICE_LABELS
from app.placements.models import FollowUp, PlacementStatus, RequestStatus


def placement_status_label(status: PlacementStatus | str) -> str:
    return str(PlacementStatus(status).label)


def request_status_label(status: RequestStatus | str) -> str:
    return str(RequestStatus(status).label)


def service_labels(codes: Iterable[str]) -> list[str]:
    return [str(SERVICE_LABELS[c]) for c in codes if c in SERVICE_LABELS]


def follow_up_label(stage: FollowUp | str) -> str:
    return str(FollowUp(stage).label)
