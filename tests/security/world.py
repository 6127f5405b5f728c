"""One populated portal with a person of every role, and objects of their own and of others.

Built with the services (fast) rather than through the pages, because the pages that create
these objects are tested in their own features; what the security tests need is the finished
world: two teams, two agencies, two partners, three clients, and for each kind of object one
that a person may reach ("own") and one that belongs to someone else ("foreign").
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Flask

from app.admin import services as admin_services
from app.auth import services as auth_services
from app.auth import totp
from app.auth.models import Passkey, Role, User
from app.auth.sessions import rotate_token, start_session
from app.cases import services as case_services
from app.cases.models import (
    Case,
    GrantKind,
    ProtectionChange,
    ProtectionChangeStatus,
    ProtectionLevel,
)
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.consultations import services as consultation_services
from app.core.clock import utcnow
from app.extensions import db
from app.intake import services as intake_services
from app.intake.models import ClientRequest
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import create_organisation
from app.placements import services as placement_services
from app.placements.models import PartnerProfile
from app.rules import LOCAL_TIME
from tests.conftest import PASSWORD, Account, Browser, code_for

# The people whose access is tested, in the order of the matrix's columns.
PERSONAS = (
    "anonymous",
    "client",  # owns the request that became the team's case
    "caseworker",  # assigned to the team's case
    "colleague",  # a caseworker of the same team, not assigned
    "glass",  # a caseworker of the same team who broke the glass on the case
    "team_lead",
    "agency",  # a police representative, invited to one consultation
    "partner",  # a partner municipality that received one placement request
    "admin",
)

DRAFT = {
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
    "account_text": "Jag vill bort från gänget.",
}


@dataclass
class World:
    app: Flask
    ids: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, Account] = field(default_factory=dict)
    browsers: dict[str, Browser] = field(default_factory=dict)
    language: str = "en"

    def user(self, name: str) -> User:
        found = db.session.get(User, self.accounts[name].id)
        assert found is not None
        return found

    def obj(self, model: type[Any], name: str) -> Any:
        return db.session.get(model, uuid.UUID(self.ids[name]))

    # Fresh objects, for requests that change what they touch.

    def new_request(self, client: str = "client", team: str = "team") -> str:
        with self.app.test_request_context():
            intake_services.save_draft(self.user(client), DRAFT)
            created = intake_services.submit_request(self.user(client), "sv")
            created.organisation_id = uuid.UUID(self.ids[team])
            db.session.commit()
            return str(created.id)

    def new_consent(self, case: str = "case") -> str:
        with self.app.test_request_context():
            consent = record_consent(
                self.obj(Case, case),
                self.user("caseworker"),
                agencies=[self.obj(Organisation, "police")],
                purposes={Purpose.INFORMATION_EXCHANGE},
                method=ConsentMethod.PAPER,
                given=True,
                valid_from=date(2020, 1, 1),
                valid_until=None,
            )
            db.session.commit()
            return str(consent.id)

    def new_consultation(self, case: str = "case", convener: str = "caseworker") -> str:
        with self.app.test_request_context():
            consultation = consultation_services.convene(
                self.obj(Case, case),
                self.user(convener),
                future_plan(),
                [uuid.UUID(self.ids["police"] if case == "case" else self.ids["bailiffs"])],
                [],
            )
            db.session.commit()
            return str(consultation.id)

    def new_role_grant(self, team: str = "team") -> str:
        """An administrator's invitation to a caseworker role, waiting for a team lead."""
        with self.app.test_request_context():
            invitation = admin_services.invite_member(
                self.obj(Organisation, team),
                Role.CASEWORKER,
                "ny-handlaggare@example.org",
                self.user("admin"),
                "https://utvag.test/join/TOKEN",
            )
            db.session.commit()
            return str(invitation.id)

    def new_inactive_worker(self) -> str:
        """A deactivated caseworker of the team, for a team lead to turn back on."""
        with self.app.test_request_context():
            name = f"vilande-{uuid.uuid4().hex[:8]}"
            worker = auth_services.create_user(
                name, PASSWORD, Role.CASEWORKER, self.obj(Organisation, "team")
            )
            worker.active = False
            db.session.commit()
            return str(worker.id)

    def session_for(self, name: str) -> tuple[str, str]:
        """A further, fully logged-in session of a person: (cookie token, session id)."""
        with self.app.app_context():
            user_session, _ = start_session(self.user(name))
            now = utcnow()
            user_session.second_factor_at = now
            user_session.stepped_up_at = now
            token = rotate_token(user_session)
            db.session.commit()
            return token, str(user_session.id)

    def fresh_browser(self, name: str) -> Browser:
        """A browser of its own for requests that end the session they come in."""
        browser = Browser(self.app.test_client(), self.language)
        if name != "anonymous":
            token, _ = self.session_for(name)
            with browser.client.session_transaction() as session:
                session["sid"] = token
        refresh_csrf(browser, name)
        return browser


def future_plan() -> consultation_services.Plan:
    day = (utcnow() + timedelta(days=7)).astimezone(LOCAL_TIME).date()
    return consultation_services.Plan(
        datetime.combine(day, time(10, 0), tzinfo=LOCAL_TIME), 90, "Rum 3", None
    )


def refresh_csrf(browser: Browser, persona: str) -> None:
    browser.get("/login" if persona == "anonymous" else "/account/")
    assert browser.last_csrf, persona


def _account(name: str, role: Role, org: Organisation | None) -> Account:
    secret = totp.new_secret()
    user = auth_services.create_user(name, PASSWORD, role, org, totp_secret=secret)
    return Account(user.id, name, PASSWORD, secret, role)


def _partner(slug: str, name: str, municipality: str) -> Organisation:
    org = create_organisation(slug, name, OrgKind.PARTNER)
    db.session.add(
        PartnerProfile(
            organisation_id=org.id,
            municipality=municipality,
            region="Region",
            services="housing",
            capacity=3,
            updated_at=utcnow(),
        )
    )
    return org


def build_world(app: Flask, language: str = "en") -> World:
    world = World(app, language=language)
    ids = world.ids
    with app.test_request_context():
        team = create_organisation("malmo-team", "Konsultationsteamet Malmö", OrgKind.EXIT_TEAM)
        other_team = create_organisation("annat-team", "Annat team", OrgKind.EXIT_TEAM)
        police = create_organisation("polisen", "Polisen", OrgKind.AGENCY)
        bailiffs = create_organisation("kronofogden", "Kronofogden", OrgKind.AGENCY)
        vaxjo = _partner("vaxjo", "Växjö kommun", "0780")
        lund = _partner("lund", "Lunds kommun", "1281")
        ids.update(team=str(team.id), other_team=str(other_team.id))
        ids.update(police=str(police.id), bailiffs=str(bailiffs.id))
        people = {
            "client": (Role.CLIENT, None),
            "client2": (Role.CLIENT, None),
            "client3": (Role.CLIENT, None),
            # Writes a new request and has none open (one open request at a time).
            "writer": (Role.CLIENT, None),
            "caseworker": (Role.CASEWORKER, team),
            "colleague": (Role.CASEWORKER, team),
            "glass": (Role.CASEWORKER, team),
            "spare": (Role.CASEWORKER, team),
            "team_lead": (Role.TEAM_LEAD, team),
            "worker_b": (Role.CASEWORKER, other_team),
            "agency": (Role.AGENCY_REP, police),
            "agency_b": (Role.AGENCY_REP, bailiffs),
            "partner": (Role.PARTNER, vaxjo),
            "admin": (Role.ADMIN, team),
        }
        for name, (role, org) in people.items():
            world.accounts[name] = _account(name.replace("_", "-"), role, org)
        db.session.commit()

    # Requests: the client's (it becomes the case), a spare one of the client's, another
    # client's waiting in triage, and a third client's that the other team made a case of.
    ids["request"] = world.new_request("client")
    ids["client_spare_request"] = world.new_request("client")
    ids["triage_request"] = world.new_request("client2")
    ids["other_request"] = world.new_request("client3", team="other_team")

    with app.test_request_context():
        request = world.obj(ClientRequest, "request")
        case = case_services.open_case(request, world.user("caseworker"))
        case_services.assign_case(case, world.user("spare"))
        other_request = world.obj(ClientRequest, "other_request")
        other_case = case_services.open_case(other_request, world.user("worker_b"))
        ids.update(case=str(case.id), other_case=str(other_case.id))
        deadline = intake_services.start_deadline(request, "child_investigation_decision")
        other_deadline = intake_services.start_deadline(
            other_request, "child_investigation_decision"
        )
        db.session.flush()
        ids.update(deadline=str(deadline.id), other_deadline=str(other_deadline.id))
        for which, the_case, agencies, by in (
            ("", case, [police, vaxjo], "caseworker"),
            ("other_", other_case, [bailiffs, lund], "worker_b"),
        ):
            consent = record_consent(
                the_case,
                world.user(by),
                agencies=agencies,
                purposes={Purpose.CONSULTATION, Purpose.PLACEMENT},
                method=ConsentMethod.PAPER,
                given=True,
                valid_from=date(2020, 1, 1),
                valid_until=None,
            )
            ids[f"{which}consent"] = str(consent.id)
            intervention = case_services.add_intervention(
                the_case, "support_talks", "Stödgruppen", None, None
            )
            ids[f"{which}intervention"] = str(intervention.id)
        # The client's own consent to answer: a digital proposal waiting for them.
        pending = record_consent(
            case,
            world.user("caseworker"),
            agencies=[police],
            purposes={Purpose.INFORMATION_EXCHANGE},
            method=ConsentMethod.DIGITAL,
            given=False,
            valid_from=date(2020, 1, 1),
            valid_until=None,
        )
        ids["client_consent"] = str(pending.id)
        ids["grant"] = str(
            case_services.grant_access(
                case, world.user("glass"), GrantKind.BREAK_GLASS, "Akut kris, ägaren är sjuk."
            ).id
        )
        ids["other_grant"] = str(
            case_services.grant_access(
                other_case, world.user("worker_b"), GrantKind.REVEAL_IDENTITY, "Överlämning."
            ).id
        )
        # A lowering of a level, refused by then: something to decide on and to review.
        for which, the_case, by in (("", case, "spare"), ("other_", other_case, "worker_b")):
            change = ProtectionChange(
                case_id=the_case.id,
                from_level=ProtectionLevel.PROTECTED_REGISTRATION,
                to_level=ProtectionLevel.NONE,
                status=ProtectionChangeStatus.REJECTED,
                requested_by_id=world.user(by).id,
                reason="Skyddet behövs inte längre.",
            )
            db.session.add(change)
            db.session.flush()
            ids[f"{which}protection_change"] = str(change.id)
        consultation = consultation_services.convene(
            case, world.user("caseworker"), future_plan(), [police.id], [world.user("agency").id]
        )
        other_consultation = consultation_services.convene(
            other_case, world.user("worker_b"), future_plan(), [bailiffs.id], []
        )
        ids.update(consultation=str(consultation.id), other_consultation=str(other_consultation.id))
        due = date.today() + timedelta(days=30)
        ids["action"] = str(
            consultation_services.add_action(
                consultation, police, world.user("agency"), "Kontakta klienten.", due
            ).id
        )
        ids["other_action"] = str(
            consultation_services.add_action(
                other_consultation, bailiffs, None, "Se över skulderna.", due
            ).id
        )
        needs = placement_services.Needs(1, [], "Två rum", None, due, "Ett år", None)
        for which, the_case, partner, by in (
            ("", case, vaxjo, "caseworker"),
            ("other_", other_case, lund, "worker_b"),
        ):
            placement = placement_services.create_placement(the_case, world.user(by), needs)
            placement_services.send_requests(
                placement, the_case, [partner.id], world.user(by), None
            )
            ids[f"{which}placement"] = str(placement.id)
            ids[f"{which}placement_request"] = str(placement.requests[0].id)
        _invitation, token = consultation_services.new_account_invitation(
            police,
            "ny@example.org",
            world.user("caseworker"),
            Role.AGENCY_REP,
            consultation=consultation,
        )
        ids["join_token"] = token
        # A passkey for everyone who logs in (and one of someone else's): its key is never
        # checked here, only who may remove it.
        for name in [*PERSONAS[1:], "spare"]:
            passkey = Passkey(
                user_id=world.user(name).id, credential_id=uuid.uuid4().bytes, public_key=b"-"
            )
            db.session.add(passkey)
            db.session.flush()
            ids[f"{name}_passkey"] = str(passkey.id)
        ids["foreign_passkey"] = ids.pop("spare_passkey")
        db.session.commit()
    ids["role_grant"] = world.new_role_grant()
    ids["other_role_grant"] = world.new_role_grant("other_team")

    for name in PERSONAS:
        browser = Browser(app.test_client(), language)
        if name != "anonymous":
            log_in_through_pages(world, browser, name)
            ids[f"{name}_spare_session"] = world.session_for(name)[1]
        refresh_csrf(browser, name)
        world.browsers[name] = browser
    # A client with no open request, for the request steps (one open request at a time:
    # the persona "client" has one, and is answered 409 there).
    writer = Browser(app.test_client(), language)
    log_in_through_pages(world, writer, "writer")
    refresh_csrf(writer, "writer")
    world.browsers["writer"] = writer
    ids["foreign_session"] = world.session_for("spare")[1]
    return world


def log_in_through_pages(world: World, browser: Browser, name: str) -> None:
    account = world.accounts[name]
    response = browser.post("/login", {"username": account.username, "password": PASSWORD})
    assert response.status_code == 302, response.status_code
    response = browser.post("/login/code", {"code": code_for(world.app, account)})
    assert response.status_code == 302, response.status_code
