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
