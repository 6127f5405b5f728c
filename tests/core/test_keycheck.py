"""Keys are proven at start: an instance whose keys the data was not written with refuses
to start with one line naming the key, instead of serving and breaking what it writes."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import replace

import pytest
import sqlalchemy as sa

from app import create_app
from app.core.keycheck import KeyFingerprint, KeyMismatch, configured_keys, verify_keys
from app.extensions import db
from config import new_fernet_key
from tests.faults import harness

OLD_FIELD_KEY, NEW_FIELD_KEY = new_fernet_key(), new_fernet_key()


def keys(field=(OLD_FIELD_KEY,), blind="blind-index-key-" * 3, audit="audit-key-" * 4):
    return configured_keys(field, blind, audit)


def test_the_first_start_records_the_keys_and_later_starts_compare(app):
    with app.app_context():
        verify_keys(keys())
        assert db.session.scalar(sa.select(sa.func.count()).select_from(KeyFingerprint)) == 3
        verify_keys(keys())  # the same keys: nothing to say

        with pytest.raises(KeyMismatch, match=r"^AUDIT_KEY "):
            verify_keys(keys(audit="another-audit-key-" * 2))
        with pytest.raises(KeyMismatch, match=r"^BLIND_INDEX_KEY "):
            verify_keys(keys(blind="another-blind-index-key-" * 2))
        with pytest.raises(KeyMismatch, match=r"^FIELD_ENCRYPTION_KEYS "):
            verify_keys(keys(field=(new_fernet_key(),)))


def test_a_field_key_rotation_is_accepted_and_its_new_key_learnt(app):
    """A new key first and the old one kept, then (after `keys rotate`) the new one alone."""
    with app.app_context():
        verify_keys(keys())
        verify_keys(keys(field=(NEW_FIELD_KEY, OLD_FIELD_KEY)))
        verify_keys(keys(field=(NEW_FIELD_KEY,)))
        with pytest.raises(KeyMismatch):
            verify_keys(keys(field=(new_fernet_key(),)))


def test_a_key_is_known_by_a_fingerprint_that_does_not_reveal_it(app):
    with app.app_context():
        verify_keys(keys())
        stored = " ".join(db.session.scalars(sa.select(KeyFingerprint.fingerprint)))
    for key in (OLD_FIELD_KEY, "blind-index-key-" * 3, "audit-key-" * 4):
        assert key not in stored


def test_tests_and_a_database_without_the_table_start_without_comparing(settings):
    """A database not yet migrated (the first `flask db upgrade` builds the app first)."""
    fresh = replace(settings, mode="production")
    create_app(replace(fresh, database_url="sqlite://"))  # an empty database: no error


def run_flask(env, *args):
    return subprocess.run(
        [str(harness.VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_wrong_audit_key_refuses_to_start_with_one_line(tmp_path):
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env["PYTHONPATH"] = str(harness.ROOT)
    assert run_flask(env, "db", "upgrade").returncode == 0
    assert run_flask(env, "db", "current").returncode == 0  # the first start records

    wrong = {**env, "AUDIT_KEY": env["AUDIT_KEY"][::-1]}
    refused = run_flask(wrong, "db", "current")
    assert refused.returncode == 4
    assert "Traceback" not in refused.stderr
    assert (
        refused.stderr.strip()
        .splitlines()[-1]
        .startswith("Utväg cannot start: AUDIT_KEY is not the key this database was written with")
    )
    assert env["AUDIT_KEY"] not in refused.stderr + refused.stdout

    # gunicorn's master stops too, instead of serving with the wrong key.
    instance = harness.Gunicorn(wrong, workers=1)
    try:
        deadline = time.monotonic() + 60
        while instance.process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.2)
        assert instance.process.poll() is not None, "gunicorn serves with a wrong key"
        assert "AUDIT_KEY is not the key" in instance.log()
    finally:
        instance.stop()


def test_keys_can_be_generated_in_production_before_any_exist():
    """`flask keys generate` is how an operator makes the keys production demands."""
    env = {"PATH": os.environ["PATH"], "PYTHONPATH": str(harness.ROOT), "UTVAG_ENV": "production"}
    made = run_flask(env, "keys", "generate", "--all")
    assert made.returncode == 0, made.stderr
    lines = dict(line.split("=", 1) for line in made.stdout.splitlines())
    assert set(lines) == {"SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_KEY"}
    assert len(set(lines.values())) == 4
    assert run_flask(env, "keys", "generate").stdout.strip()
    refused = run_flask(env, "db", "upgrade")
    assert refused.returncode == 4
    assert "without SECRET_KEY" in refused.stderr
