"""Account and key commands for operators."""

from __future__ import annotations

import secrets
import sys

import click
import sqlalchemy as sa
from flask import Flask, current_app
from flask.cli import AppGroup

from app.auth import services, totp
from app.auth.models import Role, User
from app.core.crypto import ROTATION_BATCH, keyring, reindex_all, rotate_all
from app.core.db import Base
from app.core.keycheck import complete_reindex
from app.extensions import db
from app.orgs.models import Organisation
from app.orgs.services import get_organisation_by_slug
from config import ConfigurationError, Settings, check_key_strength, new_fernet_key

users_cli = AppGroup("users", help="Manage accounts.")
keys_cli = AppGroup("keys", help="Manage and rotate the portal's keys.")


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
    # Imported here: the site settings sit above auth (they import its models).
    from app.settings.services import current as site_settings

    click.echo(totp.provisioning_uri(secret, user.username, site_settings().neutral_title))


@users_cli.command("list")
def list_users_command() -> None:
    """Staff accounts: username, role, organisation, state, second factor and last login.

    Clients are only counted: their pseudonyms are nobody's business at a terminal.
    """
    from app.audit.services import record

    staff = db.session.execute(
        sa.select(User, Organisation.slug)
        .outerjoin(Organisation, Organisation.id == User.organisation_id)
        .where(User.role != Role.CLIENT)
        .order_by(Organisation.slug, User.username)
    )
    for user, slug in staff:
        state = "active" if user.active else "inactive"
        factor = "2fa" if services.has_second_factor(user) else "no-2fa"
        last = user.last_login_at.date().isoformat() if user.last_login_at else "never"
        click.echo(f"{user.username}\t{user.role.value}\t{slug or '-'}\t{state}\t{factor}\t{last}")
    clients = db.session.scalar(
        sa.select(sa.func.count()).select_from(User).where(User.role == Role.CLIENT)
    )
    click.echo(f"client accounts: {clients}")
    record("users.listed", details={"clients": clients})
    db.session.commit()


@keys_cli.command("generate")
@click.option("--all", "every_key", is_flag=True, help="Print every key a new installation needs.")
def generate_key_command(every_key: bool) -> None:
    """Print a new random key (32 bytes): put it first in FIELD_ENCRYPTION_KEYS.

    --all prints every key a new installation needs, as environment lines; each is as
    strong as production demands at start.
    """
    if not every_key:
        click.echo(new_fernet_key())
        return
    click.echo(f"SECRET_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"FIELD_ENCRYPTION_KEYS={new_fernet_key()}")
    click.echo(f"BLIND_INDEX_KEY={secrets.token_urlsafe(48)}")
    click.echo(f"AUDIT_KEY={secrets.token_urlsafe(48)}")


def keys_only_app() -> Flask:
    """An application that knows only `flask keys generate`: the one command that must work
    in production before its keys exist (the portal itself refuses to start without them)."""
    bare = Flask("utvag-keys")
    group = AppGroup("keys", help="Manage and rotate the portal's keys.")
    group.add_command(generate_key_command)
    bare.cli.add_command(group)
    return bare


@keys_cli.command("rotate")
@click.option("--batch-size", default=ROTATION_BATCH, show_default=True, type=click.IntRange(1))
def rotate_command(batch_size: int) -> None:
    """Re-encrypt every sensitive field under the first key of FIELD_ENCRYPTION_KEYS.

    Commits every batch, so it can run while people work, and be run again to finish.
    """
    from app.audit.services import record

    rotation = rotate_all(db.session, Base, end_batch=db.session.commit, batch_size=batch_size)
    record(
        "keys.rotated",
        details={"values": rotation.rewritten, "unreadable": len(rotation.unreadable)},
    )
    db.session.commit()
    click.echo(f"re-encrypted {rotation.rewritten} values under the newest key")
    if rotation.unreadable:
        for where in rotation.unreadable:
            click.echo(f"no configured key opens {where}", err=True)
        raise click.ClickException(
            f"{len(rotation.unreadable)} values could not be re-encrypted: "
            "add the key they were written with to FIELD_ENCRYPTION_KEYS and run again"
        )


@keys_cli.command("reindex")
@click.option("--batch-size", default=ROTATION_BATCH, show_default=True, type=click.IntRange(1))
def reindex_command(batch_size: int) -> None:
    """Recompute every blind index under BLIND_INDEX_KEY, then record it as the key.

    Run it after restarting every instance with the new BLIND_INDEX_KEY and the old one in
    BLIND_INDEX_PREVIOUS_KEYS: look-ups try both meanwhile. Commits every batch, so it
    can run while people work, and be run again to finish.
    """
    from app.audit.services import record

    reindex = reindex_all(db.session, Base, end_batch=db.session.commit, batch_size=batch_size)
    record(
        "keys.reindexed",
        details={"indexes": reindex.rewritten, "unreadable": len(reindex.unreadable)},
    )
    if not reindex.unreadable:
        complete_reindex(keyring().blind_index_key.decode())
    db.session.commit()
    click.echo(f"recomputed {reindex.rewritten} blind indexes under BLIND_INDEX_KEY")
    for where, count in reindex.kept.items():
        if count:
            click.echo(
                f"{where}: {count} values are kept only as their index and cannot be"
                " recomputed; those made under an earlier key are found while"
                " BLIND_INDEX_PREVIOUS_KEYS holds it"
            )
    if reindex.unreadable:
        for where in reindex.unreadable:
            click.echo(f"no configured key opens {where}", err=True)
        raise click.ClickException(
            f"{len(reindex.unreadable)} indexes could not be recomputed: add the key their"
            " value was written with to FIELD_ENCRYPTION_KEYS and run again"
        )
    click.echo("BLIND_INDEX_KEY is now the key this database knows")


@keys_cli.command("rotate-audit")
def rotate_audit_command() -> None:
    """Move the audit trail to a new AUDIT_KEY, read from standard input (or typed).

    Run it with the current configuration: it seals the chain with a record signed with
    the current key and the new one, and from then on only the new key may write. Then
    set AUDIT_KEY to the new key, add the old one to AUDIT_PREVIOUS_KEYS (for `flask
    audit verify`), and restart every instance.
    """
    from app.audit.services import AuditKeyError, rotate_audit_key

    if sys.stdin.isatty():
        new_key = click.prompt("New AUDIT_KEY", hide_input=True, confirmation_prompt=True)
    else:
        new_key = sys.stdin.readline()
    new_key = new_key.strip()
    if not new_key:
        raise click.ClickException("no new key given: pass it on standard input")
    if "," in new_key:
        raise click.ClickException(
            "the new key holds a comma, which AUDIT_PREVIOUS_KEYS could not hold later:"
            " generate one with `flask keys generate --all`"
        )
    settings: Settings = current_app.extensions["utvag.settings"]
    if settings.is_production:
        try:
            check_key_strength("the new AUDIT_KEY", new_key)
        except ConfigurationError as weak:
            raise click.ClickException(str(weak)) from weak
    try:
        change = rotate_audit_key(new_key)
    except AuditKeyError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"audit trail sealed after event {change.seq}; new events chain under the new key")
    click.echo(
        "now set AUDIT_KEY to the new key, add the old one to AUDIT_PREVIOUS_KEYS and restart"
        " every instance: until then they cannot write"
    )
