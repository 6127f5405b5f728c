"""The embedded database and the development instance directory are private to their owner.

Given a shared machine, when the portal creates (or finds) its development instance and its
SQLite database, then no other local account can list or read them.
"""

from __future__ import annotations

import os
import sqlite3

import sqlalchemy as sa

from app import create_app
from app.core.db import private_sqlite_file
from app.extensions import db
from config import Settings
from tests.conftest import make_settings


def mode(path) -> int:
    return os.stat(path).st_mode & 0o777


def test_development_creates_its_instance_directory_for_the_owner_only(tmp_path):
    instance = tmp_path / "instance"
    settings = Settings.from_env({"UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": str(instance)})
    assert mode(instance) == 0o700
    assert mode(instance / "secrets.json") == 0o600
    # An instance directory an earlier version left open is closed on the next start.
    instance.chmod(0o755)
    Settings.from_env({"UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": str(instance)})
    assert mode(instance) == 0o700
    assert settings.database_url == f"sqlite:///{instance / 'utvag.sqlite3'}"


def test_the_sqlite_database_and_its_side_files_are_created_private(tmp_path):
    old_umask = os.umask(0o022)  # the usual default: files readable by everyone
    try:
        path = tmp_path / "utvag.sqlite3"
        app = create_app(make_settings(f"sqlite:///{path}", tmp_path))
        with app.app_context():
            db.session.execute(sa.text("CREATE TABLE t (x TEXT)"))
            db.session.execute(sa.text("INSERT INTO t VALUES ('hemligt')"))
            db.session.commit()
            db.engine.dispose()
    finally:
        os.umask(old_umask)
    assert mode(path) == 0o600
    for side in tmp_path.glob("utvag.sqlite3-*"):
        assert mode(side) == 0o600, side


def test_a_database_file_left_world_readable_is_closed(tmp_path):
    path = tmp_path / "old.sqlite3"
    sqlite3.connect(path).close()
    path.chmod(0o644)
    private_sqlite_file(f"sqlite:///{path}")
    assert mode(path) == 0o600


def test_other_databases_are_left_alone(tmp_path):
    private_sqlite_file("sqlite://")
    private_sqlite_file("sqlite:///:memory:")
    private_sqlite_file("postgresql+psycopg://db.internal/utvag")
    private_sqlite_file(f"sqlite:///{tmp_path / 'missing' / 'x.sqlite3'}")
    assert not (tmp_path / "missing").exists()
