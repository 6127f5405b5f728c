"""A populated world shared by the tests of one module, on each database.

The matrix and the property tests send thousands of requests; building the world once per
module (not per test) keeps them to seconds. Throttling is off in this application because
these tests are about who may do what and which input is refused; throttling has its own
tests (tests/auth/test_throttling.py, tests/security/test_attacks.py).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from app import create_app
from app.extensions import db
from tests.conftest import empty_all_tables, make_settings
from tests.security.world import World, build_world


def world_app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Flask:
    settings = make_settings(
        database_url,
        tmp_path_factory.mktemp("instance"),
        ratelimit_enabled=False,
        intake_organisation="malmo-team",
        # Long enough that a slow run never meets the step-up page in the middle.
        step_up_validity=timedelta(hours=1),
    )
    app = create_app(settings)
    with app.app_context():
        sa.event.listen(db.engine, "connect", _commit_without_waiting_for_the_disk)
    return app


def _commit_without_waiting_for_the_disk(dbapi_connection: Any, _record: Any) -> None:
    # Thousands of requests commit one by one; a throwaway test database need not survive a
    # power cut, so each commit skips the wait for the disk.
    if isinstance(dbapi_connection, sqlite3.Connection):
        dbapi_connection.execute("PRAGMA synchronous = OFF")
        return
    dbapi_connection.autocommit = True
    dbapi_connection.execute("SET synchronous_commit = off")
    dbapi_connection.autocommit = False


@pytest.fixture(scope="module")
def world_language() -> str:
    """The language the world's browsers ask for; a module may override it."""
    return "en"


@pytest.fixture(scope="module")
def world(
    database_url: str, tmp_path_factory: pytest.TempPathFactory, world_language: str
) -> Iterator[World]:
    app = world_app(database_url, tmp_path_factory)
    try:
        yield build_world(app, language=world_language)
    finally:
        with app.app_context():
            db.session.remove()
            empty_all_tables()
            db.engine.dispose()
