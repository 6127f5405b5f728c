"""Digits as people type them: a Persian, Arabic, Bengali or Japanese keyboard does not type
0-9, and every field that takes a number must accept what it types.

Each code is written in the script's digits (with the grouping space people add); what the
server does with it must be what it does with the same code in ASCII: log in, step up,
enrol, use a recovery code, answer a consent; a year of birth and a phone number are stored
in ASCII. A non-digit is a translated 400, never a 500.
"""

from __future__ import annotations

import json

import pyotp
import pytest
import sqlalchemy as sa

from app.auth.models import RecoveryCode, User
from app.auth.totp import matching_step, normalise_code
from app.core.digits import ascii_digits, normalise_number
from app.extensions import db
from app.intake.models import ClientRequest, RequestDraft
from tests.conftest import code_for

# Zero of each script: digit d is chr(ZERO + d).
SCRIPTS = {
    "persian": 0x06F0,  # ۰۱۲۳۴۵۶۷۸۹ (Extended Arabic-Indic)
    "arabic_indic": 0x0660,  # ٠١٢٣٤٥٦٧٨٩
    "bengali": 0x09E6,  # ০১২৩৪৫৬৭৮৯
    "full_width": 0xFF10,  # ０１２３４５６７８９
}


def in_script(text: str, script: str) -> str:
    zero = SCRIPTS[script]
    return "".join(chr(zero + int(c)) if c.isdigit() else c for c in text)


def grouped(code: str) -> str:
    return f"{code[:3]} {code[3:]}"


def test_the_examples_in_the_issue_are_read_as_123456():
    assert normalise_code("۱۲۳۴۵۶") == "123456"
    assert normalise_code("١٢٣٤٥٦") == "123456"
    assert normalise_code("１２３４５６") == "123456"
    assert normalise_code("১২৩ ৪৫৬") == "123456"
    # A right-to-left mark and a full-width dash between the groups are separators too.
    assert normalise_code("\u200f۱۲۳\uff0d۴۵۶") == "123456"
    assert ascii_digits("Tel ۰۷۰-۱۲۳") == "Tel 070-123"
    assert normalise_number(None) == ""


def test_a_code_in_another_script_never_raises_and_is_checked_like_ascii():
    secret = pyotp.random_base32()
    code = pyotp.TOTP(secret).now()
    for script in SCRIPTS:
        assert matching_step(secret, in_script(code, script), None) is not None, script
    # Numerals that are not decimal digits stay what they are: refused, never a 500.
    assert matching_step(secret, "一二三四五六", None) is None


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_persian_client_logs_in_with_the_code_typed_in_persian_digits(
    app, browser, make_account, script
):
    """Given a person whose phone types the code in their script's digits, when they send
    it at login, they are let in, exactly as with 0-9 (this was a 500)."""
    account = make_account()
    browser.post("/login", {"username": account.username, "password": account.password})
    code = in_script(grouped(code_for(app, account)), script)
    response = browser.post("/login/code", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    assert browser.get("/start/").status_code == 200


@pytest.mark.parametrize("script", ["persian", "arabic_indic"])
def test_a_replayed_code_in_persian_digits_is_still_a_replay(
    app, browser, new_browser, make_account, script
):
    account = make_account()
    code = code_for(app, account)
    browser.post("/login", {"username": account.username, "password": account.password})
    assert browser.post("/login/code", {"code": code}).status_code == 302
    attacker = new_browser()
    attacker.post("/login", {"username": account.username, "password": account.password})
    assert attacker.post("/login/code", {"code": in_script(code, script)}).status_code == 401


@pytest.mark.parametrize("typed", ["abcdef", "12345", "1234567", "一二三四五六", "۱۲۳۴۵x"])
def test_a_code_that_is_not_six_digits_is_a_translated_400(browser, make_account, typed):
    account = make_account()
    browser.post("/login", {"username": account.username, "password": account.password})
    browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fa"
    response = browser.post("/login/code", {"code": typed})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "The code is 6 digits" not in page  # shown in Persian, not in English
    assert 'class="field-errors"' in page


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_step_up_takes_the_code_in_any_script(app, browser, make_account, log_in, clock, script):
    account = make_account()
    log_in(browser, account)
    clock.shift(30)
    code = in_script(grouped(code_for(app, account)), script)
    response = browser.post("/step-up", {"code": code})
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_enrolment_takes_the_code_in_any_script(app, browser, make_account, script):
    account = make_account(enrolled=False)
    browser.post("/login", {"username": account.username, "password": account.password})
    html = browser.get("/login/enrol").get_data(as_text=True)
    key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    code = in_script(grouped(pyotp.TOTP(key.replace(" ", "")).now()), script)
    response = browser.post("/login/enrol", {"code": code})
    assert response.status_code == 200, response.get_data(as_text=True)[-800:]
    with app.app_context():
        assert db.session.get(User, account.id).totp_secret is not None


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_recovery_code_with_digits_of_any_script_works_once(app, browser, make_account, script):
    account = make_account()
    with app.app_context():
        from app.auth.services import regenerate_recovery_codes

        codes = regenerate_recovery_codes(db.session.get(User, account.id))
        db.session.commit()
    # A code holding digits, so the script matters (the alphabet has 2-9).
    code = next(c for c in codes if any(ch.isdigit() for ch in c))
    browser.post("/login", {"username": account.username, "password": account.password})
    response = browser.post("/login/recovery", {"recovery_code": in_script(code, script)})
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    with app.app_context():
        unused = db.session.scalar(
            sa.select(sa.func.count()).where(
                RecoveryCode.user_id == account.id, RecoveryCode.used_at.is_(None)
            )
        )
    assert unused == 9


CONTACT = {
    "voicemail_ok": "no",
    "sms_ok": "no",
    "interpreter": "no",
    "contact_language": "sv",
}


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_phone_number_in_any_script_is_taken_and_kept_in_ascii(
    app, client_browser, fill_request, script
):
    fill_request(client_browser, contact={"phone": in_script("070-123 45 67", script)})
    with app.app_context():
        stored = db.session.scalars(sa.select(ClientRequest)).one()
        assert stored.phone == "070-123 45 67"


@pytest.mark.parametrize("script", list(SCRIPTS))
def test_a_year_of_birth_in_any_script_is_taken_and_kept_in_ascii(app, client_browser, script):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    response = client_browser.post(
        "/my/request/identity", {"name": "", "birth_year": in_script("1998", script)}
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-800:]
    with app.app_context():
        draft = db.session.scalars(sa.select(RequestDraft)).one()
        assert json.loads(draft.data)["birth_year"] == "1998"


def test_a_year_of_birth_that_is_not_a_year_is_a_translated_400(app, client_browser):
    client_browser.post("/my/request/kind", {"kind": "defector"})
    client_browser.client.environ_base["HTTP_ACCEPT_LANGUAGE"] = "fa"
    response = client_browser.post("/my/request/identity", {"name": "", "birth_year": "۱۹۹x"})
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'class="field-errors"' in page
    assert "Write the year with four digits" not in page
