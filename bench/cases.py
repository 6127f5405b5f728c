"""Case benchmark: does the portal stay fast as a team's history grows to 100,000 cases?

Run it from the project root:

    .venv/bin/python bench/cases.py            # full: 1,000 then 100,000 cases (12-15 min)
    .venv/bin/python bench/cases.py --quick    # smoke run: 200 then 2,000 cases (about a minute)

Exit status 0 when every target is met. Afterwards, `bench/profile_page.py /team/cases`
profiles a page of the seeded database (pyinstrument, and `--explain` for EXPLAIN ANALYZE).

It needs:

- PostgreSQL: BENCH_DATABASE_URL, default postgresql://postgres@127.0.0.1:5432/test_h4.
  The database is WIPED (schema dropped) and rebuilt with the migrations: use a database of
  its own. Indexes the models declare that the migrations do not have yet are created too,
  and listed, so a model change can be measured before its migration is written.
- wrk (`apt-get install -y wrk`; the script tries that itself when it runs as root).
- Redis for the rate limiter's store, as in production: BENCH_REDIS_URL, default
  redis://127.0.0.1:6379/14 (`memory://` is used, and said, when Redis does not answer).
- Free loopback ports BENCH_PORT (default 5620) and the next two.

In one run it: times an argon2id verification with the production parameters; weighs every
public and client page in every language (the same code as bench/page_sizes.py); seeds six
municipal teams' worth of cases with clients, requests, deadlines, consents, consultations,
placements and a hash-chained audit trail (10 events per case, so a million at 100,000
cases, chained exactly as the application chains them: `flask audit verify` accepts it and
the run checks that at the end); serves the application in production mode and a bare Flask
page and the lean reference (bench/lean.py: the case list's database work done the lean
way, same rows and same HTML) with the same gunicorn settings (2 workers, 127.0.0.1); logs
in a caseworker and a team lead with password and TOTP code; and measures with wrk. Every
measurement of a full run is taken twice (`--runs`); both runs are printed and their mean
is judged. Figures are ratios against the reference and the bare page measured in the same
run, because the machine is shared and noisy.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis
from argon2 import PasswordHasher

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import argon2_cost
import load
import page_sizes
import seed
from flask_migrate import upgrade

from app import create_app
from app.auth.passwords import ARGON2_PARAMETERS
from config import Settings, new_fernet_key

DEFAULT_URL = "postgresql://postgres@127.0.0.1:5432/test_h4"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
# The default list: the caseworker's open cases. The same list with the closed ones (the
# whole history, counted up to the list's limit) is measured beside it, for information.
CASE_LIST = "/team/cases"
CASE_LIST_ALL = "/team/cases?status=all"
# The smallest page a logged-in caseworker can ask for: what every page costs at least.
START_PAGE = "/start/"
# The application's cheapest page that asks the database anything (SELECT 1, no session,
# no template): how close to the bare page any page that reads data can come.
HEALTH_PAGE = "/healthz"
STATISTICS = "/team/statistics"
# The case file of the caseworker's newest case (found on their list): a read that is
# audited, so every request writes an audit event too.
CASE_LINK = re.compile(r'<td><a href="(/team/cases/[0-9a-f-]{36})">')

GUNICORN_LOG = Path(tempfile.gettempdir()) / "bench-cases-gunicorn.log"
# This run's secrets and logins, for bench/profile_page.py; the database is a scratch one.
RUN_FILE = Path(tempfile.gettempdir()) / "bench-cases-run.json"

# Throughput as a share of the lean reference's, which does the list's database work and
# nothing else; the start page (what every logged-in page costs at least) one at a time
# against /healthz (one SELECT 1, no session, no template).
TARGET_THROUGHPUT_RATIO = 0.6
TARGET_FLOOR_VS_HEALTH = 2.0
TARGET_GROWTH_RATIO = 1.3
TARGET_STATISTICS_MS = 300.0
# The start page and the case file against the case list (their throughput as a share of
# the list's, measured in the same run), and their own growth with the history.
TARGET_VS_LIST = 0.5


@dataclass
class Phase:
    cases: int
    seed_seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    hello_rps: list[float] = field(default_factory=list)
    list_rps: list[float] = field(default_factory=list)
    floor_rps: list[float] = field(default_factory=list)
    file_rps: list[float] = field(default_factory=list)
    health_rps: list[float] = field(default_factory=list)
    lean_rps: list[float] = field(default_factory=list)
    hello_ms: list[float] = field(default_factory=list)
    list_ms: list[float] = field(default_factory=list)
    lead_list_ms: list[float] = field(default_factory=list)
    all_list_ms: list[float] = field(default_factory=list)
    floor_ms: list[float] = field(default_factory=list)
    file_ms: list[float] = field(default_factory=list)
    health_ms: list[float] = field(default_factory=list)
    lean_ms: list[float] = field(default_factory=list)
    stats_ms: list[float] = field(default_factory=list)

    def vs_bare(self, rps: list[float]) -> list[float]:
        """Each run's throughput as a share of the bare page's in the same run."""
        return [c / h for c, h in zip(rps, self.hello_rps, strict=True)]

    def vs_lean(self, rps: list[float]) -> list[float]:
        """Each run's throughput as a share of the lean reference's in the same run."""
        return [c / r for c, r in zip(rps, self.lean_rps, strict=True)]


def bench_env(url: str, redis_url: str) -> dict[str, str]:
    """Production mode with this run's own secrets: nothing here is reused elsewhere."""
    return {
        "UTVAG_ENV": "production",
        "SECRET_KEY": secrets.token_urlsafe(32),
        "DATABASE_URL": url,
        "FIELD_ENCRYPTION_KEYS": new_fernet_key(),
        "BLIND_INDEX_KEY": secrets.token_urlsafe(32),
        "AUDIT_KEY": secrets.token_urlsafe(32),
        "BASE_URL": "https://utvag.bench.example",
        "RATELIMIT_STORAGE_URI": redis_url,
    }


def save_run(env: dict[str, str], world: seed.World) -> None:
    """Keep this run's settings and logins (mode 600) so that bench/profile_page.py and a
    hand-run `flask audit verify` can reach the seeded database afterwards."""
    RUN_FILE.unlink(missing_ok=True)
    fd = os.open(RUN_FILE, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    logins = {
        "caseworker": [world.caseworker.username, world.caseworker.totp_secret],
        "lead": [world.team_lead.username, world.team_lead.totp_secret],
    }
    with os.fdopen(fd, "w") as handle:
        json.dump({"env": env, "logins": logins}, handle)


def redis_or_memory(url: str) -> str:
    try:
        redis.Redis.from_url(url, socket_timeout=2).ping()
    except redis.RedisError:
        print(f"Redis at {url} does not answer: the rate limiter uses memory:// instead.")
        return "memory://"
    return url


@dataclass(frozen=True)
class Durations:
    """Seconds per wrk run: under load (throughput), one at a time (latency), warm-up."""

    load: float
    latency: float
    warm_up: float


FULL = Durations(load=10, latency=5, warm_up=3)
QUICK = Durations(load=2, latency=1, warm_up=1)


def measure_phase(
    phase: Phase, world: seed.World, env: dict[str, str], port: int, timing: Durations, runs: int
) -> None:
    log = GUNICORN_LOG
    with (
        load.gunicorn("bench.hello:app", port, {}, log) as hello,
        load.gunicorn("wsgi:app", port + 1, env, log) as site,
        load.gunicorn("bench.lean:app", port + 2, env, log) as lean,
    ):
        worker = session_of(site, world.caseworker)
        lead = session_of(site, world.team_lead)
        if "K-" not in load.fetch(site, CASE_LIST, worker):
            raise load.BenchError("the caseworker's case list shows no case")
        listed = load.fetch(site, CASE_LIST, worker)
        if _rows(load.fetch(lean, CASE_LIST, worker)) != _rows(listed):
            raise load.BenchError("the reference does not show the portal's rows")
        newest = CASE_LINK.search(listed)
        if newest is None:
            raise load.BenchError("the caseworker's case list links to no case file")
        case_file = newest.group(1)
        if "<h1" not in load.fetch(site, case_file, worker):
            raise load.BenchError(f"the case file {case_file} does not open")
        # Warm up: templates compiled, connections pooled, pages in PostgreSQL's cache.
        for host, path, cookie in (
            (hello, "/", ""),
            (lean, CASE_LIST, worker),
            (site, CASE_LIST, worker),
            (site, case_file, worker),
            (site, START_PAGE, worker),
            (site, STATISTICS, lead),
        ):
            load.wrk(host, path, cookie, connections=2, seconds=timing.warm_up)
        for run in range(runs):
            phase.hello_rps.append(throughput(hello, "/", "", timing.load))
            phase.lean_rps.append(throughput(lean, CASE_LIST, worker, timing.load))
            phase.list_rps.append(throughput(site, CASE_LIST, worker, timing.load))
            phase.floor_rps.append(throughput(site, START_PAGE, worker, timing.load))
            phase.file_rps.append(throughput(site, case_file, worker, timing.load))
            phase.health_rps.append(throughput(site, HEALTH_PAGE, "", timing.load))
            short = timing.latency
            phase.hello_ms.append(load.sequential_ms(hello, "/", "", seconds=short))
            phase.lean_ms.append(load.sequential_ms(lean, CASE_LIST, worker, seconds=short))
            phase.health_ms.append(load.sequential_ms(site, HEALTH_PAGE, "", seconds=short))
            phase.list_ms.append(load.sequential_ms(site, CASE_LIST, worker, seconds=short))
            phase.floor_ms.append(load.sequential_ms(site, START_PAGE, worker, seconds=short))
            phase.file_ms.append(load.sequential_ms(site, case_file, worker, seconds=short))
            phase.lead_list_ms.append(load.sequential_ms(site, CASE_LIST, lead, seconds=short))
            phase.all_list_ms.append(load.sequential_ms(site, CASE_LIST_ALL, worker, seconds=short))
            phase.stats_ms.append(load.sequential_ms(site, STATISTICS, lead, seconds=short))
            print(
                f"  run {run + 1}: bare {phase.hello_rps[-1]:.0f} req/s, reference "
                f"{phase.lean_rps[-1]:.0f} req/s, case list "
                f"{phase.list_rps[-1]:.0f} req/s; one at a time: bare {phase.hello_ms[-1]:.2f} ms,"
                f" case list {phase.list_ms[-1]:.1f} ms (team lead {phase.lead_list_ms[-1]:.1f}"
                f" ms), statistics {phase.stats_ms[-1]:.1f} ms",
                flush=True,
            )


def _rows(page: str) -> list[str]:
    """The table's rows, without the page's one-time token."""
    return [line for line in page.splitlines() if line.lstrip().startswith("<td>")]


def session_of(site: str, login: seed.Login) -> str:
    """The login's session cookie, logging in again only when the last session has ended:
    a code from a step already used is refused, and waiting for the next one takes time."""
    if login.cookie and "/logout" in load.fetch(site, START_PAGE, login.cookie):
        return login.cookie
    login.cookie = load.log_in(site, login.username, seed.PASSWORD, login.totp_secret)
    return login.cookie


def throughput(host: str, path: str, cookie: str, seconds: float) -> float:
    # 16 connections over 2 threads, as the machine's reference figure was measured.
    return load.wrk(host, path, cookie, connections=16, seconds=seconds).requests_per_second


def verify_audit(env: dict[str, str]) -> tuple[bool, float, str]:
    started = time.perf_counter()
    done = subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "audit", "verify"],
        cwd=load.ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
    )
    lines = (done.stdout + done.stderr).strip().splitlines()
    return done.returncode == 0, time.perf_counter() - started, lines[-1] if lines else ""


STARTED = time.monotonic()


def say(text: str) -> None:
    print(f"[{time.monotonic() - STARTED:5.0f} s] {text}", flush=True)


def mean(values: list[float]) -> float:
    return statistics.fmean(values)


def runs_text(values: list[float], fmt: str) -> str:
    return " / ".join(format(v, fmt) for v in values)


def verdict(ok: bool | None) -> str:
    return "info" if ok is None else "PASS" if ok else "FAIL"


def report(
    small: Phase,
    large: Phase,
    argon: list[float],
    sizes: page_sizes.PageSizes,
    audit: tuple[bool, float, str] | None,
) -> bool:
    big = f"{large.cases:,}"
    little = f"{small.cases:,}"
    throughput = large.vs_lean(large.list_rps)
    growth = [b / s for b, s in zip(large.list_ms, small.list_ms, strict=True)]
    all_growth = [b / s for b, s in zip(large.all_list_ms, small.all_list_ms, strict=True)]
    stats_ratio = [s / h for s, h in zip(large.stats_ms, large.hello_ms, strict=True)]
    page, language, heaviest = sizes.largest
    argon_ms = statistics.median(argon)
    floor_vs_health = [f / h for f, h in zip(large.floor_ms, large.health_ms, strict=True)]
    # The phases are minutes apart and the machine's load drifts: relative to the start page
    # measured in the same phase, the growth that is the case list's own.
    adjusted = [
        (big_ms / big_floor) / (small_ms / small_floor)
        for big_ms, big_floor, small_ms, small_floor in zip(
            large.list_ms, large.floor_ms, small.list_ms, small.floor_ms, strict=True
        )
    ]
    start_vs_list = [f / c for f, c in zip(large.floor_rps, large.list_rps, strict=True)]
    file_vs_list = [f / c for f, c in zip(large.file_rps, large.list_rps, strict=True)]
    start_growth = [b / s for b, s in zip(large.floor_ms, small.floor_ms, strict=True)]
    file_growth = [b / s for b, s in zip(large.file_ms, small.file_ms, strict=True)]
    rows = [
        (
            f"case-list throughput vs the lean reference ({big} cases)",
            f"{mean(throughput):.3f} (runs {runs_text(throughput, '.3f')})",
            f">= {TARGET_THROUGHPUT_RATIO:.2f}",
            mean(throughput) >= TARGET_THROUGHPUT_RATIO,
        ),
        (
            "staff start page one at a time vs /healthz",
            f"{mean(floor_vs_health):.2f}x (runs {runs_text(floor_vs_health, '.2f')}); "
            f"{mean(large.floor_ms):.1f} ms vs {mean(large.health_ms):.1f} ms",
            f"<= {TARGET_FLOOR_VS_HEALTH:.1f}x",
            mean(floor_vs_health) <= TARGET_FLOOR_VS_HEALTH,
        ),
        (
            f"case-list latency, {big} vs {little} cases",
            f"{mean(growth):.2f}x (runs {runs_text(growth, '.2f')})",
            f"<= {TARGET_GROWTH_RATIO}x",
            mean(growth) <= TARGET_GROWTH_RATIO,
        ),
        (
            f"start page throughput vs the case list ({big} cases)",
            f"{mean(start_vs_list):.2f} (runs {runs_text(start_vs_list, '.2f')})",
            f">= {TARGET_VS_LIST:.1f}",
            mean(start_vs_list) >= TARGET_VS_LIST,
        ),
        (
            f"case file throughput vs the case list ({big} cases)",
            f"{mean(file_vs_list):.2f} (runs {runs_text(file_vs_list, '.2f')})",
            f">= {TARGET_VS_LIST:.1f}",
            mean(file_vs_list) >= TARGET_VS_LIST,
        ),
        (
            f"start page latency, {big} vs {little} cases",
            f"{mean(start_growth):.2f}x (runs {runs_text(start_growth, '.2f')})",
            f"<= {TARGET_GROWTH_RATIO}x",
            mean(start_growth) <= TARGET_GROWTH_RATIO,
        ),
        (
            f"case file latency, {big} vs {little} cases",
            f"{mean(file_growth):.2f}x (runs {runs_text(file_growth, '.2f')})",
            f"<= {TARGET_GROWTH_RATIO}x",
            mean(file_growth) <= TARGET_GROWTH_RATIO,
        ),
        (
            f"(for scale) case list with closed cases (?status=all), {big} vs {little}",
            f"{mean(all_growth):.2f}x (runs {runs_text(all_growth, '.2f')})",
            "-",
            None,
        ),
        (
            "(load-adjusted) case-list growth, each phase relative to its start page",
            f"{mean(adjusted):.2f}x (runs {runs_text(adjusted, '.2f')})",
            "-",
            None,
        ),
        (
            f"statistics page latency ({big} cases)",
            f"{mean(large.stats_ms):.0f} ms = {mean(stats_ratio):.0f}x bare "
            f"(runs {runs_text(large.stats_ms, '.0f')} ms)",
            f"< {TARGET_STATISTICS_MS:.0f} ms",
            mean(large.stats_ms) < TARGET_STATISTICS_MS,
        ),
        (
            "largest public/client page, any language",
            f"{heaviest:.1f} KB ({page}, {language})",
            f"<= {page_sizes.LIMIT_KB} KB",
            heaviest <= page_sizes.LIMIT_KB,
        ),
        (
            "argon2id verify (production parameters)",
            f"{argon_ms:.0f} ms (t={ARGON2_PARAMETERS['time_cost']}, "
            f"m={ARGON2_PARAMETERS['memory_cost']} KiB, p={ARGON2_PARAMETERS['parallelism']})",
            f"{argon2_cost.TARGET_MS[0]:.0f}-{argon2_cost.TARGET_MS[1]:.0f} ms",
            argon2_cost.within_target(argon_ms),
        ),
    ]
    if audit is not None:
        rows.append(
            (
                "`flask audit verify` on the seeded chain",
                f"{audit[2]} ({audit[1]:.0f} s)",
                "exit 0",
                audit[0],
            )
        )

    print("\nRaw figures (run 1 / run 2):")
    for phase in (small, large):
        print(
            f"  {phase.cases:>7,} cases (seeded in {phase.seed_seconds:.0f} s, "
            f"{phase.counts.get('audit_events', 0):,} audit events): "
            f"bare {runs_text(phase.hello_rps, '.0f')} req/s, "
            f"reference {runs_text(phase.lean_rps, '.0f')} req/s, "
            f"case list {runs_text(phase.list_rps, '.0f')} req/s, "
            f"start page {runs_text(phase.floor_rps, '.0f')} req/s, "
            f"case file {runs_text(phase.file_rps, '.0f')} req/s, "
            f"/healthz {runs_text(phase.health_rps, '.0f')} req/s; one at a time: "
            f"bare {runs_text(phase.hello_ms, '.2f')} ms, "
            f"reference {runs_text(phase.lean_ms, '.2f')} ms, "
            f"/healthz {runs_text(phase.health_ms, '.2f')} ms, "
            f"case list {runs_text(phase.list_ms, '.1f')} ms, "
            f"start page {runs_text(phase.floor_ms, '.1f')} ms, "
            f"case file {runs_text(phase.file_ms, '.1f')} ms, "
            f"team lead's list {runs_text(phase.lead_list_ms, '.1f')} ms, "
            f"list with closed cases {runs_text(phase.all_list_ms, '.1f')} ms, "
            f"statistics {runs_text(phase.stats_ms, '.1f')} ms"
        )
    print("  rows at the end: " + ", ".join(f"{k} {v:,}" for k, v in large.counts.items()))

    print(f"\nThroughput at {big} cases, each page against the reference and the bare page:\n")
    print("| page | requests/s (runs) | vs reference | vs bare Flask |")
    print("|---|---|---|---|")
    for name, rps in (
        ("bare Flask page", large.hello_rps),
        ("/healthz (SELECT 1, no session, no template)", large.health_rps),
        ("lean reference: the case list's database work", large.lean_rps),
        ("staff start page", large.floor_rps),
        ("case list", large.list_rps),
        ("case file (an audited read)", large.file_rps),
    ):
        ratio_lean, ratio_bare = large.vs_lean(rps), large.vs_bare(rps)
        print(
            f"| {name} | {mean(rps):,.0f} ({runs_text(rps, ',.0f')}) | "
            f"{mean(ratio_lean):.3f} | {mean(ratio_bare):.3f} |"
        )

    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    print(f"\n{'target':{width}}  {'measured':{value_width}}  {'limit':>10}  result")
    for name, value, limit, ok in rows:
        print(f"{name:{width}}  {value:{value_width}}  {limit:>10}  {verdict(ok)}")

    print("\nMarkdown:\n")
    print("| target | measured | limit | result |")
    print("|---|---|---|---|")
    for name, value, limit, ok in rows:
        print(f"| {name} | {value} | {limit} | {verdict(ok)} |")
    return all(ok is not False for *_rest, ok in rows)


def main() -> int:
    # Stopped from outside, still stop the servers: SystemExit runs their `finally`.
    signal.signal(signal.SIGTERM, lambda _signum, _frame: sys.exit(143))
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200 then 2,000 cases, short runs")
    parser.add_argument("--runs", type=int, help="measurements per figure (2; quick: 1)")
    parser.add_argument("--no-verify", action="store_true", help="skip `flask audit verify`")
    parser.add_argument(
        "--seed-only",
        action="store_true",
        help="seed the larger number of cases, keep the run's settings and stop: for profiling",
    )
    args = parser.parse_args()
    small_cases, large_cases = (200, 2_000) if args.quick else (1_000, 100_000)
    timing = QUICK if args.quick else FULL
    runs = args.runs or (1 if args.quick else 2)
    url = os.environ.get("BENCH_DATABASE_URL", DEFAULT_URL)
    port = int(os.environ.get("BENCH_PORT", "5620"))
    load.require_wrk()
    GUNICORN_LOG.write_bytes(b"")
    env = bench_env(url, redis_or_memory(os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS)))

    if not args.seed_only:
        say("argon2id verification with the production parameters ...")
        argon, _fast = argon2_cost.measure()
        say("page weights, every public and client page in every language ...")
        sizes = page_sizes.measure()

    say(f"rebuilding {url} ...")
    seed.reset_schema(url)
    app = create_app(Settings.from_env(env))
    with app.app_context():
        upgrade()
        added = seed.add_missing_indexes()
    if added:
        print("  indexes in the models but not yet in the migrations: " + ", ".join(added))
    password_hash = PasswordHasher(**ARGON2_PARAMETERS).hash(seed.PASSWORD)  # type: ignore[arg-type]
    with seed.psycopg.connect(url) as connection:
        world = seed.create_world(connection, app, password_hash)
    save_run(env, world)

    if args.seed_only:
        say(f"seeding up to {large_cases:,} cases ...")
        seed.grow(url, app, world, large_cases, 2)
        say(f"seeded; bench/profile_page.py reads {RUN_FILE}")
        return 0

    phases = []
    for target, seed_value in ((small_cases, 1), (large_cases, 2)):
        phase = Phase(target)
        say(f"seeding up to {target:,} cases ...")
        started = time.perf_counter()
        seed.grow(url, app, world, target, seed_value)
        phase.seed_seconds = time.perf_counter() - started
        phase.counts = seed.table_counts(url)
        say(f"seeded in {phase.seed_seconds:.0f} s; measuring")
        measure_phase(phase, world, env, port, timing, runs)
        phases.append(phase)

    audit = None
    if not args.no_verify:
        say("flask audit verify ...")
        audit = verify_audit(env)
    passed = report(phases[0], phases[1], argon, sizes, audit)
    return 0 if passed else 1


if __name__ == "__main__":
    sys.exit(main())
