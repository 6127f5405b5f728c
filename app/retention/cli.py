import click
from flask.cli import AppGroup

from app.audit.services import record
from app.core.jobs import exclusive
from app.extensions import db
from app.retention.services import delete, due_for_deletion

retention_cli = AppGroup("retention", help="Apply the retention rules.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def run_command(dry_run: bool) -> None:
    """Delete what the retention rules (app/rules/rules.toml) say is due, or list it."""
    if not dry_run and not exclusive("retention.run"):
        # The other run deletes (and records) it all; a second would record it again.
        click.echo("nothing deleted: another run is under way")
        return
    due = due_for_deletion()
    for name, count in due.counts().items():
        click.echo(f"{name}: {count}")
    if dry_run:
        return
    delete(due)
    record("retention.run", details=due.counts())
    db.session.commit()
    click.echo("deleted")
