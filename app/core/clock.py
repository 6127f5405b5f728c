"""One source of 'now', so tests can freeze time and rules compare aware datetimes."""

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

# The team's calendar: deadlines, office hours and "today" are Swedish local time.
LOCAL_TIME = ZoneInfo("Europe/Stockholm")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
