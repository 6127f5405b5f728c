"""The demo data gives the police representative and the partner municipality today's work,
and what each of them sees of it is what a real one would: only what they need to know."""

from __future__ import annotations

import re
import uuid

import pytest
import sqlalchemy as sa
from flask import Flask

from app.auth.models import Role, User
from app.cases.models import Case
from app.consent.models import Disclosure
from app.consultations.models import Action, ActionStatus, Consultation, ConsultationStatus
from app.core.outbox import OutboxMessage
from app.demo import DEMO_PASSWORD, demo_secret, seed_demo
from app.demo_today import (
    DEMO_ADDRESS,
    DEMO_HOUSING_NEEDS,
    DEMO_NAME,
    DEMO_NEEDS,
    DEMO_PHONE,
    DEMO_POLICE_ACTION,
    DEMO_THREAT_SOURCES,
)
from app.extensions import db
from app.orgs.models import Organisation
from app.placements.models import PlacementRequest, RequestStatus
from tests.conftest import Account


@pytest.fixture
def demo(app: Flask) -> Case:
    """Given the demo data seeded as `flask demo seed` seeds it."""
    with app.app_context():
        assert seed_demo() > 0
        db.session.commit()
        case = db.session.scalars(
            sa.select(Case)
            .join(Consultation)
            .where(Consultation.status == ConsultationStatus.PLANNED)
        ).one()
        db.session.expunge(case)
        return case


def demo_account(app: Flask, username: str, role: Role) -> Account:
    with app.app_context():
        user_id = db.session.scalar(sa.select(User.id).where(User.username == username))
    return Account(user_id, username, DEMO_PASSWORD, demo_secret(username), role)


def first_link(html: str, pattern: str) -> str:
    found = re.findall(rf'href="({pattern}/[0-9a-f-]{{36}})"', html)
    assert found, f"no link like {pattern} on the page"
    return found[0]


# What the case holds and neither the police nor the partner is given.
IDENTITY = (DEMO_NAME, DEMO_PHONE, DEMO_ADDRESS)


def test_the_police_representative_finds_the_consultation_and_sees_what_consent_shares(
    app, demo, browser, log_in
):
    """Given the demo, when `polis` opens their consultations, the upcoming one is listed
    and opens; it shows the threat level, the needs and the police's action, which consent
    to consult covers; never the name, phone or address (no consent to share identity),
    nor the team's notes on who threatens the person."""
    log_in(browser, demo_account(app, "polis", Role.AGENCY_REP))
    listing = browser.get("/agency/")
    assert listing.status_code == 200
    link = first_link(listing.get_data(as_text=True), "/agency/consultations")
    with app.app_context():
        consultation = db.session.get(Consultation, uuid.UUID(link.rsplit("/", 1)[1]))
        assert consultation is not None and consultation.case_id == demo.id
    page = browser.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert demo.reference in html
    assert "High" in html  # the threat level
    for text in DEMO_NEEDS.values():
        assert text in html
    assert DEMO_POLICE_ACTION in html
    assert "Identity is not shared with your agency." in html
    for secret in (*IDENTITY, DEMO_THREAT_SOURCES, "Nordligan", DEMO_HOUSING_NEEDS):
        assert secret not in html


def test_the_partner_finds_the_request_and_sees_no_one_in_it(app, demo, browser, log_in):
    """Given the demo, when `partner` (Växjö) opens its inbox, the request waiting for its
    answer is listed and opens with the household and the services asked for; nothing
    says who the person is, which case it is, or what the team knows of them."""
    log_in(browser, demo_account(app, "partner", Role.PARTNER))
    inbox = browser.get("/partner/")
    assert inbox.status_code == 200
    inbox_html = inbox.get_data(as_text=True)
    assert "2 people" in inbox_html
    link = first_link(inbox_html, "/partner/requests")
    page = browser.get(link)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Waiting for an answer" in html
    assert DEMO_HOUSING_NEEDS in html
    assert "Send offer" in html
    for secret in (
        *IDENTITY,
        demo.reference,
        DEMO_THREAT_SOURCES,
        "Nordligan",
        *DEMO_NEEDS.values(),
        DEMO_POLICE_ACTION,
    ):
        assert secret not in html and secret not in inbox_html


def test_the_demo_work_is_made_by_the_services_and_seeded_once(app, demo):
    """The consultation's snapshot went to the invited agencies as a recorded disclosure
    (no identity), the request waits for the partner before the move, the police own an
    open action; a second seeding adds nothing."""
    with app.app_context():
        police = db.session.scalar(
            sa.select(Organisation).where(Organisation.slug == "polisen-syd")
        )
        assert police is not None
        disclosed = db.session.scalars(
            sa.select(Disclosure).where(
                Disclosure.case_id == demo.id, Disclosure.recipient_id == police.id
            )
        ).all()
        assert [d.purpose for d in disclosed] == ["consultation"]
        assert "full_name" not in disclosed[0].field_names
        request = db.session.scalars(
            sa.select(PlacementRequest)
            .join(PlacementRequest.partner)
            .where(Organisation.slug == "vaxjo-kommun")
        ).one()
        assert request.shown_status is RequestStatus.SENT
        assert request.respond_by.date() < request.placement.earliest_move_on
        action = db.session.scalars(sa.select(Action).where(Action.case_id == demo.id)).one()
        assert action.owner_organisation_id == police.id and action.status is ActionStatus.OPEN

        work = (
            sa.select(sa.func.count(Consultation.id)).where(
                Consultation.status == ConsultationStatus.PLANNED
            ),
            sa.select(sa.func.count(PlacementRequest.id)).where(
                PlacementRequest.status == RequestStatus.SENT
            ),
        )
        assert [db.session.scalar(count) for count in work] == [1, 1]

        assert seed_demo() == 0
        db.session.commit()
        assert [db.session.scalar(count) for count in work] == [1, 1]


def test_the_demo_s_mail_and_calendar_files_name_no_one(app, demo):
    """Where the demo's work goes next: the invitation mail and its calendar file to the
    agencies, and the notices. None of them carries the person's identity, the case's
    needs or the team's notes on the threat."""
    with app.app_context():
        queued = db.session.scalars(sa.select(OutboxMessage)).all()
        assert any(message.calendar for message in queued)  # the invitation went out
        for message in queued:
            sent = " ".join((message.subject, message.body, message.calendar or ""))
            for secret in (*IDENTITY, DEMO_THREAT_SOURCES, "Nordligan", *DEMO_NEEDS.values()):
                assert secret not in sent, (message.recipient, secret)
