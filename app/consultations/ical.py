"""iCalendar invitations: a stable UID, a growing SEQUENCE, Stockholm time, nothing secret."""

from __future__ import annotations

from datetime import timedelta

from icalendar import Calendar, Event

from app.consultations.models import Consultation
from app.core.clock import utcnow
from app.rules import LOCAL_TIME


def invitation(consultation: Consultation, summary: str, method: str) -> str:
    """REQUEST (new or rescheduled) or CANCEL for one consultation.

    The summary names no case and the description is left out on purpose: calendars sync
    to phones and to other people's screens. The place is there because invitees need it;
    the outbox keeps the whole file encrypted until it is sent.
    """
    calendar = Calendar()
    calendar.add("prodid", "-//Utväg//consultations//SV")
    calendar.add("version", "2.0")
    calendar.add("method", method)
    event = Event()
    event.add("uid", consultation.ical_uid)
    event.add("sequence", consultation.sequence)
    event.add("dtstamp", utcnow())
    start = consultation.starts_at.astimezone(LOCAL_TIME)
    event.add("dtstart", start)
    event.add("dtend", start + timedelta(minutes=consultation.duration_minutes))
    event.add("summary", summary)
    event.add("location", consultation.place)
    event.add("status", "CANCELLED" if method == "CANCEL" else "CONFIRMED")
    calendar.add_component(event)
    calendar.add_missing_timezones()
    return str(calendar.to_ical().decode())
