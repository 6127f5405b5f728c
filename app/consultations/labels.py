"""Consultations' words for the templates (registered in app/templating.py)."""

from __future__ import annotations

from app.consultations.models import ActionStatus, ConsultationStatus, Response


def consultation_status_label(status: ConsultationStatus | str) -> str:
    return str(ConsultationStatus(status).label)


def response_label(response: Response | str) -> str:
    return str(Response(response).label)


def action_status_label(status: ActionStatus | str) -> str:
    return str(ActionStatus(status).label)
