"""Operations on organisations."""

import re
import unicodedata

import sqlalchemy as sa

from app.audit.services import record
from app.auth.models import User
from app.auth.sessions import revoke_all
from app.extensions import db
from app.orgs.models import Organisation, OrgKind
from app.settings import services as site_settings

SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}[a-z0-9]$")


class OrganisationError(ValueError):
    """The organisation cannot be created as asked."""


def create_organisation(slug: str, name: str, kind: OrgKind) -> Organisation:
    """Create an organisation and audit it."""
    if not SLUG_PATTERN.match(slug):
        raise OrganisationError("slug: lowercase letters, digits and hyphens, 3-64 characters")
    if db.session.scalar(sa.select(Organisation.id).where(Organisation.slug == slug)):
        raise OrganisationError(f"an organisation with slug {slug!r} exists already")
    if kind is OrgKind.EXIT_TEAM:
        _keep_intake_with_the_first_team()
    org = Organisation(slug=slug, name=name.strip(), kind=kind)
    db.session.add(org)
    db.session.flush()
    record("org.created", subject=org, organisation_id=org.id, details={"kind": kind.value})
    return org


def active_exit_teams() -> list[Organisation]:
    return list(
        db.session.scalars(
            sa.select(Organisation)
            .where(Organisation.kind == OrgKind.EXIT_TEAM, Organisation.active.is_(True))
            .order_by(Organisation.created_at)
        )
    )


def _keep_intake_with_the_first_team() -> None:
    """Before a second exit team exists, name the first as the one that receives clients.

    Until now "the only exit team" received them; with two, nothing would say which, and
    every client's request would be refused. The choice is saved (and audited) as the
    administrator's setting, where it can be changed.
    """
    if site_settings.current().intake_organisation:
        return
    teams = active_exit_teams()
    if len(teams) == 1:
        site_settings.save({site_settings.INTAKE_KEY: teams[0].slug}, None)


def receiving_team() -> Organisation | None:
    """The exit team that receives self-service requests, or None when none can be named.

    The setting (or INTAKE_ORGANISATION) names it; a named team that is gone or switched off
    gives way to the only active exit team, if there is just one.
    """
    teams = active_exit_teams()
    named = site_settings.current().intake_organisation
    chosen = [team for team in teams if team.slug == named]
    if chosen:
        return chosen[0]
    return teams[0] if len(teams) == 1 else None


def get_organisation_by_slug(slug: str) -> Organisation | None:
    return db.session.scalar(sa.select(Organisation).where(Organisation.slug == slug))


def slug_for(name: str) -> str:
    """A free slug made from the name: ASCII, lowercase, hyphens ("Polisen Syd" → polisen-syd)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    base = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:56] or "organisation"
    base = base if len(base) >= 3 else f"{base}-org"
    slug, number = base, 1
    while get_organisation_by_slug(slug) is not None:
        number += 1
        slug = f"{base}-{number}"
    return slug


def add_organisation(name: str, kind: OrgKind, mailbox: str | None) -> Organisation:
    org = create_organisation(slug_for(name), name, kind)
    org.mailbox = mailbox or None
    return org


class OwnOrganisation(OrganisationError):
    """An administrator may not deactivate the organisation they belong to (and lock
    themselves and their colleagues out)."""


def update_organisation(
    org: Organisation, name: str, mailbox: str | None, active: bool, *, by: User
) -> None:
    """Rename, set the mailbox, or (de)activate. An organisation is never deleted: cases,
    consents and disclosures name it, and the trail must keep making sense."""
    if not active and org.id == by.organisation_id:
        raise OwnOrganisation(org.slug)
    org.name = name.strip()
    org.mailbox = mailbox or None
    if org.active != active:
        record("org.activated" if active else "org.deactivated", subject=org)
    org.active = active
    record("org.updated", subject=org)
    if not active:
        end_member_sessions(org)


def end_member_sessions(org: Organisation) -> int:
    """Revoke every open session of the organisation's members, in this request.

    The check on each request (User.is_active) would refuse them too; revoking them here
    makes the end visible in the trail and holds even if the organisation is switched back
    on before they return.
    """
    members = db.session.scalars(sa.select(User).where(User.organisation_id == org.id)).all()
    return sum(revoke_all(member, "organisation_inactive") for member in members)
