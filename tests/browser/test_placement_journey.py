"""A relocation placement end to end, in Swedish, in a real Chromium.

The demo caseworker has a police case with the client's identity and a paper consent to a
placement with Växjö kommun. The caseworker writes a placement request and sends it to two
partner municipalities, Växjö (the demo partner) and Kalmar (made here). Kalmar declines;
Växjö accepts with an offer. Neither partner ever sees who the request is about. The
caseworker confirms Växjö's offer and hands the identity over; Växjö now sees the name and
the personal identity number and reports the move-in. Kalmar's request stays declined.

Assertions lean on structure (URLs, field names and values, element counts), not wording;
status labels are compared with the application's own catalogue. Every step is saved as a
full-page screenshot in test-output/screenshots/placement-sv/.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from datetime import date, timedelta

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_babel import force_locale, ngettext
from playwright.sync_api import BrowserContext, Locator, Page, expect

from app.auth import totp
from app.auth.models import Role
from app.auth.services import create_user, find_user
from app.cases.models import CaseSource
from app.cases.services import IdentityChange, create_case, update_identity
from app.consent.models import ConsentMethod, Purpose
from app.consent.services import record_consent
from app.core.clock import utcnow
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from app.i18n import local_date, local_list
from app.orgs.models import OrgKind
from app.orgs.services import create_organisation, get_organisation_by_slug
from app.placements.forms import SERVICE_LABELS
from app.placements.models import (
    FollowUp,
    PartnerProfile,
    Placement,
    PlacementRequest,
    PlacementStatus,
    RequestStatus,
)
from app.rules import LOCAL_TIME
from tests.browser.conftest import screenshot_folder
from tests.browser.test_client_journey import (
    DESK,
    Journey,
    next_code,
    path_of,
    submit_to,
)
from tests.browser.test_workspace_journey import LANG, STAFF, staff_login, step

pytestmark = pytest.mark.browser

TEAM_SLUG = "malmo-team"
VAXJO_SLUG = "vaxjo-kommun"
VAXJO_NAME = "Växjö kommun"
VAXJO_USER = "partner"  # the demo partner account
KALMAR_SLUG = "kalmar-kommun"
KALMAR_NAME = "Kalmar kommun"
KALMAR_USER = "kalmar-partner"

CLIENT_NAME = "Adam Testsson"
PERSONAL_NUMBER = "19811218-9876"
CLIENT_PHONE = "070-111 22 33"
CLIENT_MUNICIPALITY = "Malmö"  # where the client comes from: the team's city too
# What a partner must never see before the hand-over (the case reference is added later).
IDENTITY_FORMS = (CLIENT_NAME, PERSONAL_NUMBER, "811218", CLIENT_MUNICIPALITY)

PLACEMENT_PATH = re.compile(r"^/team/placements/([^/]+)$")
NEEDS = {
    "adults": "1",
    "children_ages": "4, 9",
    "housing_needs": "Lägenhet med tre rum, gärna nära skola.",
    "expected_duration": "Minst ett år",
}
SERVICES = ("housing", "school")
DECLINE_REASON = "Inga lediga lägenheter av rätt storlek just nu."
OFFER = {"housing_type": "Trea i flerbostadshus", "contact": "Eva Ek, socialtjänsten"}
REPORT = "Familjen har flyttat in; barnen har fått skolplats."


def set_up(app: Flask, today: date) -> tuple[str, str, str, str, str]:
    """Kalmar as a second partner with an account, and a police case for the caseworker
    with an identity and a paper consent to a placement with Växjö (Växjö only).

    Returns the case's public id and reference, the Kalmar account's TOTP secret, and the
    organisation ids of Växjö and Kalmar.
    """
    with app.app_context():
        kalmar = create_organisation(KALMAR_SLUG, KALMAR_NAME, OrgKind.PARTNER)
        db.session.add(
            PartnerProfile(
                organisation_id=kalmar.id,
                municipality="0880",  # Kalmar
                region="Kalmar län",
                services="housing",
                capacity=2,
                updated_at=utcnow(),
            )
        )
        secret = totp.new_secret()
        create_user(KALMAR_USER, DEMO_PASSWORD, Role.PARTNER, kalmar, totp_secret=secret)

        caseworker = find_user(STAFF)
        team = get_organisation_by_slug(TEAM_SLUG)
        vaxjo = get_organisation_by_slug(VAXJO_SLUG)
        assert caseworker is not None and team is not None and vaxjo is not None
        assert db.session.get(PartnerProfile, vaxjo.id) is not None  # seeded with the demo
        case = create_case(team.id, CaseSource.POLICE, CLIENT_NAME, caseworker)
        duplicates = update_identity(
            case,
            IdentityChange(
                full_name=CLIENT_NAME,
                personal_number=PERSONAL_NUMBER,
                phone=CLIENT_PHONE,
                address=None,
                municipality="1280",  # CLIENT_MUNICIPALITY's code
                adults=1,
                children_ages=[4, 9],
            ),
            caseworker,
        )
        assert duplicates.visible == [] and not duplicates.withheld
        record_consent(
            case,
            caseworker,
            agencies=[vaxjo],
            purposes={Purpose.PLACEMENT},
            method=ConsentMethod.PAPER,
            given=True,
            valid_from=today,
            valid_until=None,
        )
        db.session.commit()
        found = (str(case.id), case.reference, secret, str(vaxjo.id), str(kalmar.id))
        db.session.remove()
    return found


def label(app: Flask, lazy: object) -> str:
    """A status or stage as the partner's and the team's pages show it in Swedish."""
    with app.test_request_context(), force_locale(LANG):
        return str(lazy)


def request_statuses(app: Flask, placement_id: str) -> dict[str, RequestStatus]:
    """The status of each request of the placement, by the partner's organisation id."""
    with app.app_context():
        found = {
            str(r.partner_id): r.status
            for r in db.session.scalars(
                sa.select(PlacementRequest).where(
                    PlacementRequest.placement_id == uuid.UUID(placement_id)
                )
            )
        }
        db.session.remove()
    return found


def partner_login(
    context: BrowserContext,
    base: str,
    app: Flask,
    journey: Journey,
    who: tuple[str, str, str],
) -> Page:
    """A partner logs in with password and code and follows the start page to the inbox.

    `who` is the name for the screenshots, the username, and the account's TOTP secret.
    """
    name, username, secret = who
    page = context.new_page()
    page.goto(f"{base}/?lang={LANG}")
    page.goto(f"{base}/login")
    page.fill('main input[name="username"]', username)
    page.fill('main input[name="password"]', DEMO_PASSWORD)
    submit_to(page, "/login")
    assert path_of(page.url) == "/login/code"
    page.fill('main input[name="code"]', next_code(app, username, secret))
    submit_to(page, "/login/code")
    assert path_of(page.url) == "/start/"
    # (a count of waiting requests may link to the inbox too)
    inbox_card = page.locator('main ul.cards a[href$="/partner/"]').first
    expect(inbox_card).to_be_visible()
    # A partner has no workspace: no triage, no cases.
    expect(page.locator('main ul.cards a[href*="/team/"]')).to_have_count(0)
    step(journey, page, f"{name}-start")
    with page.expect_navigation():
        inbox_card.click()
    assert path_of(page.url) == "/partner/"
    return page


def partner_step(journey: Journey, page: Page, name: str, secrets: tuple[str, ...]) -> None:
    """A partner's page: in Swedish and free of the client's identity."""
    html = page.content()
    for secret in secrets:
        assert secret not in html, (name, page.url, secret)
    step(journey, page, name)


def inbox_rows(page: Page) -> Locator:
    return page.locator("main table tbody tr")


def open_request(
    page: Page,
    journey: Journey,
    name: str,
    secrets: tuple[str, ...],
    request_id: str,
    *,
    earlier: int = 0,
) -> None:
    """In the inbox, the request sent to this partner, beside the `earlier` ones it already
    had (Växjö has the demo's own request waiting); open it."""
    rows = inbox_rows(page)
    expect(rows).to_have_count(1 + earlier)
    link = rows.locator(f'a[href$="/partner/requests/{request_id}"]')
    expect(link).to_have_count(1)
    partner_step(journey, page, f"{name}-inbox", secrets)
    with page.expect_navigation():
        link.click()
    assert path_of(page.url) == f"/partner/requests/{request_id}", page.url


def row_of(page: Page, partner_name: str) -> Locator:
    """The row of one partner in the placement page's table of partners asked."""
    return page.locator("main table tbody tr").filter(
        has=page.locator("td:first-child", has_text=partner_name)
    )


def test_placement_journey(
    live_server: str, live_app: Flask, new_context: Callable[..., BrowserContext]
) -> None:
    base = live_server
    folder = screenshot_folder(f"placement-{LANG}", live_app)
    journey = Journey(lang=LANG, folder=folder)
    today = utcnow().astimezone(LOCAL_TIME).date()
    earliest = today + timedelta(days=14)
    move_in = today + timedelta(days=21)

    # 1. Kalmar joins as a second partner; the case has an identity and a placement consent.
    case_id, case_reference, kalmar_secret, vaxjo_id, kalmar_id = set_up(live_app, today)
    hidden = (*IDENTITY_FORMS, case_reference)
    sent, accepted, declined, confirmed = (
        label(live_app, s.label)
        for s in (
            RequestStatus.SENT,
            RequestStatus.ACCEPTED,
            RequestStatus.DECLINED,
            RequestStatus.CONFIRMED,
        )
    )
    moved_in = label(live_app, FollowUp.MOVED_IN.label)
    with live_app.test_request_context(), force_locale(LANG):
        services_asked = local_list(SERVICE_LABELS[s] for s in SERVICES)
        household = ngettext("%(num)d person", "%(num)d people", 3)  # one adult, two children
        answer_day = local_date(earliest - timedelta(days=1))

    # 2. The caseworker writes the request from the case page and sends it to both partners.
    staff = staff_login(new_context(viewport=DESK), base, live_app, journey)
    staff.goto(f"{base}/team/cases/{case_id}")
    assert path_of(staff.url) == f"/team/cases/{case_id}"
    placements = staff.locator('main section[aria-labelledby="placements"]')
    expect(placements.locator('a[href*="/team/placements/"]')).to_have_count(0)
    new_link = placements.locator(f'a[href$="/team/cases/{case_id}/placements/new"]')
    expect(new_link).to_have_count(1)
    step(journey, staff, "case", staff=True)
    with staff.expect_navigation():
        new_link.click()
    assert path_of(staff.url) == f"/team/cases/{case_id}/placements/new"
    form = staff.locator(f'main form[action$="/team/cases/{case_id}/placements/new"]')
    expect(form.locator('input[name="adults"]')).to_have_value("1")  # the default
    for name, value in NEEDS.items():
        form.locator(f'[name="{name}"]').fill(value)
    form.locator('input[name="earliest_move_on"]').fill(earliest.isoformat())
    for service in SERVICES:
        form.locator(f'input[name="services"][value="{service}"]').check()
    step(journey, staff, "placement-new", staff=True)
    submit_to(staff, f"/team/cases/{case_id}/placements/new")
    match = PLACEMENT_PATH.match(path_of(staff.url))
    assert match, staff.url
    placement_id = match.group(1)
    # The request itself names nobody: not even the case page's reference is in the needs.
    summary = staff.locator("main dl.summary")
    expect(summary.locator("dd")).to_have_count(7)  # no free text: no "more"
    expect(summary.locator("dd").nth(0)).to_have_text(NEEDS["adults"])
    expect(summary.locator("dd").nth(1)).to_have_text(re.compile(r"^4,\s*9$"))  # stored as 4,9
    expect(summary.locator("dd").nth(2)).to_have_text(NEEDS["housing_needs"])
    expect(summary.locator("dd").nth(5)).to_have_text(NEEDS["expected_duration"])
    expect(summary.locator("dd").nth(6)).to_have_text(services_asked)
    expect(staff.locator("main table")).to_have_count(0)  # nobody asked yet
    send_form = staff.locator(f'main form[action$="/team/placements/{placement_id}/send"]')
    boxes = send_form.locator('input[type="checkbox"][name="partners"]')
    expect(boxes).to_have_count(2)
    vaxjo_box = send_form.locator(f'input[name="partners"][value="{vaxjo_id}"]')
    kalmar_box = send_form.locator(f'input[name="partners"][value="{kalmar_id}"]')
    expect(vaxjo_box).to_have_count(1)
    expect(kalmar_box).to_have_count(1)
    expect(send_form.locator('[name="override_reason"]')).to_have_count(0)  # team leads only
    vaxjo_box.check()
    kalmar_box.check()
    step(journey, staff, "placement-choose", staff=True)
    submit_to(staff, f"/team/placements/{placement_id}/send")
    assert path_of(staff.url) == f"/team/placements/{placement_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(staff.locator("main table tbody tr")).to_have_count(2)
    for name in (VAXJO_NAME, KALMAR_NAME):
        expect(row_of(staff, name)).to_have_count(1)
        expect(row_of(staff, name).locator("td").nth(1)).to_have_text(sent)
    expect(staff.locator('main form[action$="/confirm"]')).to_have_count(0)  # no offer yet
    step(journey, staff, "placement-sent", staff=True)
    assert request_statuses(live_app, placement_id) == {
        vaxjo_id: RequestStatus.SENT,
        kalmar_id: RequestStatus.SENT,
    }
    with live_app.app_context():
        kalmar_request_id, vaxjo_request_id = (
            str(
                db.session.scalars(
                    sa.select(PlacementRequest.id).where(
                        PlacementRequest.placement_id == uuid.UUID(placement_id),
                        PlacementRequest.partner_id == uuid.UUID(org),
                    )
                ).one()
            )
            for org in (kalmar_id, vaxjo_id)
        )
        db.session.remove()

    # 3. Kalmar sees the request without knowing who it is about, and declines.
    kalmar = partner_login(
        new_context(viewport=DESK), base, live_app, journey, ("kalmar", KALMAR_USER, kalmar_secret)
    )
    # The inbox row says what Kalmar must decide: who comes, what they need, by when.
    cells = inbox_rows(kalmar).locator("td")
    expect(cells.nth(2)).to_contain_text(answer_day)  # the day before the move, at the latest
    expect(cells.nth(3)).to_have_text(household)
    expect(cells.nth(4)).to_have_text(services_asked)
    open_request(kalmar, journey, "kalmar", hidden, kalmar_request_id)
    expect(kalmar.locator("main dl.summary dd").nth(2)).to_have_text(NEEDS["housing_needs"])
    decline = kalmar.locator(f'main form[action$="/partner/requests/{kalmar_request_id}/decline"]')
    expect(decline).to_have_count(1)
    expect(
        kalmar.locator(f'main form[action$="/partner/requests/{kalmar_request_id}/accept"]')
    ).to_have_count(1)
    decline.locator('textarea[name="reason"]').fill(DECLINE_REASON)
    partner_step(journey, kalmar, "kalmar-request", hidden)
    submit_to(kalmar, f"/partner/requests/{kalmar_request_id}/decline")
    assert path_of(kalmar.url) == "/partner/"
    expect(kalmar.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(inbox_rows(kalmar)).to_have_count(1)
    expect(inbox_rows(kalmar).locator("td").nth(1)).to_have_text(declined)
    partner_step(journey, kalmar, "kalmar-declined", hidden)

    # 4. Växjö sees the same needs, equally anonymous, and accepts with an offer.
    vaxjo = partner_login(
        new_context(viewport=DESK),
        base,
        live_app,
        journey,
        ("vaxjo", VAXJO_USER, demo_secret(VAXJO_USER)),
    )
    open_request(vaxjo, journey, "vaxjo", hidden, vaxjo_request_id, earlier=1)
    expect(vaxjo.locator("main dl.summary dd").nth(2)).to_have_text(NEEDS["housing_needs"])
    accept = vaxjo.locator(f'main form[action$="/partner/requests/{vaxjo_request_id}/accept"]')
    for name, value in OFFER.items():
        accept.locator(f'input[name="{name}"]').fill(value)
    accept.locator('input[name="move_in_on"]').fill(move_in.isoformat())
    partner_step(journey, vaxjo, "vaxjo-request", hidden)
    submit_to(vaxjo, f"/partner/requests/{vaxjo_request_id}/accept")
    assert path_of(vaxjo.url) == f"/partner/requests/{vaxjo_request_id}"
    expect(vaxjo.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(vaxjo.locator("main form")).to_have_count(0)  # answered: nothing more to do yet
    expect(vaxjo.locator("main h2")).to_have_count(1)  # its own answer; no hand-over yet
    own_offer = vaxjo.locator("main dl.summary.offer dd")
    expect(own_offer).to_have_count(3)
    expect(own_offer.nth(0)).to_have_text(OFFER["housing_type"])
    expect(own_offer.nth(2)).to_have_text(OFFER["contact"])
    partner_step(journey, vaxjo, "vaxjo-offered", hidden)
    assert request_statuses(live_app, placement_id) == {
        vaxjo_id: RequestStatus.ACCEPTED,
        kalmar_id: RequestStatus.DECLINED,
    }

    # 5. The caseworker sees both answers, confirms Växjö's offer and hands over the identity.
    staff.reload()
    assert path_of(staff.url) == f"/team/placements/{placement_id}"
    vaxjo_row, kalmar_row = row_of(staff, VAXJO_NAME), row_of(staff, KALMAR_NAME)
    expect(vaxjo_row.locator("td").nth(1)).to_have_text(accepted)
    expect(vaxjo_row.locator("td").nth(3)).to_contain_text(OFFER["housing_type"])
    expect(kalmar_row.locator("td").nth(1)).to_have_text(declined)
    expect(kalmar_row.locator("td").nth(3)).to_have_text(DECLINE_REASON)
    confirm_action = f"/team/placements/{placement_id}/requests/{vaxjo_request_id}/confirm"
    expect(staff.locator('main form[action$="/confirm"]')).to_have_count(1)
    expect(vaxjo_row.locator(f'form[action$="{confirm_action}"]')).to_have_count(1)
    expect(kalmar_row.locator("form")).to_have_count(0)
    step(journey, staff, "placement-answered", staff=True)
    submit_to(staff, confirm_action)
    assert path_of(staff.url) == f"/team/placements/{placement_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(staff.locator('main form[action$="/confirm"]')).to_have_count(0)
    expect(
        staff.locator(f'main form[action$="/team/placements/{placement_id}/send"]')
    ).to_have_count(0)  # confirmed: no more partners to ask
    hand_over_action = f"/team/placements/{placement_id}/requests/{vaxjo_request_id}/hand-over"
    expect(staff.locator('main form[action$="/hand-over"]')).to_have_count(1)
    expect(vaxjo_row.locator(f'form[action$="{hand_over_action}"]')).to_have_count(1)
    expect(vaxjo_row.locator("td").nth(1)).to_contain_text(confirmed)
    expect(kalmar_row.locator("td").nth(1)).to_have_text(declined)
    step(journey, staff, "placement-confirmed", staff=True)
    submit_to(staff, hand_over_action)
    assert path_of(staff.url) == f"/team/placements/{placement_id}"
    expect(staff.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(staff.locator("main .notice-error")).to_have_count(0)
    # Handed over: what is left is to hand over the current details again (a new disclosure).
    expect(staff.locator("main form")).to_have_count(1)
    expect(vaxjo_row.locator(f'form[action$="{hand_over_action}"]')).to_have_count(1)
    step(journey, staff, "placement-handed-over", staff=True)
    with live_app.app_context():
        placement = db.session.get(Placement, uuid.UUID(placement_id))
        assert placement is not None and placement.status is PlacementStatus.CONFIRMED
        chosen = db.session.get(PlacementRequest, uuid.UUID(vaxjo_request_id))
        assert chosen is not None and chosen.handed_over_at is not None
        db.session.remove()

    # 6. Växjö now knows who is coming, and reports the move-in.
    vaxjo.reload()
    assert path_of(vaxjo.url) == f"/partner/requests/{vaxjo_request_id}"
    handover = vaxjo.locator("main dl.summary:not(.offer)").nth(1)
    expect(handover.locator("dd")).to_have_count(3)  # name, number, phone: not protected
    expect(handover.locator("dd").nth(0)).to_have_text(CLIENT_NAME)
    expect(handover.locator("dd").nth(1)).to_have_text(PERSONAL_NUMBER)
    expect(handover.locator("dd").nth(2)).to_have_text(CLIENT_PHONE)
    assert case_reference not in vaxjo.content()  # the team's reference stays with the team
    follow_up = vaxjo.locator(
        f'main form[action$="/partner/requests/{vaxjo_request_id}/follow-up"]'
    )
    expect(vaxjo.locator("main form")).to_have_count(1)
    stage = follow_up.locator('select[name="stage"]')
    expect(stage).to_have_value(FollowUp.PLANNED.value)
    stage.select_option(FollowUp.MOVED_IN.value)
    follow_up.locator('textarea[name="report"]').fill(REPORT)
    step(journey, vaxjo, "vaxjo-handed-over")
    submit_to(vaxjo, f"/partner/requests/{vaxjo_request_id}/follow-up")
    assert path_of(vaxjo.url) == f"/partner/requests/{vaxjo_request_id}"
    expect(vaxjo.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(stage).to_have_value(FollowUp.MOVED_IN.value)
    step(journey, vaxjo, "vaxjo-moved-in")
    with live_app.app_context():
        chosen = db.session.get(PlacementRequest, uuid.UUID(vaxjo_request_id))
        assert chosen is not None
        assert chosen.follow_up is FollowUp.MOVED_IN and chosen.report == REPORT
        db.session.remove()

    # The team sees the stage the partner reported.
    staff.reload()
    assert path_of(staff.url) == f"/team/placements/{placement_id}"
    expect(vaxjo_row.locator("td").nth(1)).to_contain_text(f"{confirmed} – {moved_in}")
    expect(vaxjo_row.locator("td").nth(1).locator("p")).to_have_count(1)  # the partner's report
    expect(kalmar_row.locator("td").nth(1)).to_have_text(declined)
    step(journey, staff, "placement-moved-in", staff=True)

    # 7. Kalmar's request stays declined: no offer, nothing to confirm or follow up.
    kalmar.reload()
    assert path_of(kalmar.url) == "/partner/"
    expect(inbox_rows(kalmar)).to_have_count(1)
    expect(inbox_rows(kalmar).locator("td").nth(1)).to_have_text(declined)
    partner_step(journey, kalmar, "kalmar-inbox-after", hidden)
    with kalmar.expect_navigation():
        inbox_rows(kalmar).locator(f'a[href$="/partner/requests/{kalmar_request_id}"]').click()
    assert path_of(kalmar.url) == f"/partner/requests/{kalmar_request_id}"
    expect(kalmar.locator("main form")).to_have_count(0)
    expect(kalmar.locator("main dl.summary")).to_have_count(2)  # the needs, its answer
    expect(kalmar.locator("main dl.summary.offer dd")).to_have_text(DECLINE_REASON)
    partner_step(journey, kalmar, "kalmar-request-after", hidden)
    assert request_statuses(live_app, placement_id) == {
        vaxjo_id: RequestStatus.CONFIRMED,
        kalmar_id: RequestStatus.DECLINED,
    }

    assert [p.name for p in journey.shots] == sorted(p.name for p in folder.glob("*.png"))
