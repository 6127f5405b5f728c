import click
from flask.cli import AppGroup

from app.extensions import db
from app.orgs.models import OrgKind
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
