"""Serving with gunicorn, logging in over HTTP, and measuring with wrk."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pyotp

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"
# The same for the application and the bare page, so only the application differs.
WORKERS = 2
COOKIE_NAMES = ("__Host-s", "s")
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
MIN_SAMPLES = 10


class BenchError(RuntimeError):
    """The benchmark cannot go on; the message says what to do."""


def require_wrk() -> str:
    """wrk drives the load; install it from the distribution when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    print("wrk is missing: trying `apt-get install -y wrk` ...", flush=True)
    subprocess.run(["apt-get", "install", "-y", "wrk"], check=False, capture_output=True)
    found = shutil.which("wrk")
    if not found:
        raise BenchError(
            "wrk is needed to measure throughput: install it with "
            "`apt-get update && apt-get install -y wrk` (as root) and run again."
        )
    return found


@contextmanager
def gunicorn(app_spec: str, port: int, env: Mapping[str, str], log: Path) -> Iterator[str]:
    """Serve `app_spec` on the loopback interface until the block ends."""
    with log.open("ab") as out:
        process = subprocess.Popen(
            [
                str(GUNICORN),
                "--workers",
                str(WORKERS),
                "--bind",
                f"127.0.0.1:{port}",
                app_spec,
            ],
            cwd=ROOT,
            env={**os.environ, **env},
            stdout=out,
            stderr=out,
        )
        try:
            _wait_until_serving(port, process, log)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=30)


def _wait_until_serving(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchError(f"gunicorn on port {port} stopped; see {log}")
        try:
            # Any answer will do (the bare page has no /healthz): the server is up.
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz")
            connection.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    raise BenchError(f"gunicorn on port {port} did not answer within a minute; see {log}")


@dataclass
class Browser:
    """Just enough of a browser to log in: the session cookie is kept by hand because it is
    marked Secure (the production setting) and the benchmark speaks plain HTTP on loopback."""

    host: str
    cookie: str = ""

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> str:
        host, port = self.host.split(":")
        connection = http.client.HTTPConnection(host, int(port), timeout=120)
        headers = {"Cookie": self.cookie} if self.cookie else {}
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        text = response.read().decode()
        for header, value in response.getheaders():
            if header.lower() == "set-cookie" and value.split("=", 1)[0] in COOKIE_NAMES:
                self.cookie = value.split(";", 1)[0]
        if response.status >= 400:
            raise BenchError(f"{method} {path} answered {response.status}")
        return text

    def post_form(self, path: str, form: dict[str, str]) -> str:
        match = CSRF.search(self.request("GET", path))
        if match is None:
            raise BenchError(f"no form on {path}")
        return self.request("POST", path, {"csrf_token": match.group(1), **form})


_last_step: dict[str, int] = {}


def log_in(host: str, username: str, password: str, totp_secret: str) -> str:
    """Log in with password and TOTP code like a person would; returns the Cookie header."""
    browser = Browser(host)
    browser.post_form("/login", {"username": username, "password": password, "next": ""})
    # A code from a step already used is refused (replay): wait for the next one.
    while int(time.time() // 30) <= _last_step.get(username, -1):
        time.sleep(1)
    _last_step[username] = int(time.time() // 30)
    browser.post_form("/login/code", {"code": pyotp.TOTP(totp_secret).now()})
    if "/logout" not in browser.request("GET", "/"):
        raise BenchError(f"logging in as {username} did not work")
    return browser.cookie


def fetch(host: str, path: str, cookie: str) -> str:
    return Browser(host, cookie).request("GET", path)


@dataclass(frozen=True)
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p90_ms: float
    requests: int

    def __str__(self) -> str:
        return f"{self.requests_per_second:.0f} req/s, p50 {self.p50_ms:.1f} ms"


def wrk(host: str, path: str, cookie: str, *, connections: int, seconds: float) -> WrkResult:
    """One wrk run; every answer must be 2xx, or the figure would measure an error page."""
    threads = min(2, connections)
    command = [
        require_wrk(),
        f"-t{threads}",
        f"-c{connections}",
        f"-d{max(int(seconds), 1)}s",
        "--latency",
        "--timeout",
        "30s",
    ]
    if cookie:
        command += ["-H", f"Cookie: {cookie}"]
    output = subprocess.run(
        [*command, f"http://{host}{path}"], check=True, capture_output=True, text=True
    ).stdout
    if "Non-2xx" in output or "Socket errors" in output:
        raise BenchError(f"wrk saw errors on {path}:\n{output}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    total = int(re.search(r"(\d+) requests in", output).group(1))  # type: ignore[union-attr]
    return WrkResult(rps, _percentile(output, "50%"), _percentile(output, "90%"), total)


def _percentile(output: str, label: str) -> float:
    match = re.search(rf"^\s+{label}\s+([\d.]+)(us|ms|s)\s*$", output, re.MULTILINE)
    if match is None:
        raise BenchError(f"wrk printed no {label} latency")
    return float(match.group(1)) * UNITS[match.group(2)]


def sequential_ms(host: str, path: str, cookie: str, *, seconds: float) -> float:
    """Median time of one request at a time: latency without queueing."""
    result = wrk(host, path, cookie, connections=1, seconds=seconds)
    while result.requests < MIN_SAMPLES and seconds < 60:
        seconds *= 2  # a slow page (or a busy machine) needs longer for a median to mean much
        result = wrk(host, path, cookie, connections=1, seconds=seconds)
    return result.p50_ms


def median(values: list[float]) -> float:
    return statistics.median(values)
