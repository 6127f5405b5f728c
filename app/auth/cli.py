"""Account and key commands for operators."""

from __future__ import annotations

import sys

import click
from flask.cli import AppGroup

from app.auth import services, totp
from app.auth.models import Role
from app.core.crypto import rotate_all
from app.core.db import Base
from app.extensions import db
from app.orgs.services import get_organisation_by_slug
from config import new_fernet_key

users_cli = AppGroup("users", help="Manage accounts.")
keys_cli = AppGroup("keys", help="Manage field-encryption keys.")


@users_cli.command("create")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), required=True)
@click.option("--org", "org_slug", help="Organisation slug; required for staff.")
def create_user_command(username: str, role: str, org_slug: str | None) -> None:
    """Create an account; the password is read from standard input.

    Prints the otpauth:// URI of the account's second factor as the last line, to be added
    to an authenticator app: this is how the first administrator gets in.
    """
    password = sys.stdin.readline().rstrip("\r\n")
    organisation = None
    if org_slug:
        organisation = get_organisation_by_slug(org_slug)
        if organisation is None:
            raise click.ClickException(f"no organisation with slug {org_slug!r}")
    secret = totp.new_secret()
    try:
        user = services.create_user(
            username, password, Role(role), organisation, totp_secret=secret
        )
    except services.WeakPassword as weak:
        raise click.ClickException("password refused: " + " ".join(weak.problems)) from weak
    except services.AccountError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {user.username} ({user.role.value})")
    click.echo(totp.provisioning_uri(secret, user.username))


@keys_cli.command("generate")
def generate_key_command() -> None:
    """Print a new random key (32 bytes): put it first in FIELD_ENCRYPTION_KEYS.

    The same output is strong enough for SECRET_KEY, BLIND_INDEX_KEY and AUDIT_KEY (one
    key each), which production checks at start.
    """
    click.echo(new_fernet_key())


@keys_cli.command("rotate")
def rotate_command() -> None:
    """Re-encrypt every sensitive field under the first key of FIELD_ENCRYPTION_KEYS."""
    from app.audit.services import record

    count = rotate_all(db.session, Base)
    record("keys.rotated", details={"values": count})
    db.session.commit()
    click.echo(f"re-encrypted {count} values under the newest key")
