"""Helpers for the client journey: an intake team, a registered client, a filled draft."""

import pyotp
import pytest

from tests.conftest import PASSWORD

STEPS = {
    "kind": {"kind": "defector"},
    "help": {"help_wanted": ["support_talks", "relocation"], "urgency": "soon"},
    "contact": {
        "phone": "070-123 45 67",
        "safe_times": ["weekday_evening"],
        "voicemail_ok": "no",
        "sms_ok": "yes",
        "code_word": "blåbär",
        "contact_language": "sv",
        "interpreter": "no",
    },
    "identity": {"name": "", "birth_year": ""},
    "story": {"account_text": "Jag vill komma bort från gänget innan det är för sent."},
}


@pytest.fixture
def client_browser(app, browser, organisation):
    """A browser with a freshly registered and enrolled client, as a person would do it."""
    response = browser.post(
        "/my/register",
        {"username": "stilla-flod-1234", "password": PASSWORD, "confirm_password": PASSWORD},
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    html = browser.get("/login/enrol").get_data(as_text=True)
    key = html.split('<p class="secret-key" lang="en" dir="ltr"><code>')[1].split("<")[0]
    secret = key.replace(" ", "")
    confirmed = browser.post("/login/enrol", {"code": pyotp.TOTP(secret).now()})
    assert confirmed.status_code == 200
    browser.secret = secret
    return browser


@pytest.fixture
def fill_request():
    def fill(browser, **overrides):
        steps = {name: dict(values) for name, values in STEPS.items()}
        for step, values in overrides.items():
            steps.setdefault(step, {}).update(values)
        order = ["kind", "person", "help", "contact", "identity", "story"]
        for step in order:
            if step not in steps:
                continue
            response = browser.post(f"/my/request/{step}", steps[step])
            assert response.status_code == 302, (step, response.get_data(as_text=True)[-3000:])
        return browser.post("/my/request/review", {})

    return fill
