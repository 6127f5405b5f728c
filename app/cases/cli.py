from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from app.audit.services import record
from app.auth.models import Role, User
from app.cases.deadlines import DueItem, due_soon, open_deadlines
from app.core.clock import LOCAL_TIME, utcnow
from app.core.jobs import ReminderSent, claim_reminder_today, exclusive
from app.core.outbox import enqueue_email
from app.extensions import db
from app.orgs.models import Organisation, OrgKind

deadlines_cli = AppGroup("deadlines", help="Deadline reminders.")

JOB = "deadlines.remind"
# Claims older than this have done their work (a clock is reminded of once a day).
KEEP_CLAIMS = timedelta(days=7)


@deadlines_cli.command("remind")
@click.option(
    "--within-days", default=2, show_default=True, help="Remind of what is due this soon."
)
def remind_command(within_days: int) -> None:
    """Queue a content-free reminder to each caseworker whose clocks fall due soon.

    A reminder comes before a clock runs out, never after. Each clock is reminded of at
    most once a day, however often the job runs: so it may run every hour, and a same-day
    clock started in the morning is reminded of that afternoon. A clock no one has taken
    yet (a request waiting in triage) is the team leads' to see to.
    """
    if not exclusive(JOB):
        click.echo("nothing sent: another run is under way")
        return
    queued = 0
    teams = db.session.scalars(
        sa.select(Organisation).where(Organisation.kind == OrgKind.EXIT_TEAM)
    )
    for team in teams:
        soon = due_soon(open_deadlines(team.id), timedelta(days=within_days))
        fresh = [item for item in soon if claim_reminder_today(JOB, item.subject)]
        if not fresh:
            continue
        staff = db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id == team.id,
                User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD]),
                User.active.is_(True),
                User.notify_email.is_not(None),
            )
            # Each one's address is read below: loaded with them, not once per person.
            .options(undefer(User.notify_email))
        )
        for person in staff:
            mine = [item for item in fresh if _answers_for(person, item)]
            if not mine or person.notify_email is None:
                continue
            # Counts only: a reminder must not carry references or names out of the portal.
            with force_locale(person.locale or "sv"):
                enqueue_email(
                    person.notify_email,
                    _("Deadlines in Utväg"),
                    _(
                        "Deadlines of yours that fall due soon: %(count)d. Log in to see them.",
                        count=len(mine),
                    ),
                )
            queued += 1
    today = utcnow().astimezone(LOCAL_TIME).date()
    db.session.execute(sa.delete(ReminderSent).where(ReminderSent.day < today - KEEP_CLAIMS))
    record("deadlines.reminded", details={"reminders": queued})
    db.session.commit()
    click.echo(f"queued {queued} reminders")


def _answers_for(person: User, item: DueItem) -> bool:
    if item.unowned:
        return person.role is Role.TEAM_LEAD
    return person.id in item.assignee_ids
