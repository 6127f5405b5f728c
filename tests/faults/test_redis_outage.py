"""Throttling's shared store (Redis) hangs, comes back, and dies, under a running instance:
people still log in and send requests, every answer is quick, none is a 5xx, and counting
returns to Redis when it answers again.
"""

from __future__ import annotations

import contextlib
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from tests.faults import harness

pytestmark = pytest.mark.skipif(not shutil.which("redis-server"), reason="redis-server missing")

# The limiter waits 0.25 s for Redis before counting in memory; a page makes a few calls.
SLOWEST_ANSWER = 3.0


class RedisServer:
    """A private Redis on a port of the harness's range, that a test can stop and hang."""

    def __init__(self, directory: Path) -> None:
        self.port = harness.free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.directory = directory
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1",
             "--save", "", "--appendonly", "no", "--dir", str(self.directory)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        for _ in range(100):
            with contextlib.suppress(redis.RedisError):
                if client.ping():
                    return
            time.sleep(0.05)
        raise harness.HarnessError("redis-server did not start")

    def hang(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        if self.process is not None:
            self.process.send_signal(signal.SIGCONT)
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None

    def counted_keys(self) -> int:
        return len(redis.Redis.from_url(self.url, socket_timeout=1).keys("*"))


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.kill()
        harness.release_port(server.port)


class Record:
    """Every answer the instance gave: its status and how long it took."""

    def __init__(self) -> None:
        self.answers: list[tuple[str, str, int | None, float]] = []

    def __call__(self, method: str, path: str, status: int | None, seconds: float) -> None:
        self.answers.append((method, path, status, seconds))

    def failures(self) -> list[tuple[str, str, int | None, float]]:
        return [a for a in self.answers if a[2] is None or a[2] >= 500]

    def slowest(self) -> float:
        return max(seconds for *_, seconds in self.answers)


def work(instance: harness.Gunicorn, record: Record, staff: harness.Person,
         client: harness.Person) -> None:  # fmt: skip
    """A mistyped password, a login, and a client's whole request."""
    stranger = harness.Portal(instance.base, observer=record)
    response = stranger.post("/login", {"username": staff.username, "password": "wrong"})
    assert response.status_code == 401, response.status_code
    stranger.close()
    colleague = harness.Portal(instance.base, observer=record)
    colleague.login(staff)
    assert colleague.get("/team/triage").status_code == 200
    colleague.close()
    person = harness.Portal(instance.base, observer=record)
    person.login(client)
    outcome = person.submit(harness.new_marker())
    assert outcome.request_id, (outcome.status, outcome.body)
    person.close()


def test_logins_and_requests_survive_redis_hanging_and_dying(
    make_database, start_instance, redis_server
):
    env = make_database("sqlite", RATELIMIT_STORAGE_URI=redis_server.url)
    staff = harness.create_people(env, "caseworker", ["anna", "bertil", "cecilia"])
    clients = harness.create_people(env, "client", ["aino", "bodil", "cilla"])
    instance = start_instance(env, workers=1, threads=4)
    record = Record()

    # Given Redis answering, a mistyped password is counted there.
    work(instance, record, staff[0], clients[0])
    assert redis_server.counted_keys() > 0

    # When Redis hangs, every answer still comes quickly, and none is an error.
    redis_server.hang()
    work(instance, record, staff[1], clients[1])
    health = httpx.get(instance.base + "/healthz", timeout=10)
    assert health.status_code == 200
    assert health.json()["status"] == "degraded"
    redis_server.resume()

    # When it answers again, counting returns to it (the limiter looks again 1, 2, 4 … s apart).
    redis.Redis.from_url(redis_server.url).flushdb()
    deadline = time.monotonic() + 70
    while redis_server.counted_keys() == 0 and time.monotonic() < deadline:
        portal = harness.Portal(instance.base, observer=record)
        portal.post("/login", {"username": "nobody", "password": "wrong"})
        portal.close()
        time.sleep(1)
    assert redis_server.counted_keys() > 0, "failures are not counted in Redis again"
    assert httpx.get(instance.base + "/healthz").json()["status"] == "ok"

    # When Redis dies outright, people still get in and send their requests.
    redis_server.kill()
    work(instance, record, staff[2], clients[2])

    assert record.failures() == []
    assert record.slowest() < SLOWEST_ANSWER, record.slowest()
