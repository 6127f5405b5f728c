"""Quick exit covers nothing, no page scrolls sideways, and focus shows on every background.

One Chromium, one logged-in page and one visitor's page: each language is loaded once per
page and the window is resized through the widths from a small phone to a wide screen
(1,280 px at 200 % zoom is the 640 px case). At each size the boxes of the quick-exit
control and of every other visible control are measured and must not overlap.

The focus check walks each page with the Tab key, as a keyboard user does, and computes
the contrast of the focus rings against what lies behind them (WCAG 1.4.11).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import Browser, BrowserContext, Page

from tests.browser.conftest import local_context
from tests.browser.test_login_flow import log_in, path_of

pytestmark = pytest.mark.browser

LANGUAGES = ("sv", "en", "ar", "fa", "so", "bs", "pl", "ku", "tr", "ti")
WIDTHS = (320, 360, 480, 640, 768, 800, 1024, 1280, 1920)
HEIGHT = 800
# Pages as the logged-in client sees them, and as a visitor without a cookie does.
CLIENT_PAGES = ("/my/", "/", "/my/request/story")
VISITOR_PAGES = ("/",)

MEASURE = """
() => {
  const control = document.getElementById("quick-exit");
  const shown = (el) => {
    const style = getComputedStyle(el);
    if (style.visibility === "hidden" || style.display === "none") return false;
    const box = el.getBoundingClientRect();
    return box.width > 0 && box.height > 0;
  };
  const name = (el) => el.tagName.toLowerCase()
    + (el.id ? "#" + el.id : "")
    + (el.getAttribute("href") ? "[href=" + el.getAttribute("href") + "]" : "")
    + " " + (el.textContent || el.name || "").trim().slice(0, 40);
  const exit = control.getBoundingClientRect();
  const covered = [];
  for (const el of document.querySelectorAll("a, button, input, select, textarea, summary")) {
    if (el === control || control.contains(el) || el.contains(control)) continue;
    if (el.type === "hidden" || !shown(el)) continue;
    // Line by line: a link that wraps is two boxes, not the rectangle around both.
    for (const box of el.getClientRects()) {
      const across = Math.min(exit.right, box.right) - Math.max(exit.left, box.left);
      const down = Math.min(exit.bottom, box.bottom) - Math.max(exit.top, box.top);
      if (across > 0.5 && down > 0.5) { covered.push(name(el)); break; }
    }
  }
  return {
    covered,
    shown: shown(control),
    inside: exit.left >= 0 && exit.right <= window.innerWidth + 0.5,
    pageWidth: document.documentElement.scrollWidth,
    windowWidth: window.innerWidth,
  };
}
"""


@pytest.fixture
def client_page(chromium: Browser, live_server: str) -> Iterator[Page]:
    context = local_context(chromium, live_server, viewport={"width": 1280, "height": HEIGHT})
    page = context.new_page()
    log_in(page, live_server, "klient")
    assert path_of(page.url) == "/my/"
    yield page
    context.close()


@pytest.fixture
def visitor_page(chromium: Browser, live_server: str) -> Iterator[Callable[[str], Page]]:
    """A page of a visitor without a cookie whose browser asks for `lang`."""
    contexts: list[BrowserContext] = []

    def open_page(lang: str) -> Page:
        viewport = {"width": 1280, "height": HEIGHT}
        contexts.append(local_context(chromium, live_server, locale=lang, viewport=viewport))
        return contexts[-1].new_page()

    yield open_page
    for context in contexts:
        context.close()


def layout_problems(page: Page, label: str) -> list[str]:
    problems = []
    for width in WIDTHS:
        page.set_viewport_size({"width": width, "height": HEIGHT})
        found = page.evaluate(MEASURE)
        where = f"{label} at {width} px"
        if not found["shown"] or not found["inside"]:
            problems.append(f"{where}: quick exit not fully on screen")
        problems += [f"{where}: quick exit covers {name}" for name in found["covered"]]
        if found["pageWidth"] > found["windowWidth"]:
            problems.append(f"{where}: scrolls sideways ({found['pageWidth']} px wide)")
    return problems


def test_quick_exit_covers_no_control_at_any_width_in_any_language(
    client_page: Page, visitor_page: Callable[[str], Page], live_server: str
) -> None:
    problems: list[str] = []
    for lang in LANGUAGES:
        for path in CLIENT_PAGES:
            client_page.goto(f"{live_server}{path}?lang={lang}")
            assert client_page.locator("form.quick-exit-form #quick-exit").count() == 1
            problems += layout_problems(client_page, f"client {lang} {path}")
        # A visitor without a cookie: the language comes from the browser, the control is
        # the plain link.
        visitor = visitor_page(lang)
        for path in VISITOR_PAGES:
            visitor.goto(f"{live_server}{path}")
            assert visitor.locator("html").get_attribute("lang") == lang
            assert visitor.locator("a#quick-exit").count() == 1
            problems += layout_problems(visitor, f"visitor {lang} {path}")
    assert problems == []


# --- focus -------------------------------------------------------------------------------

RGB = re.compile(r"rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?\)")
MINIMUM_CONTRAST = 3.0

FOCUSED = """
() => {
  const el = document.activeElement;
  if (!el || el === document.body) return null;
  const style = getComputedStyle(el);
  let behind = "rgb(255, 255, 255)";
  for (let up = el.parentElement; up; up = up.parentElement) {
    const bg = getComputedStyle(up).backgroundColor;
    if (!/^rgba\\(.*,\\s*0\\)$/.test(bg) && bg !== "transparent") { behind = bg; break; }
  }
  return {
    name: el.tagName.toLowerCase() + (el.id ? "#" + el.id : "") + " "
      + (el.textContent || el.name || "").trim().slice(0, 30),
    outlineStyle: style.outlineStyle,
    outlineWidth: parseFloat(style.outlineWidth),
    outlineColor: style.outlineColor,
    shadow: style.boxShadow,
    behind,
  };
}
"""


@dataclass(frozen=True)
class Colour:
    r: float
    g: float
    b: float

    @classmethod
    def parse(cls, text: str) -> Colour:
        match = RGB.search(text)
        assert match, text
        return cls(*(float(match.group(i)) for i in (1, 2, 3)))

    @classmethod
    def hex(cls, text: str) -> Colour:
        value = text.strip().lstrip("#")
        assert len(value) == 6, text
        return cls(*(int(value[i : i + 2], 16) for i in (0, 2, 4)))

    def luminance(self) -> float:
        def channel(c: float) -> float:
            c /= 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

        return 0.2126 * channel(self.r) + 0.7152 * channel(self.g) + 0.0722 * channel(self.b)


def contrast(a: Colour, b: Colour) -> float:
    light, dark = sorted((a.luminance(), b.luminance()), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def test_the_contrast_formula_matches_the_finding() -> None:
    # The finding: the old yellow ring on white is about 1.6:1.
    assert round(contrast(Colour.hex("#ffbf47"), Colour.hex("#ffffff")), 1) == 1.6
    assert round(contrast(Colour.hex("#000000"), Colour.hex("#ffffff")), 1) == 21.0


def ring_problems(focused: dict[str, object], label: str) -> list[str]:
    """Both rings must be drawn; the one next to the background, or failing that the inner
    one (which the outer frames), must stand out from it by 3:1; and the two rings must
    stand out from each other, so the one that contrasts reads as a ring of its own."""
    where = f"{label}: {focused['name']}"
    if focused["outlineStyle"] in ("none", "hidden") or float(str(focused["outlineWidth"])) < 2:
        return [f"{where}: no outline of 2 px or more"]
    outer = Colour.parse(str(focused["outlineColor"]))
    behind = Colour.parse(str(focused["behind"]))
    shadow = str(focused["shadow"])
    if shadow == "none":
        return [] if contrast(outer, behind) >= MINIMUM_CONTRAST else [f"{where}: faint ring"]
    inner = Colour.parse(shadow)
    best = max(contrast(outer, behind), contrast(inner, behind))
    problems = []
    if best < MINIMUM_CONTRAST:
        problems.append(f"{where}: rings {best:.2f}:1 against {focused['behind']}")
    if contrast(outer, inner) < MINIMUM_CONTRAST:
        problems.append(f"{where}: the two rings blur into each other")
    return problems


def tab_through(page: Page, label: str) -> tuple[int, list[str]]:
    """Tab through the page from the top; returns the number of stops and the problems."""
    page.evaluate("() => { document.activeElement && document.activeElement.blur(); }")
    page.evaluate("() => window.scrollTo(0, 0)")
    problems: list[str] = []
    seen: list[str] = []
    for _ in range(150):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if focused is None or (seen and focused["name"] == seen[0]):
            break
        seen.append(str(focused["name"]))
        problems += ring_problems(focused, label)
    return len(seen), problems


def test_focus_rings_stand_out_on_every_background(
    client_page: Page, visitor_page: Callable[[str], Page], live_server: str
) -> None:
    problems: list[str] = []
    stops = 0
    client_page.set_viewport_size({"width": 1024, "height": HEIGHT})
    for path in ("/my/", "/my/request/story", "/", "/accessibility"):
        client_page.goto(f"{live_server}{path}?lang=sv")
        count, found = tab_through(client_page, f"client {path}")
        stops, problems = stops + count, problems + found
    # The request's own page: the thread, two text fields, buttons of both kinds.
    client_page.goto(f"{live_server}/my/")
    # The walk starts once the request's page has loaded, not on the page being left.
    with client_page.expect_navigation():
        client_page.locator("main .cards a").first.click()
    count, found = tab_through(client_page, "client request")
    stops, problems = stops + count, problems + found
    visitor = visitor_page("sv")
    for path in ("/", "/login"):
        visitor.goto(f"{live_server}{path}")
        count, found = tab_through(visitor, f"visitor {path}")
        stops, problems = stops + count, problems + found
    assert stops > 60, "the walk reached too few controls to prove anything"
    assert problems == []


def test_the_focus_colours_hold_against_the_page_colours(client_page: Page) -> None:
    """Read from the stylesheet's own variables: the dark ring against every light
    background the pages use, the yellow against every dark one, and the two apart."""
    names = ("focus", "focus-ring", "paper", "soft", "warn-bg", "error-bg", "ok-bg")
    names += ("danger", "accent", "ink")
    colours = {
        name: Colour.hex(
            client_page.evaluate(
                f"getComputedStyle(document.documentElement).getPropertyValue('--{name}')"
            )
        )
        for name in names
    }
    ring, yellow = colours["focus-ring"], colours["focus"]
    for light in ("paper", "soft", "warn-bg", "error-bg", "ok-bg"):
        assert contrast(ring, colours[light]) >= MINIMUM_CONTRAST, light
    for dark in ("danger", "accent", "ink"):
        assert contrast(yellow, colours[dark]) >= MINIMUM_CONTRAST, dark
    assert contrast(ring, yellow) >= MINIMUM_CONTRAST
