"""Real processes for the fault, load and scale-out runs: a private PostgreSQL cluster,
gunicorn instances in production mode, and an HTTP client that uses the portal as a person
does (forms with CSRF tokens, password then TOTP code).

Shared by tests/faults, bench/mixed_load.py and bench/rotation.py, so all drive the portal
the same way.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import pwd
import random
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from http.cookiejar import CookieJar, DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pyotp
import sqlalchemy as sa

from config import normalise_database_url

ROOT = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent


def _reserved_ports() -> range:
    """The ports these runs start servers on: 5610-5619, and ten of its own for each
    pytest-xdist worker (scripts/test runs several), so that a port one worker has found
    free is never handed to a server of another at the same moment."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return range(5610, 5620)
    start = 5640 + 10 * int(worker.removeprefix("gw"))
    return range(start, start + 10)


PORTS = _reserved_ports()
PASSWORD = "lugna-tallar-vid-havet"
CSRF_PATTERN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')
REQUEST_PATH = re.compile(r"^/my/requests/([0-9a-f-]{36})$")
# The link of "You already have a request" (409) to the request the portal holds open.
OPEN_REQUEST_LINK = re.compile(r'href="/my/requests/([0-9a-f-]{36})"')


class HarnessError(RuntimeError):
    """A process of the harness did not start or answer as it should."""


# Ports ---------------------------------------------------------------------------------

_taken: set[int] = set()
_taken_lock = threading.Lock()


def free_port() -> int:
    """A port of the range reserved for these runs that nothing listens on yet."""
    with _taken_lock:
        for port in PORTS:
            if port in _taken:
                continue
            with socket.socket() as probe:
                # As the servers themselves do: a port whose last connections are still in
                # TIME_WAIT is free to listen on again.
                probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                try:
                    probe.bind(("127.0.0.1", port))
                except OSError:
                    continue
            _taken.add(port)
            return port
    raise HarnessError(f"no free port in {PORTS.start}-{PORTS.stop - 1}")


def release_port(port: int) -> None:
    with _taken_lock:
        _taken.discard(port)


# Configuration -------------------------------------------------------------------------


def production_env(database_url: str, **extra: str) -> dict[str, str]:
    """The environment of a production instance: real secrets, nothing from development."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("UTVAG_", "DATABASE_", "RATELIMIT_", "SMTP_", "FLASK_"))
    }
    env.update(
        UTVAG_ENV="production",
        DATABASE_URL=database_url,
        SECRET_KEY=secrets.token_urlsafe(32),
        FIELD_ENCRYPTION_KEYS=base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(),
        BLIND_INDEX_KEY=secrets.token_urlsafe(32),
        AUDIT_KEY=secrets.token_urlsafe(32),
        BASE_URL="https://utvag.malmo.example",
    )
    env.update(extra)
    return env


def with_search_path(url: str, schema: str) -> str:
    """The same PostgreSQL database seen through a schema of its own, so a run never
    disturbs the tables other tests use in that database."""
    separator = "&" if "?" in url else "?"
    return f"{normalise_database_url(url)}{separator}options=-csearch_path%3D{schema}"


def fresh_schema(url: str, schema: str) -> str:
    """Drop and recreate `schema` in the database at `url`; returns a URL that uses it."""
    engine = sa.create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    engine.dispose()
    return with_search_path(url, schema)


def drop_schema(url: str, schema: str) -> None:
    engine = sa.create_engine(normalise_database_url(url))
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    engine.dispose()


@contextlib.contextmanager
def app_context(env: Mapping[str, str], *, fast_hashing: bool = True) -> Iterator[Any]:
    """The portal's application in this process, configured exactly like the instances
    (same keys); by default it hashes new passwords cheaply so setting up accounts stays
    quick (the instances verify such hashes all the same)."""
    from app import create_app
    from app.extensions import db
    from config import Settings

    settings = Settings.from_env(env)
    if fast_hashing:
        settings = replace(settings, password_hash_profile="fast-for-tests")
    app = create_app(settings)
    with app.app_context():
        try:
            yield app
        finally:
            db.session.remove()
            db.engine.dispose()


@dataclass
class Person:
    username: str
    password: str
    secret: str
    id: str = ""
    # The last TOTP step used, so no code is ever replayed (the portal would refuse it).
    last_step: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def next_code(self) -> str:
        """The code of the current step, or of the next one if the current one was used
        (the server accepts one step either side); past that, wait for the next step.
        One person logs in from one thread at a time, or the server may see the codes
        out of order and refuse the older one as a replay."""
        with self.lock:
            step = max(int(time.time()) // 30, self.last_step + 1)
            if step > int(time.time()) // 30 + 1:
                time.sleep(30 - time.time() % 30 + 0.1)
                step = max(int(time.time()) // 30, self.last_step + 1)
            self.last_step = step
        return str(pyotp.TOTP(self.secret).generate_otp(step))


def create_people(
    env: Mapping[str, str], role: str, names: list[str], *, fast_hashing: bool = True
) -> list[Person]:
    """Accounts with their TOTP secrets; staff belong to the team that receives intake."""
    from app.auth import services, totp
    from app.auth.models import Role
    from app.extensions import db
    from app.orgs.models import Organisation, OrgKind
    from app.orgs.services import create_organisation

    people = []
    with app_context(env, fast_hashing=fast_hashing):
        organisation = None
        if Role(role) is not Role.CLIENT:
            organisation = db.session.scalar(
                sa.select(Organisation).where(Organisation.kind == OrgKind.EXIT_TEAM).limit(1)
            ) or create_organisation("malmo-team", "Konsultationsteamet Malmö", OrgKind.EXIT_TEAM)
        for name in names:
            secret = totp.new_secret()
            user = services.create_user(
                name, PASSWORD, Role(role), organisation, totp_secret=secret
            )
            db.session.flush()
            people.append(Person(name, PASSWORD, secret, str(user.id)))
        db.session.commit()
    return people


# PostgreSQL ----------------------------------------------------------------------------


def postgres_bin() -> Path | None:
    candidates = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"), key=lambda p: int(p.parent.parent.name)
    )
    return candidates[-1].parent if candidates else None


class PrivatePostgres:
    """A PostgreSQL cluster of our own on a free port: stopping it hurts nobody else."""

    def __init__(self) -> None:
        bin_dir = postgres_bin()
        if bin_dir is None:
            raise HarnessError("PostgreSQL server binaries are not installed")
        self.bin = bin_dir
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="utvag-pg-"))
        self.data = self.dir / "data"
        # PostgreSQL refuses to run as root; as root we hand the directory to `postgres`.
        self.run_as = "postgres" if os.geteuid() == 0 else None
        if self.run_as:
            account = pwd.getpwnam(self.run_as)
            os.chown(self.dir, account.pw_uid, account.pw_gid)
        self._pg("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _pg(self, program: str, *args: str) -> None:
        command = [str(self.bin / program), *args]
        if self.run_as:
            command = ["runuser", "-u", self.run_as, "--", *command]
        result = subprocess.run(command, capture_output=True, text=True, timeout=60, check=False)
        if result.returncode != 0:
            raise HarnessError(f"{program} failed: {result.stdout}\n{result.stderr}")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1"
        self._pg("pg_ctl", "-D", str(self.data), "-l", str(self.dir / "log"), "-w", "-o", options,
                 "start")  # fmt: skip

    def crash(self) -> None:
        """Stop at once, as a power cut or an OOM kill would: no checkpoint, clients cut."""
        self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")

    def close(self) -> None:
        with contextlib.suppress(HarnessError):
            self._pg("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.dir, ignore_errors=True)
        release_port(self.port)


# gunicorn ------------------------------------------------------------------------------

# Seconds an instance keeps an idle connection open for its next request (gunicorn's default).
KEEP_ALIVE = 2


class Gunicorn:
    """One portal instance, as the README runs it in production, in its own process group
    so that a kill reaches the master and every worker."""

    def __init__(
        self, env: Mapping[str, str], *, workers: int = 2, threads: int = 1, port: int | None = None
    ) -> None:
        self.port = port or free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = Path(tempfile.mkstemp(prefix="utvag-gunicorn-", suffix=".log")[1])
        self._log = self.log_path.open("w")
        command = [
            str(VENV_BIN / "gunicorn"),
            f"--workers={workers}",
            f"--threads={threads}",
            f"--bind=127.0.0.1:{self.port}",
            "--graceful-timeout=3",
            "--timeout=60",
            f"--keep-alive={KEEP_ALIVE}",
            "wsgi:app",
        ]
        self.process = subprocess.Popen(
            command, cwd=ROOT, env=dict(env), stdout=self._log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise HarnessError(f"gunicorn exited:\n{self.log()}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/healthz", timeout=2).status_code == 200:
                    return
            time.sleep(0.2)
        raise HarnessError(f"gunicorn did not answer within {timeout} s:\n{self.log()}")

    def log(self) -> str:
        self._log.flush()
        return self.log_path.read_text(errors="replace")[-5000:]

    def kill(self) -> None:
        """SIGKILL to the master and its workers at once: nothing gets to clean up."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            # The master is gone; make sure no orphaned worker of its group lives on.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
        self._log.close()
        self.log_path.unlink(missing_ok=True)
        release_port(self.port)


# The client ----------------------------------------------------------------------------


class LoopbackCookies(httpx.BaseTransport):
    """Keeps the cookies of one person and sends the `Secure` ones over plain HTTP.

    The session cookie is `Secure` (`__Host-`): in production TLS ends at the load
    balancer, and these runs talk plain HTTP to the instances behind it, on loopback only.
    httpx copies a client's jar into one with the default policy for every request, so
    the jar lives here, in the transport, with a policy that counts loopback HTTP as safe.
    """

    def __init__(self) -> None:
        policy = DefaultCookiePolicy(secure_protocols=("https", "wss", "http"))
        self.cookies = httpx.Cookies(CookieJar(policy=policy))
        # Plain HTTP only: no certificate store to load for every person's browser. A
        # connection idle for half the instance's keep-alive is not used again: the instance
        # may be closing it as a request goes out on it, and a POST sent into that close is
        # lost (it is never sent twice). A proxy in front is set up the same way: its
        # upstream keepalive_timeout below the instance's.
        self.inner = httpx.HTTPTransport(
            verify=False, limits=httpx.Limits(keepalive_expiry=KEEP_ALIVE / 2)
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.cookies.set_cookie_header(request)
        response = self.inner.handle_request(request)
        response.request = request
        self.cookies.extract_cookies(response)
        return response

    def close(self) -> None:
        self.inner.close()


@dataclass
class Outcome:
    """What one submission got back from the portal."""

    marker: str
    status: int | None  # None: no HTTP answer at all (connection refused or cut)
    step: str = ""  # the step whose answer this is
    request_id: str | None = None
    body: str = ""
    started: float = 0.0
    ended: float = 0.0
    # With a double click: the request each click was sent to (None: that click had no
    # success). Both must name the same request, the one stored.
    clicked: list[str | None] = field(default_factory=list)
    # With no HTTP answer: what the browser was told instead, so a failure says why.
    error: str = ""

    @property
    def succeeded(self) -> bool:
        return self.request_id is not None


# Told of every answer: (method, path, status or None for no answer, seconds taken).
Observer = Callable[[str, str, int | None, float], None]


class Portal:
    """A person's browser: one cookie jar, CSRF tokens read from the pages it fetched."""

    def __init__(
        self,
        base: str,
        *,
        address: str | None = None,
        language: str = "en",
        timeout: float = 30,
        observer: Observer | None = None,
        spread: Sequence[str] = (),
        on_resend: Callable[[], None] | None = None,
    ) -> None:
        self.base = base
        self.on_resend = on_resend
        # Instances behind a load balancer without sticky sessions: each request goes to
        # any of them (the instance named by `base=` when a call gives one).
        self.spread = list(spread)
        headers = {"Accept-Language": language}
        if address:
            # Behind TRUSTED_PROXY_COUNT=1 this is the person's own address, as a load
            # balancer reports it; throttling counts by it.
            headers["X-Forwarded-For"] = address
        self.http = httpx.Client(
            transport=LoopbackCookies(),
            headers=headers,
            timeout=timeout,
            follow_redirects=False,
        )
        self.observer = observer
        self.csrf: str | None = None
        # Set while the final step of a submission is on its way: the moment to strike.
        self.sending = threading.Event()
        # The request this person sent last: withdrawn before they write the next one, as
        # a person has one open request at a time.
        self.open_request: str | None = None

    def withdraw_open_request(self) -> None:
        if self.open_request is not None:
            response = self.post(f"/my/requests/{self.open_request}/withdraw")
            if response.status_code == 302:  # refused in an outage: still open, try again
                self.open_request = None

    def close(self) -> None:
        self.http.close()

    def send(
        self, method: str, path: str, *, base: str | None = None, data: Any = None
    ) -> httpx.Response:
        started = time.perf_counter()
        target = base or (random.choice(self.spread) if self.spread else self.base)
        try:
            try:
                response = self.http.request(method, target + path, data=data)
            except (httpx.ReadError, httpx.RemoteProtocolError):
                # The server closed an idle keep-alive connection just as this request went
                # out on it. A proxy in front (nginx's proxy_next_upstream) sends an
                # idempotent request again on a new connection, and so does this browser;
                # a POST is never sent twice. Counted, so a run shows how often.
                if method != "GET":
                    raise
                if self.on_resend:
                    self.on_resend()
                response = self.http.request(method, target + path, data=data)
        except httpx.HTTPError:
            if self.observer:
                self.observer(method, path, None, time.perf_counter() - started)
            raise
        if self.observer:
            self.observer(method, path, response.status_code, time.perf_counter() - started)
        return response

    def get(self, path: str, *, base: str | None = None) -> httpx.Response:
        response = self.send("GET", path, base=base)
        match = CSRF_PATTERN.search(response.text)
        if match:
            self.csrf = match.group(1)
        return response

    def post(
        self,
        path: str,
        data: Mapping[str, Any] | None = None,
        *,
        form_page: str | None = None,
        base: str | None = None,
    ) -> httpx.Response:
        """POST as the form on `form_page` (default: the same page) would."""
        self.get(form_page or path, base=base)
        return self.send("POST", path, base=base, data={"csrf_token": self.csrf, **(data or {})})

    def login(self, person: Person, *, base: str | None = None) -> None:
        response = self.post(
            "/login", {"username": person.username, "password": person.password}, base=base
        )
        if response.status_code != 302:
            raise HarnessError(f"login of {person.username}: {response.status_code}")
        self.get("/login/code", base=base)
        # The code of the moment the page is shown, as a person reads it off the phone: one
        # taken before a slow page came could be too old to be accepted when it is sent.
        code = person.next_code()
        response = self.send(
            "POST", "/login/code", base=base, data={"csrf_token": self.csrf, "code": code}
        )
        if response.status_code != 302:
            raise HarnessError(f"code of {person.username}: {response.status_code}")

    def logout(self, *, base: str | None = None) -> httpx.Response:
        return self.post("/logout", {}, form_page="/account/", base=base)

    def submit(self, marker: str, *, child: bool = False, clicks: int = 1) -> Outcome:
        """Write a request in its steps and send it; the marker goes into the free text so
        the row can be found (and checked) afterwards. With `clicks` > 1 the final step is
        sent that many times at once, as an impatient double click does."""
        if clicks > 1:
            return self._submit_clicked(marker, child=child, clicks=clicks)
        outcome = Outcome(marker, None, started=time.monotonic())
        try:
            if not self._write_steps(outcome, child=child):
                return outcome
            self.sending.set()
            response = self.send("POST", "/my/request/review", data={"csrf_token": self.csrf})
            outcome.status, outcome.body = response.status_code, response.text
            match = REQUEST_PATH.match(urlsplit(response.headers.get("location", "")).path)
            if response.status_code == 302 and match:
                outcome.request_id = self.open_request = match.group(1)
        except httpx.HTTPError as error:
            outcome.status = None
            outcome.error = f"{type(error).__name__} at {outcome.step}: {error}"
        finally:
            self.sending.clear()
            outcome.ended = time.monotonic()
        return outcome

    def _write_steps(self, outcome: Outcome, *, child: bool) -> bool:
        """Make room for a new request, write its steps and open the review: True when the
        request is ready to send, False (the refusal in `outcome`) when a step was refused."""
        self.withdraw_open_request()
        for step, values in request_steps(outcome.marker, child=child):
            outcome.step = step
            response = self.post(f"/my/request/{step}", values)
            held_open = OPEN_REQUEST_LINK.search(response.text)
            if response.status_code == 409 and held_open:
                # The portal holds a request open that this person lost track of: its
                # answer was lost in an outage, or withdrawing it was refused in one. As a
                # person would, withdraw it from the page that says so and write the step
                # again.
                self.open_request = held_open.group(1)
                self.withdraw_open_request()
                response = self.post(f"/my/request/{step}", values)
            if response.status_code != 302:
                outcome.status, outcome.body = response.status_code, response.text
                return False
        outcome.step = "review"
        self.get("/my/request/review")
        return True

    def _submit_clicked(self, marker: str, *, child: bool, clicks: int) -> Outcome:
        outcome = Outcome(marker, None, started=time.monotonic())
        try:
            if not self._write_steps(outcome, child=child):
                return outcome
        except httpx.HTTPError as error:
            outcome.status = None
            outcome.error = f"{type(error).__name__} at {outcome.step}: {error}"
            outcome.ended = time.monotonic()
            return outcome
        answers: list[httpx.Response | None] = [None] * clicks
        # Every click leaves together: the server sees them at the same moment.
        barrier = threading.Barrier(clicks)

        def click(n: int) -> None:
            barrier.wait()
            with contextlib.suppress(httpx.HTTPError):
                answers[n] = self.send("POST", "/my/request/review", data={"csrf_token": self.csrf})

        clickers = [threading.Thread(target=click, args=(n,)) for n in range(clicks)]
        self.sending.set()
        for clicker in clickers:
            clicker.start()
        for clicker in clickers:
            clicker.join()
        self.sending.clear()
        for response in answers:
            match = None
            if response is not None and response.status_code == 302:
                match = REQUEST_PATH.match(urlsplit(response.headers.get("location", "")).path)
            outcome.clicked.append(match.group(1) if match else None)
        # The success, if any click had one; `clicked` tells whether every click did.
        shown = next((r for r, i in zip(answers, outcome.clicked, strict=True) if i), answers[0])
        outcome.status = shown.status_code if shown is not None else None
        outcome.body = shown.text if shown is not None else ""
        outcome.request_id = self.open_request = next((i for i in outcome.clicked if i), None)
        outcome.ended = time.monotonic()
        return outcome


def request_steps(marker: str, *, child: bool) -> list[tuple[str, dict[str, Any]]]:
    """The answers of one request. A relative's worry about a child also starts the
    law's deadlines, so such a submission writes more rows that must commit together."""
    kind = [("kind", {"kind": "relative" if child else "defector"})]
    if child:
        kind.append(("person", {"relationship": "parent", "age_band": "15_17"}))
    return [
        *kind,
        (
            "help",
            {
                "help_wanted": ["advice", "talk"] if child else ["support_talks", "relocation"],
                "urgency": "soon",
            },
        ),
        (
            "contact",
            {
                "phone": "070-123 45 67",
                "safe_times": ["weekday_evening"],
                "voicemail_ok": "no",
                "sms_ok": "yes",
                "code_word": "blåbär",
                "contact_language": "sv",
                "interpreter": "no",
            },
        ),
        ("identity", {"name": "", "birth_year": ""}),
        ("story", {"account_text": marker}),
    ]


def new_marker() -> str:
    return f"submission {uuid.uuid4()}"


# Checking what the database holds ------------------------------------------------------


@dataclass
class StoredRequests:
    """Every stored request, found by the marker in its (encrypted) free text."""

    by_marker: dict[str, str]  # marker -> request id
    problems: list[str]
    drafts_with_submitted_markers: list[str]
    chain_problems: list[str]


def inspect_requests(env: Mapping[str, str]) -> StoredRequests:
    """Read every request back and check that each one was written whole: its fields
    decrypt, its audit event and (for a child) its deadlines exist, its draft is gone,
    and the audit chain is unbroken."""
    import json

    from app.audit.models import AuditEvent
    from app.audit.services import verify_chain
    from app.extensions import db
    from app.intake.models import ClientRequest, RequestDraft
    from app.rules.models import Deadline

    by_marker: dict[str, str] = {}
    problems: list[str] = []
    with app_context(env):
        audited = {
            subject_id
            for (subject_id,) in db.session.execute(
                sa.select(AuditEvent.subject_id).where(AuditEvent.action == "request.submitted")
            )
        }
        deadlines: dict[str, int] = {}
        for (request_id,) in db.session.execute(sa.select(Deadline.request_id)):
            deadlines[str(request_id)] = deadlines.get(str(request_id), 0) + 1
        for request in db.session.scalars(sa.select(ClientRequest)):
            rid = str(request.id)
            marker = request.account_text or ""
            if marker in by_marker:
                problems.append(f"{marker} stored twice")
            by_marker[marker] = rid
            if rid not in audited:
                problems.append(f"{rid} has no audit event")
            asked = ["advice", "talk"] if request.kind.value == "relative" else None
            if json.loads(request.help_wanted) != (asked or ["support_talks", "relocation"]):
                problems.append(f"{rid} lost its answers")
            if request.phone != "070-123 45 67" or request.code_word != "blåbär":
                problems.append(f"{rid} lost its contact details")
            if request.concerns_child and deadlines.get(rid, 0) != 2:
                problems.append(f"{rid} concerns a child but has {deadlines.get(rid, 0)} deadlines")
        problems += [
            f"audit event for missing request {s}" for s in audited - set(by_marker.values())
        ]
        drafts = [
            json.loads(draft.data).get("account_text", "")
            for draft in db.session.scalars(sa.select(RequestDraft))
        ]
        chain = [str(problem) for problem in verify_chain()]
    return StoredRequests(
        by_marker=by_marker,
        problems=problems,
        drafts_with_submitted_markers=[m for m in drafts if m in by_marker],
        chain_problems=chain,
    )


# A mail server's mailbox ---------------------------------------------------------------


class Mailbox:
    """An aiosmtpd handler that counts the messages it gets by Message-ID; `seconds` makes
    it a slow server (it takes that long over every message)."""

    def __init__(self, seconds: float = 0) -> None:
        self.seconds = seconds
        self.message_ids: Counter[str] = Counter()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.seconds:
            await asyncio.sleep(self.seconds)
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("message-id:"):
                self.message_ids[line.split(":", 1)[1].strip()] += 1
        return "250 OK"
