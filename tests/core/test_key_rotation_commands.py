"""The operator's rotations, run as a production installation runs them: real commands, keys
from the environment (`*_PREVIOUS_KEYS` included), one-line answers, and the start-up check
following each key to its new value."""

from __future__ import annotations

import secrets
import subprocess

from tests.faults import harness


def run_flask(env, *args, stdin: str = ""):
    return subprocess.run(
        [str(harness.VENV_BIN / "flask"), "--app", "wsgi", *args],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120, input=stdin,
    )  # fmt: skip


def one_line_refusal(result, starts: str) -> None:
    assert result.returncode == 4, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines()[-1].startswith(f"Utväg cannot start: {starts}")


def test_audit_and_blind_index_keys_rotate_in_production(tmp_path):
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env["PYTHONPATH"] = str(harness.ROOT)
    assert run_flask(env, "db", "upgrade").returncode == 0
    assert run_flask(env, "users", "list").returncode == 0  # an audit event, keys recorded

    # AUDIT_KEY: configured before the trail moved to it, the new key is refused.
    new_audit = secrets.token_urlsafe(32)
    early = {**env, "AUDIT_KEY": new_audit, "AUDIT_PREVIOUS_KEYS": env["AUDIT_KEY"]}
    one_line_refusal(run_flask(early, "users", "list"), "AUDIT_KEY is a new key")
    weak = run_flask(env, "keys", "rotate-audit", stdin="weak\n")
    assert weak.returncode == 1 and "the new AUDIT_KEY is too weak" in weak.stderr
    moved = run_flask(env, "keys", "rotate-audit", stdin=new_audit + "\n")
    assert moved.returncode == 0, moved.stderr
    assert "audit trail sealed after event 1" in moved.stdout
    assert new_audit not in moved.stdout + moved.stderr

    one_line_refusal(run_flask(env, "users", "list"), "AUDIT_KEY is not the key")
    assert run_flask(early, "users", "list").returncode == 0
    verified = run_flask(early, "audit", "verify")
    assert verified.returncode == 0, verified.stderr
    assert "audit chain intact" in verified.stdout
    forgetful = {**early, "AUDIT_PREVIOUS_KEYS": ""}
    unchecked = run_flask(forgetful, "audit", "verify")
    assert unchecked.returncode == 1
    assert "Traceback" not in unchecked.stderr
    assert "event 1 was written under the AUDIT_KEY used until" in unchecked.stderr
    assert unchecked.stderr.strip().splitlines()[-1].startswith("audit chain not fully checked")

    # BLIND_INDEX_KEY: restart with the new key and the old one as previous, re-index.
    new_blind = secrets.token_urlsafe(32)
    old_blind = env["BLIND_INDEX_KEY"]
    reindexing = {**early, "BLIND_INDEX_KEY": new_blind, "BLIND_INDEX_PREVIOUS_KEYS": old_blind}
    one_line_refusal(
        run_flask({**early, "BLIND_INDEX_KEY": new_blind}, "users", "list"),
        "BLIND_INDEX_KEY is not the key",
    )
    done = run_flask(reindexing, "keys", "reindex")
    assert done.returncode == 0, done.stderr
    assert "BLIND_INDEX_KEY is now the key this database knows" in done.stdout
    one_line_refusal(run_flask(early, "users", "list"), "BLIND_INDEX_KEY is not the key")
    assert (
        run_flask({**reindexing, "BLIND_INDEX_PREVIOUS_KEYS": ""}, "users", "list").returncode == 0
    )
