"""The load benchmark still runs: a few seconds of clients submitting while staff browse, on
two instances, with double clicks, and nothing lost, nothing stored twice and no server
error (on PostgreSQL and Redis when there are)."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.faults import harness
from tests.faults.conftest import POSTGRES

REDIS = os.environ.get("TEST_REDIS_URL")


def test_the_load_benchmark_runs_and_loses_nothing(tmp_path):
    database = POSTGRES or f"sqlite:///{tmp_path / 'load.sqlite3'}"
    command = [sys.executable, "bench/mixed_load.py", "--smoke", "--database-url", database]
    result = subprocess.run(
        [*command, *(["--redis-url", REDIS] if REDIS else [])],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    assert "2 gunicorn instances" in result.stdout
    answered = re.search(
        r"submissions: (\d+) answered with success \((\d+) sent with a double click\)",
        result.stdout,
    )
    assert answered and int(answered.group(1)) >= 3, result.stdout
    assert int(answered.group(2)) >= 3, result.stdout  # every client's first one
    assert (
        "lost submissions: 0; duplicated: 0; server errors (5xx): 0; no answer: 0" in result.stdout
    )
