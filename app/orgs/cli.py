import click
import sqlalchemy as sa
from flask.cli import AppGroup

from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import OrganisationError, create_organisation

orgs_cli = AppGroup("orgs", help="Manage organisations.")


@orgs_cli.command("create")
@click.argument("slug")
@click.option("--name", required=True, help="The organisation's name as people know it.")
@click.option("--kind", type=click.Choice([k.value for k in OrgKind]), required=True)
def create_command(slug: str, name: str, kind: str) -> None:
    """Create an organisation: an exit team, an agency or a relocation partner."""
    try:
        org = create_organisation(slug, name, OrgKind(kind))
    except OrganisationError as error:
        raise click.ClickException(str(error)) from error
    db.session.commit()
    click.echo(f"created {org.slug} ({org.kind.value})")


@orgs_cli.command("list")
def list_command() -> None:
    """Every organisation: slug, kind, whether it is active, and its name."""
    for org in db.session.scalars(sa.select(Organisation).order_by(Organisation.slug)):
        state = "active" if org.active else "inactive"
        click.echo(f"{org.slug}\t{org.kind.value}\t{state}\t{org.name}")
