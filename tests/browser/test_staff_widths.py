"""Every role's own pages at a desk and on a phone: a caseworker, a team lead, a police
representative and a partner municipality, each logged in with the demo data.

Each goes through the pages their start page leads to, and the first record each list leads to
(a request, a case, a consultation, a placement request), at 1,280 px, 360 px and 320 px. The
page itself never scrolls sideways (a wide table may scroll inside its own box), and every
page is saved as a full-page screenshot at 1,280 and 360 px in
test-output/screenshots/staff-<account>/, to be looked at as the person would.
"""

from __future__ import annotations

import re

import pytest
from flask import Flask
from playwright.sync_api import Browser, Page

from tests.browser.conftest import local_context, screenshot_folder
from tests.browser.test_login_flow import log_in, path_of

pytestmark = pytest.mark.browser

WIDTHS = (1280, 360, 320)
SHOT_WIDTHS = (1280, 360)
# From a list to one of its records: the first link whose address looks like these.
RECORDS = re.compile(
    r"^/(team/triage|team/cases|team/consultations|agency/consultations|partner/requests)/"
    r"[0-9a-f-]{36}$"
)
OVERFLOW_JS = """() => {
  const scrolls = (e) => ["auto", "scroll", "hidden"].includes(getComputedStyle(e).overflowX);
  const contained = (e) => { for (let a = e.parentElement; a; a = a.parentElement) {
    if (scrolls(a)) { return true; } } return false; };
  const beyond = [...document.querySelectorAll("body *")]
    .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1 && !contained(e))
    .map((e) => e.tagName.toLowerCase() + (e.id ? "#" + e.id : "")
      + (e.className && typeof e.className === "string" ? "." + e.className.split(" ")[0] : ""));
  return {page: document.documentElement.scrollWidth, window: window.innerWidth,
          beyond: beyond.slice(0, 6)};
}"""


def own_pages(page: Page, base: str) -> list[str]:
    """The pages the person's start page leads to, and the first record of each list."""
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{base}/start/")
    found = ["/start/"]
    for href in page.locator("main a[href^='/']").evaluate_all(
        "links => links.map(a => a.getAttribute('href'))"
    ):
        path = href.split("#")[0].split("?")[0]
        if path not in found and not path.startswith(("/logout", "/account")):
            found.append(path)
    for path in list(found):
        page.goto(f"{base}{path}")
        for href in page.locator("main a[href^='/']").evaluate_all(
            "links => links.map(a => a.getAttribute('href'))"
        ):
            record = href.split("#")[0].split("?")[0]
            if RECORDS.match(record) and record not in found:
                found.append(record)
                break
    return found


@pytest.mark.parametrize("account", ["handlaggare", "teamledare", "polis", "partner"])
def test_each_roles_pages_fit_a_desk_and_a_phone(
    account: str, chromium: Browser, live_server: str, live_app: Flask
) -> None:
    context = local_context(chromium, live_server, viewport={"width": 1280, "height": 800})
    folder = screenshot_folder(f"staff-{account}", live_app)
    try:
        page = context.new_page()
        log_in(page, live_server, account)
        assert path_of(page.url) == "/start/"
        pages = own_pages(page, live_server)
        assert len(pages) >= 3, pages
        overflowing = []
        for number, path in enumerate(pages, start=1):
            name = re.sub(r"[^a-z]+", "-", path.strip("/"))[:40].strip("-") or "start"
            for width in WIDTHS:
                page.set_viewport_size({"width": width, "height": 800})
                response = page.goto(f"{live_server}{path}")
                assert response is not None and response.status == 200, (path, width)
                sizes = page.evaluate(OVERFLOW_JS)
                if sizes["page"] > sizes["window"] + 1:
                    overflowing.append((path, width, sizes["page"], sizes["beyond"]))
                if width in SHOT_WIDTHS:
                    shot = folder / f"{number:02d}-{name}-{width}.png"
                    page.screenshot(path=shot, full_page=True)
        assert not overflowing, f"pages wider than the window: {overflowing}"
    finally:
        context.close()
