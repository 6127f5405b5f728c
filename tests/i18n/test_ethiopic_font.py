"""Tigrinya pages bring their own Ethiopic font (phones without one show boxes); no other
page loads it."""

import re
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

ROOT = Path(__file__).resolve().parents[2]
FONTS = ROOT / "app" / "static" / "fonts"
FONT = FONTS / "noto-sans-ethiopic-ti.woff2"
STYLESHEET = "/static/css/ethiopic.css"
OTHER_LANGUAGES = ["sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr"]
LIMIT = 60 * 1024


def page(browser, url, language):
    browser.client.get(f"/?lang={language}")
    return browser.get(url).get_data(as_text=True)


@pytest.mark.parametrize("url", ["/", "/login", "/accessibility"])
def test_a_tigrinya_page_loads_the_ethiopic_font(browser, organisation, url):
    html = page(browser, url, "ti")
    assert 'lang="ti"' in html[:300]
    assert f'href="{STYLESHEET}"' in html


@pytest.mark.parametrize("language", OTHER_LANGUAGES)
def test_no_other_language_loads_it(browser, organisation, language):
    for url in ("/", "/login"):
        assert "ethiopic" not in page(browser, url, language)


def test_the_stylesheet_points_at_the_shipped_font_and_only_for_ethiopic(browser):
    css = browser.client.get(STYLESHEET)
    assert css.status_code == 200
    text = css.get_data(as_text=True)
    source = re.search(r'url\("\.\./fonts/([^"]+)"\)', text).group(1)
    assert source == FONT.name
    assert "unicode-range: U+1200-139F" in text
    font = browser.client.get(f"/static/fonts/{source}")
    assert font.status_code == 200
    assert font.headers["Content-Type"].startswith("font/woff2")
    assert font.data[:4] == b"wOF2"


def test_the_font_stays_small_and_carries_its_licence():
    assert FONT.stat().st_size <= LIMIT
    licence = (FONTS / "OFL.txt").read_text()
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence
    assert "Copyright 2015 Google Inc." in licence


def test_the_font_has_every_letter_the_tigrinya_catalogue_uses():
    """Fails when a new Tigrinya string brings a letter the subset lacks: run
    scripts/subset_ethiopic_font.py again."""
    pytest.importorskip("brotli", reason="reading WOFF2 needs brotli (a dev dependency)")
    from fontTools.ttLib import TTFont

    covered = set(TTFont(FONT).getBestCmap())
    tigrinya = ROOT / "app" / "translations" / "ti" / "LC_MESSAGES" / "messages.po"
    with tigrinya.open("rb") as handle:
        catalogue = read_po(handle, locale="ti")
    used = {
        ord(char)
        for message in catalogue
        for text in (message.string if isinstance(message.string, tuple) else (message.string,))
        if text
        for char in text
        if 0x1200 <= ord(char) <= 0x139F
    }
    assert used and not used - covered, sorted(chr(c) for c in used - covered)


def test_the_security_policy_lets_the_portal_serve_its_own_font_only(browser):
    policy = browser.client.get("/").headers["Content-Security-Policy"]
    assert "font-src 'self'" in policy


def test_every_page_can_draw_the_name_of_tigrinya_in_its_language_list(browser, organisation):
    """A Tigrinya speaker on a Persian page of a phone without an Ethiopic font must still
    find ትግርኛ in the list: app.css gives that one link a font of its four letters."""
    pytest.importorskip("brotli", reason="reading WOFF2 needs brotli (a dev dependency)")
    from fontTools.ttLib import TTFont

    from app.i18n import language_name

    html = page(browser, "/", "fa")
    assert f'lang="ti" hreflang="ti">{language_name("ti")}</a>' in html
    css = browser.client.get("/static/css/app.css").get_data(as_text=True)
    rule = re.search(r'@font-face \{[^}]*"Noto Sans Ethiopic Name"[^}]*\}', css).group(0)
    assert 'url("../fonts/noto-sans-ethiopic-name.woff2")' in rule
    assert "unicode-range: U+1200-139F" in rule
    assert re.search(r'\.language-picker a\[lang="ti"\] \{[^}]*"Noto Sans Ethiopic Name"', css)
    name_font = FONTS / "noto-sans-ethiopic-name.woff2"
    assert name_font.stat().st_size <= 8 * 1024
    cmap = TTFont(name_font).getBestCmap()
    assert all(ord(letter) in cmap for letter in language_name("ti"))
