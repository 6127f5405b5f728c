"""Key rotation under use: how long staff wait while `flask keys rotate` re-encrypts the
encrypted values of 100,000 cases.

    python bench/rotation.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/rotation.py --quick      # 300 cases, short phases (about a minute)

It seeds the cases with bench/seed.py's bulk seeding (every encrypted column of every table
around a case holds a real Fernet token under the run's first key; no audit events, which
hold nothing encrypted), then does what the README's "Keys" section tells an operator:
puts a new key first in FIELD_ENCRYPTION_KEYS, starts the portal with it (gunicorn,
production mode, PostgreSQL, Redis when given) and runs `flask --app wsgi keys rotate`.

Caseworkers work throughout: each logs in (password, then TOTP code, as a person does),
edits the identity of one of their cases a few times, and logs out, over and over. Their
waits are measured for a while before the rotation and then for as long as it runs, and
compared in the same run: the longest wait and the 95th percentile of a login (the two
POSTs) and of an edit (the POST that saves it), during against before. Afterwards every
encrypted value in the database must open with the new key alone, and every case's name
must be the one its caseworker saved last: an edit made while the rotation passed over its
row is neither lost nor overwritten with the old value.

The run uses a schema of its own in the given PostgreSQL database (dropped at the end).
Exit status 1 when a value does not open with the new key, an edit was lost, an answer was
a server error, or the rotation failed.
"""

from __future__ import annotations

import argparse
import base64
import itertools
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import httpx
import psycopg
import redis
import seed
from argon2 import PasswordHasher
from cryptography.fernet import Fernet, InvalidToken
from flask_migrate import upgrade

from app import create_app
from app.auth.passwords import ARGON2_PARAMETERS
from app.core.crypto import encrypted_columns
from app.core.db import Base
from config import Settings
from tests.faults import harness

EDITS_PER_LOGIN = 3
ROTATED = re.compile(r"re-encrypted (\d+) values")


@dataclass
class Worker:
    """One caseworker's account and the open case they edit."""

    person: harness.Person
    case_id: str


@dataclass
class Waits:
    """Seconds each login and each edit took, by phase; and what went wrong."""

    seconds: dict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int | None, int] = field(default_factory=lambda: defaultdict(int))
    # The name each case was given last, with its phase (an answered save only).
    last_saved: dict[str, str] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    phase: str = "before"

    def add(self, phase: str, what: str, seconds: float) -> None:
        with self.lock:
            self.seconds[(phase, what)].append(seconds)

    def observe(self, method: str, path: str, status: int | None, seconds: float) -> None:
        with self.lock:
            self.statuses[status] += 1


def new_key() -> str:
    return base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


def libpq_url(url: str, schema: str) -> str:
    """The database seen through a schema of its own, for psycopg and SQLAlchemy alike."""
    separator = "&" if "?" in url else "?"
    return f"{url}{separator}options=-csearch_path%3D{schema}"


def redis_or_memory(url: str | None) -> str:
    if not url:
        return "memory://"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError:
        print(f"Redis at {url} does not answer: each process counts its own rate limits.")
        return "memory://"
    return url


# Seeding ---------------------------------------------------------------------------------


def seed_cases(env: dict[str, str], url: str, cases: int) -> seed.World:
    """Migrate and seed; the values are encrypted under the first (and only) key of `env`."""
    app = create_app(Settings.from_env(env))
    with app.app_context():
        upgrade()
    password_hash = PasswordHasher(**ARGON2_PARAMETERS).hash(seed.PASSWORD)  # type: ignore[arg-type]
    with psycopg.connect(url) as connection:
        world = seed.create_world(connection, app, password_hash)
    seed.grow(url, app, world, cases, 1, audit=False)
    return world


def caseworkers(url: str, world: seed.World) -> list[Worker]:
    """Every seeded caseworker whose TOTP secret the run knows, with an open case of their
    own (assigned caseworkers see its identity, protected or not)."""
    shared = seed.PAYLOADS["totp"][0]
    found = []
    with psycopg.connect(url) as connection:
        rows = connection.execute(
            """
            SELECT DISTINCT ON (u.id) u.username, c.id
            FROM users u
            JOIN case_assignments a ON a.user_id = u.id
            JOIN cases c ON c.id = a.case_id
            WHERE u.role = 'caseworker' AND c.status <> 'closed'
            ORDER BY u.id, c.opened_at DESC
            """
        ).fetchall()
    for username, case_id in rows:
        secret = world.caseworker.totp_secret if username == world.caseworker.username else shared
        found.append(Worker(harness.Person(username, seed.PASSWORD, secret), str(case_id)))
    return found


# Staff at work ---------------------------------------------------------------------------


def timed_posts(portal: harness.Portal, work: Any) -> tuple[float, list[int]]:
    """Run `work` with the portal, adding up the seconds of the POSTs it sends (the pages
    fetched to get a form are not what a person waits for on pressing the button)."""
    spent: list[float] = []
    statuses: list[int] = []
    before = portal.observer

    def observe(method: str, path: str, status: int | None, seconds: float) -> None:
        if before:
            before(method, path, status, seconds)
        if method == "POST":
            spent.append(seconds)
            statuses.append(status or 0)

    portal.observer = observe
    try:
        work()
    finally:
        portal.observer = before
    return sum(spent), statuses


def staff_worker(
    n: int, base: str, accounts: list[Worker], waits: Waits, stop: threading.Event
) -> None:
    for visit in itertools.count():
        if stop.is_set():
            return
        account = accounts[visit % len(accounts)]
        # Each login from an address of its own: throttling is not what this measures.
        address = f"10.{n}.{visit // 250 % 250}.{visit % 250}"
        portal = harness.Portal(base, address=address, observer=waits.observe)
        try:
            account.person.next_code()  # wait here, not inside the timed login, for a step
            account.person.last_step -= 1  # ... and let the login use that step
            phase = waits.phase
            seconds, statuses = timed_posts(portal, partial(portal.login, account.person))
            waits.add(phase, "login", seconds)
            for edit in range(EDITS_PER_LOGIN):
                if stop.is_set():
                    break
                name = f"Namn {n}-{visit}-{edit}"
                page = f"/team/cases/{account.case_id}"
                portal.get(page)
                phase = waits.phase
                form = {"full_name": name, "phone": "070-111 22 33", "address": "Storgatan 9",
                        "municipality": "1280", "adults": "1", "children_ages": ""}  # fmt: skip
                save = partial(
                    portal.send,
                    "POST",
                    f"{page}/identity",
                    data={"csrf_token": portal.csrf, **form},
                )
                seconds, statuses = timed_posts(portal, save)
                if statuses != [302]:
                    waits.failures.append(f"edit of {account.case_id}: {statuses}")
                    continue
                waits.add(phase, "edit", seconds)
                with waits.lock:
                    waits.last_saved[account.case_id] = name
            portal.logout()
        except (harness.HarnessError, httpx.HTTPError) as error:
            with waits.lock:
                waits.failures.append(f"{account.person.username}: {error!r}")
        finally:
            portal.close()


# Checking --------------------------------------------------------------------------------


@dataclass
class Check:
    values: int = 0
    not_under_new_key: int = 0
    names_lost: list[str] = field(default_factory=list)


def check_values(url: str, new: str, last_saved: dict[str, str]) -> Check:
    """Every encrypted value opens with the new key alone; every case's name is the last
    one saved for it."""
    fernet = Fernet(new.encode())
    result = Check()
    with psycopg.connect(url) as connection:
        for table, column in encrypted_columns(Base):
            with connection.cursor(name=f"check_{table.name}_{column.name}") as cursor:
                cursor.itersize = 20_000
                cursor.execute(
                    f'SELECT "{column.name}" FROM "{table.name}" WHERE "{column.name}" IS NOT NULL'
                )
                for (token,) in cursor:
                    result.values += 1
                    try:
                        fernet.decrypt(token.encode())
                    except InvalidToken:
                        result.not_under_new_key += 1
        for case_id, name in last_saved.items():
            (token,) = connection.execute(
                "SELECT full_name FROM cases WHERE id = %s", (uuid.UUID(case_id),)
            ).fetchone() or (None,)
            if token is None or fernet.decrypt(token.encode()).decode() != name:
                result.names_lost.append(case_id)
    return result


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# The run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, url: str) -> int:
    started = time.monotonic()
    old, new = new_key(), new_key()
    env = harness.production_env(
        url, TRUSTED_PROXY_COUNT="1", RATELIMIT_STORAGE_URI=redis_or_memory(args.redis_url)
    )
    env["FIELD_ENCRYPTION_KEYS"] = old
    world = seed_cases(env, url, args.cases)
    seeded = time.monotonic() - started
    workers = caseworkers(url, world)
    print(f"seeded {args.cases:,} cases in {seeded:.0f} s; {len(workers)} caseworkers at work",
          flush=True)  # fmt: skip
    # What the operator does: the new key first, the old one still there to read with.
    env["FIELD_ENCRYPTION_KEYS"] = f"{new},{old}"
    instance = harness.Gunicorn(env, workers=args.workers, threads=args.threads)
    waits = Waits()
    stop = threading.Event()
    rotation: subprocess.CompletedProcess[str] | None = None
    rotation_seconds = 0.0
    threads = []
    try:
        instance.wait_ready()
        threads = [
            threading.Thread(
                target=staff_worker,
                args=(n, instance.base, workers[n :: args.staff], waits, stop),
            )
            for n in range(args.staff)
        ]
        for thread in threads:
            thread.start()
        time.sleep(args.before)
        waits.phase = "during"
        began = time.perf_counter()
        rotation = subprocess.run(
            [str(harness.VENV_BIN / "flask"), "--app", "wsgi", "keys", "rotate"],
            cwd=harness.ROOT,
            env={**env, "PYTHONPATH": str(harness.ROOT)},
            capture_output=True,
            text=True,
            check=False,
        )
        rotation_seconds = time.perf_counter() - began
        waits.phase = "after"
    finally:
        stop.set()
        for thread in threads:
            thread.join(timeout=120)
        log = instance.log()
        instance.stop()
    checked = check_values(url, new, waits.last_saved)
    status = report(args, waits, rotation, rotation_seconds, checked)
    if status:
        print(f"\nthe instance's log, its end:\n{log[-4000:]}")
    return status


def report(
    args: argparse.Namespace,
    waits: Waits,
    rotation: subprocess.CompletedProcess[str] | None,
    seconds: float,
    checked: Check,
) -> int:
    output = (rotation.stdout + rotation.stderr) if rotation else ""
    found = ROTATED.search(output)
    rewritten = int(found.group(1)) if found else 0
    print(f"\n{args.cases:,} cases; gunicorn {args.workers} workers x {args.threads} threads; "
          f"{args.staff} caseworkers logging in and editing")  # fmt: skip
    print(f"rotation: {rewritten:,} values re-encrypted in {seconds:.1f} s "
          f"({rewritten / seconds if seconds else 0:,.0f} values/s), "
          f"exit {rotation.returncode if rotation else '-'}")  # fmt: skip
    print(f"\n{'wait':8} {'before: n':>9} {'p95 ms':>7} {'max ms':>7}   {'during: n':>9} "
          f"{'p95 ms':>7} {'max ms':>7}   {'p95 x':>6} {'max x':>6}")  # fmt: skip
    for what in ("login", "edit"):
        before = waits.seconds.get(("before", what), [])
        during = waits.seconds.get(("during", what), [])
        if not (before and during):
            print(f"{what:8} too few samples: {len(before)} before, {len(during)} during")
            continue
        b95, bmax = percentile(before, 0.95), max(before)
        d95, dmax = percentile(during, 0.95), max(during)
        print(f"{what:8} {len(before):9} {1000 * b95:7.0f} {1000 * bmax:7.0f}   "
              f"{len(during):9} {1000 * d95:7.0f} {1000 * dmax:7.0f}   "
              f"{d95 / b95:5.2f}x {dmax / bmax:5.2f}x")  # fmt: skip
        print(f"{'':8} (median {1000 * statistics.median(before):.0f} ms before, "
              f"{1000 * statistics.median(during):.0f} ms during)")  # fmt: skip
    server_errors = sum(n for s, n in waits.statuses.items() if s is None or s >= 500)
    print(f"\nanswers by status: {dict(sorted(waits.statuses.items(), key=str))}")
    print(f"afterwards: {checked.values:,} encrypted values, "
          f"{checked.not_under_new_key} not opened by the new key alone; "
          f"{len(waits.last_saved)} cases edited, {len(checked.names_lost)} "
          f"not holding the name saved last")  # fmt: skip
    for failure in waits.failures[:10]:
        print(f"failure: {failure}")
    if rotation is not None and rotation.returncode != 0:
        print(output[-3000:])
    ok = bool(rotation and rotation.returncode == 0 and rewritten)
    ok = ok and not (checked.not_under_new_key or checked.names_lost or server_errors)
    ok = ok and not waits.failures and bool(waits.last_saved)
    return 0 if ok else 1


def main() -> int:
    # Stopped from outside, still stop the server and drop the schema: SystemExit runs the
    # `finally` blocks.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL")
                        or os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL (a schema of its own is used); "
                        "default: BENCH_DATABASE_URL, else TEST_DATABASE_URL")  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL"),
                        help="Redis for rate limits; default: TEST_REDIS_URL")  # fmt: skip
    parser.add_argument("--cases", type=int, default=100_000, help="cases to seed")
    parser.add_argument("--staff", type=int, default=4, help="caseworkers at work at once")
    parser.add_argument("--before", type=float, default=60, help="seconds before rotating")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--quick", action="store_true", help="300 cases, 10 s before")
    args = parser.parse_args()
    if args.quick:
        args.cases, args.before, args.staff = 300, 10, 2
    if not args.database_url or not args.database_url.startswith(("postgresql", "postgres:")):
        parser.error("needs PostgreSQL: --database-url or BENCH_DATABASE_URL")
    base = args.database_url.replace("postgresql+psycopg://", "postgresql://")
    schema = f"rotation_{uuid.uuid4().hex[:12]}"
    harness.fresh_schema(base, schema)
    try:
        return run(args, libpq_url(base, schema))
    finally:
        harness.drop_schema(base, schema)


if __name__ == "__main__":
    sys.exit(main())
