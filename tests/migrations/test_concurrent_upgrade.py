"""Two `flask db upgrade` at the same moment (two hosts deploying one release): both end
well, the schema is migrated once, and nobody reads a traceback."""

from __future__ import annotations

import os
import subprocess
import uuid

import pytest
import sqlalchemy as sa

from tests.faults import harness

POSTGRES = os.environ.get("TEST_DATABASE_URL")


@pytest.mark.skipif(not POSTGRES, reason="SQLite lets one writer in at a time anyway")
def test_two_upgrades_at_once_both_succeed():
    assert POSTGRES is not None
    schema = f"upgrade_{uuid.uuid4().hex[:12]}"
    env = harness.production_env(harness.fresh_schema(POSTGRES, schema))
    env["PYTHONPATH"] = str(harness.ROOT)
    try:
        upgrades = [
            subprocess.Popen(
                [str(harness.VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
                cwd=harness.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                text=True,
            )
            for _ in range(2)
        ]
        outputs = [process.communicate(timeout=300)[0] for process in upgrades]
        assert [process.returncode for process in upgrades] == [0, 0], outputs
        assert not any("Traceback" in output for output in outputs)
        engine = sa.create_engine(env["DATABASE_URL"])
        with engine.connect() as connection:
            versions = connection.execute(sa.text("SELECT version_num FROM alembic_version"))
            assert len(versions.all()) == 1
        engine.dispose()
    finally:
        harness.drop_schema(POSTGRES, schema)
