"""The restore drill of the README, on PostgreSQL: dump a portal in use, restore the dump
into a new database, and the audit trail verifies intact and the portal serves from it
with the same keys; the dump alone shows nothing a person wrote."""

from __future__ import annotations

import subprocess

import sqlalchemy as sa

from tests.faults import harness
from tests.faults.conftest import migrate


def flask(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(harness.VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def as_postgres(cluster: harness.PrivatePostgres, program: str, *args: str) -> None:
    command = [str(cluster.bin / program), "-h", "127.0.0.1", "-p", str(cluster.port),
               "-U", "postgres", *args]  # fmt: skip
    subprocess.run(command, check=True, capture_output=True, timeout=120)


def test_a_dump_restored_into_a_new_database_verifies_and_serves(
    private_postgres, start_instance, tmp_path
):
    env = harness.production_env(private_postgres.url)
    migrate(env)
    staff = harness.create_people(env, "caseworker", ["anna"])
    client = harness.create_people(env, "client", ["aino"])[0]
    instance = start_instance(env, workers=1)
    person = harness.Portal(instance.base)
    person.login(client)
    marker = harness.new_marker()
    outcome = person.submit(marker)
    assert outcome.request_id
    instance.stop()

    # Back up: a custom-format dump of the whole database (the keys are kept elsewhere).
    dump = tmp_path / "utvag.dump"
    as_postgres(private_postgres, "pg_dump", "--format=custom", f"--file={dump}", "postgres")
    assert marker.encode() not in dump.read_bytes()

    # Restore into a database of its own, as after losing the first.
    as_postgres(private_postgres, "createdb", "restored")
    as_postgres(private_postgres, "pg_restore", "--no-owner", "--dbname=restored", str(dump))
    restored = {**env, "DATABASE_URL": private_postgres.url.rsplit("/", 1)[0] + "/restored"}

    verified = flask(restored, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr

    instance = start_instance(restored, workers=1)
    colleague = harness.Portal(instance.base)
    colleague.login(staff[0])
    inbox = colleague.get("/team/triage")
    assert inbox.status_code == 200
    person = harness.Portal(instance.base)
    person.login(client)
    status = person.get(f"/my/requests/{outcome.request_id}")
    assert status.status_code == 200

    # With another audit key, the restored copy refuses to start rather than write events
    # that break its chain.
    wrong = {**restored, "AUDIT_KEY": harness.production_env("sqlite://")["AUDIT_KEY"]}
    refused = flask(wrong, "audit", "verify")
    assert refused.returncode == 4
    assert "AUDIT_KEY is not the key" in refused.stderr

    engine = sa.create_engine(restored["DATABASE_URL"])
    with engine.connect() as connection:
        assert connection.scalar(sa.text("SELECT count(*) FROM audit_events")) > 0
    engine.dispose()
