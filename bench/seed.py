"""Bulk seeding of a realistic multi-team database for the case benchmark.

Rows go in with PostgreSQL COPY, bypassing the ORM: a hundred thousand cases through the
services would take hours. What the services would have done is reproduced on purpose:

- Encrypted columns hold real Fernet tokens under the run's key. A few distinct payloads are
  encrypted once and the tokens reused, so every page decrypts exactly what it would in
  production, at a fraction of the seeding cost.
- Blind indexes are computed with the application's own `blind_index`, so lookups work.
- Audit events are chained exactly as `app.audit.services.record` chains them (the same
  `event_hash`, continuing from the chain head), so `flask audit verify` accepts the result.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import psycopg
import pyotp
import sqlalchemy as sa
from flask import Flask

from app.audit.models import GENESIS_HASH
from app.audit.services import event_hash
from app.core.crypto import blind_index, keyring
from app.extensions import db

PASSWORD = "lugna-tallar-vid-havet"
CASEWORKER = "bench-handlaggare"
TEAM_LEAD = "bench-teamledare"
AUDIT_EVENTS_PER_CASE = 10
OPEN_CASES_PER_TEAM = 300
WAITING_REQUESTS_PER_TEAM = 15
YEARS_OF_HISTORY = 8

# (slug, name, share of all cases, caseworkers): several municipalities, unevenly sized.
TEAMS = [
    ("malmo-team", "Konsultationsteamet Malmö", 0.30, 10),
    ("goteborg-team", "Exitteamet Göteborg", 0.22, 8),
    ("stockholm-team", "Avhopparverksamheten Stockholm", 0.20, 8),
    ("uppsala-team", "Exitverksamheten Uppsala", 0.12, 5),
    ("orebro-team", "Avhopparteamet Örebro", 0.09, 4),
    ("sundsvall-team", "Exitteamet Sundsvall", 0.07, 3),
]
AGENCIES = [
    ("polisen", "Polisen"),
    ("frivarden", "Kriminalvården, frivården"),
    ("soc-ekonomi", "Socialtjänsten, ekonomiskt bistånd"),
    ("soc-barn", "Socialtjänsten, barn och unga"),
    ("skatteverket", "Skatteverket"),
    ("kronofogden", "Kronofogden"),
    ("arbetsformedlingen", "Arbetsförmedlingen"),
    ("region-beroende", "Regionens beroendevård"),
]
PARTNERS = [
    ("vaxjo-kommun", "Växjö kommun", "0780"),
    ("kalmar-kommun", "Kalmar kommun", "0880"),
    ("lulea-kommun", "Luleå kommun", "2580"),
    ("visby-kommun", "Region Gotland", "0980"),
]
GROUPS = ["Nordligan", "Södra nätverket", "Grupp C", "Östra falangen"]

OPEN_STATUSES = ["new", "assessment", "consent", "consultation", "intervention", "follow_up"]
OPEN_WEIGHTS = [8, 15, 10, 15, 35, 17]
SOURCES = ["self_service", "relative", "phone", "police", "probation", "call_in"]
SOURCE_WEIGHTS = [40, 10, 15, 17, 10, 8]
OUTCOMES = ["established", "withdrew", "plan_broken", "referred"]
OUTCOME_WEIGHTS = [45, 30, 10, 15]
PROTECTION = ["none", "sekretessmarkering", "skyddad_folkbokforing", "fingerade_personuppgifter"]
PROTECTION_WEIGHTS = [85, 8, 6, 1]
LANGUAGES = ["sv", "sv", "sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti"]
INTERVENTION_KINDS = [
    "support_talks",
    "motivational_calls",
    "financial_assistance",
    "debt",
    "group",
    "addiction",
    "employment",
    "contact_person",
    "relocation",
    "protection",
    "family",
]
CASE_ACTIONS = [
    "case.viewed",
    "case.viewed",
    "case.viewed",
    "case.journal_added",
    "case.status_changed",
    "case.threat_assessed",
    "case.needs_assessed",
    "consent.recorded",
    "consultation.convened",
    "case.intervention_added",
]

# Only the columns given here are written; the rest take their database default (NULL).
COLUMNS: dict[str, tuple[str, ...]] = {
    "organisations": ("id", "slug", "name", "kind", "active", "created_at"),
    "users": (
        "id", "username", "password_hash", "role", "organisation_id", "active", "totp_secret",
        "password_changed_at", "created_at",
    ),
    "threat_groups": ("id", "organisation_id", "name", "created_at"),
    "partner_profiles": (
        "organisation_id", "municipality", "region", "services", "capacity", "updated_at",
        "created_at",
    ),
    "cases": (
        "id", "reference", "organisation_id", "status", "outcome", "source", "protection_level",
        "opened_at", "closed_at", "full_name", "personal_number", "personal_number_index",
        "phone", "address", "municipality", "household", "created_at",
    ),
    "case_assignments": ("case_id", "user_id", "created_at", "case_open"),
    "client_requests": (
        "id", "reference", "client_id", "organisation_id", "kind", "status", "urgency", "urgent",
        "source", "language", "submitted_at", "age_band", "concerns_child", "concerns_under_21",
        "help_wanted", "phone", "voicemail_ok", "sms_ok", "interpreter_needed", "identity_name",
        "account_text", "became_case_at", "assigned_to_id", "first_contact_at", "closed_reason",
        "case_id", "created_at",
    ),
    "contact_attempts": (
        "id", "request_id", "author_id", "attempted_at", "channel", "outcome", "created_at",
    ),
    "deadlines": ("id", "request_id", "rule_key", "citation", "due_at", "met_at", "created_at"),
    "journal_entries": ("id", "case_id", "author_id", "occurred_on", "body", "created_at"),
    "threat_assessments": (
        "id", "case_id", "level", "assessed_by_police", "assessor_id", "assessed_on", "sources",
        "areas_to_avoid", "next_review_on", "created_at",
    ),
    "threat_assessment_groups": ("assessment_id", "group_id"),
    "needs_assessments": ("id", "case_id", "assessor_id", "assessed_on", "notes", "created_at"),
    "interventions": (
        "id", "case_id", "kind", "provider", "starts_on", "ends_on", "status", "created_at",
    ),
    "consents": (
        "id", "case_id", "purposes", "method", "given", "answered_at", "valid_from",
        "valid_until", "recorded_by_id", "created_at",
    ),
    "consent_agencies": ("consent_id", "organisation_id"),
    "consultations": (
        "id", "case_id", "organisation_id", "convened_by_id", "status", "starts_at",
        "duration_minutes", "place", "agenda", "minutes", "ical_uid", "sequence", "created_at",
    ),
    "consultation_invitations": (
        "id", "consultation_id", "organisation_id", "response", "attended", "created_at",
    ),
    "consultation_decisions": ("id", "consultation_id", "text", "created_at"),
    "consultation_actions": (
        "id", "consultation_id", "case_id", "owner_organisation_id", "description", "due_on",
        "status", "done_at", "created_at",
    ),
    "disclosures": (
        "id", "case_id", "recipient_id", "what", "purpose", "consent_id", "disclosed_by_id",
        "created_at",
    ),
    "placements": (
        "id", "case_id", "organisation_id", "created_by_id", "status", "adults", "children_ages",
        "housing_needs", "support_needs", "earliest_move_on", "created_at",
    ),
    "placement_requests": (
        "id", "placement_id", "partner_id", "status", "respond_by", "answered_at",
        "offer_housing_type", "created_at",
    ),
    "access_grants": (
        "id", "case_id", "user_id", "kind", "reason", "expires_at", "reviewed_at", "created_at",
    ),
    "audit_events": (
        "seq", "occurred_at", "actor_id", "action", "subject_type", "subject_id",
        "organisation_id", "details", "prev_hash", "hash",
    ),
}  # fmt: skip


@dataclass
class Team:
    id: uuid.UUID
    slug: str
    share: float
    lead_id: uuid.UUID
    caseworker_ids: list[uuid.UUID]
    group_ids: list[uuid.UUID]
    open_cases: int = 0
    waiting: int = 0


@dataclass
class Login:
    username: str
    totp_secret: str
    cookie: str = ""


@dataclass
class World:
    """What the seeding has made so far; grown phase by phase."""

    teams: list[Team]
    agency_ids: list[uuid.UUID]
    partner_ids: list[uuid.UUID]
    caseworker: Login
    team_lead: Login
    password_hash: str
    tokens: dict[str, list[str]]
    personal_numbers: list[tuple[str, str]]  # (token, blind index)
    cases: int = 0
    requests: int = 0
    counts: dict[str, int] = field(default_factory=dict)


class Rows:
    """Rows per table, written with COPY whenever enough have piled up."""

    def __init__(self, connection: psycopg.Connection[Any], counts: dict[str, int]) -> None:
        self.connection = connection
        self.pending: dict[str, list[tuple[Any, ...]]] = {}
        self.counts = counts

    def add(self, table: str, *values: Any) -> None:
        assert len(values) == len(COLUMNS[table]), table
        self.pending.setdefault(table, []).append(values)

    def size(self) -> int:
        return sum(len(rows) for rows in self.pending.values())

    def flush(self) -> None:
        # Parents before children: the order of COLUMNS follows the foreign keys.
        with self.connection.cursor() as cursor:
            for table, columns in COLUMNS.items():
                rows = self.pending.pop(table, [])
                if not rows:
                    continue
                with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
                self.counts[table] = self.counts.get(table, 0) + len(rows)


def _tokens(texts: dict[str, list[str]]) -> dict[str, list[str]]:
    ring = keyring()
    return {name: [ring.encrypt(text) for text in values] for name, values in texts.items()}


PAYLOADS = {
    "name": ["Ali Hassan", "Johan Berg", "Sara Lindqvist", "Mehmet Demir", "Nikola Petrović"],
    "phone": ["070-123 45 67", "073-987 65 43", "076-555 12 12"],
    "address": ["Storgatan 1, 211 34 Malmö", "Vasagatan 12, 411 24 Göteborg"],
    # Municipality codes (Malmö, Göteborg, Stockholm, Uppsala, Örebro), as the portal stores them.
    "municipality": ["1280", "1480", "0180", "0380", "1880"],
    "household": ['{"adults": 1, "children_ages": []}', '{"adults": 2, "children_ages": [4, 9]}'],
    "journal": [
        "Samtal med klienten om boende och ekonomi; nästa möte bokat.",
        "Klienten hörde av sig via sms, mår bättre, vill fortsätta planen.",
        "Avstämning med frivården inför samordningsmötet.",
    ],
    "help": ['["support_talks", "relocation"]', '["debt", "employment"]', '["protection"]'],
    "story": ["Jag vill lämna gruppen men vet inte hur. Jag är rädd för vad som händer."],
    "sources": ["Hot från tidigare gruppmedlemmar via sociala medier."],
    "areas": ['["1280", "1281"]', '["1480"]', "[]"],
    "needs": ['{"housing": "Behöver nytt boende", "debt": "Skulder hos Kronofogden"}'],
    "place": ["Socialkontoret, rum 3", "Polishuset, konferensrum B"],
    "agenda": ["Genomgång av insatser och ansvarsfördelning."],
    "minutes": ["Parterna enades om en plan; frivården följer upp om en månad."],
    "decision": ["Skyddat boende ordnas från nästa månad."],
    "action": ["Ordna möte med Kronofogden om skuldsanering."],
    "placement": ["Lägenhet om två rum, gärna nära skola."],
    # Encrypted since migration 0014, like every other value here.
    "children_ages": ["", "4,9", "12"],
    "housing_type": ["apartment"],
    "reason": ["Klienten ringde akut och ansvarig handläggare var ledig."],
    "totp": [pyotp.random_base32()],
}


def reset_schema(url: str) -> None:
    """Drop everything in the benchmark database; it is rebuilt by the migrations."""
    with psycopg.connect(url, autocommit=True) as connection:
        connection.execute("DROP SCHEMA public CASCADE")
        connection.execute("CREATE SCHEMA public")


def add_missing_indexes() -> list[str]:
    """Create indexes the models declare but the migrations do not have yet (by name)."""
    inspector = sa.inspect(db.engine)
    created = []
    for table in db.metadata.sorted_tables:
        existing = {ix["name"] for ix in inspector.get_indexes(table.name)}
        existing |= {uq["name"] for uq in inspector.get_unique_constraints(table.name)}
        for index in table.indexes:
            if index.name not in existing:
                index.create(db.engine)
                created.append(f"{table.name}.{index.name}")
    return created


def create_world(connection: psycopg.Connection[Any], app: Flask, password_hash: str) -> World:
    """Organisations, staff accounts and group lists; no cases yet."""
    now = datetime.now(UTC)
    counts: dict[str, int] = {}
    rows = Rows(connection, counts)
    with app.app_context():
        tokens = _tokens(PAYLOADS)
        personal_numbers = []
        for n in range(64):
            number = f"19{80 + n % 20}0{1 + n % 9}1{n % 10}-{1000 + 37 * n}"
            personal_numbers.append(
                (keyring().encrypt(number), blind_index(number, "personal-number"))
            )
        caseworker = Login(CASEWORKER, pyotp.random_base32())
        team_lead = Login(TEAM_LEAD, pyotp.random_base32())
        teams = []
        for slug, name, share, caseworkers in TEAMS:
            org_id = uuid.uuid4()
            rows.add("organisations", org_id, slug, name, "exit_team", True, now)
            ids = []
            for n in range(caseworkers + 1):
                user_id = uuid.uuid4()
                role = "team_lead" if n == 0 else "caseworker"
                username = f"{slug}-{'tl' if n == 0 else 'hl'}{n:02d}"
                secret = tokens["totp"][0]
                if slug == TEAMS[0][0] and n in (0, 1):
                    login = team_lead if n == 0 else caseworker
                    username = login.username
                    secret = keyring().encrypt(login.totp_secret)
                rows.add(
                    "users", user_id, username, password_hash, role, org_id, True, secret, now, now
                )
                ids.append(user_id)
            group_ids = [uuid.uuid4() for _ in GROUPS]
            for group_id, group in zip(group_ids, GROUPS, strict=True):
                rows.add("threat_groups", group_id, org_id, group, now)
            teams.append(Team(org_id, slug, share, ids[0], ids[1:], group_ids))
        agency_ids = []
        for slug, name in AGENCIES:
            agency_ids.append(uuid.uuid4())
            rows.add("organisations", agency_ids[-1], slug, name, "agency", True, now)
        partner_ids = []
        for slug, name, code in PARTNERS:
            partner_ids.append(uuid.uuid4())
            rows.add("organisations", partner_ids[-1], slug, name, "partner", True, now)
            rows.add(
                "partner_profiles", partner_ids[-1], code, "Sverige", "housing,school", 5, now, now
            )
        rows.flush()
    return World(
        teams,
        agency_ids,
        partner_ids,
        caseworker,
        team_lead,
        password_hash,
        tokens,
        personal_numbers,
        counts=counts,
    )


class CaseFactory:
    """Writes one case and everything that grows around it, in sensible proportions."""

    def __init__(self, world: World, rows: Rows, rng: random.Random, now: datetime) -> None:
        self.world = world
        self.rows = rows
        self.rng = rng
        self.now = now
        self.case_audit: list[tuple[datetime, uuid.UUID, str, uuid.UUID, uuid.UUID]] = []

    def token(self, kind: str) -> str:
        return self.rng.choice(self.world.tokens[kind])

    def maybe(self, share: float) -> bool:
        return self.rng.random() < share

    def case(self, team: Team, opened_at: datetime, is_open: bool) -> None:
        rng, world, add = self.rng, self.world, self.rows.add
        world.cases += 1
        case_id = uuid.uuid4()
        status = rng.choices(OPEN_STATUSES, OPEN_WEIGHTS)[0] if is_open else "closed"
        closed_at = None
        if not is_open:
            latest = min(self.now, opened_at + timedelta(days=900))
            closed_at = opened_at + (latest - opened_at) * rng.uniform(0.05, 1.0)
        end = closed_at or self.now
        source = rng.choices(SOURCES, SOURCE_WEIGHTS)[0]
        number = rng.choice(world.personal_numbers) if self.maybe(0.6) else (None, None)
        add(
            "cases",
            case_id,
            f"K-{opened_at.year}-{100000 + world.cases}",
            team.id,
            status,
            None if is_open else rng.choices(OUTCOMES, OUTCOME_WEIGHTS)[0],
            source,
            rng.choices(PROTECTION, PROTECTION_WEIGHTS)[0],
            opened_at,
            closed_at,
            self.token("name") if self.maybe(0.9) else None,
            number[0],
            number[1],
            self.token("phone") if self.maybe(0.5) else None,
            self.token("address") if self.maybe(0.4) else None,
            self.token("municipality") if self.maybe(0.6) else None,
            self.token("household") if self.maybe(0.5) else None,
            opened_at,
        )
        workers = rng.sample(team.caseworker_ids, 2 if self.maybe(0.2) else 1)
        for worker in workers:
            add("case_assignments", case_id, worker, opened_at, is_open)
        worker = workers[0]
        if source in ("self_service", "relative"):
            self.request(team, opened_at - timedelta(days=rng.uniform(0.5, 10)), case_id, is_open)
        for _ in range(rng.randint(1, 6)):
            day = self.between(opened_at, end).date()
            add("journal_entries", uuid.uuid4(), case_id, worker, day, self.token("journal"), end)
        if self.maybe(0.55):
            self.threat(team, case_id, worker, opened_at, end, is_open)
        if self.maybe(0.5):
            day = self.between(opened_at, end).date()
            add("needs_assessments", uuid.uuid4(), case_id, worker, day, self.token("needs"), end)
        for _ in range(rng.choice((0, 1, 1, 2, 3))):
            start = self.between(opened_at, end).date()
            add(
                "interventions",
                uuid.uuid4(),
                case_id,
                rng.choice(INTERVENTION_KINDS),
                None,
                start,
                start + timedelta(days=rng.randint(30, 365)),
                rng.choice(("planned", "ongoing"))
                if is_open
                else rng.choice(("done", "cancelled")),
                end,
            )
        consent = self.consents(case_id, worker, opened_at, end, is_open)
        if self.maybe(0.35):
            self.consultations(team, case_id, worker, consent, opened_at, end, is_open)
        if self.maybe(0.06):
            self.placement(team, case_id, worker, opened_at, end, is_open)
        if self.maybe(0.005):
            grantee = rng.choice(team.caseworker_ids)
            at = self.between(opened_at, end)
            add(
                "access_grants",
                uuid.uuid4(),
                case_id,
                grantee,
                "break_glass",
                self.token("reason"),
                at + timedelta(hours=8),
                at + timedelta(days=2) if at < self.now - timedelta(days=30) else None,
                at,
            )
        self.case_audit.append((opened_at, case_id, "case.opened", worker, team.id))

    def between(self, start: datetime, end: datetime) -> datetime:
        return start + (end - start) * self.rng.random()

    def request(
        self, team: Team, submitted_at: datetime, case_id: uuid.UUID | None, is_open: bool
    ) -> None:
        """A self-service request: became a case, was closed in triage, or waits in triage."""
        rng, world, add = self.rng, self.world, self.rows.add
        world.requests += 1
        request_id = uuid.uuid4()
        serial = world.requests
        waiting = case_id is None and is_open
        client_id = None
        if is_open:
            # Open matters still have a client account; closed ones mostly do not any more.
            client_id = uuid.uuid4()
            add(
                "users",
                client_id,
                f"klient-{serial:07d}",
                world.password_hash,
                "client",
                None,
                True,
                self.token("totp"),
                submitted_at,
                submitted_at,
            )
        first_contact = None
        if not waiting or self.maybe(0.4):
            first_contact = submitted_at + timedelta(hours=rng.uniform(1, 96))
        if case_id is not None:
            status = "in_progress" if is_open else "closed"
        else:
            status = ("contacted" if first_contact else "received") if waiting else "closed"
        child = self.maybe(0.12)
        urgency = rng.choices(("acute", "soon", "can_wait"), (15, 55, 30))[0]
        add(
            "client_requests",
            request_id,
            f"U-0{serial // 10000:03d}-{serial % 10000:04d}",
            client_id,
            team.id,
            rng.choice(("defector", "relative", "threatened")),
            status,
            urgency,
            urgency == "acute",
            "self_service",
            rng.choice(LANGUAGES),
            submitted_at,
            "15_17" if child else rng.choice(("18_20", "21_plus", "unknown")),
            child,
            child or self.maybe(0.3),
            self.token("help"),
            self.token("phone") if self.maybe(0.7) else None,
            self.maybe(0.4),
            self.maybe(0.6),
            self.maybe(0.15),
            self.token("name") if self.maybe(0.5) else None,
            self.token("story") if self.maybe(0.6) else None,
            submitted_at + timedelta(days=1) if case_id else None,
            rng.choice(team.caseworker_ids) if first_contact else None,
            first_contact,
            None if case_id or waiting else rng.choice(("not_reached", "no_longer_wanted")),
            case_id,
            submitted_at,
        )
        for _ in range(rng.choice((0, 1, 1, 2)) if first_contact else 0):
            at = submitted_at + (first_contact - submitted_at) * rng.random()
            add(
                "contact_attempts",
                uuid.uuid4(),
                request_id,
                rng.choice(team.caseworker_ids),
                at,
                "phone",
                rng.choice(("no_answer", "voicemail", "reached")),
                at,
            )
        if child:
            for key, days in (
                ("child_protection_assessment", 0),
                ("child_investigation_decision", 14),
            ):
                due = submitted_at + timedelta(days=days, hours=8)
                met = (
                    due - timedelta(hours=rng.uniform(1, 48))
                    if not is_open or self.maybe(0.8)
                    else None
                )
                add(
                    "deadlines",
                    uuid.uuid4(),
                    request_id,
                    key,
                    "SoL (2001:453) 11:1 a",
                    due,
                    met,
                    submitted_at,
                )

    def threat(
        self,
        team: Team,
        case_id: uuid.UUID,
        worker: uuid.UUID,
        start: datetime,
        end: datetime,
        is_open: bool,
    ) -> None:
        rng = self.rng
        assessment_id = uuid.uuid4()
        on = self.between(start, end).date()
        review = on + timedelta(days=rng.randint(30, 180)) if is_open else None
        self.rows.add(
            "threat_assessments",
            assessment_id,
            case_id,
            rng.choices(("low", "medium", "high", "acute"), (40, 35, 20, 5))[0],
            self.maybe(0.3),
            worker,
            on,
            self.token("sources") if self.maybe(0.6) else None,
            self.token("areas"),
            review,
            end,
        )
        for group in rng.sample(team.group_ids, rng.choice((0, 1, 1, 2))):
            self.rows.add("threat_assessment_groups", assessment_id, group)

    def consents(
        self, case_id: uuid.UUID, worker: uuid.UUID, start: datetime, end: datetime, is_open: bool
    ) -> uuid.UUID | None:
        """Most cases have one or two consent decisions; returns one that was given."""
        rng, given_id = self.rng, None
        for _ in range(rng.choice((0, 1, 1, 1, 2)) if self.maybe(0.8) else 0):
            consent_id = uuid.uuid4()
            at = self.between(start, end)
            given: bool | None = self.maybe(0.88)
            if is_open and self.maybe(0.05):
                given = None  # a digital proposal still waiting for the client
            self.rows.add(
                "consents",
                consent_id,
                case_id,
                ",".join(rng.sample(("consultation", "placement", "information_exchange"), 2)),
                rng.choice(("paper", "digital")),
                given,
                at if given is not None else None,
                at.date(),
                (at + timedelta(days=365)).date(),
                worker,
                at,
            )
            for agency in rng.sample(self.world.agency_ids, rng.randint(1, 3)):
                self.rows.add("consent_agencies", consent_id, agency)
            if given:
                given_id = consent_id
        return given_id

    def consultations(
        self,
        team: Team,
        case_id: uuid.UUID,
        worker: uuid.UUID,
        consent_id: uuid.UUID | None,
        start: datetime,
        end: datetime,
        is_open: bool,
    ) -> None:
        rng, add = self.rng, self.rows.add
        for _ in range(rng.choice((1, 1, 2))):
            consultation_id = uuid.uuid4()
            planned = is_open and self.maybe(0.3)
            starts_at = (
                self.now + timedelta(days=rng.randint(1, 30))
                if planned
                else self.between(start, end)
            )
            status = "planned" if planned else ("cancelled" if self.maybe(0.06) else "held")
            held = status == "held"
            add(
                "consultations",
                consultation_id,
                case_id,
                team.id,
                worker,
                status,
                starts_at,
                90,
                self.token("place"),
                self.token("agenda"),
                self.token("minutes") if held else None,
                f"{consultation_id}@utvag.invalid",
                0,
                starts_at - timedelta(days=7),
            )
            agencies = rng.sample(self.world.agency_ids, rng.randint(2, 3))
            for agency in agencies:
                response = "accepted" if held else rng.choice(("pending", "accepted", "declined"))
                add(
                    "consultation_invitations",
                    uuid.uuid4(),
                    consultation_id,
                    agency,
                    response,
                    self.maybe(0.9) if held else None,
                    starts_at - timedelta(days=7),
                )
            if not held:
                continue
            add(
                "consultation_decisions",
                uuid.uuid4(),
                consultation_id,
                self.token("decision"),
                starts_at,
            )
            for _ in range(rng.randint(1, 2)):
                due = starts_at + timedelta(days=rng.randint(7, 60))
                if is_open:
                    status = rng.choices(
                        ("open", "in_progress", "done", "cancelled"), (1, 1, 6, 1)
                    )[0]
                else:
                    status = rng.choice(("done", "done", "cancelled"))
                # Most are done in time, some a little late; a few around midnight.
                done_at = due + timedelta(hours=rng.uniform(-240, 60)) if status == "done" else None
                add(
                    "consultation_actions",
                    uuid.uuid4(),
                    consultation_id,
                    case_id,
                    rng.choice(agencies),
                    self.token("action"),
                    due.date(),
                    status,
                    min(done_at, self.now) if done_at else None,
                    starts_at,
                )
            if consent_id is not None:
                add(
                    "disclosures",
                    uuid.uuid4(),
                    case_id,
                    agencies[0],
                    "consultation",
                    "consultation",
                    consent_id,
                    worker,
                    starts_at,
                )

    def placement(
        self,
        team: Team,
        case_id: uuid.UUID,
        worker: uuid.UUID,
        start: datetime,
        end: datetime,
        is_open: bool,
    ) -> None:
        rng, add = self.rng, self.rows.add
        placement_id = uuid.uuid4()
        at = self.between(start, end)
        status = (
            rng.choice(("open", "confirmed")) if is_open else rng.choice(("confirmed", "cancelled"))
        )
        add(
            "placements",
            placement_id,
            case_id,
            team.id,
            worker,
            status,
            rng.randint(1, 2),
            self.token("children_ages"),
            self.token("placement"),
            self.token("placement"),
            (at + timedelta(days=30)).date(),
            at,
        )
        for n, partner in enumerate(rng.sample(self.world.partner_ids, rng.randint(1, 3))):
            if status == "confirmed" and n == 0:
                answer = "confirmed"
            elif status == "open":
                answer = rng.choice(("sent", "accepted", "declined"))
            else:
                answer = rng.choice(("declined", "expired", "closed"))
            answered = at + timedelta(days=rng.uniform(1, 14)) if answer != "sent" else None
            add(
                "placement_requests",
                uuid.uuid4(),
                placement_id,
                partner,
                answer,
                at + timedelta(days=14),
                answered,
                self.token("housing_type") if answer in ("accepted", "confirmed") else None,
                at,
            )


def grow(
    url: str, app: Flask, world: World, target_cases: int, seed: int, *, audit: bool = True
) -> None:
    """Add cases (and what surrounds them) until the database holds `target_cases`, with
    `AUDIT_EVENTS_PER_CASE` audit events per case in all (none with `audit=False`: a run
    that measures only the encrypted values saves the chaining of a million events)."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    new_cases = target_cases - world.cases
    total_share = sum(t.share for t in world.teams)
    with psycopg.connect(url) as connection, app.app_context():
        rows = Rows(connection, world.counts)
        factory = CaseFactory(world, rows, rng, now)
        counts = [int(new_cases * team.share / total_share) for team in world.teams]
        counts[0] += new_cases - sum(counts)
        for team, count in zip(world.teams, counts, strict=True):
            # A few hundred open per team at most, and fewer in a young installation.
            quota = min(OPEN_CASES_PER_TEAM, (team.open_cases + count) * 3 // 10) - team.open_cases
            opened = sorted(_history(rng, now, count))
            open_slots = set(rng.sample(range(count), max(quota, 0)))
            for n, opened_at in enumerate(opened):
                is_open = n in open_slots
                if is_open:
                    # Open cases are recent: within the last year and a half.
                    opened_at = now - timedelta(days=rng.uniform(1, 540))
                    team.open_cases += 1
                factory.case(team, opened_at, is_open)
                # Requests closed in triage without becoming a case.
                if factory.maybe(0.35):
                    factory.request(team, opened_at - timedelta(days=3), None, False)
                if rows.size() > 200_000:
                    rows.flush()
            # A handful of requests wait in triage, however large the history.
            while team.waiting < min(WAITING_REQUESTS_PER_TEAM, max(team.open_cases // 20, 1)):
                factory.request(team, now - timedelta(hours=rng.uniform(1, 120)), None, True)
                team.waiting += 1
        rows.flush()
        if audit:
            _append_audit(connection, rows, factory, target_cases)
        connection.commit()
    with psycopg.connect(url, autocommit=True) as connection:
        # What autovacuum would have done by the time a database grew this large; and the
        # seeded pages written out now rather than by a checkpoint during the measurements.
        connection.execute("VACUUM ANALYZE")
        connection.execute("CHECKPOINT")


def _history(rng: random.Random, now: datetime, count: int) -> Iterator[datetime]:
    """Opening times over the years, more in recent years as the programme grew."""
    span = YEARS_OF_HISTORY * 365.0
    for _ in range(count):
        yield now - timedelta(days=span * (1 - rng.random() ** 0.7) + 540)


def _append_audit(
    connection: psycopg.Connection[Any], rows: Rows, factory: CaseFactory, target_cases: int
) -> None:
    """Continue the hash chain from its head with the events this growth stands for."""
    head = connection.execute("SELECT seq, hash FROM audit_head WHERE id = 1 FOR UPDATE").fetchone()
    seq, prev_hash = head if head else (0, GENESIS_HASH)
    (existing,) = connection.execute("SELECT count(*) FROM audit_events").fetchone()  # type: ignore[misc]
    wanted = AUDIT_EVENTS_PER_CASE * target_cases - existing
    rng, now = factory.rng, factory.now
    cases = len(factory.case_audit)
    for i, (opened_at, case_id, action, worker, org_id) in enumerate(factory.case_audit):
        # Spread `wanted` events as evenly as whole numbers allow.
        for n in range(wanted * (i + 1) // cases - wanted * i // cases):
            seq += 1
            event = SimpleNamespace(
                seq=seq,
                occurred_at=min(opened_at + timedelta(minutes=n * rng.uniform(1, 600)), now),
                actor_id=worker,
                action=action if n == 0 else rng.choice(CASE_ACTIONS),
                subject_type="cases",
                subject_id=str(case_id),
                organisation_id=org_id,
                details=json.dumps({"identity_shown": True}) if n % 3 == 1 else "{}",
                prev_hash=prev_hash,
            )
            event.hash = event_hash(event)  # type: ignore[arg-type]
            rows.add("audit_events", *(getattr(event, c) for c in COLUMNS["audit_events"]))
            prev_hash = event.hash
        if rows.size() > 200_000:
            rows.flush()
    rows.flush()
    if head:
        connection.execute(
            "UPDATE audit_head SET seq = %s, hash = %s WHERE id = 1", (seq, prev_hash)
        )
    else:
        connection.execute(
            "INSERT INTO audit_head (id, seq, hash) VALUES (1, %s, %s)", (seq, prev_hash)
        )
    factory.case_audit.clear()


def table_counts(url: str) -> dict[str, int]:
    with psycopg.connect(url) as connection:
        tables = [name for name in COLUMNS if name != "audit_events"] + ["audit_events"]
        return {
            name: connection.execute(f"SELECT count(*) FROM {name}").fetchone()[0]  # type: ignore[index]
            for name in tables
        }
