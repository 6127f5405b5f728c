"""Demo-like data behind every page the quality checks render.

The demo seed gives one account per role and one request from `klient` in triage. On top of
that this opens a case from that request with everything a case page can show (identity,
threat and needs assessments, an intervention, a journal entry, consents, one held and one
planned consultation, a placement sent to the demo partner, messages), leaves a second
client's request waiting in triage, a draft that goes through every intake step, an
invitation link for a new representative, a break-the-glass grant for the team lead's review
and two accounts half-way through logging in. Services are called directly: the pages are
under test here, not the forms that would have made the data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

import sqlalchemy as sa
from flask import Flask

from app.auth import services as auth_services
from app.auth.models import Passkey, Role, User
from app.cases import services as cases
from app.cases.models import Case, GrantKind, ThreatLevel
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.consultations import services as consultations
from app.consultations.models import Consultation
from app.core.clock import utcnow
from app.core.outbox import OutboxMessage
from app.demo import DEMO_PASSWORD, demo_secret, seed_demo
from app.extensions import db
from app.intake import services as intake
from app.intake.models import ClientRequest
from app.messages import services as messages
from app.orgs.models import Organisation
from app.orgs.services import get_organisation_by_slug
from app.placements import services as placements

CLIENT = "klient"
SECOND_CLIENT = "klient-tva"  # a request waiting in triage
WRITING_CLIENT = "klient-skriver"  # a draft that answers every step, and no open request
PENDING_CLIENT = "klient-halvvags"  # password given, the code still to come
UNENROLLED_CLIENT = "klient-utan-kod"  # password given, no second factor set up yet
PASSKEY_CLIENT = "klient-med-nyckel"  # password given; its only second factor is a passkey
CASEWORKER = "handlaggare"
COLLEAGUE = "handlaggare-tva"  # a caseworker not assigned to the case
TEAM_LEAD = "teamledare"
ADMIN = "admin"
AGENCY_REP = "polis"
PARTNER = "partner"
AGENCY_SLUG = "polisen-syd"
PARTNER_SLUG = "vaxjo-kommun"
JOIN_URL = "http://127.0.0.1/join/TOKEN"  # the service puts the token in place of TOKEN
JOIN_LINK = re.compile(r"/join/([A-Za-z0-9_-]{20,})")

# A relative's draft answers every question, so every step of the request form has a page.
RELATIVE_DRAFT = {
    "kind": "relative",
    "relationship": "parent",
    "age_band": "15_17",
    "help_wanted": ["family_support", "talk"],
    "urgency": "soon",
    "phone": "070-123 45 67",
    "safe_times": ["weekday_evening"],
    "voicemail_ok": "no",
    "sms_ok": "yes",
    "code_word": "blåbär",
    "contact_language": "sv",
    "interpreter": "no",
    "name": "Sam",
    "birth_year": "1980",
    "account_text": "Min son har börjat umgås med äldre killar.",
}


@dataclass(frozen=True)
class Scene:
    """Public ids of what the pages with an id in their URL show."""

    case_id: str
    request_id: str  # the demo client's request, now a case
    waiting_request_id: str  # another client's request, still in triage
    consent_id: str  # a digital consent the client has yet to answer
    planned_consultation_id: str
    held_consultation_id: str
    placement_id: str
    partner_request_id: str
    join_token: str
    agency_id: str


def _user(username: str) -> User:
    user = auth_services.find_user(username)
    assert user is not None, username
    return user


def _org(slug: str) -> Organisation:
    org = get_organisation_by_slug(slug)
    assert org is not None, slug
    return org


def build_scene(app: Flask) -> Scene:
    with app.app_context():
        seed_demo()
        db.session.commit()
        scene = _build()
        db.session.commit()
        db.session.remove()
    return scene


def _build() -> Scene:
    today = date.today()
    client, caseworker = _user(CLIENT), _user(CASEWORKER)
    agency, partner = _org(AGENCY_SLUG), _org(PARTNER_SLUG)

    (request,) = intake.requests_of(client)
    case = cases.open_case(request, caseworker)
    cases.update_identity(
        case,
        cases.IdentityChange(
            full_name="Alex Testsson",
            personal_number="19811218-9876",
            phone="070-987 65 43",
            address="Storgatan 1",
            municipality="1280",  # Malmö
            adults=2,
            children_ages=[4, 9],
        ),
        caseworker,
    )
    groups = cases.team_groups(case.organisation_id)
    cases.record_threat_assessment(
        case,
        caseworker,
        level=ThreatLevel.HIGH,
        by_police=True,
        assessed_on=today,
        sources="Tidigare gruppering",
        group_ids=[str(groups[0].id)],
        areas_to_avoid=["1280", "1281"],  # Malmö, Lund
        next_review_on=today + timedelta(days=30),
    )
    cases.record_needs_assessment(
        case, caseworker, today, {"housing": "Behöver en skyddad bostad.", "debt": "Skulder."}
    )
    cases.add_intervention(case, "support_talks", "Föreningen Nytt Liv", today, None)
    cases.add_journal_entry(case, caseworker, today, "Första samtalet hölls i dag.")
    record_consent(
        case,
        caseworker,
        agencies=[agency, partner],
        purposes={Purpose.CONSULTATION, Purpose.PLACEMENT},
        method=ConsentMethod.PAPER,
        given=True,
        valid_from=today,
        valid_until=today + timedelta(days=365),
    )
    pending_consent = record_consent(
        case,
        caseworker,
        agencies=[agency],
        purposes={Purpose.INFORMATION_EXCHANGE},
        method=ConsentMethod.DIGITAL,
        given=True,
        valid_from=today,
        valid_until=None,
    )
    messages.send_from_client(request, "Hej! Kan ni ringa på tisdag kväll?")
    messages.send_from_team(request, caseworker, "Hej, vi ringer tisdag kl. 18.")
    intake.add_information(request, "Jag kan bara prata efter klockan fem.")

    held, planned, token = _consultations(case, caseworker, agency)
    placement = placements.create_placement(
        case,
        caseworker,
        placements.Needs(
            adults=2,
            children_ages=[4, 9],
            housing_needs="Lägenhet med tre rum.",
            support_needs="Stöd till skola.",
            earliest_move_on=today + timedelta(days=30),
            expected_duration="Ett år",
            free_text=None,
        ),
    )
    placements.send_requests(placement, case, [partner.id], caseworker, None)
    # A colleague outside the case broke the glass some hours ago: the team lead's overview
    # lists it for review, and the grant has run out, so the colleague meets the
    # break-the-glass page again.
    colleague = auth_services.create_user(
        COLLEAGUE,
        DEMO_PASSWORD,
        Role.CASEWORKER,
        _org("malmo-team"),
        totp_secret=demo_secret(COLLEAGUE),
    )
    grant = cases.grant_access(case, colleague, GrantKind.BREAK_GLASS, "Akut samtal från polisen.")
    grant.expires_at = utcnow() - timedelta(hours=1)

    waiting = _client_with_request(SECOND_CLIENT)
    intake.save_draft(client, RELATIVE_DRAFT)
    writer = auth_services.create_user(
        WRITING_CLIENT, DEMO_PASSWORD, Role.CLIENT, None, totp_secret=demo_secret(WRITING_CLIENT)
    )
    intake.save_draft(writer, RELATIVE_DRAFT)
    auth_services.create_user(
        PENDING_CLIENT, DEMO_PASSWORD, Role.CLIENT, None, totp_secret=demo_secret(PENDING_CLIENT)
    )
    auth_services.create_user(UNENROLLED_CLIENT, DEMO_PASSWORD, Role.CLIENT, None)
    with_passkey = auth_services.create_user(PASSKEY_CLIENT, DEMO_PASSWORD, Role.CLIENT, None)
    db.session.flush()
    # A stored passkey (its key is never used here: the page is only looked at).
    db.session.add(
        Passkey(
            user_id=with_passkey.id,
            credential_id=b"quality-scene-passkey",
            public_key=b"\x00" * 77,
            sign_count=0,
        )
    )
    db.session.flush()
    return Scene(
        case_id=str(case.id),
        request_id=str(request.id),
        waiting_request_id=str(waiting.id),
        consent_id=str(pending_consent.id),
        planned_consultation_id=str(planned.id),
        held_consultation_id=str(held.id),
        placement_id=str(placement.id),
        partner_request_id=str(placement.requests[0].id),
        join_token=token,
        agency_id=str(agency.id),
    )


def _consultations(
    case: Case, caseworker: User, agency: Organisation
) -> tuple[Consultation, Consultation, str]:
    """One consultation held two days ago (minutes, a decision, an action for the police)
    and one planned for next week, with an e-mailed invitation for a new representative."""
    rep = _user(AGENCY_REP)
    now = utcnow()
    held = consultations.convene(
        case,
        caseworker,
        consultations.Plan(now - timedelta(days=2), 60, "Stadshuset, rum 3", "Planering"),
        [agency.id],
        [rep.id],
    )
    consultations.record_meeting(
        held,
        "Vi gick igenom hotbilden och boendet.",
        {i.id for i in held.invitations},
        ["Polisen gör en ny hotbildsbedömning."],
        caseworker,
    )
    consultations.add_action(
        held, agency, rep, "Ny hotbildsbedömning", date.today() + timedelta(days=7)
    )
    planned = consultations.convene(
        case,
        caseworker,
        consultations.Plan(now + timedelta(days=7), 90, "Polishuset", "Uppföljning"),
        [agency.id],
        [rep.id],
        previous=held,
    )
    consultations.invite_representative(
        agency, "ny.representant@polisen.example", caseworker, planned, JOIN_URL
    )
    return held, planned, _token_from_outbox()


def _token_from_outbox() -> str:
    """The link's token travels only in the e-mail: read it back from the queued message."""
    for body in db.session.scalars(sa.select(OutboxMessage.body)):
        match = JOIN_LINK.search(body)
        if match:
            return match.group(1)
    raise AssertionError("no invitation link in the outbox")


def _client_with_request(username: str) -> ClientRequest:
    client = auth_services.create_user(
        username, DEMO_PASSWORD, Role.CLIENT, None, totp_secret=demo_secret(username)
    )
    intake.save_draft(
        client,
        {**RELATIVE_DRAFT, "kind": "threatened", "name": "", "help_wanted": ["protection"]},
    )
    return intake.submit_request(client, "ar")
