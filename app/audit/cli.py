import click
from flask.cli import AppGroup

from app.audit.services import verify_chain

audit_cli = AppGroup("audit", help="Inspect the audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check the hash chain; exit non-zero if any event was altered, inserted or deleted."""
    problems = verify_chain()
    if problems:
        for problem in problems:
            click.echo(str(problem), err=True)
        raise SystemExit(f"audit chain broken: {len(problems)} problem(s)")
    click.echo("audit chain intact")
