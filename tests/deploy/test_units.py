"""The deployment files say what works: gunicorn loads its settings file and serves, and
every command the systemd units start is a command the portal has."""

from __future__ import annotations

import configparser
import shlex
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from tests.faults import harness

DEPLOY = harness.ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def unit(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser(strict=False)  # ExecStart may repeat
    parser.optionxform = str  # type: ignore[assignment,method-assign]
    parser.read(path)
    return parser


def exec_lines(path: Path) -> list[list[str]]:
    lines = [line.strip() for line in path.read_text().splitlines()]
    return [shlex.split(line.split("=", 1)[1]) for line in lines if line.startswith("ExecStart=")]


def test_the_units_cover_the_portal_its_mail_and_its_daily_jobs():
    names = {path.name for path in UNITS}
    assert names == {
        "utvag-web.service",
        "utvag-outbox.service",
        "utvag-daily.service",
        "utvag-reminders.service",
    }
    assert (DEPLOY / "systemd" / "utvag-daily.timer").exists()
    assert (DEPLOY / "systemd" / "utvag-reminders.timer").exists()
    for path in UNITS:
        service = unit(path)["Service"]
        assert service["User"] == "utvag", path.name  # never root
        assert service["UMask"] == "0077", path.name
        assert service["EnvironmentFile"] == "/etc/utvag/utvag.env", path.name


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_stopping_a_unit_leaves_no_process_behind(path):
    # `process` and `none` stop the main process only: gunicorn workers whose master was
    # killed would keep the port, and the restarted instance could not bind it.
    service = unit(path)["Service"]
    assert service.get("KillMode", "control-group") in ("control-group", "mixed"), path.name


def test_the_portal_stops_gracefully_then_completely():
    service = unit(DEPLOY / "systemd" / "utvag-web.service")["Service"]
    settings: dict[str, object] = {}
    exec((DEPLOY / "gunicorn.conf.py").read_text(), settings)  # noqa: S102 (our own file)
    # The master stops its workers itself (mixed: SIGTERM to it alone), and systemd kills
    # what is left only after the workers' own graceful timeout has passed.
    assert service["KillMode"] == "mixed"
    assert int(service["TimeoutStopSec"]) > int(settings["graceful_timeout"])  # type: ignore[call-overload]
    assert callable(settings["post_fork"])  # workers end with their master


@pytest.mark.parametrize("path", UNITS, ids=lambda p: p.name)
def test_every_command_a_unit_starts_exists(path, tmp_path):
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env["PYTHONPATH"] = str(harness.ROOT)
    for command in exec_lines(path):
        program = Path(command[0]).name
        if program == "gunicorn":
            assert command[1:] == ["-c", "deploy/gunicorn.conf.py"]
            continue
        assert program == "flask" and command[1:3] == ["--app", "app.wsgi"], command
        checked = subprocess.run(
            [str(harness.VENV_BIN / "flask"), *command[1:], "--help"],
            cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert checked.returncode == 0, (command, checked.stderr)


def test_gunicorn_serves_with_the_settings_file(tmp_path):
    port = harness.free_port()
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1", PYTHONPATH=str(harness.ROOT))
    upgrade = subprocess.run(
        [str(harness.VENV_BIN / "flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert upgrade.returncode == 0, upgrade.stderr
    server = subprocess.Popen(
        [str(harness.VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
        cwd=harness.ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        answer = None
        while time.monotonic() < deadline and server.poll() is None:
            try:
                answer = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.HTTPError:
                time.sleep(0.3)
        assert answer is not None and answer.status_code == 200
        page = httpx.get(f"http://127.0.0.1:{port}/join/not-a-token", timeout=5)
        assert page.status_code in (200, 302, 404)
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0]
        harness.release_port(port)
    # No access log: paths carry single-use links.
    assert "/join/not-a-token" not in output
