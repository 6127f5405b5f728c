"""A production instance logs JSON lines, and never a request's path: paths carry
single-use links."""

from __future__ import annotations

import json

import httpx


def test_an_instance_logs_json_lines_without_paths(make_database, start_instance):
    env = make_database("sqlite")
    instance = start_instance(env, workers=1)
    assert httpx.get(instance.base + "/join/a-single-use-token").status_code in (200, 404)
    log = instance.log()
    assert "a-single-use-token" not in log
    ours = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert {"level": "INFO", "message": "keys match the database"}.items() <= ours[0].items()
