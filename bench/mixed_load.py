"""Load: clients submitting requests while staff work through the inbox and the cases,
on two instances that share one PostgreSQL database and one Redis.

Starts two gunicorn instances in production mode on loopback (127.0.0.1), each on a port of
its own, against PostgreSQL, with the demo data and pre-created accounts (every login is
password + TOTP, as in real use). Each request of every client and staff member goes to
either instance, as behind a load balancer without sticky sessions. Every fifth request a
client sends is sent with a double click: the final step twice at the same moment, often
to both instances at once.

Reports throughput, latency percentiles (p50, p95, p99) per kind of page, server errors,
and, read back from the database afterwards, every submission's fate: each one answered
with success must be stored exactly once, for the person who sent it (found by a unique
marker in its encrypted free text); both clicks of a double click must land on that one
request.

    python bench/mixed_load.py --database-url postgresql://postgres@127.0.0.1:5432/bench
    python bench/mixed_load.py --smoke            # a few seconds; the test suite runs this

Defaults: 40 clients (arriving over the first 10 s) and 10 staff for 60 s, two instances
of 2 workers x 2 threads each, Redis from --redis-url or TEST_REDIS_URL (else each process
counts its own rate limits, which the run says). The server hashes with the production
argon2 profile; the accounts are created with cheap hashes, which it replaces with
production ones at the first login, so logins cost what they cost in production. (The
smoke run also skips the demo data.) The run uses a schema of its own in the given
PostgreSQL database (dropped at the end), or a temporary SQLite file.
Exit status 1 when a submission was lost, stored twice or refused, a double click was
answered with two requests or none, or any answer was a server error (or none came).
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
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx
import redis
import sqlalchemy as sa

from tests.faults import harness

TRIAGE_LINK = re.compile(r'href="/team/triage/([0-9a-f-]{36})"')
CASE_LINK = re.compile(r'href="/team/cases/([0-9a-f-]{36})"')
IDENTIFIER = re.compile(r"[0-9a-f]{8}-[0-9a-f-]{27}")
SUBMISSIONS_PER_LOGIN = 4  # then the person logs out; the next comes from another address
DOUBLE_CLICK_EVERY = 5  # a client's 1st, 6th, 11th ... request is sent with a double click


@dataclass
class Sent:
    """One submission as the client saw it: who sent it, and what came back."""

    client_id: str
    outcome: harness.Outcome


@dataclass
class Figures:
    """Every answer the workers got, by kind of page, and every submission."""

    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: dict[int | None, int] = field(default_factory=lambda: defaultdict(int))
    sent: list[Sent] = field(default_factory=list)
    resent: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count_resend(self) -> None:
        with self.lock:
            self.resent += 1

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
        return sum(n for status, n in self.statuses.items() if status is not None and status >= 500)

    @property
    def unanswered(self) -> int:
        return self.statuses.get(None, 0)

    @property
    def succeeded(self) -> list[Sent]:
        return [s for s in self.sent if s.outcome.succeeded]

    @property
    def refused(self) -> list[harness.Outcome]:
        return [s.outcome for s in self.sent if not s.outcome.succeeded]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


# Workers ---------------------------------------------------------------------------------


def client_worker(
    n: int,
    bases: list[str],
    pool: list[harness.Person],
    figures: Figures,
    until: float,
    run: int,
    start: float = 0,
) -> None:
    """People who log in, send a few requests, look at what they sent, and leave. Each
    worker sends at least one request, however short the run, and its first request (then
    every fifth) with a double click. It starts `start` seconds into the run: people do not
    all arrive in the same second."""
    submissions = 0
    time.sleep(start)
    for visit in range(250):
        if visit and time.monotonic() >= until:
            return
        person = pool[visit % len(pool)]
        # An address of its own per visit and per run: throttling (10 submissions an hour
        # per address, counted in Redis across runs) is not what this measures.
        address = f"10.{run}.{n}.{visit}"
        portal = harness.Portal(
            bases[0],
            address=address,
            observer=figures.observe,
            spread=bases,
            on_resend=figures.count_resend,
        )
        try:
            portal.login(person)
            for sent in range(SUBMISSIONS_PER_LOGIN):
                if (visit or sent) and time.monotonic() >= until:
                    break
                clicks = 2 if submissions % DOUBLE_CLICK_EVERY == 0 else 1
                submissions += 1
                outcome = portal.submit(
                    harness.new_marker(), child=random.random() < 0.2, clicks=clicks
                )
                with figures.lock:
                    figures.sent.append(Sent(person.id, outcome))
                if outcome.request_id:
                    portal.get(f"/my/requests/{outcome.request_id}")
            # One open request per person: the last one is withdrawn before leaving, so
            # the same person can send again on a later visit.
            portal.withdraw_open_request()
            portal.logout()
        except (harness.HarnessError, httpx.HTTPError) as error:
            print(f"client {n}: {error!r}", file=sys.stderr)
        finally:
            portal.close()


def staff_worker(bases: list[str], person: harness.Person, figures: Figures, until: float) -> None:
    """A team lead going through the inbox and the team's cases; after an error (counted
    as such) the lead logs in again and carries on."""
    for attempt in range(100):
        if attempt and time.monotonic() >= until:
            return
        portal = harness.Portal(
            bases[0], observer=figures.observe, spread=bases, on_resend=figures.count_resend
        )
        try:
            portal.login(person)
            while True:
                inbox = TRIAGE_LINK.findall(portal.get("/team/triage").text)
                if inbox:
                    portal.get(f"/team/triage/{random.choice(inbox)}")
                cases = CASE_LINK.findall(portal.get("/team/cases").text)
                if cases:
                    portal.get(f"/team/cases/{random.choice(cases)}")
                portal.get("/start/")
                if time.monotonic() >= until:
                    return
        except (harness.HarnessError, httpx.HTTPError) as error:
            print(f"staff {person.username}: {error!r}", file=sys.stderr)
        finally:
            portal.close()


def baseline(bases: list[str], connections: int, seconds: float) -> float:
    """Requests per second on /healthz (one query, no template) with the same clients: the
    ceiling the machine allows this run, to read the figures against."""
    counts = [0] * connections
    until = time.monotonic() + seconds

    def hammer(n: int) -> None:
        with httpx.Client(verify=False) as client:
            while time.monotonic() < until:
                client.get(bases[n % len(bases)] + "/healthz")
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
    # The accounts are made with cheap hashes (130 production hashes took minutes on a busy
    # machine); the server rehashes with the production profile at the first login, which
    # costs what a verification costs, so every login still costs what it does in production.
    names = [f"klient-{uuid.uuid4().hex[:8]}" for _ in range(clients)]
    pool = harness.create_people(env, "client", names)
    leads = [f"ledare-{n}" for n in range(staff)]
    return pool, harness.create_people(env, "team_lead", leads)


def stored_markers(env: dict[str, str]) -> tuple[int, dict[str, list[tuple[str, str]]]]:
    """How many requests there are, and for each free text the requests that hold it:
    (request id, client id). Read through the application, so each one is decrypted."""
    from app.extensions import db
    from app.intake.models import ClientRequest

    found: dict[str, list[tuple[str, str]]] = defaultdict(list)
    with harness.app_context(env):
        rows = db.session.execute(
            sa.select(ClientRequest.id, ClientRequest.client_id, ClientRequest.account_text)
        ).all()
        for request_id, client_id, text in rows:
            found[text or ""].append((str(request_id), str(client_id)))
    return len(rows), found


def redis_or_memory(url: str | None) -> str:
    """The rate limiter's store the instances share; without Redis each process counts for
    itself, which the report says."""
    if not url:
        return "memory://"
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError:
        print(f"Redis at {url} does not answer: each process counts its own rate limits.")
        return "memory://"
    return url


# The run ---------------------------------------------------------------------------------


@dataclass
class Fates:
    """What became of the submissions, read back from the database."""

    before: int
    after: int
    lost: list[str] = field(default_factory=list)  # success answered, nothing stored
    duplicated: list[str] = field(default_factory=list)  # stored more than once
    misplaced: list[str] = field(default_factory=list)  # stored for someone else, or elsewhere
    clicks_disagree: list[str] = field(default_factory=list)  # a double click, two answers
    unexplained: int = 0  # rows no success accounts for


def fates(figures: Figures, before: int, after: int, stored: dict[str, list]) -> Fates:
    result = Fates(before, after)
    for sent in figures.sent:
        outcome = sent.outcome
        rows = stored.get(outcome.marker, [])
        if len(rows) > 1:
            result.duplicated.append(outcome.marker)
        if outcome.clicked and len(set(outcome.clicked)) != 1:
            result.clicks_disagree.append(outcome.marker)
        if not outcome.succeeded:
            continue
        if not rows:
            result.lost.append(outcome.marker)
        elif (outcome.request_id, sent.client_id) not in rows:
            result.misplaced.append(outcome.marker)
    result.unexplained = after - before - len(figures.succeeded)
    return result


def run(args: argparse.Namespace, database_url: str) -> int:
    env = harness.production_env(
        database_url,
        TRUSTED_PROXY_COUNT="1",
        INTAKE_ORGANISATION="malmo-team",
        RATELIMIT_STORAGE_URI=redis_or_memory(args.redis_url),
    )
    started = time.monotonic()
    pool, leads = prepare(env, 3 * args.clients, args.staff, demo=not args.smoke)
    print(f"set up in {time.monotonic() - started:.1f} s: {len(pool)} clients, "
          f"{len(leads)} team leads{'' if args.smoke else ', demo data'}")  # fmt: skip
    instances = [
        harness.Gunicorn(env, workers=args.workers, threads=args.threads)
        for _ in range(args.instances)
    ]
    try:
        for instance in instances:
            instance.wait_ready()
        bases = [instance.base for instance in instances]
        ceiling = baseline(bases, args.clients + args.staff, args.baseline)
        before, _ = stored_markers(env)
        figures = Figures()
        until = time.monotonic() + args.duration
        run_octet = random.randrange(256)
        workers = [
            # Each worker has accounts of its own: one person logs in from one place at a time.
            threading.Thread(
                target=client_worker,
                args=(
                    n,
                    bases,
                    pool[n :: args.clients],
                    figures,
                    until,
                    run_octet,
                    args.ramp * n / args.clients,
                ),
            )
            for n in range(args.clients)
        ] + [
            threading.Thread(target=staff_worker, args=(bases, lead, figures, until))
            for lead in leads
        ]
        began = time.monotonic()
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        elapsed = time.monotonic() - began
        after, stored = stored_markers(env)
    finally:
        for instance in instances:
            instance.stop()
    return report(args, figures, elapsed, ceiling, fates(figures, before, after, stored), env)


def report(
    args: argparse.Namespace,
    figures: Figures,
    elapsed: float,
    ceiling: float,
    fate: Fates,
    env: dict[str, str],
) -> int:
    everything = [s for values in figures.latencies.values() for s in values]
    submissions = figures.latencies.get("POST /my/request/review", [])
    succeeded = figures.succeeded
    doubled = [s for s in figures.sent if s.outcome.clicked]
    store = env["RATELIMIT_STORAGE_URI"].split("://")[0]
    print(f"\n{args.instances} gunicorn instances x {args.workers} workers x {args.threads} "
          f"threads (rate limits in {store}); {args.clients} clients and {args.staff} staff "
          f"for {elapsed:.1f} s")  # fmt: skip
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"baseline /healthz: {ceiling:.0f} req/s; load average at the end {load} "
          f"on {os.cpu_count()} cores")  # fmt: skip
    print(f"throughput: {figures.answers / elapsed:.1f} req/s "
          f"({len(succeeded) / elapsed:.2f} submissions/s)")  # fmt: skip
    print(f"latency, all answers: p50 {1000 * statistics.median(everything):.0f} ms, "
          f"p95 {1000 * percentile(everything, 0.95):.0f} ms, "
          f"p99 {1000 * percentile(everything, 0.99):.0f} ms")  # fmt: skip
    if submissions:
        print(f"latency, sending a request: p50 {1000 * statistics.median(submissions):.0f} ms, "
              f"p95 {1000 * percentile(submissions, 0.95):.0f} ms, "
              f"p99 {1000 * percentile(submissions, 0.99):.0f} ms")  # fmt: skip
    print(f"\n{'page':44} {'count':>6} {'p50 ms':>7} {'p95 ms':>7} {'p99 ms':>7}")
    for label, values in sorted(figures.latencies.items()):
        print(f"{label:44} {len(values):6} {1000 * statistics.median(values):7.0f} "
              f"{1000 * percentile(values, 0.95):7.0f} "
              f"{1000 * percentile(values, 0.99):7.0f}")  # fmt: skip
    print(f"\nanswers by status: {dict(sorted(figures.statuses.items(), key=str))}")
    print(f"submissions: {len(succeeded)} answered with success "
          f"({len(doubled)} sent with a double click), {len(figures.refused)} refused; "
          f"rows {fate.before} -> {fate.after}")  # fmt: skip
    refusals: Counter[tuple[str, int | None]] = Counter(
        (outcome.step, outcome.status) for outcome in figures.refused
    )
    if refusals:
        print(f"refused at (step, status): {dict(refusals)}")
    print(f"lost submissions: {len(fate.lost)}; duplicated: {len(fate.duplicated)}; "
          f"server errors (5xx): {figures.server_errors}; "
          f"no answer: {figures.unanswered}")  # fmt: skip
    print(f"GETs sent again after an instance closed an idle keep-alive connection under "
          f"them (as the proxy in front does): {figures.resent}")  # fmt: skip
    if fate.misplaced:
        print(f"stored under another id or for another person: {len(fate.misplaced)}")
    if fate.clicks_disagree:
        print(f"double clicks not both answered with the one request: "
              f"{len(fate.clicks_disagree)}")  # fmt: skip
    if fate.unexplained:
        print(f"rows not matched by a success: {fate.unexplained}")
    # Every submission is complete and well-formed: a refusal is as wrong as a loss.
    failures = [
        fate.lost, fate.duplicated, fate.misplaced, fate.clicks_disagree, figures.refused
    ]  # fmt: skip
    ok = not any(failures) and not (figures.server_errors or figures.unanswered)
    ok = ok and not fate.unexplained and bool(succeeded) and bool(doubled)
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=os.environ.get("TEST_DATABASE_URL"),
                        help="PostgreSQL (a schema of its own is used) or sqlite:///FILE; "
                        "default: TEST_DATABASE_URL, else a temporary SQLite file")  # fmt: skip
    parser.add_argument("--redis-url", default=os.environ.get("TEST_REDIS_URL"),
                        help="Redis the instances share for rate limits; "
                        "default: TEST_REDIS_URL")  # fmt: skip
    parser.add_argument("--clients", type=int, default=40, help="client workers")
    parser.add_argument("--staff", type=int, default=10, help="staff workers (team leads)")
    parser.add_argument("--duration", type=float, default=60, help="seconds of load")
    parser.add_argument("--baseline", type=float, default=5, help="seconds of /healthz")
    parser.add_argument("--ramp", type=float, default=10,
                        help="seconds over which the clients arrive")  # fmt: skip
    parser.add_argument("--instances", type=int, default=2, help="gunicorn instances")
    parser.add_argument("--workers", type=int, default=2, help="workers per instance")
    parser.add_argument("--threads", type=int, default=2, help="threads per gunicorn worker")
    parser.add_argument("--smoke", action="store_true",
                        help="a few seconds, small numbers, no demo data")  # fmt: skip
    args = parser.parse_args()
    if args.smoke:
        args.clients, args.staff, args.duration, args.baseline, args.ramp = 3, 1, 3, 0.5, 0
        args.workers, args.threads = 1, 2

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
