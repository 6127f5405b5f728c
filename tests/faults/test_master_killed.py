"""gunicorn's master is killed outright (an OOM kill, `kill -9`): its workers go with it, so
the port is free for the instance that replaces it within seconds, not when each worker
next looks up from its socket.

Started exactly as in production, with deploy/gunicorn.conf.py.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from tests.faults import harness

# What "within a few seconds" means: a sync worker that has not been told looks up from its
# socket only every timeout / 2 = 15 s, and serves nobody in between. A worker that was told
# closes the socket at once; the end of its process may take longer on a busy machine.
FREED_WITHIN = 5.0
GONE_WITHIN = 10.0


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                # The parent is the fourth field, after the command name in parentheses.
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                if int(fields[1]) == pid:
                    found.append(int(entry.name))
    return found


def running(pid: int) -> bool:
    """Alive and not a zombie (an orphan's exit status may wait for a reaper that never
    comes in a container; a zombie holds no socket)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # As a new instance does: connections left in TIME_WAIT do not hold the port.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
            probe.listen()
        except OSError:
            return False
    return True


def test_workers_die_with_a_killed_master_and_free_the_port(make_database):
    env = make_database("sqlite")
    port = harness.free_port()
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", PYTHONPATH=str(harness.ROOT))
    master = subprocess.Popen(
        [str(harness.VENV_BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py"],
        cwd=harness.ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            assert master.poll() is None, "gunicorn did not start"
            assert time.monotonic() < deadline, "gunicorn did not answer"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                    break
            time.sleep(0.2)
        workers = children_of(master.pid)
        assert len(workers) == 2
        assert not port_is_free(port)

        # Given a serving instance, when its master is killed and nothing else is ...
        os.kill(master.pid, signal.SIGKILL)
        master.wait(timeout=10)
        killed_at = time.monotonic()

        # ... then a new instance can bind the port within seconds, and no worker is left.
        while not port_is_free(port):
            assert time.monotonic() - killed_at < FREED_WITHIN, "the workers still hold the port"
            time.sleep(0.1)
        while any(running(pid) for pid in workers):
            assert time.monotonic() - killed_at < GONE_WITHIN, "a worker outlived its master"
            time.sleep(0.1)
    finally:
        # Whatever happened, nothing of this instance lives on.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(master.pid, signal.SIGKILL)
        if master.poll() is None:
            master.wait(timeout=10)
        harness.release_port(port)
