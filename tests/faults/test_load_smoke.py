"""The load benchmark still runs: a few seconds of clients submitting while staff browse,
with nothing lost and no server error (on PostgreSQL when there is one)."""

from __future__ import annotations

import re
import subprocess
import sys

from tests.faults import harness
from tests.faults.conftest import POSTGRES


def test_the_load_benchmark_runs_and_loses_nothing(tmp_path):
    database = POSTGRES or f"sqlite:///{tmp_path / 'load.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "bench/mixed_load.py", "--smoke", "--database-url", database],
        cwd=harness.ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr[-3000:]
    answered = re.search(r"submissions: (\d+) answered with success", result.stdout)
    assert answered and int(answered.group(1)) >= 3, result.stdout
    assert "lost submissions: 0; server errors (5xx or no answer): 0" in result.stdout
