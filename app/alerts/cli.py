import click
from flask.cli import AppGroup

from app.alerts.reminders import remind
from app.audit.services import record
from app.core.jobs import start_daily
from app.extensions import db

alerts_cli = AppGroup("alerts", help="Alerts that come from time passing.")


@alerts_cli.command("remind")
def remind_command() -> None:
    """Alert of requests past their first-contact target and of overdue actions; once a
    day, however often it is run (and each thing once per person, whatever the day)."""
    if reason := start_daily("alerts.remind"):
        click.echo(f"nothing sent: {reason}")
        return
    told = remind()
    record("alerts.reminded", details={"alerts": told.alerts, "people": len(told.people)})
    db.session.commit()
    click.echo(f"made {told.alerts} alerts for {len(told.people)} people")
