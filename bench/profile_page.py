"""Profile one page of the seeded benchmark database with pyinstrument, and print the SQL it
runs with PostgreSQL's EXPLAIN ANALYZE.

Usage, after bench/cases.py has seeded the database:
    .venv/bin/python bench/profile_page.py /team/cases [--as lead] [--explain]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import pyotp
import sqlalchemy as sa
from pyinstrument import Profiler

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cases import RUN_FILE
from load import CSRF
from seed import PASSWORD

from app import create_app
from app.extensions import db
from config import Settings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("path")
    parser.add_argument("--as", dest="who", choices=("caseworker", "lead"), default="caseworker")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every query")
    parser.add_argument("--time", type=int, default=0, help="only time N requests per path")
    args = parser.parse_args()
    run = json.loads(RUN_FILE.read_text())
    app = create_app(Settings.from_env(run["env"]))
    username, secret = run["logins"][args.who]
    # HTTPS, so the browser-side client keeps the Secure session cookie.
    client = app.test_client()
    client.environ_base["wsgi.url_scheme"] = "https"

    def post(url: str, data: dict[str, str]) -> Any:
        token = CSRF.search(client.get(url).get_data(as_text=True)).group(1)  # type: ignore[union-attr]
        return client.post(url, data={"csrf_token": token, **data})

    post("/login", {"username": username, "password": PASSWORD})
    while True:
        if post("/login/code", {"code": pyotp.TOTP(secret).now()}).status_code == 302:
            break
        time.sleep(5)  # the code of this step was used already: wait for the next one
    paths = args.path.split(",")
    for path in paths:
        assert client.get(path).status_code == 200, path
    if args.time:
        for path in paths:
            timings, cpu = [], []
            for _ in range(args.time):
                started, started_cpu = time.perf_counter(), time.process_time()
                client.get(path)
                timings.append((time.perf_counter() - started) * 1000)
                cpu.append((time.process_time() - started_cpu) * 1000)
            # The processor time of this process: the portal's own work, which a busy shared
            # machine disturbs far less than the time on the clock.
            print(
                f"{path}: median {statistics.median(timings):.1f} ms, min {min(timings):.1f} ms;"
                f" processor time median {statistics.median(cpu):.2f} ms, min {min(cpu):.2f} ms"
            )
        return
    statements: list[tuple[str, Any]] = []
    with app.app_context():
        sa.event.listen(
            db.engine,
            "before_cursor_execute",
            lambda _c, _cur, sql, params, _ctx, _many: statements.append((sql, params)),
        )
    # Outside any application context: each request gets its own, as it does when served
    # (a shared one would keep `g` and the database session from one request to the next).
    profiler = Profiler(interval=0.0005)
    profiler.start()
    for _ in range(5):
        client.get(args.path)
    profiler.stop()
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{len(statements) // 5} statements per request")
    if args.explain:
        with app.app_context():
            for sql, params in statements[: len(statements) // 5]:
                if not sql.lstrip().upper().startswith("SELECT"):
                    continue
                connection = db.session.connection()
                plan = connection.exec_driver_sql("EXPLAIN ANALYZE " + sql, params)
                print(sql[:300], "\n", "\n".join(r[0] for r in plan), "\n")


if __name__ == "__main__":
    main()
