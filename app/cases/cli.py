import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from app.audit.services import record
from app.auth.models import Role, User
from app.cases.deadlines import due_soon, open_deadlines
from app.core.jobs import start_daily
from app.core.outbox import enqueue_email
from app.extensions import db
from app.orgs.models import Organisation, OrgKind

deadlines_cli = AppGroup("deadlines", help="Deadline reminders.")


@deadlines_cli.command("remind")
@click.option(
    "--within-days", default=2, show_default=True, help="Remind of what is due this soon."
)
def remind_command(within_days: int) -> None:
    """Queue one content-free reminder per caseworker with deadlines due soon or overdue;
    once a day, however often it is run."""
    from datetime import timedelta

    if reason := start_daily("deadlines.remind"):
        click.echo(f"nothing sent: {reason}")
        return
    queued = 0
    teams = db.session.scalars(
        sa.select(Organisation).where(Organisation.kind == OrgKind.EXIT_TEAM)
    )
    for team in teams:
        items = due_soon(open_deadlines(team.id), timedelta(days=within_days))
        staff = db.session.scalars(
            sa.select(User).where(
                User.organisation_id == team.id,
                User.role.in_([Role.CASEWORKER, Role.TEAM_LEAD]),
                User.active.is_(True),
                User.notify_email.is_not(None),
            )
            # Each one's address is read below: loaded with them, not once per person.
            .options(undefer(User.notify_email))
        )
        for person in staff:
            mine = [i for i in items if person.id in i.assignee_ids]
            if not mine or person.notify_email is None:
                continue
            # Counts only: a reminder must not carry references or names out of the portal.
            with force_locale(person.locale or "sv"):
                enqueue_email(
                    person.notify_email,
                    _("Deadlines in Utväg"),
                    _(
                        "You have %(count)d deadlines due soon or overdue. Log in to see them.",
                        count=len(mine),
                    ),
                )
            queued += 1
    record("deadlines.reminded", details={"reminders": queued})
    db.session.commit()
    click.echo(f"queued {queued} reminders")
