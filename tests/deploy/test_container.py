"""The container set-up says what is safe and what works: the image runs as an unprivileged
user from the locked dependencies, every portal service of the compose file runs on a
read-only root filesystem without capabilities, and every command a service starts is a
command the portal has.

With CONTAINER_TESTS=1 and a Docker daemon, the image is also built and run, read-only,
against the test PostgreSQL (`CONTAINER_PYTHON_IMAGE` names the base image where Docker Hub
cannot be reached).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
import uuid

import httpx
import pytest
import yaml

from tests.faults import harness

CONTAINERFILE = harness.ROOT / "Containerfile"
COMPOSE = harness.ROOT / "deploy" / "compose.yaml"
PORTAL_SERVICES = {"migrate", "web", "outbox", "jobs"}


def compose() -> dict:
    return yaml.safe_load(COMPOSE.read_text())


def final_stage() -> list[str]:
    lines = [line.strip() for line in CONTAINERFILE.read_text().splitlines()]
    last_from = max(i for i, line in enumerate(lines) if line.startswith("FROM "))
    return lines[last_from:]


def test_the_image_runs_unprivileged_from_the_locked_dependencies():
    stage = final_stage()
    (user,) = [line.split()[1] for line in stage if line.startswith("USER ")]
    assert user.split(":")[0] not in {"0", "root"}
    text = CONTAINERFILE.read_text()
    assert "--require-hashes -r requirements.lock" in text
    assert "--no-deps" in text  # the wheel brings no unlocked dependency with it
    ignored = (harness.ROOT / ".dockerignore").read_text().splitlines()
    assert ignored[ignored.index("*") :][0] == "*"  # nothing enters the build unless listed


def test_the_compose_file_runs_every_part_of_the_portal_read_only():
    services = compose()["services"]
    assert set(services) == {"postgres", "redis", "mail", *PORTAL_SERVICES}
    for name in PORTAL_SERVICES:
        service = services[name]
        assert service["read_only"] is True, name
        assert service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["env_file"] == "utvag.env", name
    assert services["web"]["ports"] == ["127.0.0.1:8000:8000"]  # only behind the proxy
    assert services["redis"]["read_only"] is True
    assert services["mail"]["env_file"] == "mail.env"  # the relay never sees the keys
    for name in PORTAL_SERVICES - {"migrate"}:
        assert services[name]["depends_on"]["migrate"] == {
            "condition": "service_completed_successfully"
        }


def test_every_command_a_service_starts_exists(tmp_path):
    env = harness.production_env(f"sqlite:///{tmp_path / 'portal.sqlite3'}")
    env["PYTHONPATH"] = str(harness.ROOT)
    commands = [
        service["command"] for service in compose()["services"].values()
        if service.get("image", "").startswith("utvag") and "command" in service
    ]  # fmt: skip
    jobs = (harness.ROOT / "deploy" / "container" / "daily-jobs.sh").read_text()
    for line in jobs.splitlines():
        if line.strip().startswith("for job in"):
            commands += [["flask", *job.split()] for job in line.split('"')[1::2]]
        elif line.strip().startswith("flask ") and "$" not in line:
            commands.append(line.split("||")[0].split())
    assert ["flask", "audit", "verify"] in commands
    assert ["flask", "outbox", "deliver", "--loop", "--interval", "10"] in commands
    for command in commands:
        if command == ["utvag-daily-jobs"]:
            continue
        assert command[0] == "flask", command
        options = [i for i, word in enumerate(command) if word.startswith("--")]
        words = command[1 : options[0]] if options else command[1:]
        checked = subprocess.run(
            [str(harness.VENV_BIN / "flask"), "--app", "app.wsgi", *words, "--help"],
            cwd=harness.ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert checked.returncode == 0, (command, checked.stderr)
        for option in command[options[0] :: 2] if options else []:
            assert option in checked.stdout, (command, option)


def docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    return subprocess.run(["docker", "info"], capture_output=True).returncode == 0


@pytest.mark.skipif(
    not (os.environ.get("CONTAINER_TESTS") and docker_answers()),
    reason="builds an image: set CONTAINER_TESTS=1 where a Docker daemon runs",
)
def test_the_image_serves_from_a_read_only_filesystem(tmp_path):
    database = os.environ.get("TEST_DATABASE_URL")
    if not database:
        pytest.skip("needs TEST_DATABASE_URL (the container uses the host's PostgreSQL)")
    base = os.environ.get("CONTAINER_PYTHON_IMAGE", "docker.io/library/python:3.11-slim-bookworm")
    tag = "utvag:test"
    build = subprocess.run(
        ["docker", "build", "--network", "host", "--build-arg", f"PYTHON_IMAGE={base}",
         "-f", str(CONTAINERFILE), "-t", tag, str(harness.ROOT)],
        capture_output=True, text=True, timeout=1800,
    )  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:] + build.stderr[-3000:]

    schema = "container_" + uuid.uuid4().hex[:8]
    url = harness.fresh_schema(database, schema)
    port = harness.free_port()
    env = harness.production_env(url, BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="1")
    env_file = tmp_path / "utvag.env"
    wanted = ("SECRET_KEY", "FIELD_ENCRYPTION_KEYS", "BLIND_INDEX_KEY", "AUDIT_KEY", "BASE_URL")
    env_file.write_text("".join(f"{key}={env[key]}\n" for key in wanted))
    scratch = "/tmp:size=16m,mode=1777"  # noqa: S108 (the container's own tmpfs)
    run = ["docker", "run", "--rm", "--network", "host", "--read-only", "--cap-drop", "ALL",
           "--security-opt", "no-new-privileges:true", "--tmpfs", scratch,
           "--env-file", str(env_file), "-e", f"DATABASE_URL={url}",
           "-e", f"BIND={env['BIND']}"]  # fmt: skip
    name = "utvag-test-" + schema
    try:
        upgrade = subprocess.run([*run, tag, "flask", "db", "upgrade"], capture_output=True,
                                 text=True, timeout=300)  # fmt: skip
        assert upgrade.returncode == 0, upgrade.stderr[-3000:]
        subprocess.run([*run, "-d", "--name", name, tag], check=True, capture_output=True)
        deadline = time.monotonic() + 90
        page = None
        while time.monotonic() < deadline:
            try:
                page = httpx.get(
                    f"http://127.0.0.1:{port}/", headers={"Accept-Language": "sv"}, timeout=5
                )
                break
            except httpx.TransportError:
                time.sleep(0.5)
        assert page is not None and page.status_code == 200
        assert "Be om hjälp" in page.text
        user = subprocess.run(["docker", "exec", name, "id", "-u"], capture_output=True,
                              text=True, check=True).stdout.strip()  # fmt: skip
        assert user != "0"
        logs = subprocess.run(["docker", "logs", name], capture_output=True, text=True).stderr
        assert "Traceback" not in logs
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        harness.drop_schema(database, schema)
        harness.release_port(port)
