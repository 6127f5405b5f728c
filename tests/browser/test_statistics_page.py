"""The statistics page with the demo data's year of work, in Swedish, in a real Chromium.

The charts are PNGs drawn on the server, so they must load with JavaScript off; each sits
beside its table. The full page is saved as test-output/screenshots/statistics-sv.png.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import BrowserContext, expect

from tests.browser.test_client_journey import SCREENSHOTS
from tests.browser.test_login_flow import log_in

pytestmark = pytest.mark.browser


def test_the_statistics_page_shows_charts_beside_their_tables(
    new_context: Callable[..., BrowserContext], live_server: str
) -> None:
    desk = {"width": 1280, "height": 900}
    page = new_context(java_script_enabled=False, viewport=desk).new_page()
    log_in(page, live_server, "teamledare")
    page.goto(f"{live_server}/team/statistics?lang=sv")

    sections = page.locator("section.stat")
    assert sections.count() >= 10
    charts = page.locator("section.stat img")
    expect(charts.first).to_be_visible()
    for index in range(charts.count()):
        chart = charts.nth(index)
        chart.scroll_into_view_if_needed()
        loaded = chart.evaluate("img => img.complete && img.naturalWidth > 0")
        assert loaded, chart.get_attribute("src")
        # Every chart has its data beside it, for screen readers and for checking.
        assert chart.locator("xpath=following-sibling::table").count() == 1
    # A year of demo work gives figures large enough to show, not just "<5".
    counts = page.locator("section.stat td:nth-child(2)").all_inner_texts()
    assert sum(1 for c in counts if c.isdigit() and int(c) >= 5) >= 10
    expect(page.locator("main")).to_contain_text("Median")

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "statistics-sv.png"), full_page=True)
