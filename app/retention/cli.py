import click
from flask.cli import AppGroup

from app.audit.services import record
from app.extensions import db
from app.intake.services import stale_client_accounts
from app.rules import rule

retention_cli = AppGroup("retention", help="Apply the retention rules.")


@retention_cli.command("run")
@click.option("--dry-run", is_flag=True, help="List what would be deleted; delete nothing.")
def run_command(dry_run: bool) -> None:
    """Delete what the retention rules say is due (or list it with --dry-run)."""
    from datetime import timedelta

    limit = rule("unsubmitted_client_account")
    accounts = stale_client_accounts(timedelta(days=limit.value))
    click.echo(f"{limit.title} ({limit.value} {limit.unit}): {len(accounts)}")
    if dry_run:
        return
    for account in accounts:
        db.session.delete(account)
    record("retention.run", details={"unsubmitted_client_accounts": len(accounts)})
    db.session.commit()
    click.echo("deleted")
