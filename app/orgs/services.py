"""Operations on organisations."""

import re

import sqlalchemy as sa

from app.audit.services import record
from app.extensions import db
from app.orgs.models import Organisation, OrgKind

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


class OrganisationError(ValueError):
    """The organisation cannot be created as asked."""


def create_organisation(slug: str, name: str, kind: OrgKind) -> Organisation:
    """Create an organisation and audit it."""
    if not SLUG_PATTERN.match(slug):
        raise OrganisationError("slug: lowercase letters, digits and hyphens, 3-64 characters")
    if db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == slug)):
        raise OrganisationError(f"an organisation with slug {slug!r} exists already")
    org = Organisation(slug=slug, name=name.strip(), kind=kind)
    db.session.add(org)
    db.session.flush()
    record("org.created", subject=org, organisation_id=org.id, details={"kind": kind.value})
    return org


def get_organisation_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))
