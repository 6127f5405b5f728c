"""Fixtures for runs against real processes: databases of each kind for gunicorn instances
to share, and the processes' clean-up.

The PostgreSQL runs need TEST_DATABASE_URL (as the rest of the suite does); they use a
schema of their own in that database so they never touch the tables other tests use.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask_migrate import upgrade

from tests.faults import harness

POSTGRES = os.environ.get("TEST_DATABASE_URL")
needs_postgres = pytest.mark.skipif(not POSTGRES, reason="TEST_DATABASE_URL is not set")
KINDS = ["sqlite", *(["postgresql"] if POSTGRES else [])]


def migrate(env: dict[str, str]) -> None:
    """Bring the database up to date through the migrations, as `flask db upgrade` does
    (in this process: starting the command line would cost seconds per test)."""
    with harness.app_context(env):
        upgrade()


@pytest.fixture
def make_database(tmp_path: Path) -> Iterator[Callable[..., dict[str, str]]]:
    """A fresh, migrated database of the given kind, and the production environment of
    the instances that share it; dropped afterwards."""
    schemas: list[str] = []

    def make(kind: str, **extra: str) -> dict[str, str]:
        if kind == "sqlite":
            url = f"sqlite:///{tmp_path / f'{uuid.uuid4().hex}.sqlite3'}"
        else:
            assert POSTGRES is not None
            schemas.append(f"faults_{uuid.uuid4().hex[:12]}")
            url = harness.fresh_schema(POSTGRES, schemas[-1])
        env = harness.production_env(url, **extra)
        migrate(env)
        return env

    yield make
    for schema in schemas:
        assert POSTGRES is not None
        harness.drop_schema(POSTGRES, schema)


@pytest.fixture
def start_instance() -> Iterator[Callable[..., harness.Gunicorn]]:
    """gunicorn instances that are stopped (and their ports freed) whatever happens."""
    started: list[harness.Gunicorn] = []

    def start(env: dict[str, str], **options: int) -> harness.Gunicorn:
        instance = harness.Gunicorn(env, **options)
        started.append(instance)
        instance.wait_ready()
        return instance

    yield start
    for instance in started:
        instance.stop()


def can_run_a_private_cluster() -> bool:
    return harness.postgres_bin() is not None and (
        os.geteuid() == 0 and shutil.which("runuser") is not None
    )


@pytest.fixture
def private_postgres():
    if not can_run_a_private_cluster():
        pytest.skip("needs PostgreSQL's server binaries and root (to run them as `postgres`)")
    cluster = harness.PrivatePostgres()
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.close()
