"""Fixtures for real-browser tests: the app on a live server, and Debian's Chromium.

The server runs the same application the rest of the suite builds (`create_app(settings)`
on each test database), seeded with the demo accounts, in a background thread. Chromium is
the system package; Playwright never downloads a browser of its own here.
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from flask import Flask
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, Route
from werkzeug.serving import make_server

from app import create_app
from app.demo import seed_demo
from app.extensions import db
from config import Settings
from tests.conftest import empty_all_tables

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
# Assertions read English (or structure); the Swedish default is tested elsewhere.
BROWSER_LOCALE = "en"
TIMEOUT_MS = 10_000


@pytest.fixture
def live_app(settings: Settings) -> Iterator[Flask]:
    """The application behind the live server, seeded with the demo data.

    Tests may use it for work in an app context (creating an extra account, say).
    """
    app = create_app(settings)
    with app.app_context():
        seed_demo()  # seed_demo itself refuses nothing; only the CLI checks DEMO_DATA
        db.session.commit()
        db.session.remove()
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


@pytest.fixture
def live_server(live_app: Flask) -> Iterator[str]:
    """The base URL (no trailing slash) of the app served on a free local port."""
    server = make_server("127.0.0.1", 0, live_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_port}"
    # As an operator sets BASE_URL to where people reach the portal: links in mail lead here.
    live_app.config["BASE_URL"] = base
    try:
        yield base
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def chromium_path() -> str | None:
    return shutil.which("chromium") or (
        "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None
    )


@pytest.fixture(scope="session")
def chromium(playwright_instance: Playwright) -> Iterator[Browser]:
    executable = chromium_path()
    if executable is None:
        message = (
            "Chromium is not installed (no `chromium` on PATH, no /usr/bin/chromium); "
            "install Debian's package with `apt-get install chromium` to run the browser tests"
        )
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    browser = playwright_instance.chromium.launch(
        executable_path=executable, args=CHROMIUM_ARGS, headless=True
    )
    yield browser
    browser.close()


def _keep_local(live_server: str) -> Any:
    """A route handler that lets only the live server through: nothing leaves the machine.

    Tests that navigate elsewhere on purpose register their own route afterwards; Playwright
    tries routes newest first, so theirs wins.
    """
    local = urlsplit(live_server).netloc

    def handle(route: Route) -> None:
        url = urlsplit(route.request.url)
        if url.scheme in ("http", "https") and url.netloc != local:
            route.abort("blockedbyclient")
        else:
            route.continue_()

    return handle


def local_context(chromium: Browser, live_server: str, **options: Any) -> BrowserContext:
    """A fresh context of `chromium` that reaches only the live server, with the timeouts."""
    context = chromium.new_context(**{"locale": BROWSER_LOCALE, **options})
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    context.route("**/*", _keep_local(live_server))
    return context


@pytest.fixture
def page(chromium: Browser, live_server: str) -> Iterator[Page]:
    """A page in a fresh browser context (no cookies, no history) with JavaScript on."""
    context = local_context(chromium, live_server)
    yield context.new_page()
    context.close()


@pytest.fixture
def no_js_page(chromium: Browser, live_server: str) -> Iterator[Page]:
    """A page in a fresh browser context with JavaScript disabled."""
    context = local_context(chromium, live_server, java_script_enabled=False)
    yield context.new_page()
    context.close()


@pytest.fixture
def new_context(chromium: Browser, live_server: str) -> Iterator[Callable[..., BrowserContext]]:
    """Further fresh browser contexts (other people, other devices), closed after the test.

    Keyword options go to `Browser.new_context` (viewport, java_script_enabled, ...); the
    timeouts and the local-only routing are the same as for `page`.
    """
    contexts: list[BrowserContext] = []

    def make(**options: Any) -> BrowserContext:
        context = local_context(chromium, live_server, **options)
        contexts.append(context)
        return context

    yield make
    for context in contexts:
        context.close()


SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-output" / "screenshots"


def screenshot_folder(name: str, app: Flask) -> Path:
    """A fresh folder for one test's screenshots, one per database: each journey runs on
    SQLite and on PostgreSQL, and on two workers both may run at the same moment."""
    database = str(app.config["SQLALCHEMY_DATABASE_URI"]).split(":", 1)[0].split("+", 1)[0]
    folder = SCREENSHOTS / (name if database == "sqlite" else f"{name}-{database}")
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.png"):
        old.unlink()
    return folder
