"""The caseworker's workspace end to end, in Swedish, in a real Chromium.

A client registers on a phone and asks for help to leave a gang. The demo caseworker
triages the request at a desk, logs a contact attempt and opens a case; records identity,
a threat assessment, a needs assessment and a digital consent. The client confirms the
consent with a fresh code from their own phone. The caseworker then adds an intervention,
moves the case on and closes it; the client's status page shows the last step as current.

Assertions lean on structure (URLs, field names and values, element counts, aria
attributes), not wording. The client's personal identity number may only ever appear on
the case page of the assigned caseworker, never in the triage queue or the case list.
Every step is saved as a full-page screenshot in test-output/screenshots/workspace-sv/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from app.cases.models import Case, CaseOutcome, CaseStatus
from app.consent.models import Consent
from app.core.clock import utcnow
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation, get_organisation_by_slug
from app.rules import LOCAL_TIME
from tests.browser.conftest import screenshot_folder
from tests.browser.test_client_journey import (
    DESK,
    PHONE,
    Journey,
    next_code,
    path_of,
    register,
    send_request,
    submit_to,
)

pytestmark = pytest.mark.browser

LANG = "sv"
STAFF = "handlaggare"
AGENCY_SLUG = "polisen-syd"
# The case file: its overview, or the page of one of its parts.
CASE_PATH = re.compile(r"^/team/cases/([^/]+)(?:/[a-z]+)?$")
CASE_REFERENCE = re.compile(r"^K-\d{4}-\d{6}$")

# A valid personnummer (the check digit holds); the case page shows it as YYYYMMDD-NNNN.
PERSONAL_NUMBER = "19811218-9876"
# Every way the number could be written out, so none of them slips through unnoticed.
PERSONAL_NUMBER_FORMS = ("19811218-9876", "198112189876", "811218-9876", "8112189876")
IDENTITY = {
    "full_name": "Alex Testsson",
    "personal_number": PERSONAL_NUMBER,
    "phone": "070-987 65 43",
    "adults": "2",
    "children_ages": "4, 9",
}
# Chosen from Sweden's list of municipalities (a select, stored as the code).
MUNICIPALITY = ("1280", "Malmö")
AREAS_TO_AVOID = ["Malmö", "Lund"]
NEEDS = {
    "housing": "Behöver en skyddad bostad utanför Skåne.",
    "debt": "Skulder hos Kronofogden, cirka 40 000 kr.",
}
PROVIDER = "Föreningen Nytt Liv"


def ensure_agency(app: Flask) -> str:
    """The public id of an agency a consent can name; created only if the seed lacks it."""
    with app.app_context():
        agency = get_organisation_by_slug(AGENCY_SLUG)
        if agency is None:
            agency = create_organisation(AGENCY_SLUG, "Polisen Region Syd", OrgKind.AGENCY)
            db.session.commit()
        agency_id = str(agency.id)
        db.session.remove()
    return agency_id


def step(journey: Journey, page: Page, name: str, *, staff: bool = False) -> None:
    """Every page speaks Swedish; staff pages must never show the personal identity number
    unless they are the case page itself."""
    assert page.locator("html").get_attribute("lang") == LANG, (name, page.url)
    if staff and not CASE_PATH.match(path_of(page.url)):
        assert_no_personal_number(page, name)
    journey.step(page, name, client=not staff)


def assert_no_personal_number(page: Page, name: str) -> None:
    html = page.content()
    for form in PERSONAL_NUMBER_FORMS:
        assert form not in html, (name, page.url, form)


def staff_login(context: BrowserContext, base: str, app: Flask, journey: Journey) -> Page:
    page = context.new_page()
    page.goto(f"{base}/?lang={LANG}")
    page.goto(f"{base}/login")
    page.fill('main input[name="username"]', STAFF)
    page.fill('main input[name="password"]', DEMO_PASSWORD)
    submit_to(page, "/login")
    assert path_of(page.url) == "/login/code"
    page.fill('main input[name="code"]', next_code(app, STAFF, demo_secret(STAFF)))
    submit_to(page, "/login/code")
    assert path_of(page.url) == "/start/"
    # The start page leads to the workspace: triage and the case list.
    # (a count of today's work may link to the same list again)
    expect(page.locator('main ul.cards a[href$="/team/triage"]').first).to_be_visible()
    expect(page.locator('main ul.cards a[href$="/team/cases"]').first).to_be_visible()
    step(journey, page, "staff-start", staff=True)
    return page


def open_part(page: Page, case_id: str, section: str, slug: str) -> None:
    """From a section of the case file's overview, which only reads, to the page where that
    part is worked on; the parts' navigation says which page this is."""
    assert path_of(page.url) == f"/team/cases/{case_id}"
    link = page.locator(f'main section[aria-labelledby="{section}"] .part-link a')
    expect(link).to_have_count(1)
    with page.expect_navigation():
        link.click()
    assert path_of(page.url) == f"/team/cases/{case_id}/{slug}"
    current = page.locator('main nav.case-parts a[aria-current="page"]')
    expect(current).to_have_attribute("href", f"/team/cases/{case_id}/{slug}")


def case_form(case_id: str, action: str) -> str:
    return f'main form[action$="/team/cases/{case_id}/{action}"]'


def test_workspace_journey(
    live_server: str, live_app: Flask, new_context: Callable[..., BrowserContext]
) -> None:
    base = live_server
    folder = screenshot_folder(f"workspace-{LANG}", live_app)
    journey = Journey(lang=LANG, folder=folder)
    agency_id = ensure_agency(live_app)
    today = utcnow().astimezone(LOCAL_TIME).date()

    # 1. The client registers, enrols a second factor and asks for help to leave.
    client = new_context(viewport=PHONE).new_page()
    username, secret = register(client, base, journey)
    request_id, reference = send_request(journey, client, "defector", 0)

    # 2. The caseworker finds the request in triage, logs a call, and opens a case.
    staff = staff_login(new_context(viewport=DESK), base, live_app, journey)
    with staff.expect_navigation():
        staff.locator('main ul.cards a[href$="/team/triage"]').first.click()
    assert path_of(staff.url) == "/team/triage"
    link = staff.locator(f'main table a[href$="/team/triage/{request_id}"]')
    expect(link).to_have_count(1)
    expect(link).to_have_text(reference)
    step(journey, staff, "triage", staff=True)

    with staff.expect_navigation():
        link.click()
    assert path_of(staff.url) == f"/team/triage/{request_id}"
    contact = staff.locator(f'main form[action$="/team/triage/{request_id}/contact"]')
    attempts = contact.locator("xpath=preceding-sibling::ul[1]/li")
    expect(attempts).to_have_count(0)
    contact.locator('select[name="channel"]').select_option("phone")
    contact.locator('select[name="outcome"]').select_option("reached")
    step(journey, staff, "triage-request", staff=True)
    submit_to(staff, f"/team/triage/{request_id}/contact")
    assert path_of(staff.url) == f"/team/triage/{request_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(attempts).to_have_count(1)
    step(journey, staff, "contact-logged", staff=True)

    submit_to(staff, f"/team/triage/{request_id}/open-case")
    match = CASE_PATH.match(path_of(staff.url))
    assert match, staff.url
    case_id = match.group(1)
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    with live_app.app_context():
        opened = db.session.get(Case, uuid.UUID(case_id))
        assert opened is not None
        case_reference = opened.reference
        assert [a.user.username for a in opened.assignments] == [STAFF]
        db.session.remove()
    assert CASE_REFERENCE.fullmatch(case_reference), case_reference
    assert staff.title().startswith(case_reference)
    # The overview only reads: no form on it.
    expect(staff.locator('main form[method="post"]')).to_have_count(0)
    step(journey, staff, "case-opened", staff=True)

    # 3a. Identity and household. The request's contact details come along; the name was
    # left out by the client.
    open_part(staff, case_id, "identity", "identity")
    expect(staff.locator('main input[name="phone"]')).to_have_value("070-123 45 67")
    expect(staff.locator('main input[name="personal_number"]')).to_have_value("")
    step(journey, staff, "identity-form", staff=True)
    identity = staff.locator(case_form(case_id, "identity"))
    for name, value in IDENTITY.items():
        identity.locator(f'input[name="{name}"]').fill(value)
    identity.locator('select[name="municipality"]').select_option(MUNICIPALITY[0])
    submit_to(staff, f"/team/cases/{case_id}/identity")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    expect(staff.locator("main .notice-warning")).to_have_count(0)  # no duplicate number
    shown = staff.locator('main section[aria-labelledby="identity"] dl')
    for name in ("full_name", "personal_number", "phone"):
        expect(shown).to_contain_text(IDENTITY[name])
    expect(shown).to_contain_text(MUNICIPALITY[1])
    expect(shown).to_contain_text("2 vuxna, barn i åldern 4, 9")
    step(journey, staff, "identity-saved", staff=True)
    open_part(staff, case_id, "identity", "identity")
    for name, value in IDENTITY.items():
        expect(identity.locator(f'input[name="{name}"]')).to_have_value(value)
    expect(identity.locator('select[name="municipality"]')).to_have_value(MUNICIPALITY[0])
    expect(identity.locator('[aria-invalid="true"]')).to_have_count(0)

    # The number is on the case page only: neither the triage queue nor the case list.
    staff.goto(f"{base}/team/triage")
    expect(staff.locator(f'main a[href$="/team/triage/{request_id}"]')).to_have_count(0)
    step(journey, staff, "triage-after-case", staff=True)
    staff.goto(f"{base}/team/cases")
    row = staff.locator("main table tbody tr").filter(
        has=staff.locator(f'a[href$="/team/cases/{case_id}"]')
    )
    expect(row).to_have_count(1)
    expect(row.locator("a")).to_have_text(case_reference)
    step(journey, staff, "case-list", staff=True)
    staff.goto(f"{base}/team/cases?reference={case_reference}")
    expect(staff.locator("main table tbody tr")).to_have_count(1)
    step(journey, staff, "case-list-filtered", staff=True)
    with staff.expect_navigation():
        staff.locator(f'main table a[href$="/team/cases/{case_id}"]').click()
    assert path_of(staff.url) == f"/team/cases/{case_id}"

    # 3b. A threat assessment, on the page of its own.
    open_part(staff, case_id, "threat", "threat")
    threat = staff.locator(case_form(case_id, "threat"))
    expect(threat.locator('input[type="radio"][name="level"]')).to_have_count(4)
    threat.locator('input[name="level"][value="high"]').check()
    threat.locator('input[name="by_police"][value="yes"]').check()
    threat.locator('input[name="assessed_on"]').fill(today.isoformat())
    threat.locator('select[name="areas_to_avoid"]').select_option(label=AREAS_TO_AVOID)
    next_review = today + timedelta(days=90)
    threat.locator('input[name="next_review_on"]').fill(next_review.isoformat())
    step(journey, staff, "threat-form", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/threat")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    threat_section = staff.locator('main section[aria-labelledby="threat"]')
    expect(threat_section.locator("p strong")).to_have_count(1)  # the level
    # (a list as Swedish writes one)
    expect(threat_section.get_by_text("Malmö och Lund")).to_have_count(1)
    step(journey, staff, "threat-saved", staff=True)

    # 3c. A needs assessment.
    open_part(staff, case_id, "needs", "needs")
    needs = staff.locator(case_form(case_id, "needs"))
    expect(needs.locator("textarea")).to_have_count(8)
    for name, text in NEEDS.items():
        needs.locator(f'textarea[name="{name}"]').fill(text)
    submit_to(staff, f"/team/cases/{case_id}/needs")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    step(journey, staff, "needs-saved", staff=True)

    # 3d. A digital consent: the client answers it in their portal.
    open_part(staff, case_id, "consent", "consents")
    consent = staff.locator(case_form(case_id, "consents"))
    agency_box = consent.locator(f'input[type="checkbox"][name="agencies"][value="{agency_id}"]')
    expect(agency_box).to_have_count(1)
    agency_box.check()
    consent.locator('input[name="purposes"][value="consultation"]').check()
    consent.locator('input[name="method"][value="digital"]').check()
    consent.locator('input[name="valid_from"]').fill(today.isoformat())
    step(journey, staff, "consent-form", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/consents")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    consents = staff.locator('main section[aria-labelledby="consent"] table tbody tr')
    expect(consents).to_have_count(1)
    withdraw = consents.locator('form[action*="/consents/"][action$="/withdraw"]')
    step(journey, staff, "consent-proposed", staff=True)
    open_part(staff, case_id, "consent", "consents")
    expect(consents).to_have_count(1)
    expect(withdraw).to_have_count(0)  # nothing to withdraw before the client says yes
    with live_app.app_context():
        proposed = db.session.scalars(
            sa.select(Consent).where(Consent.case_id == uuid.UUID(case_id))
        ).one()
        consent_id = str(proposed.id)
        assert proposed.given is None
        db.session.remove()

    # 4. The client confirms the consent with a fresh code, on their phone.
    client.goto(f"{base}/my/")
    assert path_of(client.url) == "/my/"
    answer_link = client.locator(f'main .notice-warning a[href$="/my/consents/{consent_id}"]')
    expect(answer_link).to_have_count(1)
    step(journey, client, "client-consent-waiting")
    with client.expect_navigation():
        answer_link.click()
    assert path_of(client.url) == f"/my/consents/{consent_id}"
    expect(client.locator("main ul").first.locator("li")).to_have_count(1)  # one agency
    expect(client.locator('main input[type="radio"][name="answer"]')).to_have_count(2)
    client.check('main input[name="answer"][value="yes"]')
    client.fill('main input[name="code"]', next_code(live_app, username, secret))
    step(journey, client, "client-consent-answer")
    submit_to(client, f"/my/consents/{consent_id}")
    assert path_of(client.url) == "/my/"
    expect(client.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(client.locator(f'main a[href$="/my/consents/{consent_id}"]')).to_have_count(1)
    expect(client.locator("main .notice-warning")).to_have_count(0)  # nothing waits now
    step(journey, client, "client-consent-given")

    # 5. The caseworker sees the consent given, adds an intervention, and closes the case.
    staff.reload()
    assert path_of(staff.url) == f"/team/cases/{case_id}/consents"
    expect(consents).to_have_count(1)
    expect(withdraw).to_have_count(1)  # given, so it can be withdrawn
    expect(withdraw).to_have_attribute("action", re.compile(f"/consents/{consent_id}/withdraw$"))
    step(journey, staff, "consent-given", staff=True)

    staff.goto(f"{base}/team/cases/{case_id}")
    open_part(staff, case_id, "interventions", "interventions")
    intervention = staff.locator(case_form(case_id, "interventions"))
    intervention.locator('select[name="kind"]').select_option("support_talks")
    intervention.locator('input[name="provider"]').fill(PROVIDER)
    submit_to(staff, f"/team/cases/{case_id}/interventions")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    expect(staff.locator('main section[aria-labelledby="interventions"]')).to_contain_text(PROVIDER)
    open_part(staff, case_id, "interventions", "interventions")
    added = staff.locator(f'main form.intervention[action*="/team/cases/{case_id}/interventions/"]')
    expect(added).to_have_count(1)
    expect(added.locator('select[name="status"]')).to_have_value("planned")
    step(journey, staff, "intervention-added", staff=True)

    # Status and closing: from the parts' navigation.
    with staff.expect_navigation():
        staff.locator(f'main nav.case-parts a[href$="/team/cases/{case_id}/status"]').click()
    status = staff.locator(case_form(case_id, "status"))
    expect(status.locator('select[name="status"]')).to_have_value("new")
    status.locator('select[name="status"]').select_option("intervention")
    submit_to(staff, f"/team/cases/{case_id}/status")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    step(journey, staff, "status-changed", staff=True)
    staff.goto(f"{base}/team/cases/{case_id}/status")
    expect(status.locator('select[name="status"]')).to_have_value("intervention")

    close = staff.locator(case_form(case_id, "close"))
    expect(close.locator('input[type="radio"][name="outcome"]')).to_have_count(4)
    close.locator('input[name="outcome"][value="established"]').check()
    step(journey, staff, "closing", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/close")
    step(journey, staff, "closing-confirm", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/close")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    expect(staff.locator("main .notice-success")).to_have_count(1)
    # Closed: no status or close form, no new assessments, consents or interventions.
    expect(staff.locator(case_form(case_id, "status"))).to_have_count(0)
    expect(staff.locator(case_form(case_id, "close"))).to_have_count(0)
    # Only the journal still takes a note.
    expect(staff.locator("main section .part-link a")).to_have_count(1)
    expect(staff.locator("main section .part-link a")).to_have_attribute(
        "href", f"/team/cases/{case_id}/journal"
    )
    # The story so far: opened, contact attempt, threat, needs, consent proposed and
    # answered, intervention, status change, closing.
    timeline = staff.locator('main section[aria-labelledby="timeline"] ol.thread li')
    expect(timeline).to_have_count(9)
    expect(timeline.locator("p.meta")).to_have_count(9)
    step(journey, staff, "case-closed", staff=True)
    with live_app.app_context():
        closed = db.session.get(Case, uuid.UUID(case_id))
        assert closed is not None
        assert closed.status is CaseStatus.CLOSED
        assert closed.outcome is CaseOutcome.ESTABLISHED
        assert closed.personal_number == PERSONAL_NUMBER
        db.session.remove()

    staff.goto(f"{base}/team/cases?status=closed")
    expect(staff.locator(f'main table a[href$="/team/cases/{case_id}"]')).to_have_count(1)
    step(journey, staff, "case-list-closed", staff=True)

    # 6. The client's status page shows the last step, closed, as the current one.
    client.goto(f"{base}/my/requests/{request_id}")
    assert path_of(client.url) == f"/my/requests/{request_id}"
    steps = client.locator("main ol.timeline li")
    expect(steps).to_have_count(4)
    expect(client.locator('main ol.timeline li[aria-current="step"]')).to_have_count(1)
    expect(steps.nth(3)).to_have_attribute("aria-current", "step")
    expect(client.locator("main ol.timeline li.todo")).to_have_count(0)
    # A closed request takes no more additions and cannot be withdrawn.
    expect(client.locator('main form[action$="/add"]')).to_have_count(0)
    expect(client.locator('main a[href$="/withdraw"]')).to_have_count(0)
    step(journey, client, "client-request-closed")
    with live_app.app_context():
        request = db.session.get(ClientRequest, uuid.UUID(request_id))
        assert request is not None and request.status is RequestStatus.CLOSED
        db.session.remove()

    assert [p.name for p in journey.shots] == sorted(p.name for p in folder.glob("*.png"))
