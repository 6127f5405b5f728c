from datetime import timedelta

import click
import sqlalchemy as sa
from flask.cli import AppGroup
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import undefer

from app.audit.services import record
from app.auth.models import Role, User
from app.core.clock import utcnow
from app.core.jobs import start_daily
from app.core.outbox import enqueue_email
from app.extensions import db
from app.placements.models import PlacementRequest, RequestStatus
from app.placements.services import expire_due

placements_cli = AppGroup("placements", help="Placement request deadlines.")


@placements_cli.command("remind")
@click.option(
    "--within-days", default=7, show_default=True, help="Remind of answers due this soon."
)
def remind_command(within_days: int) -> None:
    """Expire requests past their answer date; remind partners of those due soon (counts
    only), once a day however often it is run."""
    if reason := start_daily("placements.remind"):
        click.echo(f"nothing sent: {reason}")
        return
    expired = expire_due()
    due = db.session.scalars(
        sa.select(PlacementRequest).where(
            PlacementRequest.status == RequestStatus.SENT,
            PlacementRequest.respond_by < utcnow() + timedelta(days=within_days),
        )
    ).all()
    per_partner: dict[object, int] = {}
    for request in due:
        per_partner[request.partner_id] = per_partner.get(request.partner_id, 0) + 1
    queued = 0
    for partner_id, count in per_partner.items():
        for person in db.session.scalars(
            sa.select(User)
            .where(
                User.organisation_id == partner_id,
                User.role == Role.PARTNER,
                User.active.is_(True),
                User.notify_email.is_not(None),
            )
            # Each one's address is read below: loaded with them, not once per person.
            .options(undefer(User.notify_email))
        ):
            if person.notify_email is None:
                continue
            with force_locale(person.locale or "sv"):
                enqueue_email(
                    person.notify_email,
                    _("Placement requests in Utväg"),
                    _(
                        "%(count)d placement requests wait for your answer soon. Log in to answer.",
                        count=count,
                    ),
                )
            queued += 1
    record("placements.reminded", details={"reminders": queued, "expired": expired})
    db.session.commit()
    click.echo(f"expired {expired}, queued {queued} reminders")
