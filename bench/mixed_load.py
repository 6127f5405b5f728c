"""Load: clients submitting requests while staff work through the inbox and the cases.

Starts gunicorn in production mode on loopback (127.0.0.1) against PostgreSQL, with the demo
data and pre-created accounts (every login is password + TOTP, as in real use), and runs
client and staff workers for a while. Reports throughput, latency percentiles per kind of
page, server errors, and whether every submission that was answered with success is stored
(rows counted before and after, each one found by its id).

    python bench/mixed_load.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/mixed_load.py --smoke            # a few seconds; the test suite runs this

Passwords are hashed with the production argon2 profile, on the server and for the
pre-created accounts: logins cost what they cost in production. (The smoke run skips the
demo data and creates its accounts with cheap hashes, which the server replaces with
production ones at the first login.) The run uses a schema of its
own in the given PostgreSQL database (dropped at the end), or a temporary SQLite file.
Exit status 1 when a submission was lost or any answer was a server error.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import statistics
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import sqlalchemy as sa

from tests.faults import harness

TRIAGE_LINK = re.compile(r'href="/team/triage/([0-9a-f-]{36})"')
CASE_LINK = re.compile(r'href="/team/cases/([0-9a-f-]{36})"')
IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")
SUBMISSIONS_PER_LOGIN = 4  # then the person logs out; the next comes from another address


@dataclass
class Figures:
    """Every answer the workers got, by kind of page."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int | None, int] = field(default_factory=lambda: defaultdict(int))
    succeeded: list[str] = field(default_factory=list)
    refused: list[harness.Outcome] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def observe(self, method: str, path: str, status: int | None, seconds: float) -> None:
        label = f"{method} {IDENTIFIER.sub(':id', path.split('?')[0])}"
        with self.lock:
            self.latencies[label].append(seconds)
            self.statuses[status] += 1

    @property
    def answers(self) -> int:
        return sum(self.statuses.values())

    @property
    def server_errors(self) -> int:
        return sum(n for status, n in self.statuses.items() if status is None or status >= 500)


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# Workers ---------------------------------------------------------------------------------


def client_worker(
    n: int, base: str, pool: list[harness.Person], figures: Figures, until: float
) -> None:
    """People who log in, send a few requests, look at what they sent, and leave. Each
    worker sends at least one request, however short the run."""
    for visit in range(10_000):
        if visit and time.monotonic() >= until:
            return
        person = pool[visit % len(pool)]
        address = f"127.20.{(n * 40 + visit) // 250 % 250}.{(n * 40 + visit) % 250}"
        portal = harness.Portal(base, address=address, observer=figures.observe)
        try:
            portal.login(person)
            for sent in range(SUBMISSIONS_PER_LOGIN):
                if (visit or sent) and time.monotonic() >= until:
                    break
                outcome = portal.submit(harness.new_marker(), child=random.random() < 0.2)
                with figures.lock:
                    if outcome.request_id:
                        figures.succeeded.append(outcome.request_id)
                    else:
                        figures.refused.append(outcome)
                if outcome.request_id:
                    portal.get(f"/my/requests/{outcome.request_id}")
            portal.logout()
        except harness.HarnessError as error:
            print(f"client {n}: {error}", file=sys.stderr)
        finally:
            portal.close()


def staff_worker(base: str, person: harness.Person, figures: Figures, until: float) -> None:
    """A team lead going through the inbox and the team's cases."""
    portal = harness.Portal(base, observer=figures.observe)
    try:
        portal.login(person)
        for round_ in range(10_000):
            if round_ and time.monotonic() >= until:
                break
            inbox = TRIAGE_LINK.findall(portal.get("/team/triage").text)
            if inbox:
                portal.get(f"/team/triage/{random.choice(inbox)}")
            cases = CASE_LINK.findall(portal.get("/team/cases").text)
            if cases:
                portal.get(f"/team/cases/{random.choice(cases)}")
            portal.get("/start/")
    except harness.HarnessError as error:
        print(f"staff {person.username}: {error}", file=sys.stderr)
    finally:
        portal.close()


def baseline(base: str, connections: int, seconds: float) -> float:
    """Requests per second on /healthz (one query, no template) with the same clients: the
    ceiling the machine allows this run, to read the figures against."""
    counts = [0] * connections
    until = time.monotonic() + seconds

    def hammer(n: int) -> None:
        with httpx.Client(verify=False) as client:
            while time.monotonic() < until:
                client.get(base + "/healthz")
                counts[n] += 1

    threads = [threading.Thread(target=hammer, args=(n,)) for n in range(connections)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sum(counts) / seconds


# Setting up ------------------------------------------------------------------------------


def prepare(
    env: dict[str, str], clients: int, staff: int, *, demo: bool = True
) -> tuple[list[harness.Person], list[harness.Person]]:
    """Migrate, add the demo data as `flask demo seed` does, and create the accounts."""
    from flask_migrate import upgrade

    from app.demo import seed_demo
    from app.extensions import db

    with harness.app_context(env):
        upgrade()
    if demo:
        # The demo data exists only in development mode, which reads the same keys from the
        # environment; the instances then serve it in production mode.
        with tempfile.TemporaryDirectory() as instance:
            development = {**env, "UTVAG_ENV": "development", "UTVAG_INSTANCE_PATH": instance}
            with harness.app_context(development, fast_hashing=False):
                seed_demo()
                db.session.commit()
    # A smoke run saves the setup's hashing; the server rehashes with the production
    # profile at the first login, so a login still costs what it costs in production.
    names = [f"klient-{uuid.uuid4().hex[:8]}" for _ in range(clients)]
    pool = harness.create_people(env, "client", names, fast_hashing=not demo)
    leads = [f"ledare-{n}" for n in range(staff)]
    return pool, harness.create_people(env, "team_lead", leads, fast_hashing=not demo)


def stored_requests(env: dict[str, str], ids: list[str] | None = None) -> int:
    """How many requests there are (of `ids`, when given)."""
    from app.extensions import db
    from app.intake.models import ClientRequest

    with harness.app_context(env):
        query = sa.select(sa.func.count()).select_from(ClientRequest)
        if ids is not None:
            query = query.where(ClientRequest.id.in_([uuid.UUID(i) for i in ids]))
        return db.session.scalar(query) or 0


# The run ---------------------------------------------------------------------------------


def run(args: argparse.Namespace, database_url: str) -> int:
    env = harness.production_env(
        database_url, TRUSTED_PROXY_COUNT="1", INTAKE_ORGANISATION="malmo-team"
    )
    started = time.monotonic()
    pool, leads = prepare(env, 3 * args.clients, args.staff, demo=not args.smoke)
    print(f"set up in {time.monotonic() - started:.1f} s: {len(pool)} clients, "
          f"{len(leads)} team leads{'' if args.smoke else ', demo data'}")  # fmt: skip
    instance = harness.Gunicorn(env, workers=args.workers, threads=args.threads)
    try:
        instance.wait_ready()
        ceiling = baseline(instance.base, args.clients + args.staff, args.baseline)
        before = stored_requests(env)
        figures = Figures()
        until = time.monotonic() + args.duration
        workers = [
            # Each worker has accounts of its own: one person logs in from one place at a time.
            threading.Thread(
                target=client_worker,
                args=(n, instance.base, pool[n :: args.clients], figures, until),
            )
            for n in range(args.clients)
        ] + [
            threading.Thread(target=staff_worker, args=(instance.base, lead, figures, until))
            for lead in leads
        ]
        began = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - began
        after = stored_requests(env)
        found = stored_requests(env, figures.succeeded)
    finally:
        instance.stop()
    return report(args, figures, elapsed, ceiling, before, after, found)


def report(
    args: argparse.Namespace,
    figures: Figures,
    elapsed: float,
    ceiling: float,
    before: int,
    after: int,
    found: int,
) -> int:
    everything = [s for values in figures.latencies.values() for s in values]
    submissions = figures.latencies.get("POST /my/request/review", [])
    lost = len(figures.succeeded) - found
    print(f"\ngunicorn {args.workers} workers x {args.threads} threads; {args.clients} clients "
          f"and {args.staff} staff for {elapsed:.1f} s")  # fmt: skip
    print(f"baseline /healthz: {ceiling:.0f} req/s")
    print(f"throughput: {figures.answers / elapsed:.1f} req/s "
          f"({len(figures.succeeded) / elapsed:.2f} submissions/s)")  # fmt: skip
    print(f"latency, all answers: p50 {1000 * statistics.median(everything):.0f} ms, "
          f"p95 {1000 * percentile(everything, 0.95):.0f} ms")  # fmt: skip
    if submissions:
        print(f"latency, sending a request: p50 {1000 * statistics.median(submissions):.0f} ms, "
              f"p95 {1000 * percentile(submissions, 0.95):.0f} ms")  # fmt: skip
    print(f"\n{'page':44} {'count':>6} {'p50 ms':>7} {'p95 ms':>7}")
    for label, values in sorted(figures.latencies.items()):
        print(f"{label:44} {len(values):6} {1000 * statistics.median(values):7.0f} "
              f"{1000 * percentile(values, 0.95):7.0f}")  # fmt: skip
    print(f"\nanswers by status: {dict(sorted(figures.statuses.items(), key=str))}")
    print(f"submissions: {len(figures.succeeded)} answered with success, "
          f"{len(figures.refused)} refused; rows {before} -> {after}")  # fmt: skip
    refusals: dict[tuple[str, int | None], int] = defaultdict(int)
    for outcome in figures.refused:
        refusals[(outcome.step, outcome.status)] += 1
    if refusals:
        print(f"refused at (step, status): {dict(refusals)}")
    print(f"lost submissions: {lost}; server errors (5xx or no answer): {figures.server_errors}")
    unexplained = after - before - len(figures.succeeded)
    if unexplained:
        print(f"rows not matched by a success: {unexplained}")
    # Every submission is complete and well-formed: a refusal is as wrong as a loss.
    ok = not (lost or figures.server_errors or unexplained or figures.refused)
    ok = ok and bool(figures.succeeded)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL (a schema of its own is used) or sqlite:///FILE; "
                        "default: TEST_DATABASE_URL, else a temporary SQLite file")  # fmt: skip
    parser.add_argument("--clients", type=int, default=16, help="client workers")
    parser.add_argument("--staff", type=int, default=4, help="staff workers (team leads)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--baseline", type=float, default=5, help="seconds of /healthz")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds, small numbers, no demo data")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.staff, args.duration, args.baseline = 3, 1, 3, 0.5
        args.workers, args.threads = 2, 1

    url = args.database_url
    if not url:
        with tempfile.TemporaryDirectory(prefix="utvag-load-") as directory:
            return run(args, f"sqlite:///{directory}/load.sqlite3")
    if url.startswith("sqlite"):
        return run(args, url)
    schema = f"load_{uuid.uuid4().hex[:12]}"
    try:
        return run(args, harness.fresh_schema(url, schema))
    finally:
        harness.drop_schema(url, schema)


if __name__ == "__main__":
    sys.exit(main())
