import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from app.audit.services import record
from app.auth.models import User
from app.consultations.models import Action, ActionStatus
from app.core.jobs import start_daily
from app.core.outbox import enqueue_email
from app.extensions import db
from app.rules import LOCAL_TIME

actions_cli = AppGroup("actions", help="Reminders about consultation actions.")


@actions_cli.command("remind")
@click.option(
    "--within-days", default=3, show_default=True, help="Remind of actions due this soon."
)
def remind_command(within_days: int) -> None:
    """Queue a content-free reminder to each owner of an action that is due soon or overdue;
    once a day, however often it is run."""
    from datetime import timedelta

    from app.core.clock import utcnow

    if reason := start_daily("actions.remind"):
        click.echo(f"nothing sent: {reason}")
        return

    horizon = utcnow().astimezone(LOCAL_TIME).date() + timedelta(days=within_days)
    owners: dict[object, int] = {}
    for action in db.session.scalars(
        sa.select(Action).where(
            Action.status.in_([ActionStatus.OPEN, ActionStatus.IN_PROGRESS]),
            Action.due_on <= horizon,
            Action.owner_user_id.is_not(None),
        )
    ):
        owners[action.owner_user_id] = owners.get(action.owner_user_id, 0) + 1
    queued = 0
    for user_id, count in owners.items():
        person = db.session.get(User, user_id, options=[undefer(User.notify_email)])
        if person is None or not person.active or not person.notify_email:
            continue
        with force_locale(person.locale or "sv"):
            enqueue_email(
                person.notify_email,
                _("Actions in Utväg"),
                _(
                    "You have %(count)d actions due soon or overdue. Log in to see them.",
                    count=count,
                ),
            )
        queued += 1
    record("actions.reminded", details={"reminders": queued})
    db.session.commit()
    click.echo(f"queued {queued} reminders")
