"""Demo data for trying the portal out. Development mode only: production refuses it."""

from __future__ import annotations

import base64
import hashlib

import click
import pyotp
from flask import current_app
from flask.cli import AppGroup

from app.auth import services
from app.auth.models import Role
from app.core.clock import utcnow
from app.demo_history import seed_history
from app.demo_today import seed_open_case
from app.extensions import db
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation, get_organisation_by_slug
from app.placements.models import PartnerProfile

# Published in the README on purpose: demo data exists only in development mode.
DEMO_PASSWORD = "lugna-tallar-vid-havet"  # noqa: S105

DEMO_ORGANISATIONS = [
    ("malmo-team", "Konsultationsteamet Malmö", OrgKind.EXIT_TEAM),
    ("polisen-syd", "Polisen Region Syd", OrgKind.AGENCY),
    ("frivarden-malmo", "Kriminalvården, frivården Malmö", OrgKind.AGENCY),
    ("soc-ekonomi", "Socialtjänsten Malmö, ekonomiskt bistånd", OrgKind.AGENCY),
    ("soc-vuxen", "Socialtjänsten Malmö, vuxenenheten", OrgKind.AGENCY),
    ("soc-barn", "Socialtjänsten Malmö, barn och unga", OrgKind.AGENCY),
    ("skatteverket", "Skatteverket", OrgKind.AGENCY),
    ("kronofogden", "Kronofogden", OrgKind.AGENCY),
    ("arbetsformedlingen", "Arbetsförmedlingen", OrgKind.AGENCY),
    ("forsakringskassan", "Försäkringskassan", OrgKind.AGENCY),
    ("migrationsverket", "Migrationsverket", OrgKind.AGENCY),
    ("mkb", "MKB Fastighets AB", OrgKind.AGENCY),
    ("region-beroende", "Region Skåne, beroendevården", OrgKind.AGENCY),
    ("ideell-stod", "Föreningen Nytt Liv", OrgKind.AGENCY),
    ("vaxjo-kommun", "Växjö kommun", OrgKind.PARTNER),
    # Partner of the demo history only, so Växjö's inbox starts with just today's work.
    ("ljungby-kommun", "Ljungby kommun", OrgKind.PARTNER),
]

DEMO_GROUPS = ["Nordligan", "Södra nätverket", "Grupp C"]

DEMO_ACCOUNTS = [
    ("admin", Role.ADMIN, "malmo-team"),
    ("teamledare", Role.TEAM_LEAD, "malmo-team"),
    ("handlaggare", Role.CASEWORKER, "malmo-team"),
    ("polis", Role.AGENCY_REP, "polisen-syd"),
    ("partner", Role.PARTNER, "vaxjo-kommun"),
    ("klient", Role.CLIENT, None),
]

demo_cli = AppGroup("demo", help="Demo data for a local trial (development mode only).")


def demo_secret(username: str) -> str:
    """A fixed, documented TOTP secret per demo account, so the README can name it."""
    digest = hashlib.sha256(f"utvag-demo:{username}".encode()).digest()
    return base64.b32encode(digest).decode()[:32]


def _refuse_outside_development() -> None:
    if not current_app.config["DEMO_DATA"]:
        raise click.ClickException("demo data is only for development mode (UTVAG_ENV=development)")


def seed_demo() -> int:
    """Create the demo organisations and accounts that are missing; returns how many accounts."""
    created = 0
    for slug, name, kind in DEMO_ORGANISATIONS:
        if get_organisation_by_slug(slug) is None:
            created_org = create_organisation(slug, name, kind)
            if kind is OrgKind.AGENCY:
                created_org.mailbox = f"konsultation@{slug}.example"
    for username, role, org_slug in DEMO_ACCOUNTS:
        if services.find_user(username) is not None:
            continue
        organisation = get_organisation_by_slug(org_slug) if org_slug else None
        services.create_user(
            username, DEMO_PASSWORD, role, organisation, totp_secret=demo_secret(username)
        )
        created += 1
    if created:
        _seed_team_work()
    return created


def _seed_team_work() -> None:
    """The team's groups, a request waiting in triage, an open case whose consultation and
    placement request reach the police and the partner accounts, and a year of history."""
    from app.cases.services import add_group
    from app.intake import services as intake

    team = get_organisation_by_slug("malmo-team")
    client = services.find_user("klient")
    assert team is not None and client is not None
    for name in DEMO_GROUPS:
        add_group(team.id, name)
    partner = get_organisation_by_slug("vaxjo-kommun")
    assert partner is not None
    db.session.add(
        PartnerProfile(
            organisation_id=partner.id,
            municipality="0780",  # Växjö
            region="Kronoberg",
            services="housing,supported_housing,school",
            capacity=2,
            updated_at=utcnow(),
        )
    )
    intake.save_draft(
        client,
        {
            "kind": "defector",
            "help_wanted": ["support_talks", "relocation"],
            "urgency": "soon",
            "phone": "070-123 45 67",
            "safe_times": ["weekday_evening"],
            "voicemail_ok": "no",
            "sms_ok": "yes",
            "code_word": "blåbär",
            "contact_language": "sv",
            "interpreter": "no",
            "account_text": "Jag vill bort från gänget innan något händer.",
        },
    )
    intake.submit_request(client, "sv")
    agencies = [get_organisation_by_slug(slug) for slug in ("frivarden-malmo", "soc-vuxen")]
    earlier_partner = get_organisation_by_slug("ljungby-kommun")
    assert earlier_partner is not None
    seed_history(team, [a for a in agencies if a is not None], earlier_partner)
    caseworker, police_rep = services.find_user("handlaggare"), services.find_user("polis")
    police, social_services = (get_organisation_by_slug(s) for s in ("polisen-syd", "soc-vuxen"))
    assert caseworker is not None and police_rep is not None
    assert police is not None and social_services is not None
    seed_open_case(team, caseworker, police, police_rep, social_services, partner)


@demo_cli.command("seed")
def seed_command() -> None:
    """Create demo organisations and one account per role (safe to run again)."""
    _refuse_outside_development()
    created = seed_demo()
    db.session.commit()
    click.echo(f"demo data ready ({created} accounts created)")


@demo_cli.command("accounts")
def accounts_command() -> None:
    """List the demo accounts with their password and TOTP secret."""
    _refuse_outside_development()
    click.echo(f"password for every demo account: {DEMO_PASSWORD}")
    for username, role, _org in DEMO_ACCOUNTS:
        click.echo(f"{username:12} {role.value:11} TOTP secret {demo_secret(username)}")


@demo_cli.command("code")
@click.argument("username")
def code_command(username: str) -> None:
    """Print the current 6-digit code of a demo account."""
    _refuse_outside_development()
    if username not in {name for name, _role, _org in DEMO_ACCOUNTS}:
        raise click.ClickException(f"{username!r} is not a demo account")
    click.echo(pyotp.TOTP(demo_secret(username)).now())
