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
        broken = [problem for problem in problems if not problem.unchecked]
        unchecked = len(problems) - len(broken)
        if broken:
            raise SystemExit(
                f"audit chain broken: {len(broken)} problem(s)"
                + (f"; {unchecked} key epoch(s) not checked" if unchecked else "")
            )
        raise SystemExit(
            f"audit chain not fully checked: {unchecked} key epoch(s) need their earlier"
            " AUDIT_KEY in AUDIT_PREVIOUS_KEYS; the rest is intact"
        )
    click.echo("audit chain intact")
