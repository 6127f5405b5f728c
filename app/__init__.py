"""Utväg: a secure portal for municipal exit-programme teams."""

from __future__ import annotations

import importlib
import select
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import Flask
from werkzeug.middleware.proxy_fix import ProxyFix

from app.core.jinja import TemplateEnvironment
from app.core.keycheck import check_at_start
from app.core.language import DEFAULT_LOCALE
from app.core.logs import init_logs
from app.extensions import babel, csrf, db, limiter, login_manager, migrate
from config import Settings

# Templates, static files, rules, migrations and compiled catalogues travel inside the
# package, so an installed wheel serves exactly what a checkout serves.
PACKAGE_DIR = Path(__file__).resolve().parent


def create_app(settings: Settings | None = None) -> Flask:
    settings = settings or Settings.from_env()
    app = Flask(
        __name__,
        instance_path=str(settings.instance_path),
        instance_relative_config=False,
    )
    app.jinja_environment = TemplateEnvironment
    app.config.update(flask_config(settings))
    app.extensions["utvag.settings"] = settings

    init_logs(app)
    register_extensions(app, settings)
    register_request_cycle(app)
    register_blueprints(app)
    register_commands(app)
    check_at_start(app, settings)
    if settings.trusted_proxy_count:
        # Only behind a known number of proxies may X-Forwarded-For decide the client address
        # that throttling counts by.
        n = settings.trusted_proxy_count
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    return app


def flask_config(settings: Settings) -> dict[str, Any]:
    # A neutral name: a cookie named after the service, left on a shared or watched phone,
    # would tell that the portal was visited.
    cookie_name = "__Host-s" if settings.secure_cookies else "s"
    return {
        "SECRET_KEY": settings.secret_key,
        "SQLALCHEMY_DATABASE_URI": settings.database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": engine_options(settings.database_url),
        "AUDIT_KEY": settings.audit_key,
        "AUDIT_PREVIOUS_KEYS": settings.audit_previous_keys,
        "PASSWORD_HASH_PROFILE": settings.password_hash_profile,
        "SESSION_COOKIE_NAME": cookie_name,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.secure_cookies,
        # The cookie is written when the session changes, not re-signed on every page: its
        # lifetime is the absolute timeout from the login, which the server enforces anyway.
        "SESSION_REFRESH_EACH_REQUEST": False,
        # The server-side session decides expiry; the cookie only needs to outlive it.
        "PERMANENT_SESSION_LIFETIME": settings.absolute_timeout,
        "STAFF_IDLE_TIMEOUT": settings.staff_idle_timeout,
        "CLIENT_IDLE_TIMEOUT": settings.client_idle_timeout,
        "ABSOLUTE_TIMEOUT": settings.absolute_timeout,
        "STEP_UP_VALIDITY": settings.step_up_validity,
        "MAX_CONTENT_LENGTH": settings.max_content_length,
        "WTF_CSRF_TIME_LIMIT": int(settings.absolute_timeout.total_seconds()),
        "WTF_CSRF_SSL_STRICT": True,
        "RATELIMIT_STORAGE_URI": settings.ratelimit_storage_uri,
        "RATELIMIT_ENABLED": settings.ratelimit_enabled,
        "RATELIMIT_HEADERS_ENABLED": False,
        "RATELIMIT_KEY_PREFIX": "utvag",
        # When the shared store (Redis) is down or hangs, throttling goes on counting in
        # each process instead of failing every login: a short timeout bounds the wait,
        # and Flask-Limiter checks the store again (1, 2, 4 … 32 s apart) and returns to it.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_STORAGE_OPTIONS": limiter_storage_options(settings.ratelimit_storage_uri),
        "LOGIN_LIMIT_PER_ACCOUNT": settings.login_limit_per_account,
        "LOGIN_LIMIT_PER_ADDRESS": settings.login_limit_per_address,
        "CODE_LIMIT_PER_USER": settings.code_limit_per_user,
        "TOTP_FAILURE_CAP": settings.totp_failure_cap,
        "PUBLIC_LANGUAGES": settings.public_languages,
        "STAFF_LANGUAGES": settings.staff_languages,
        "QUICK_EXIT_URL": settings.quick_exit_url,
        "NEUTRAL_TITLE": settings.neutral_title,
        "BABEL_DEFAULT_LOCALE": DEFAULT_LOCALE,
        "BABEL_DEFAULT_TIMEZONE": "Europe/Stockholm",
        "BABEL_TRANSLATION_DIRECTORIES": str(PACKAGE_DIR / "translations"),
        "DEMO_DATA": settings.demo_data,
        "TEAM_PHONE": settings.team_phone,
        "DPO_CONTACT": settings.dpo_contact,
        "INTAKE_ORGANISATION": settings.intake_organisation,
        "SMTP_HOST": settings.smtp_host,
        "SMTP_PORT": settings.smtp_port,
        "SMTP_SENDER": settings.smtp_sender,
        "SMTP_SECURITY": settings.smtp_security,
        "SMTP_USERNAME": settings.smtp_username,
        "SMTP_PASSWORD": settings.smtp_password,
        "SMTP_CA_FILE": settings.smtp_ca_file,
        "BASE_URL": settings.base_url,
        "CONSULTATION_ACCESS_DAYS": settings.consultation_access_days,
    }


# Seconds the limiter waits for Redis before it counts in memory: a login must never wait on
# a store that hangs.
LIMITER_STORE_TIMEOUT = 0.25


def limiter_storage_options(uri: str) -> dict[str, Any]:
    if uri.startswith(("redis://", "rediss://", "redis+")):
        return {
            "socket_timeout": LIMITER_STORE_TIMEOUT,
            "socket_connect_timeout": LIMITER_STORE_TIMEOUT,
        }
    return {}


def engine_options(database_url: str) -> dict[str, Any]:
    if database_url.startswith("sqlite"):
        return {"connect_args": {"timeout": 15}}
    # No pool_pre_ping: its SELECT 1 was a round trip before every request's first query.
    # A connection the server has closed is found without one (drop_closed_connection).
    return {"pool_size": 5, "max_overflow": 5}


# psycopg converts a statement's %(name)s placeholders to $n with a regular expression, and
# keeps the result only for statements up to 4 KiB: the start page's counts (some 12 KiB, one
# statement instead of thirty round trips) were converted again on every request (0.18 ms).
# Statements are the application's own, a few hundred distinct ones: kept by the same LRU.
LONGEST_CONVERTED_ONCE = 64 * 1024


def keep_long_statements_converted() -> None:
    import psycopg._queries

    psycopg._queries.MAX_CACHED_STATEMENT_LENGTH = LONGEST_CONVERTED_ONCE


def drop_closed_connection(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """Refuse a pooled connection that the server has closed, before a request uses it.

    An idle connection receives nothing unless the server ends it: a restart, a crash (the
    kernel closes the dead backend's socket), an administrator's pg_terminate_backend, an
    idle timeout. So a socket with something to read, or none at all, is a closed
    connection, and asking the operating system costs no round trip to the database.
    DisconnectionError makes the pool discard it and check out (or open) another; a
    connection that breaks during a request still invalidates the whole pool, as before.
    """
    try:
        if dbapi_connection.closed:
            raise sa.exc.DisconnectionError("closed")
        readable, _writable, _failed = select.select([dbapi_connection.fileno()], [], [], 0)
    except (OSError, ValueError) as error:
        raise sa.exc.DisconnectionError("no socket") from error
    if readable:
        raise sa.exc.DisconnectionError("closed by the server")


def register_extensions(app: Flask, settings: Settings) -> None:
    from app import models  # noqa: F401  (the metadata must know every table)
    from app.core.crypto import init_crypto
    from app.core.db import private_sqlite_file
    from app.i18n import select_locale

    private_sqlite_file(settings.database_url)
    db.init_app(app)
    # Batch mode lets SQLite alter tables; compare_type keeps the schema test honest.
    migrate.init_app(
        app, db, directory=str(PACKAGE_DIR / "migrations"), render_as_batch=True, compare_type=True
    )
    csrf.init_app(app)
    babel.init_app(app, locale_selector=select_locale)
    limiter.init_app(app)
    init_crypto(
        app,
        settings.field_encryption_keys,
        settings.blind_index_key,
        previous_blind_index_keys=settings.blind_index_previous_keys,
    )

    login_manager.init_app(app)
    login_manager.request_loader(load_user_from_session)

    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            sa.event.listen(db.engine, "connect", sqlite_pragmas)
        else:
            sa.event.listen(db.engine, "checkout", drop_closed_connection)
            keep_long_statements_converted()


def load_user_from_session(_request: object) -> object | None:
    """Flask-Login's current_user: only a session that passed both factors has a user."""
    from app.auth.sessions import current_session

    user_session = current_session()
    if user_session is not None and user_session.is_fully_authenticated:
        return user_session.user
    return None


def sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    # Deleted rows are overwritten with zeros, so retention deletes really remove data.
    cursor.execute("PRAGMA secure_delete = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def register_request_cycle(app: Flask) -> None:
    from app.audit.services import forget_reads, reads_appended_at_the_end
    from app.auth.guard import init_guard
    from app.core.errors import finish_transaction, init_errors
    from app.core.headers import init_headers
    from app.core.urls import init_urls
    from app.i18n import init_i18n
    from app.templating import init_templating

    # Before the guard, so a routing redirect is made relative whoever asks.
    init_urls(app)
    # First of the request's own hooks: every audit event of a page that reads is appended
    # at its end, the guard's included.
    app.before_request(reads_appended_at_the_end)
    app.teardown_request(forget_reads)
    init_guard(app)
    init_errors(app)
    init_headers(app)
    init_i18n(app)
    init_templating(app)
    # Registered last so it runs first: the security headers also reach the page that
    # replaces an answer whose commit failed.
    app.after_request(finish_transaction)


# Where each feature's routes are declared. They are imported here, when an application is
# made, and never by the packages themselves: importing `app.cases.forms` (or any module)
# then brings in that module's own needs, not every view of the portal, and no module is
# the hub of an import cycle (tests/core/test_imports.py imports each one first).
VIEW_MODULES = (
    "app.public.views",
    "app.feedback.views",
    "app.auth.views",
    "app.account.views",
    "app.home.views",
    "app.alerts.views",
    "app.admin.views",
    "app.intake.views",
    "app.messages.views",
    "app.cases.views",
    "app.consent.views",
    "app.consent.case_views",
    "app.consultations.views",
    "app.placements.views",
    "app.oversight.views",
    "app.oversight.grants",
    "app.workspace.views",
)


def register_blueprints(app: Flask) -> None:
    for module in VIEW_MODULES:
        importlib.import_module(module)

    from app.account import bp as account_bp
    from app.admin import bp as admin_bp
    from app.alerts import bp as alerts_bp
    from app.auth import bp as auth_bp
    from app.cases import bp as cases_bp
    from app.consent import bp as consent_bp
    from app.consent import team_bp as consent_team_bp
    from app.consultations import agency_bp, join_bp
    from app.consultations import bp as consultations_bp
    from app.feedback import bp as feedback_bp
    from app.home import bp as home_bp
    from app.intake import bp as intake_bp
    from app.messages import bp as messages_bp
    from app.oversight import bp as oversight_bp
    from app.placements import bp as placements_bp
    from app.placements import partner_bp
    from app.public import bp as public_bp
    from app.workspace import bp as workspace_bp

    blueprints = (
        public_bp,
        feedback_bp,
        auth_bp,
        account_bp,
        home_bp,
        alerts_bp,
        admin_bp,
        intake_bp,
        messages_bp,
        cases_bp,
        consent_bp,
        consent_team_bp,
        workspace_bp,
        consultations_bp,
        agency_bp,
        join_bp,
        placements_bp,
        partner_bp,
        oversight_bp,
    )
    for blueprint in blueprints:
        app.register_blueprint(blueprint)


def register_commands(app: Flask) -> None:
    from app.alerts.cli import alerts_cli
    from app.audit.cli import audit_cli
    from app.auth.cli import keys_cli, users_cli
    from app.cases.cli import deadlines_cli
    from app.consultations.cli import actions_cli
    from app.core.outbox import outbox_cli
    from app.demo import demo_cli
    from app.orgs.cli import orgs_cli
    from app.placements.cli import placements_cli
    from app.retention.cli import retention_cli

    groups = (
        audit_cli,
        users_cli,
        keys_cli,
        orgs_cli,
        demo_cli,
        outbox_cli,
        retention_cli,
        deadlines_cli,
        actions_cli,
        placements_cli,
        alerts_cli,
    )
    for group in groups:
        app.cli.add_command(group)
