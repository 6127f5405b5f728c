"""Fixtures: an application on each database, a CSRF-respecting client, a login helper.

Every test runs on SQLite, and again on PostgreSQL when TEST_DATABASE_URL is set. The
schema is built by the migrations, never by create_all, so the tests exercise what
production runs.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
import sqlalchemy as sa
import time_machine
from flask import Flask
from flask.testing import FlaskClient
from flask_migrate import upgrade

from app import create_app
from app.auth import services, totp
from app.auth.models import Role, User
from app.cases.models import Case
from app.extensions import db
from app.intake.models import ClientRequest
from app.orgs.models import Organisation, OrgKind
from app.orgs.services import create_organisation
from config import Settings, new_fernet_key, normalise_database_url


def _services_of_this_worker() -> None:
    """scripts/test runs the suite on every core (pytest-xdist). The suite empties its
    database and its Redis database between tests, which would pull the floor from under a
    test on another worker: so each worker gets a PostgreSQL database and a Redis database
    of its own, named after it. Set here, at import, before any test module reads them."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")  # gw0, gw1, ...
    if not worker:
        return
    if url := os.environ.get("TEST_DATABASE_URL"):
        os.environ["TEST_DATABASE_URL"] = _database_of_worker(url, worker)
    if url := os.environ.get("TEST_REDIS_URL"):
        parts = urlsplit(url)
        first = int(parts.path.strip("/") or 0)
        # Counting down from the given one (15 by default, the last of Redis's 16).
        number = (first - int(worker.removeprefix("gw"))) % 16
        os.environ["TEST_REDIS_URL"] = parts._replace(path=f"/{number}").geturl()


def _database_of_worker(url: str, worker: str) -> str:
    base = sa.make_url(url)
    name = f"{base.database}_{worker}"
    engine = sa.create_engine(normalise_database_url(url), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        exists = connection.scalar(
            sa.text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
        )
        if not exists:
            connection.execute(sa.text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return base.set(database=name).render_as_string(hide_password=False)


_services_of_this_worker()

PASSWORD = "lugna-tallar-vid-havet"
FIELD_KEY = new_fernet_key()
DATABASES = ["sqlite"] + (["postgresql"] if os.environ.get("TEST_DATABASE_URL") else [])
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def make_settings(database_url: str, instance_path: Path, **overrides: Any) -> Settings:
    settings = Settings(
        mode="testing",
        secret_key="test-secret-key-not-for-production",
        database_url=database_url,
        field_encryption_keys=(FIELD_KEY,),
        blind_index_key="test-blind-index-key",
        audit_key="test-audit-key",
        instance_path=instance_path,
        secure_cookies=False,
        password_hash_profile="fast-for-tests",
    )
    return replace(settings, **overrides)


def reset_database(url: str) -> None:
    engine = sa.create_engine(url)
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(sa.text("DROP SCHEMA public CASCADE"))
            connection.execute(sa.text("CREATE SCHEMA public"))
    engine.dispose()


@pytest.fixture(scope="session", params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A freshly migrated database of each kind, shared by the tests of one session."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('sqlite') / 'test.sqlite3'}"
    else:
        url = normalise_database_url(os.environ["TEST_DATABASE_URL"])
        reset_database(url)
    app = create_app(make_settings(url, tmp_path_factory.mktemp("instance")))
    with app.app_context():
        upgrade()
        db.engine.dispose()
    return url


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return make_settings(database_url, tmp_path)


@pytest.fixture
def app(settings: Settings) -> Iterator[Flask]:
    app = create_app(settings)
    yield app
    with app.app_context():
        db.session.remove()
        empty_all_tables()
        db.engine.dispose()


def empty_all_tables() -> None:
    tables = list(reversed(db.metadata.sorted_tables))
    if db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        db.session.execute(sa.text(f"TRUNCATE {names} CASCADE"))
    else:
        for table in tables:
            db.session.execute(table.delete())
    db.session.commit()


# Rate limits counted in memory, and in Redis (shared by instances) when one is given.
LIMIT_STORAGES = ["memory"] + (["redis"] if os.environ.get("TEST_REDIS_URL") else [])


@contextmanager
def limited_app(settings: Settings, storage: str, **limits: str) -> Iterator[Flask]:
    """An application with small rate limits (`limits` are Settings fields) in `storage`
    ("memory", "redis", or a storage URI of its own)."""
    uri = storage if "://" in storage else "memory://"
    if storage == "redis":
        import redis

        uri = os.environ["TEST_REDIS_URL"]
        redis.Redis.from_url(uri).flushdb()
    app = create_app(replace(settings, ratelimit_storage_uri=uri, **limits))
    try:
        yield app
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()


@pytest.fixture(scope="session")
def playwright_instance() -> Iterator[Any]:
    """One Playwright per test run: its sync API refuses a second one in the same thread,
    so the browser journeys and the page checks share this one."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture
def clock() -> Iterator[time_machine.Coordinates]:
    """Time under the test's control, starting now (so fixtures made before it stay valid);
    it still ticks, so requests see it move."""
    with time_machine.travel(datetime.now(UTC), tick=True) as traveller:
        yield traveller


class Browser:
    """A test client that behaves like a browser: it reads CSRF tokens from the page."""

    def __init__(self, client: FlaskClient, language: str = "en") -> None:
        # Assertions read English; the portal's own default (Swedish) is tested on its own.
        client.environ_base["HTTP_ACCEPT_LANGUAGE"] = language
        self.client = client
        self.last_csrf: str | None = None

    def get(self, url: str, **kwargs: Any) -> Any:
        response = self.client.get(url, **kwargs)
        match = CSRF_PATTERN.search(response.get_data(as_text=True))
        if match:
            self.last_csrf = match.group(1)
        return response

    def post(
        self,
        url: str,
        data: dict[str, Any] | None = None,
        *,
        form_page: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """POST as a form on `form_page` (default: the same URL) would, token included."""
        self.get(form_page or url)
        payload = {"csrf_token": self.last_csrf, **(data or {})}
        return self.client.post(url, data=payload, **kwargs)

    def session_token(self) -> str | None:
        with self.client.session_transaction() as session:
            token: str | None = session.get("sid")
            return token


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


@pytest.fixture
def new_browser(app: Flask) -> Any:
    """Further browsers (other devices) for the same application."""
    return lambda: Browser(app.test_client())


@dataclass
class Account:
    id: Any
    username: str
    password: str
    secret: str | None
    role: Role


def code_for(app: Flask, account: Account) -> str:
    """The next code the server will accept for this account (never a replay)."""
    assert account.secret is not None
    with app.app_context():
        last_step = db.session.get(User, account.id).totp_last_step
    step = totp.current_step()
    if last_step is not None and step <= last_step:
        step = last_step + 1
    return pyotp.TOTP(account.secret).generate_otp(step)


@pytest.fixture
def organisation(app: Flask) -> Organisation:
    with app.app_context():
        org = create_organisation("malmo-team", "Konsultationsteamet Malmö", OrgKind.EXIT_TEAM)
        db.session.commit()
        db.session.refresh(org)
        db.session.expunge(org)
        return org


@pytest.fixture
def make_account(app: Flask, organisation: Organisation) -> Any:
    counter = iter(range(1, 10_000))

    def make(
        role: Role = Role.CASEWORKER,
        *,
        username: str | None = None,
        enrolled: bool = True,
        org_slug: str | None = None,
    ) -> Account:
        username = username or f"{role.value.replace('_', '-')}{next(counter)}"
        secret = totp.new_secret() if enrolled else None
        with app.app_context():
            org = None
            if role is not Role.CLIENT:
                org = db.session.scalar(
                    sa.select(Organisation).where(
                        Organisation.slug == (org_slug or organisation.slug)
                    )
                )
            user = services.create_user(username, PASSWORD, role, org, totp_secret=secret)
            db.session.commit()
            return Account(user.id, username, PASSWORD, secret, role)

    return make


@pytest.fixture
def log_in(app: Flask) -> Any:
    """Log a browser in through the real pages: password, then the TOTP code."""

    def do(browser: Browser, account: Account) -> Any:
        response = browser.post(
            "/login", {"username": account.username, "password": account.password}
        )
        assert response.status_code == 302, response.get_data(as_text=True)
        response = browser.post("/login/code", {"code": code_for(app, account)})
        assert response.status_code == 302, response.get_data(as_text=True)
        return response

    return do


# The client's journey, shared by the intake, messages and browser tests.
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


USERNAME_SHOWN = re.compile(r'<code dir="ltr">([a-z0-9-]+)</code>')


def shown_username(enrol_page: str) -> str:
    """The username the portal made for a client, as the page after registration shows it."""
    match = USERNAME_SHOWN.search(enrol_page)
    assert match, "the enrolment page shows no username"
    return match.group(1)


@pytest.fixture
def client_browser(app, browser, organisation):
    """A browser with a freshly registered and enrolled client, as a person would do it."""
    return register_client(browser)


def register_client(browser):
    """Register and enrol a client in `browser`, as a person would do it."""
    response = browser.post("/my/register", {"password": PASSWORD, "confirm_password": PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    html = browser.get("/login/enrol").get_data(as_text=True)
    browser.username = shown_username(html)
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
        if overrides.get("kind", {}).get("kind") == "relative":
            # A relative chooses from help for relatives.
            steps["help"]["help_wanted"] = ["advice", "family_support"]
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


# A team with a request turned into a case: shared by the workspace and consultation tests.
@dataclass
class Scene:
    request_id: Any
    case_id: Any
    owner: Any
    owner_browser: Any


@pytest.fixture
def other_orgs(app, organisation):
    with app.app_context():
        create_organisation("annat-team", "Annat team", OrgKind.EXIT_TEAM)
        create_organisation("polisen", "Polisen", OrgKind.AGENCY)
        create_organisation("vaxjo", "Växjö kommun", OrgKind.PARTNER)
        db.session.commit()


@pytest.fixture
def submitted_request(app, client_browser, fill_request):
    fill_request(client_browser)
    with app.app_context():
        return db.session.scalars(sa.select(ClientRequest.id)).one()


@pytest.fixture
def scene(app, submitted_request, make_account, new_browser, log_in):
    owner = make_account(Role.CASEWORKER, username="agare")
    owner_browser = new_browser()
    log_in(owner_browser, owner)
    response = owner_browser.post(
        f"/team/triage/{submitted_request}/open-case",
        {},
        form_page=f"/team/triage/{submitted_request}",
    )
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    with app.app_context():
        case_id = db.session.scalars(sa.select(Case.id)).one()
    return Scene(submitted_request, case_id, owner, owner_browser)


def plan_by_indexes(statement: str, parameters: Any = None) -> str:
    """PostgreSQL's plan for `statement` in this transaction, choosing among indexes only:
    a test's tables are too small for the planner to prefer an index on its own."""
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
    rows = connection.exec_driver_sql("EXPLAIN " + statement, parameters)
    return "\n".join(row[0] for row in rows)


@contextmanager
def statements_sent(containing: str) -> Iterator[list[tuple[str, Any]]]:
    """The statements sent to the database inside the block whose text holds `containing`,
    each with its values (for plan_by_indexes)."""
    sent: list[tuple[str, Any]] = []

    def keep(_conn, _cursor, statement, parameters, _context, _many):
        if containing in statement:
            sent.append((statement, parameters))

    sa.event.listen(db.engine, "before_cursor_execute", keep)
    try:
        yield sent
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", keep)
