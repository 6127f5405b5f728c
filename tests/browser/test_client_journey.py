"""A client's whole journey in a real Chromium on a small phone, in three languages.

Register, enrol a second factor, send one request of each kind, write to the team, read the
team's answer, download the data, leave with quick exit, log in again with the second
factor, and delete the account. Somali and Arabic run without JavaScript and enrol codes
from an authenticator app; Persian runs with JavaScript and signs up with a passkey alone
(Chromium's virtual authenticator standing in for the phone's screen lock), as a relative
without an authenticator app would. Arabic and Persian must be mirrored (right to left) on
every page.

Assertions lean on structure (URLs, ids, field names and values, element counts, lang and
dir) rather than wording, because the catalogues are being translated in parallel. Every
step is checked for horizontal scrolling at 360 px and saved as a full-page screenshot in
test-output/screenshots/journey-<lang>/.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
from flask import Flask
from playwright.sync_api import BrowserContext, Page, expect

from app.auth import totp
from app.auth.models import UserSession
from app.auth.services import find_user
from app.core.clock import utcnow
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from app.intake.models import ClientRequest, RequestStatus
from tests.browser.conftest import screenshot_folder
from tests.browser.test_passkeys import Phone, contexts, localhost_server  # noqa: F401
from tests.browser.test_quick_exit import (
    quick_exit_target,
    serve_neutral_site,
    wait_for_quick_exit,
)
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = PROJECT_ROOT / "test-output" / "screenshots"
PHONE = {"width": 360, "height": 740}
# Staff work at their desks; the inbox's five-column table is not made for a phone.
DESK = {"width": 1280, "height": 800}
STAFF = "handlaggare"
REQUEST_PATH = re.compile(r"^/my/requests/([^/]+)$")
REFERENCE = re.compile(r"^U-[A-Z0-9]{4}-[A-Z0-9]{4}$")
# How far the start (or, right to left, the end) of a text may sit from the content edge.
EDGE_TOLERANCE_PX = 2.0

# One request of each kind; the values are the forms' option values, never their labels.
REQUESTS: dict[str, dict[str, Any]] = {
    "defector": {
        "help_wanted": ["support_talks", "employment"],
        "urgency": "soon",
        "phone": "070-123 45 67",
        "safe_times": ["weekday_evening"],
        "voicemail_ok": "no",
        "sms_ok": "yes",
        "code_word": "blåbär",
        "interpreter": "no",
        "name": "",
        "birth_year": "1999",
        "story": "Jag vill komma bort från gänget innan det är för sent.",
    },
    "relative": {
        "relationship": "parent",
        "age_band": "15_17",
        "help_wanted": ["family_support", "unsure"],
        "urgency": "can_wait",
        "phone": "",
        "safe_times": [],
        "voicemail_ok": "no",
        "sms_ok": "no",
        "code_word": "",
        "interpreter": "yes",
        "name": "",
        "birth_year": "",
        "story": "Min son har börjat umgås med äldre killar.",
    },
    "threatened": {
        "help_wanted": ["protection", "relocation"],
        "urgency": "acute",
        "phone": "",
        "safe_times": ["weekday_morning", "weekend"],
        "voicemail_ok": "no",
        "sms_ok": "yes",
        "code_word": "",
        "interpreter": "no",
        "name": "Sam",
        "birth_year": "",
        "story": "",
    },
}
# How many answers each request's review shows: the questions about calls only with a phone
# (language, phone, safe times, voice message, text message, code word, interpreter).
REVIEW_ANSWERS = {"defector": 13, "relative": 10, "threatened": 8}
CLIENT_MESSAGE = "Hej! Kan ni ringa på tisdag kväll? (test 1)"
TEAM_REPLY = "Hej, vi ringer tisdag kl. 18. Ordet är blåbär. (test 2)"


def path_of(url: str) -> str:
    return urlsplit(url).path


def steps_for(kind: str) -> list[str]:
    steps = ["kind", "help", "contact", "identity", "story"]
    if kind == "relative":
        steps.insert(1, "person")
    return steps


def submit(page: Page, form: str = "main form") -> None:
    """Press the form's forward submit button (never "back") and wait for the next page."""
    with page.expect_navigation():
        page.locator(f'{form} button[type="submit"]:not([name="back"])').click()


def submit_to(page: Page, action: str) -> None:
    submit(page, f'main form[action$="{action}"]')


def next_code(app: Flask, username: str, secret: str) -> str:
    """A code the server accepts: for a LATER step than the last one this account used."""
    with app.app_context():
        user = find_user(username)
        assert user is not None
        last_step = user.totp_last_step
        db.session.remove()
    # The server takes a code at most one step ahead of its clock: after codes used in
    # quick succession (registration, a new login, a step-up), wait for the clock to catch up.
    while last_step is not None and totp.current_step() < last_step:
        time.sleep(0.5)
    step = totp.current_step()
    if last_step is not None and step <= last_step:
        step = last_step + 1
    return pyotp.TOTP(secret).generate_otp(step)


def team_closes(app: Flask, request_id: str) -> None:
    with app.app_context():
        db.session.execute(
            sa.update(ClientRequest)
            .where(ClientRequest.id == uuid.UUID(request_id))
            .values(status=RequestStatus.CLOSED)
        )
        db.session.commit()
        db.session.remove()


def let_step_up_expire(app: Flask, username: str) -> None:
    """Move the login's own proof six minutes back, as if the client had been reading."""
    with app.app_context():
        user = find_user(username)
        assert user is not None
        db.session.execute(
            sa.update(UserSession)
            .where(UserSession.user_id == user.id)
            .values(stepped_up_at=utcnow() - timedelta(minutes=6))
        )
        db.session.commit()
        db.session.remove()


# Everything one step checks, read in one round trip: the document's width, language and
# direction, and where the texts of `selectors` start and end, measured on their glyphs (a
# block's own box is always full width), next to the content edges of <main>.
PAGE_FACTS_JS = """
(selectors) => {
  const root = document.documentElement;
  const main = document.querySelector("main");
  const box = main.getBoundingClientRect();
  const style = getComputedStyle(main);
  const text = (selector) => {
    const element = document.querySelector(selector);
    if (!element) return null;
    const range = document.createRange();
    range.selectNodeContents(element);
    const edges = range.getBoundingClientRect();
    const direction = getComputedStyle(element).direction;
    return {selector, direction, left: edges.left, right: edges.right};
  };
  return {
    scrollWidth: root.scrollWidth,
    innerWidth: window.innerWidth,
    viewport: root.clientWidth,
    lang: root.getAttribute("lang"),
    dir: root.getAttribute("dir"),
    contentLeft: box.left + parseFloat(style.paddingLeft),
    contentRight: box.right - parseFloat(style.paddingRight),
    texts: selectors.map(text),
  };
}
"""
HEADING = "main h1"
# The first visible question on the page, if any (the honeypot's label is off-screen).
FIRST_QUESTION = "main form .field > label, main form fieldset.choices > legend"


@dataclass
class Journey:
    """The order of the steps, the checks every page gets, and the screenshots."""

    lang: str
    folder: Path
    count: int = 0
    shots: list[Path] = field(default_factory=list)

    @property
    def rtl(self) -> bool:
        return self.lang in ("ar", "fa")

    def step(self, page: Page, name: str, *, client: bool = True) -> None:
        """Check the page fits the screen and speaks the right language, then photograph it."""
        facts = page.evaluate(PAGE_FACTS_JS, [HEADING, FIRST_QUESTION])
        where = (name, page.url)
        assert facts["scrollWidth"] <= facts["innerWidth"] + 1, (*where, facts)
        if client:
            assert facts["lang"] == self.lang, (*where, facts["lang"])
            assert facts["dir"] == ("rtl" if self.rtl else "ltr"), (*where, facts["dir"])
            heading, question = facts["texts"]
            assert heading is not None, (*where, "no main heading")
            self._check_mirroring(where, facts, heading)
            if question is not None:
                self._check_mirroring(where, facts, question)
        else:
            # Staff pages speak Swedish or English only, whatever the client chose.
            assert facts["lang"] in ("sv", "en"), (*where, facts["lang"])
            assert facts["dir"] == "ltr", (*where, facts["dir"])
        self.count += 1
        path = self.folder / f"{self.count:02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)

    def _check_mirroring(
        self, where: tuple[str, str], facts: dict[str, Any], text: dict[str, Any]
    ) -> None:
        # <main> spans the screen's width, less its padding on both sides.
        assert 0 < facts["contentLeft"] < facts["contentRight"] < facts["viewport"], facts
        if self.rtl:
            # Right to left: the text starts at the right-hand content edge.
            assert text["direction"] == "rtl", (*where, text)
            gap = abs(text["right"] - facts["contentRight"])
        else:
            assert text["direction"] == "ltr", (*where, text)
            gap = abs(text["left"] - facts["contentLeft"])
        assert gap <= EDGE_TOLERANCE_PX, (*where, text, facts)


def register(
    page: Page, base: str, journey: Journey, *, passkey: bool = False, javascript: bool = True
) -> tuple[str, str | None]:
    """Register, enrol the second factor (codes from an app, or a passkey alone), see the
    recovery codes; returns the username and the app's secret (None with a passkey)."""
    page.goto(f"{base}/?lang={journey.lang}")
    assert path_of(page.url) == "/"
    journey.step(page, "start")

    with page.expect_navigation():
        page.locator('main a.button[href$="/my/register"]').click()
    assert path_of(page.url) == "/my/register"
    username_field = page.locator('main input[name="username"]')
    username = username_field.input_value()
    assert re.fullmatch(r"[a-z2-9]{3}-[a-z2-9]{3}-[a-z2-9]{3}", username), username  # made
    expect(username_field).to_have_attribute("readonly", "")
    honeypot = page.locator('main input[name="website"]')
    expect(honeypot).to_have_count(1)
    page.fill('main input[name="password"]', PASSWORD)
    page.fill('main input[name="confirm_password"]', PASSWORD)
    expect(honeypot).to_have_value("")
    expect(username_field).to_have_value(username)
    journey.step(page, "register")
    submit_to(page, "/my/register")

    assert path_of(page.url) == "/login/enrol"
    expect(page.locator("main .username-shown code")).to_have_text(username)
    expect(page.locator("main .qr svg")).to_have_count(1)
    create = page.locator('main form[data-passkey="create"]')
    secret: str | None = None
    if passkey:
        # The phone's screen lock instead of an app: offered where the script can make one.
        expect(create).to_be_visible()
        expect(page.locator("main [data-passkey-needs-script]")).to_be_hidden()
        journey.step(page, "enrol")
        with page.expect_navigation():
            create.locator('button[type="submit"]').click()
        assert path_of(page.url) == "/login/enrol/passkey"
    else:
        if not javascript:
            # Without JavaScript no passkey is offered: a note says what it would need.
            expect(create).to_be_hidden()
            expect(page.locator("main [data-passkey-needs-script]")).to_be_visible()
        key = page.locator("main .secret-key code").inner_text()
        secret = re.sub(r"\s+", "", key)
        assert re.fullmatch(r"[A-Z2-7]{32}", secret), key
        page.fill('main input[name="code"]', pyotp.TOTP(secret).now())
        journey.step(page, "enrol")
        submit_to(page, "/login/enrol")
        assert path_of(page.url) == "/login/enrol"

    # The codes are shown in the answer to the confirming POST, once.
    codes = page.locator("main ul.recovery-codes li code")
    expect(codes).to_have_count(10)
    assert all(re.fullmatch(r"[a-z2-9]{5}-[a-z2-9]{5}", c) for c in codes.all_inner_texts())
    journey.step(page, "recovery-codes")
    # Saved: on to the request the person came for, without asking a second time.
    with page.expect_navigation():
        page.locator('main a.button[href$="/my/request/kind"]').click()
    assert path_of(page.url) == "/my/request/kind"

    page.goto(f"{base}/my/")
    assert path_of(page.url) == "/my/"
    expect(page.locator("main ul.cards li")).to_have_count(0)
    journey.step(page, "dashboard")
    return username, secret


def answer(page: Page, step: str, kind: str, lang: str) -> None:
    """Answer one step of the request, checking the form's structure on the way."""
    values = REQUESTS[kind]
    main = page.locator("main")
    if step == "kind":
        expect(main.locator('input[type="radio"][name="kind"]')).to_have_count(3)
        page.check(f'main input[name="kind"][value="{kind}"]')
    elif step == "person":
        expect(main.locator('input[type="radio"][name="relationship"]')).to_have_count(6)
        expect(main.locator('input[type="radio"][name="age_band"]')).to_have_count(5)
        page.check(f'main input[name="relationship"][value="{values["relationship"]}"]')
        page.check(f'main input[name="age_band"][value="{values["age_band"]}"]')
    elif step == "help":
        # A relative chooses from help for relatives.
        choices = 6 if kind == "relative" else 12
        expect(main.locator('input[type="checkbox"][name="help_wanted"]')).to_have_count(choices)
        expect(main.locator('input[type="radio"][name="urgency"]')).to_have_count(3)
        for value in values["help_wanted"]:
            page.check(f'main input[name="help_wanted"][value="{value}"]')
        page.check(f'main input[name="urgency"][value="{values["urgency"]}"]')
    elif step == "contact":
        # Someone in danger right now is told to call 112 before anything else.
        alerts = main.locator('.notice-error[role="alert"]')
        expect(alerts).to_have_count(1 if values["urgency"] == "acute" else 0)
        expect(main.locator('input[type="checkbox"][name="safe_times"]')).to_have_count(4)
        for name in ("voicemail_ok", "sms_ok", "interpreter"):
            expect(main.locator(f'input[type="radio"][name="{name}"]')).to_have_count(2)
            page.check(f'main input[name="{name}"][value="{values[name]}"]')
        page.fill('main input[name="phone"]', values["phone"])
        for value in values["safe_times"]:
            page.check(f'main input[name="safe_times"][value="{value}"]')
        page.fill('main input[name="code_word"]', values["code_word"])
        language = main.locator('select[name="contact_language"]')
        expect(language.locator("option")).to_have_count(11)  # ten languages and "another"
        language.select_option(lang)
    elif step == "identity":
        page.fill('main input[name="name"]', values["name"])
        page.fill('main input[name="birth_year"]', values["birth_year"])
    elif step == "story":
        expect(main.locator('textarea[name="account_text"]')).to_have_count(1)
        page.fill('main textarea[name="account_text"]', values["story"])
    else:  # pragma: no cover - a typo in the test
        raise AssertionError(step)


def send_request(journey: Journey, page: Page, kind: str, sent_before: int) -> tuple[str, str]:
    """Go from the dashboard through one request's every step and back; returns id, reference."""
    assert path_of(page.url) == "/my/"
    with page.expect_navigation():
        page.locator('main .actions a.button[href$="/my/request/kind"]').click()
    steps = steps_for(kind)
    for position, step in enumerate(steps, start=1):
        assert path_of(page.url) == f"/my/request/{step}", (kind, step, page.url)
        # The steps by name, this one marked; never a count that changes under the person.
        # (A relative's step about the person joins the list once they say they are one.)
        named = len(steps_for("")) + 1 if step == "kind" else len(steps) + 1
        expect(page.locator("main ol.step-list li")).to_have_count(named)
        expect(page.locator('main ol.step-list li[aria-current="step"]')).to_have_count(1)
        # Every page but the first has a way back.
        back = page.locator('main button[type="submit"][name="back"]')
        expect(back).to_have_count(0 if position == 1 else 1)
        answer(page, step, kind, journey.lang)
        journey.step(page, f"{kind}-{step}")
        submit_to(page, f"/my/request/{step}")

    assert path_of(page.url) == "/my/request/review", (kind, page.url)
    # Every answer, each with a way to change it: the call questions only with a phone.
    answers = REVIEW_ANSWERS[kind]
    expect(page.locator("main dl.answers dt")).to_have_count(answers)
    expect(page.locator('main dl.answers a[href*="then=review"]')).to_have_count(answers)
    acute = REQUESTS[kind]["urgency"] == "acute"
    expect(page.locator('main .notice-error[role="alert"]')).to_have_count(1 if acute else 0)
    expect(page.locator('main input[name="website"]')).to_have_value("")
    journey.step(page, f"{kind}-review")
    submit_to(page, "/my/request/review")

    match = REQUEST_PATH.match(path_of(page.url))
    assert match, (kind, page.url)
    request_id = match.group(1)
    reference = page.locator("main h1 span[dir='ltr']").inner_text().strip()
    assert REFERENCE.fullmatch(reference), reference
    expect(page.locator('main .notice-success[role="status"]')).to_have_count(1)
    expect(page.locator("main .notice-error")).to_have_count(1 if acute else 0)  # call 112
    expect(page.locator("main ol.timeline li")).to_have_count(4)
    expect(page.locator('main ol.timeline li[aria-current="step"]')).to_have_count(1)
    expect(page.locator("main ol.thread")).to_have_count(0)
    expect(page.locator('main form[action$="/messages"] textarea[name="body"]')).to_have_count(1)
    expect(page.locator('main form[action$="/add"] textarea[name="text"]')).to_have_count(1)
    journey.step(page, f"{kind}-status")

    with page.expect_navigation():
        page.locator('main a[href$="/my/"]').click()
    assert path_of(page.url) == "/my/"
    cards = page.locator("main ul.cards li a")
    expect(cards).to_have_count(sent_before + 1)
    card = page.locator(f'main ul.cards a[href$="/my/requests/{request_id}"]')
    expect(card.locator("bdi[dir='ltr']")).to_have_text(reference)
    return request_id, reference


def staff_reply(
    context: BrowserContext,
    base: str,
    journey: Journey,
    app: Flask,
    request_ids: dict[str, str],
    request_id: str,
) -> None:
    """The caseworker logs in on their own browser, finds the request and answers."""
    page = context.new_page()
    page.goto(f"{base}/login")
    page.fill('main input[name="username"]', STAFF)
    page.fill('main input[name="password"]', DEMO_PASSWORD)
    journey.step(page, "staff-login", client=False)
    submit_to(page, "/login")
    assert path_of(page.url) == "/login/code"
    page.fill('main input[name="code"]', next_code(app, STAFF, demo_secret(STAFF)))
    journey.step(page, "staff-code", client=False)
    submit_to(page, "/login/code")
    assert path_of(page.url) == "/start/"

    page.goto(f"{base}/inbox")
    # The demo data may hold other requests; this journey's three are each listed once.
    rows = page.locator("main table tbody tr")
    for some_id in request_ids.values():
        expect(page.locator(f'main table a[href$="/inbox/{some_id}"]')).to_have_count(1)
    ours = [rows.filter(has=page.locator(f'a[href$="/inbox/{i}"]')) for i in request_ids.values()]
    urgent = [row for row in ours if "urgent" in (row.get_attribute("class") or "")]
    assert len(urgent) == 1  # the threatened one
    row = rows.filter(has=page.locator(f'a[href$="/inbox/{request_id}"]'))
    expect(row.locator("td").nth(4)).to_have_text("1")  # one unread message from the client
    journey.step(page, "staff-inbox", client=False)

    with page.expect_navigation():
        page.locator(f'main table a[href$="/inbox/{request_id}"]').click()
    assert path_of(page.url) == f"/inbox/{request_id}"
    expect(page.locator("main ol.thread li")).to_have_count(1)
    expect(page.locator("main ol.thread li.theirs p.body")).to_have_text(CLIENT_MESSAGE)
    page.fill('main textarea[name="body"]', TEAM_REPLY)
    journey.step(page, "staff-conversation", client=False)
    submit_to(page, f"/inbox/{request_id}")

    assert path_of(page.url) == f"/inbox/{request_id}"
    expect(page.locator("main ol.thread li")).to_have_count(2)
    expect(page.locator("main ol.thread li.mine p.body")).to_have_text(TEAM_REPLY)
    journey.step(page, "staff-replied", client=False)
    page.close()


def prove_second_factor(
    page: Page, journey: Journey, name: str, app: Flask, username: str, secret: str | None
) -> None:
    """Finish a login or a step-up with the account's factor: its passkey (no secret) or a
    code from the app; the page is photographed first."""
    journey.step(page, name)
    if secret is None:
        with page.expect_navigation():
            page.locator('main form[data-passkey="get"] button[type="submit"]').click()
    else:
        page.fill('main input[name="code"]', next_code(app, username, secret))
        submit(page, 'main form:has(input[name="code"])')


VARIANTS = [
    pytest.param("so", False, id="so-nojs"),
    pytest.param("ar", False, id="ar-rtl-nojs"),
    pytest.param("fa", True, id="fa-rtl-passkey"),
]


@pytest.mark.parametrize(("lang", "javascript"), VARIANTS)
def test_client_journey(
    lang: str, javascript: bool, live_app: Flask, request: pytest.FixtureRequest
) -> None:
    new_context: Callable[..., BrowserContext]
    if javascript:
        # A passkey needs a secure context whose host is the relying party: the portal is
        # reached (and configured) as http://localhost:<port>, as in tests/browser/test_passkeys.py.
        base = request.getfixturevalue("localhost_server")
        new_context = request.getfixturevalue("contexts")
    else:
        base = request.getfixturevalue("live_server")
        new_context = request.getfixturevalue("new_context")
    folder = screenshot_folder(f"journey-{lang}", live_app)
    journey = Journey(lang=lang, folder=folder)
    client_context = new_context(viewport=PHONE, java_script_enabled=javascript)
    phone: Phone | None = None
    if javascript:
        phone = Phone(client_context)
        phone.add_authenticator()
        page = phone.page
    else:
        page = client_context.new_page()

    # 1. Register, enrol the second factor, keep the recovery codes.
    username, secret = register(
        page, base, journey, passkey=phone is not None, javascript=javascript
    )

    # 2. One request of each kind, through every step.
    request_ids: dict[str, str] = {}
    references: dict[str, str] = {}
    for kind in REQUESTS:
        request_ids[kind], references[kind] = send_request(journey, page, kind, len(request_ids))
        if len(request_ids) < len(REQUESTS):
            # One open request at a time: the team closes this one before the next is sent.
            team_closes(live_app, request_ids[kind])
            page.reload()
    assert len(set(references.values())) == len(REQUESTS), references

    # 3. A message to the team from the status page.
    request_id = request_ids["defector"]
    with page.expect_navigation():
        page.locator(f'main ul.cards a[href$="/my/requests/{request_id}"]').click()
    expect(page.locator("main ol.thread")).to_have_count(0)
    page.fill('main form[action$="/messages"] textarea[name="body"]', CLIENT_MESSAGE)
    submit_to(page, f"/my/requests/{request_id}/messages")
    assert path_of(page.url) == f"/my/requests/{request_id}"
    assert urlsplit(page.url).fragment == "messages"
    expect(page.locator("main ol.thread li")).to_have_count(1)
    expect(page.locator("main ol.thread li.mine p.body")).to_have_text(CLIENT_MESSAGE)
    journey.step(page, "message-sent")

    # 4. The caseworker answers from their own browser.
    staff_context = new_context(viewport=DESK)
    staff_reply(staff_context, base, journey, live_app, request_ids, request_id)

    # 5. The client sees the answer, and downloads their data.
    page.goto(f"{base}/my/")
    expect(page.locator('main .notice[role="status"]')).to_have_count(1)  # a new message
    journey.step(page, "dashboard-unread")
    with page.expect_navigation():
        page.locator(f'main ul.cards a[href$="/my/requests/{request_id}"]').click()
    expect(page.locator("main ol.thread li")).to_have_count(2)
    expect(page.locator("main ol.thread li.mine p.body")).to_have_text(CLIENT_MESSAGE)
    expect(page.locator("main ol.thread li.theirs p.body")).to_have_text(TEAM_REPLY)
    journey.step(page, "reply-seen")

    page.goto(f"{base}/my/")
    with page.expect_navigation():
        page.locator('main a[href$="/my/data"]').click()
    assert path_of(page.url) == "/my/data"
    expect(page.locator("main h2")).to_have_count(1 + len(request_ids))  # account + requests
    shown = sorted(page.locator("main h2 bdi[dir='ltr']").all_inner_texts())
    assert shown == sorted(references.values())
    journey.step(page, "my-data")
    with page.expect_download() as download_info:
        page.locator('main a[href$="/my/data.json"]').click()
    download = download_info.value
    assert download.suggested_filename == "my-data.json"
    data = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert data["account"]["username"] == username
    assert data["account"]["language"] == lang
    assert data["account"]["second_factor_enrolled"] is True
    assert data["account"]["authenticator_app"] is (phone is None)
    assert data["account"]["passkeys"] == (1 if phone else 0)
    exported = {r["reference"]: r for r in data["requests"]}
    assert set(exported) == set(references.values())
    for kind, reference in references.items():
        assert exported[reference]["kind"] == kind
        assert exported[reference]["contact_language"] == lang
    messages = exported[references["defector"]]["messages"]
    assert [(m["from"], m["text"]) for m in messages] == [
        ("you", CLIENT_MESSAGE),
        ("team", TEAM_REPLY),
    ]

    # 6. Quick exit: the session ends on the server and the neutral site is shown.
    page.goto(f"{base}/my/")
    target = quick_exit_target(page)
    serve_neutral_site(page, target)
    if javascript:
        page.locator("main h1").click()  # out of any field: Escape twice is the shortcut
        page.keyboard.press("Escape")
        page.keyboard.press("Escape")
    else:
        page.locator("#quick-exit").click()
    page.wait_for_url(target)
    wait_for_quick_exit(live_app)
    page.goto(f"{base}/my/")
    assert path_of(page.url) == "/login"

    # 7. Back in with the password and the second factor. Quick exit left nothing behind,
    # the choice of language included: the person chooses it again.
    page.goto(f"{base}/login?lang={lang}")
    page.fill('main input[name="username"]', username)
    page.fill('main input[name="password"]', PASSWORD)
    submit_to(page, "/login")
    assert path_of(page.url) == "/login/code"
    if phone is not None:
        expect(page.locator('main input[name="code"]')).to_have_count(0)
    prove_second_factor(page, journey, "login", live_app, username, secret)
    assert path_of(page.url) == "/my/"

    # 8. Delete the account: the login's proof has gone stale, so the factor is asked again.
    let_step_up_expire(live_app, username)
    with page.expect_navigation():
        page.locator('main a[href$="/my/delete"]').click()
    assert path_of(page.url) == "/step-up"
    assert parse_qs(urlsplit(page.url).query).get("next") == ["/my/delete"]
    prove_second_factor(page, journey, "step-up", live_app, username, secret)

    assert path_of(page.url) == "/my/delete"
    expect(page.locator('main form[action$="/my/delete"] button.danger')).to_have_count(1)
    journey.step(page, "delete")
    submit_to(page, "/my/delete")

    assert path_of(page.url) == "/"
    expect(page.locator("header nav.main-nav")).to_have_count(0)  # nobody is logged in
    journey.step(page, "deleted")
    with live_app.app_context():
        assert find_user(username) is None
        db.session.remove()

    page.goto(f"{base}/login")
    page.fill('main input[name="username"]', username)
    page.fill('main input[name="password"]', PASSWORD)
    submit_to(page, "/login")
    assert path_of(page.url) == "/login"
    expect(page.locator('main .notice-error[role="alert"]')).to_have_count(1)
    expect(page.locator('main input[name="password"]')).to_be_visible()
    journey.step(page, "login-refused")
    page.goto(f"{base}/my/")
    assert path_of(page.url) == "/login"

    assert [p.name for p in journey.shots] == sorted(p.name for p in folder.glob("*.png"))
