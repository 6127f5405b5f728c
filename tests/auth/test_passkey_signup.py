"""A passkey as the first and only second factor: for the relative with no authenticator app.

Registration offers the phone's screen lock beside the app; the account that chose it logs
in, steps up and confirms its decisions (a consent) with the passkey, never with a code it
cannot have; and of a code and a passkey enrolled at the same moment only one is kept.
"""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pyotp
import pytest
import sqlalchemy as sa

from app.audit.models import AuditEvent
from app.auth.models import Passkey, RecoveryCode, Role, User
from app.cases.models import Case
from app.consent.models import Consent, ConsentMethod, Purpose
from app.consent.services import record_consent
from app.extensions import db
from app.orgs.models import Organisation
from tests.auth.softkey import SoftPasskey
from tests.auth.test_passkeys import actions, options, passkey_login
from tests.conftest import PASSWORD, shown_username
from tests.security.test_once import race, same_browser

RECOVERY_CODE = re.compile(r"\b[a-z2-9]{5}-[a-z2-9]{5}\b")


def register(browser) -> str:
    response = browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    return shown_username(browser.get("/login/enrol").get_data(as_text=True))


def sign_up_with_passkey(app, browser) -> tuple[SoftPasskey, str, object]:
    """Register, then choose the phone's screen lock on the enrolment page."""
    username = register(browser)
    phone = SoftPasskey(app.config["BASE_URL"])
    offered = options(browser, "/login/enrol/passkey/options", "/login/enrol")
    response = browser.post(
        "/login/enrol/passkey", {"credential": phone.create(offered)}, form_page="/login/enrol"
    )
    return phone, username, response


def factors(app, username: str) -> tuple[bool, int, int]:
    """Whether the account has authenticator codes, how many passkeys and recovery codes."""
    with app.app_context():
        user = db.session.scalars(sa.select(User).where(User.username == username)).one()

        def count(model: type[Passkey] | type[RecoveryCode]) -> int:
            return int(
                db.session.scalar(
                    sa.select(sa.func.count()).select_from(model).where(model.user_id == user.id)
                )
            )

        return user.totp_secret is not None, count(Passkey), count(RecoveryCode)


def test_the_enrolment_page_offers_the_phones_screen_lock(app, browser, organisation):
    register(browser)
    page = browser.get("/login/enrol").get_data(as_text=True)
    assert 'data-passkey="create"' in page
    assert 'data-options-url="/login/enrol/passkey/options"' in page
    assert 'action="/login/enrol/passkey"' in page
    # Without JavaScript the form stays hidden and a note says what the passkey needs.
    assert "data-passkey-needs-script" in page


def test_a_client_signs_up_with_a_passkey_and_goes_straight_on_to_the_request(
    app, browser, organisation
):
    _phone, username, response = sign_up_with_passkey(app, browser)
    # The recovery codes are shown once, then the request's first step
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert len(set(RECOVERY_CODE.findall(html))) == 10
    assert 'href="/my/request/kind"' in html
    assert browser.get("/my/").status_code == 200  # fully logged in
    assert factors(app, username) == (False, 1, 10)
    with app.app_context():
        enrolled = db.session.scalars(
            sa.select(AuditEvent.details).where(AuditEvent.action == "passkey.enrolled")
        ).one()
    assert json.loads(enrolled)["first_factor"] is True
    # The enrolment is over: neither way can add a first factor again
    assert browser.post("/login/enrol/passkey/options", {}, form_page="/my/").status_code == 409


def test_a_passkey_only_account_logs_in_with_its_passkey_and_is_asked_for_no_code(
    app, browser, new_browser, organisation
):
    phone, username, _response = sign_up_with_passkey(app, browser)
    other = new_browser()
    assert other.post("/login", {"username": username, "password": PASSWORD}).status_code == 302
    page = other.get("/login/code").get_data(as_text=True)
    assert 'name="code"' not in page  # a code can never work for this account
    assert 'data-passkey="get"' in page
    assert 'href="/login/recovery"' in page
    # A code typed anyway (a form sent by hand) is refused, and does not log in
    guessed = other.post("/login/code", {"code": "123456"})
    assert guessed.status_code == 401
    assert other.get("/my/").status_code == 302
    # The enrolment page does not open again for an account with a passkey
    assert other.get("/login/enrol").headers["Location"] == "/login/code"
    assert passkey_login(other, phone).status_code == 302
    assert other.get("/my/").status_code == 200


def test_a_broken_answer_enrols_nothing_and_says_so(app, browser, organisation):
    username = register(browser)
    options(browser, "/login/enrol/passkey/options", "/login/enrol")
    response = browser.post(
        "/login/enrol/passkey", {"credential": '{"id": "x"}'}, form_page="/login/enrol"
    )
    assert response.status_code == 400
    html = response.get_data(as_text=True)
    assert "The passkey could not be made." in html
    assert 'data-passkey-error role="alert" tabindex="-1">' in html  # shown, not hidden
    empty = browser.post("/login/enrol/passkey", {}, form_page="/login/enrol")
    assert empty.status_code == 400
    assert factors(app, username) == (False, 0, 0)
    assert browser.get("/my/").status_code == 302  # still not logged in


def test_a_code_and_a_passkey_confirmed_at_once_leave_one_factor(app, browser, organisation):
    """Two tabs of one registration: one confirms the app's code, the other the passkey, at
    the same moment. One wins; the other is sent on to the login; the recovery codes the
    winner showed are the ones that work."""
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        pytest.skip("SQLite lets one writer in at a time: there is no race to lose")
    username = register(browser)
    page = browser.get("/login/enrol").get_data(as_text=True)
    secret = page.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    code = pyotp.TOTP(secret.replace(" ", "")).now()
    phone = SoftPasskey(app.config["BASE_URL"])
    offered = options(browser, "/login/enrol/passkey/options", "/login/enrol")
    browser.get("/login/enrol")
    csrf = browser.last_csrf
    tabs = [same_browser(app, browser) for _ in range(2)]
    results = race(
        [
            lambda: tabs[0].post("/login/enrol", data={"csrf_token": csrf, "code": code}),
            lambda: tabs[1].post(
                "/login/enrol/passkey",
                data={"csrf_token": csrf, "credential": phone.create(offered)},
            ),
        ]
    )
    assert sorted(r.status_code for r in results) in ([200, 302], [200, 401])
    has_codes, passkey_count, stored = factors(app, username)
    assert has_codes + (passkey_count > 0) == 1
    winner = next(r for r in results if r.status_code == 200).get_data(as_text=True)
    assert stored == 10 and len(set(RECOVERY_CODE.findall(winner))) == 10


@pytest.fixture
def passkey_client_case(
    app, browser, organisation, other_orgs, fill_request, make_account, new_browser, log_in
):
    """A passkey-only client whose request is a case with a consent waiting for an answer."""
    phone, _username, response = sign_up_with_passkey(app, browser)
    assert response.status_code == 200
    fill_request(browser)
    owner = make_account(Role.CASEWORKER, username="agare")
    owner_browser = new_browser()
    log_in(owner_browser, owner)
    with app.app_context():
        request_id = db.session.scalar(sa.text("SELECT id FROM client_requests"))
    opened = owner_browser.post(
        f"/team/triage/{request_id}/open-case", {}, form_page=f"/team/triage/{request_id}"
    )
    assert opened.status_code == 302
    with app.app_context():
        case = db.session.scalars(sa.select(Case)).one()
        police = db.session.scalars(
            sa.select(Organisation).where(Organisation.slug == "polisen")
        ).one()
        consent = record_consent(
            case,
            db.session.get(User, owner.id),
            agencies=[police],
            purposes={Purpose.CONSULTATION},
            method=ConsentMethod.DIGITAL,
            given=None,
            valid_from=date(2026, 1, 1),
            valid_until=None,
        )
        db.session.commit()
        return phone, consent.id


def test_a_passkey_only_client_answers_a_consent_with_the_passkey(
    app, browser, passkey_client_case, clock
):
    phone, consent_id = passkey_client_case
    page = f"/my/consents/{consent_id}"
    clock.shift(timedelta(minutes=10))  # the sign-up's own proof has gone stale (5 minutes)
    # The consent page first asks for the passkey, then comes back
    first = browser.get(page)
    assert first.status_code == 302
    assert first.headers["Location"].startswith("/step-up?next=")
    step_up_page = first.headers["Location"]
    offered = options(browser, "/step-up/passkey/options", step_up_page)
    stepped = browser.post(
        f"/step-up/passkey?next={page}", {"credential": phone.get(offered)}, form_page=step_up_page
    )
    assert (stepped.status_code, stepped.headers["Location"]) == (302, page)
    html = browser.get(page).get_data(as_text=True)
    assert 'name="code"' not in html
    assert "You confirmed with your passkey" in html
    answered = browser.post(page, {"answer": "yes"})
    assert (answered.status_code, answered.headers["Location"]) == (302, "/my/")
    with app.app_context():
        assert db.session.get(Consent, consent_id).given is True
    assert "code.confirmed" in actions(app)
    confirmed = [json.loads(d) for d in _details(app, "code.confirmed")]
    assert confirmed[-1] == {"purpose": "consent", "by": "passkey"}


def test_a_stale_passkey_confirmation_decides_nothing(app, browser, passkey_client_case, clock):
    _phone, consent_id = passkey_client_case
    page = f"/my/consents/{consent_id}"
    clock.shift(timedelta(minutes=10))
    browser.get("/my/")
    refused = browser.post(page, {"answer": "yes"}, form_page="/my/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/step-up")
    with app.app_context():
        assert db.session.get(Consent, consent_id).given is None


def _details(app, action: str) -> list[str]:
    with app.app_context():
        return list(
            db.session.scalars(
                sa.select(AuditEvent.details)
                .where(AuditEvent.action == action)
                .order_by(AuditEvent.seq)
            )
        )
