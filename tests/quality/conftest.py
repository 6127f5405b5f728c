"""Fixtures of the accessibility and HTML-validity checks.

One application with the demo data and the scene (tests/quality/scene.py) is served for
the whole package; one Chromium renders every page of tests/quality/site_map.py, with one
logged-in browser context per kind of visitor that goes through the languages in turn.
axe-core (the local file from node_modules, never fetched from anywhere) runs on each page
as the browser shows it; the HTML exactly as the server sent it is saved under
test-output/html/ for the Nu HTML Checker, which reads them all in one Java start.

The checkers are pinned in tests/quality/package.json and installed with `npm ci` by
scripts/test. Without them (or without Chromium, or Java for the HTML check) the tests
are skipped with the reason, except under CI, where that is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Playwright
from playwright.sync_api import Page as BrowserPage
from werkzeug.serving import make_server

from app import create_app
from app.demo import DEMO_PASSWORD, demo_secret
from app.extensions import db
from tests.browser.conftest import CHROMIUM_ARGS, TIMEOUT_MS, chromium_path
from tests.browser.test_client_journey import next_code, path_of, submit_to
from tests.conftest import empty_all_tables, make_settings
from tests.quality import site_map
from tests.quality.scene import Scene, build_scene

QUALITY_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = QUALITY_DIR.parents[1]
# One folder per parallel worker: a worker that renders the pages too never deletes the
# files another is checking.
HTML_DIR = PROJECT_ROOT / "test-output" / "html" / os.environ.get("PYTEST_XDIST_WORKER", "")
AXE_JS = QUALITY_DIR / "node_modules" / "axe-core" / "axe.min.js"
VNU_JAR = QUALITY_DIR / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups off the items
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The page checks share one rendering of every page in every language (minutes of
    work, written to test-output/html/): on a parallel run they all go to one worker, which
    renders once; two would delete each other's files."""
    for item in items:
        if QUALITY_DIR in Path(item.path).parents:
            item.add_marker(pytest.mark.xdist_group("pages"))


def pytest_collection_finish(session: pytest.Session) -> None:
    """pytest-xdist writes an item's group into its id; a pytest that no longer reads it
    (9.2 did not) scatters the group, and every worker would render all pages again."""
    if not session.config.getoption("loadgroup", default=False):
        return
    for item in session.items:
        if QUALITY_DIR in Path(item.path).parents and not item.nodeid.endswith("@pages"):
            raise pytest.UsageError(f"{item.nodeid} lost its worker group (--dist loadgroup)")


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
AXE_RUN = """
async (tags) => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: tags},
    resultTypes: ["violations"],
  });
  return result.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({target: n.target.join(" "), html: n.html,
                                            summary: n.failureSummary})),
    count: v.nodes.length,
  }));
}
"""
# A page with a known error, checked with the others to prove the checker reads them.
CANARY = HTML_DIR / "canary-invalid.html"
CANARY_HTML = '<!doctype html><html lang="en"><title>canary</title><p><div></p></div>'
PHONE = {"width": 360, "height": 740}
DESK = {"width": 1280, "height": 800}


def unavailable(reason: str) -> None:
    """Skip for lack of a tool, except under CI, where the tool must be there."""
    if os.environ.get("CI"):
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def require_npm_packages() -> None:
    if shutil.which("npm") is None or shutil.which("node") is None:
        unavailable(
            "node and npm are not installed, so axe-core and vnu-jar cannot be: install "
            "Debian's `nodejs` and `npm` to run the accessibility and HTML-validity checks"
        )
    if not AXE_JS.exists() or not VNU_JAR.exists():
        unavailable(
            "axe-core and vnu-jar are not installed: run `npm ci` in tests/quality "
            "(scripts/test does it)"
        )


@pytest.fixture(scope="session")
def axe_source() -> str:
    require_npm_packages()
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def vnu_command() -> list[str]:
    require_npm_packages()
    java = shutil.which("java")
    if java is None:
        unavailable(
            "Java is not installed: install Debian's `default-jre-headless` (scripts/test "
            "does it) to run the Nu HTML Checker"
        )
    return [str(java), "-jar", str(VNU_JAR)]


@pytest.fixture(scope="package")
def quality_app(
    database_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Flask, Scene]]:
    """The application with the demo data and the scene, for the whole package."""
    if not database_url.startswith("sqlite"):
        # The markup does not depend on the database; rendering it twice would only double
        # the time (the server-side logic has its own tests on both databases).
        pytest.skip("the page checks run once, on SQLite")
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("quality-instance"),
        # The walk takes minutes; pages behind a fresh code must not turn into the code form.
        step_up_validity=timedelta(hours=1),
        # Dozens of logins and forms from one address in a few minutes; throttling has
        # tests of its own (tests/auth/test_throttling.py, tests/security/).
        ratelimit_enabled=False,
    )
    app = create_app(settings)
    scene = build_scene(app)
    yield app, scene
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


@pytest.fixture(scope="package")
def quality_server(quality_app: tuple[Flask, Scene]) -> Iterator[str]:
    app, _scene = quality_app
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="quality-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


@pytest.fixture(scope="package")
def checker_browser(playwright_instance: Playwright) -> Iterator[Browser]:
    """Chromium that can reach nothing but this machine: every other host name resolves to
    nothing. (The browser tests route each request through Python to the same end; for
    hundreds of pages that costs more than the checks themselves.)"""
    executable = chromium_path()
    if executable is None:
        unavailable("Chromium is not installed; install Debian's `chromium` package")
    browser = playwright_instance.chromium.launch(
        executable_path=executable,
        args=[*CHROMIUM_ARGS, "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"],
        headless=True,
    )
    yield browser
    browser.close()


def open_context(browser: Browser, audience: str, axe_source: str) -> BrowserContext:
    context = browser.new_context(
        locale="sv",
        # axe is injected into the page, which the portal's Content-Security-Policy rightly
        # forbids; bypassing it is for the checker only and changes nothing else.
        bypass_csp=True,
        viewport=DESK if audience in site_map.STAFF else PHONE,
    )
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    # Handed to the browser once per context and run in every page it opens: sending the
    # half-megabyte file with each page (add_script_tag) took longer than axe's own checks.
    context.add_init_script(script=axe_source)
    return context


def log_in(page: BrowserPage, base: str, app: Flask, audience: str) -> None:
    """Log the audience's account in as far as that audience goes."""
    username = site_map.ACCOUNTS.get(audience)
    if username is None:
        return
    page.goto(f"{base}/login")
    page.fill('main input[name="username"]', username)
    page.fill('main input[name="password"]', DEMO_PASSWORD)
    submit_to(page, "/login")
    if audience in (site_map.PENDING, site_map.ENROLLING, site_map.PASSKEY):
        return
    assert path_of(page.url) == "/login/code", page.url
    page.fill('main input[name="code"]', next_code(app, username, demo_secret(username)))
    submit_to(page, "/login/code")
    assert not path_of(page.url).startswith("/login"), page.url


@dataclass
class Rendered:
    """One page in one language: what came back and what axe found."""

    page: site_map.Page
    lang: str
    status: int
    final_path: str
    html_file: Path
    violations: list[dict[str, Any]] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.page.audience} {self.lang} {self.page.path}"

    @property
    def as_expected(self) -> bool:
        return self.status == self.page.status and self.final_path == self.page.path


@pytest.fixture(scope="package")
def rendered(
    quality_app: tuple[Flask, Scene],
    quality_server: str,
    checker_browser: Browser,
    axe_source: str,
) -> list[Rendered]:
    """Every page of the site map in each of its languages, checked by axe."""
    app, scene = quality_app
    HTML_DIR.mkdir(parents=True, exist_ok=True)
    for old in HTML_DIR.glob("*.html"):
        old.unlink()
    pages = site_map.pages_to_check(app, scene)
    results: list[Rendered] = []
    for audience, languages in site_map.LANGUAGES.items():
        mine = [p for p in pages if p.audience == audience]
        if not mine:
            continue
        context = open_context(checker_browser, audience, axe_source)
        browser_page = context.new_page()
        log_in(browser_page, quality_server, app, audience)
        for lang in languages:
            for page in mine:
                results.append(render(browser_page, quality_server, page, lang))
        context.close()
    return results


# Every field emptied, nothing chosen, and the browser's own checks off: what is checked is
# the server's answer, which is all a browser without JavaScript or an old phone gets.
SEND_EMPTY = """() => {
  const form = document.querySelector("main form[method=post]");
  for (const field of form.elements) {
    if (field.type === "radio" || field.type === "checkbox") field.checked = false;
    else if (field.tagName === "SELECT") field.value = "";
    else if (field.type !== "hidden" && field.type !== "submit") field.value = "";
  }
  form.noValidate = true;
  form.requestSubmit();
}"""


def render(browser_page: BrowserPage, base: str, page: site_map.Page, lang: str) -> Rendered:
    response = browser_page.goto(f"{base}{page.path}?lang={lang}")
    if page.sent_empty:
        with browser_page.expect_navigation() as navigation:
            browser_page.evaluate(SEND_EMPTY)
        response = navigation.value
    assert response is not None, page
    html_file = HTML_DIR / f"{page.audience}--{page.name}--{lang}.html"
    html_file.write_bytes(response.body())
    result = Rendered(page, lang, response.status, path_of(browser_page.url), html_file)
    result.violations = browser_page.evaluate(AXE_RUN, AXE_TAGS)
    return result


@pytest.fixture(scope="package")
def vnu_errors(
    rendered: list[Rendered], vnu_command: list[str]
) -> dict[Path, list[dict[str, Any]]]:
    """The Nu HTML Checker's errors per saved page, from one run over all of them."""
    CANARY.write_text(CANARY_HTML, encoding="utf-8")
    files = [r.html_file for r in rendered] + [CANARY]
    completed = subprocess.run(
        [
            *vnu_command,
            "--errors-only",
            "--format",
            "json",
            "--stdout",
            "--exit-zero-always",
            *map(str, files),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    report = json.loads(completed.stdout)
    errors: dict[Path, list[dict[str, Any]]] = {f: [] for f in files}
    for message in report["messages"]:
        path = Path(urlsplit(message.get("url", "")).path)
        errors.setdefault(path, []).append(message)
    return errors


def summarise(problems: list[tuple[Rendered, list[str]]]) -> str:
    """One line per page and problem, naming the languages it shows up in (a problem in the
    markup shows up in all of them; one in a translation only in its language)."""
    grouped: dict[tuple[str, str], dict[str, list[str]]] = {}
    for result, lines in problems:
        page = grouped.setdefault((result.page.name, result.page.path), {})
        for line in lines:
            page.setdefault(line, []).append(result.lang)
    out = []
    for (name, path), found in grouped.items():
        out.append(f"{name} ({path}):")
        out.extend(f"  [{' '.join(langs)}] {line}" for line, langs in found.items())
    return "\n".join(out)
