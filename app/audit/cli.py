import click
from flask.cli import AppGroup

from app.audit.services import verify_whole_chain_and_record
from app.extensions import db

audit_cli = AppGroup("audit", help="Inspect the audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the whole hash chain; exit non-zero if any event was altered, inserted or
    deleted. Run it daily: the access-log page shows its outcome and checks only the
    events that came after it."""
    problems = verify_whole_chain_and_record()
    db.session.commit()
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(f"audit chain broken: {len(problems)} problem(s)")
    click.echo("audit chain intact")
