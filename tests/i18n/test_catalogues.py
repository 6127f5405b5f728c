"""Catalogues are complete and current; locale choice and text direction work."""

import subprocess
import sys
from gettext import c2py
from pathlib import Path

import pytest
from babel.messages.pofile import read_po
from flask_babel import force_locale, ngettext

ROOT = Path(__file__).resolve().parents[2]
CATALOGUES = ROOT / "app" / "translations"
PUBLIC_LANGUAGES = ["sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti"]
STAFF_LANGUAGES = ["sv", "en"]


def catalogue(language):
    with open(CATALOGUES / language / "LC_MESSAGES" / "messages.po", "rb") as handle:
        return read_po(handle, locale=language)


def extracted_msgids(tmp_path, mapping):
    """Extract the strings the code uses right now, independently of the committed .pot."""
    pot = tmp_path / f"{mapping}.pot"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "extract",
            "-F",
            mapping,
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


def untranslated(language):
    return {
        (m.id if isinstance(m.id, str) else m.id[0])
        for m in catalogue(language)
        if m.id and (m.fuzzy or not (all(m.string) if isinstance(m.string, tuple) else m.string))
    }


@pytest.fixture(scope="module")
def code_msgids(tmp_path_factory):
    return extracted_msgids(tmp_path_factory.mktemp("pot"), "babel.cfg")


@pytest.fixture(scope="module")
def client_msgids(tmp_path_factory):
    return extracted_msgids(tmp_path_factory.mktemp("pot"), "babel-client.cfg")


@pytest.mark.parametrize("language", PUBLIC_LANGUAGES)
def test_catalogue_is_current(language, code_msgids):
    """Fails when the code has a string the catalogue lacks: run `flask translate update`."""
    known = {m.id if isinstance(m.id, str) else m.id[0] for m in catalogue(language) if m.id}
    missing = code_msgids - known
    assert not missing, f"stale catalogue, run `flask translate update`: {sorted(missing)[:5]}"


@pytest.mark.parametrize("language", PUBLIC_LANGUAGES)
def test_every_client_facing_string_is_translated(language, client_msgids):
    gaps = client_msgids & untranslated(language)
    assert not gaps, f"untranslated for clients in {language}: {sorted(gaps)[:5]}"


@pytest.mark.parametrize("language", STAFF_LANGUAGES)
def test_staff_languages_are_complete(language, code_msgids):
    gaps = code_msgids & untranslated(language)
    assert not gaps, f"untranslated in {language}: {sorted(gaps)[:5]}"


@pytest.mark.parametrize("language", PUBLIC_LANGUAGES)
def test_every_catalogue_compiles_and_loads(language, tmp_path):
    """A broken header (say, its plural rule) makes gettext refuse the whole language."""
    import gettext

    mo = tmp_path / "messages.mo"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "babel.messages.frontend",
            "compile",
            "-i",
            str(CATALOGUES / language / "LC_MESSAGES" / "messages.po"),
            "-o",
            str(mo),
        ],
        check=True,
        capture_output=True,
    )
    with open(mo, "rb") as handle:
        translations = gettext.GNUTranslations(handle)
    assert translations.info()["language"] == language


@pytest.mark.parametrize("language", PUBLIC_LANGUAGES)
def test_placeholders_survive_translation(language):
    import re

    for message in catalogue(language):
        if not message.id:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        wanted = set(re.findall(r"%\(\w+\)[sd]", ids[-1]))
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for string in strings:
            if string:
                assert set(re.findall(r"%\(\w+\)[sd]", string)) == wanted, (language, ids[0])


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
