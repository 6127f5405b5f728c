"""Catalogues are complete and current; locale choice and text direction work."""

import subprocess
import sys
from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext

ROOT = Path(__file__).resolve().parents[2]
COMPLETE_LANGUAGES = ["sv", "en", "ar"]


def catalogue(language):
    with open(ROOT / "translations" / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def fresh_msgids(tmp_path):
    """Extract the strings the code uses right now, independently of the committed .pot."""
    pot = tmp_path / "messages.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            "babel.cfg",
            "-k",
            "_l",
            "--no-location",
            "-o",
            str(pot),
            ".",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    with open(pot, "rb") as handle:
        return {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(handle) if m.id}


@pytest.mark.parametrize("language", COMPLETE_LANGUAGES)
def test_catalogue_is_current_and_complete(language, tmp_path):
    """Fails when code has a string the catalogue lacks (run `flask translate update`)
    or when a string is left untranslated or fuzzy."""
    messages = {
        (m.id if isinstance(m.id, str) else m.id[0]): m for m in catalogue(language) if m.id
    }
    missing = fresh_msgids(tmp_path) - set(messages)
    assert not missing, f"stale catalogue, run `flask translate update`: {sorted(missing)[:5]}"
    untranslated = [
        key
        for key, m in messages.items()
        if m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string)
    ]
    assert not untranslated, f"untranslated in {language}: {untranslated[:5]}"


def test_arabic_has_six_plural_forms_chosen_correctly(app):
    """zero, one, two, few (3-10), many (11-99), other (100+): each number gets its form."""
    ar = catalogue("ar")
    assert ar.num_plurals == 6
    choose = c2py(ar.plural_expr)
    assert [choose(n) for n in (0, 1, 2, 3, 10, 11, 99, 100, 102)] == [0, 1, 2, 3, 3, 4, 4, 5, 5]
    singular, plural = (
        "You have %(num)d recovery code left.",
        "You have %(num)d recovery codes left.",
    )
    forms = ar[(singular, plural)].string
    assert len(forms) == 6 and all(forms)
    with app.test_request_context(), force_locale("ar"):
        for n in (0, 1, 2, 3, 11, 100):
            assert ngettext(singular, plural, n) == forms[choose(n)] % {"num": n}


def test_swedish_is_the_default(browser):
    response = browser.client.get("/login", headers={"Accept-Language": ""})
    html = response.get_data(as_text=True)
    assert '<html lang="sv" dir="ltr">' in html
    assert "Logga in" in html


def test_accept_language_is_honoured(browser):
    html = browser.client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.8"}).get_data(
        as_text=True
    )
    assert '<html lang="en" dir="ltr">' in html


def test_lang_parameter_wins_and_is_remembered(browser):
    html = browser.client.get("/login?lang=ar").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in html
    again = browser.client.get("/").get_data(as_text=True)
    assert '<html lang="ar" dir="rtl">' in again


def test_an_unknown_language_is_ignored(browser):
    html = browser.client.get("/login?lang=xx", headers={"Accept-Language": ""}).get_data(
        as_text=True
    )
    assert '<html lang="sv"' in html


def test_the_picker_names_each_language_in_itself(browser):
    html = browser.client.get("/").get_data(as_text=True)
    assert 'lang="ar" hreflang="ar">العربية</a>' in html
    assert ">Svenska</a>" in html


def test_staff_pages_speak_only_swedish_or_english(app, browser, make_account, log_in):
    log_in(browser, make_account())
    html = browser.client.get("/start/?lang=ar").get_data(as_text=True)
    assert 'lang="en"' in html.split(">")[1]
    assert "العربية" not in html
