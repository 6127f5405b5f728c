"""What each kind of alert is called, and where it leads."""

from __future__ import annotations

from flask import url_for

from app.alerts.models import Alert, AlertKind


def alert_label(kind: AlertKind) -> str:
    return str(AlertKind(kind).label)


def alert_link(alert: Alert) -> str:
    """The page of what the alert is about; that page decides again who may see it."""
    subject = str(alert.subject_id)
    match alert.kind:
        case AlertKind.ACUTE_REQUEST | AlertKind.REQUEST_LATE:
            return url_for("cases.triage_request", request_id=subject)
        case AlertKind.CLIENT_MESSAGE:
            return url_for("messages.conversation", request_id=subject)
        case AlertKind.AGENCY_ANSWER:
            return url_for("consultations.consultation", consultation_id=subject)
        case AlertKind.PARTNER_ANSWER:
            return url_for("placements.placement", placement_id=subject)
        case AlertKind.CASE_ACCESSED:
            return url_for("workspace.case", case_id=subject)
        case AlertKind.ACTION_OVERDUE:
            # The team follows actions on the case; a representative reports on them.
            if alert.case_id is not None:
                return url_for("workspace.case", case_id=str(alert.case_id))
            return url_for("agency.overview", show="due")
        case AlertKind.CONSULTATION_INVITATION | AlertKind.MINUTES_SHARED:
            return url_for("agency.attend", consultation_id=subject)
        case AlertKind.ACTION_ASSIGNED:
            return url_for("agency.overview", _anchor=f"action-{subject}")
        case AlertKind.PLACEMENT_REQUEST:
            return url_for("partner.request_page", request_id=subject)
