"""Scheduled jobs that are safe to repeat and to overlap.

A timer fires twice, an operator runs a job by hand while the timer runs it, two hosts
both schedule it: none of that may send a reminder twice or record a deletion twice. A
job takes a PostgreSQL advisory lock for its transaction (a second run finds it taken
and stops), and a daily job claims its day with one guarded insert, written in the same
transaction as what it sends, so it counts only if that commits.
"""

from __future__ import annotations

import zlib
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from app.core.clock import LOCAL_TIME, utcnow
from app.core.db import Base, insert_unless_present
from app.extensions import db


class JobRun(Base):
    """A daily job's run: at most one a day."""

    __tablename__ = "job_runs"

    job: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    ran_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReminderSent(Base):
    """A reminder about one thing (a deadline, a review) sent on one day: at most one."""

    __tablename__ = "reminders_sent"

    job: Mapped[str] = mapped_column(sa.String(40), primary_key=True)
    # What the reminder was about, as "<kind>:<id>": no name or reference.
    subject: Mapped[str] = mapped_column(sa.String(80), primary_key=True)
    day: Mapped[date] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(default=utcnow)


def exclusive(job: str) -> bool:
    """Take the job's lock until the transaction ends; False if another run holds it.

    SQLite lets one writer in at a time anyway, so there this is always True.
    """
    if db.engine.dialect.name != "postgresql":
        return True
    # Advisory locks are keyed by a number: a stable hash of the job's name.
    key = zlib.crc32(f"utvag job {job}".encode())
    taken = db.session.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(key)))
    return bool(taken)


def claim_today(job: str) -> bool:
    """Claim today (the team's calendar day) for the job; False if a run already has it.

    The insert decides (it returns the row only if it wrote it), so of two runs at the
    same moment one wins; the claim is undone with everything else if the run fails
    before it commits.
    """
    today = utcnow().astimezone(LOCAL_TIME).date()
    values = {"job": job, "day": today, "ran_at": utcnow()}
    claim = insert_unless_present(JobRun, db.engine.dialect.name, values)
    claimed = db.session.execute(claim.returning(JobRun.job)).first()
    return claimed is not None


def claim_reminder_today(job: str, subject: str) -> bool:
    """Claim today's reminder about `subject`; False if one was sent (or is being sent) today.

    Like claim_today, the insert decides and the claim commits with the reminder it allows,
    so a job may run every hour and still remind of each thing once a day.
    """
    values = {
        "job": job,
        "subject": subject,
        "day": utcnow().astimezone(LOCAL_TIME).date(),
        "sent_at": utcnow(),
    }
    claim = insert_unless_present(ReminderSent, db.engine.dialect.name, values)
    return db.session.execute(claim.returning(ReminderSent.job)).first() is not None


def start_daily(job: str) -> str | None:
    """Why the job must not run now (another run is under way, or it ran today), or None."""
    if not exclusive(job):
        return "another run is under way"
    if not claim_today(job):
        return "it has already run today"
    return None
