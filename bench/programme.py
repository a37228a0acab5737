"""The seller programme at scale (issue 28), on PostgreSQL (and the wave on SQLite too).

- `wave`: `seller-support programme enrol-wave` over a CSV of N sellers (default 100,000): the dry
  run, then the wave itself, each timed end to end as the operator runs it (CLI process in this
  one: reading the CSV, opening the application, the work, closing), beside the raw baseline of the
  same writes: one `INSERT … SELECT` of N event rows and N record rows in one transaction.

- `standing`: `GET /v1/sellers/{id}/standing`'s query (services/search/standing_query.py
  `standing`: the aggregate, the figures, the list URLs) at N requests (default 100,000) filled
  through the search projection (bench/search.py's synthetic history, sellers of 100 requests),
  p50/p99 over R repeats, beside the raw SQL of the same statement run directly, with its plan.

Run alone: `.venv/bin/python bench/programme.py [--sellers N] [--section wave|standing|all]`
(writes bench/programme-results.json); `bench/run.py` does not run it (issue 28 asked for its own
section, run alone on a shared machine).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))


def _schema_url(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@contextlib.contextmanager
def _pg_schema(pg_url: str):
    from sqlalchemy import create_engine, text

    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    schema = f"bench_programme_{uuid.uuid4().hex[:8]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(pg_url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def _cli(argv: list[str]) -> tuple[float, str]:
    from services.cli import main

    out = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stdout(out):
        code = main(argv)
    elapsed = time.perf_counter() - started
    assert code == 0, out.getvalue()
    return elapsed, out.getvalue().strip()


def _raw_wave(url: str, sellers: int) -> float:
    """The same rows written by one INSERT … SELECT each, in one transaction (the floor)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.begin() as connection:
            connection.execute(
                text(
                    "CREATE TABLE raw_events (seller_id varchar(200), version int, type varchar(40),"
                    " at timestamptz, actor varchar(300), data json, PRIMARY KEY (seller_id, version));"
                    "CREATE TABLE raw_records (seller_id varchar(200) PRIMARY KEY, version int,"
                    " enrolled_at timestamptz, enrolled_by varchar(300), enrolment_rule varchar(40))"
                )
            )
        started = time.perf_counter()
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO raw_events SELECT 'raw-' || g, 1, 'enrolled', now(), 'platform:cli',"
                    ' \'{"rule": "wave", "wave": "w"}\'::json FROM generate_series(1, :n) g'
                ),
                {"n": sellers},
            )
            connection.execute(
                text(
                    "INSERT INTO raw_records SELECT 'raw-' || g, 1, now(), 'platform:cli', 'wave'"
                    " FROM generate_series(1, :n) g"
                ),
                {"n": sellers},
            )
        return time.perf_counter() - started
    finally:
        engine.dispose()


def wave(pg_url: str, sellers: int) -> dict[str, Any]:
    from services.requests.application import open_application
    from shared.clock import SystemClock

    results: dict[str, Any] = {"sellers": sellers}
    with tempfile.TemporaryDirectory() as folder:
        csv_path = Path(folder) / "wave.csv"
        with csv_path.open("w", encoding="utf-8") as handle:
            handle.write("seller_id\n")
            handle.writelines(f"seller-{n:07d}\n" for n in range(sellers))
        for backend in ("postgres", "sqlite"):
            with contextlib.ExitStack() as stack:
                if backend == "postgres":
                    url = stack.enter_context(_pg_schema(pg_url))
                else:
                    url = f"sqlite:///{folder}/events.db"
                open_application(url, SystemClock()).close()  # the stores exist, as in production
                argv = ["programme", "enrol-wave", str(csv_path), "--wave", "bench"]
                argv += ["--database-url", url]
                dry, dry_out = _cli([*argv, "--dry-run"])
                real, real_out = _cli(argv)
                again, again_out = _cli(argv)
                entry = {
                    "dry_run_s": round(dry, 2),
                    "wave_s": round(real, 2),
                    "rerun_s": round(again, 2),
                    "output": [dry_out, real_out, again_out],
                }
                if backend == "postgres":
                    entry["raw_insert_select_s"] = round(_raw_wave(url, sellers), 2)
                results[backend] = entry
                print(json.dumps({backend: entry}), flush=True)
    return results


def standing(pg_url: str, requests: int, repeats: int) -> dict[str, Any]:
    from datetime import timedelta

    from sqlalchemy import text

    from bench.search import SELLER_SIZE, START, _explain, _timed, fill
    from services.search.main import open_search_at
    from services.search.standing import Standards, months_before
    from services.search.standing_query import standing as standing_of
    from services.search.standing_query import standing_statement
    from shared.clock import AdjustableClock

    now = START + timedelta(minutes=requests + 60)
    with _pg_schema(pg_url) as url:
        search = open_search_at(url, AdjustableClock(now, frozen=True))
        try:
            filled = fill(search, requests)
            seller = f"seller-{(requests // SELLER_SIZE) // 2:05d}"
            standards = Standards()
            app_times, result = _timed(
                lambda: standing_of(search.engine, seller, now, standards), repeats
            )
            since = months_before(now, standards.months)
            statement = standing_statement(seller, since, now)
            sql = str(
                statement.compile(
                    dialect=search.engine.dialect, compile_kwargs={"literal_binds": True}
                )
            )

            def raw() -> Any:
                with search.engine.connect() as connection:
                    return connection.execute(text(sql)).one()

            raw_times, raw_row = _timed(raw, repeats)
            plan = _explain(search.engine, sql, {})
        finally:
            search.close()
    entry = {
        "requests": requests,
        "fill": filled,
        "seller_requests_in_window": result["figures"][0]["of"],
        "standing_ms": app_times,
        "raw_sql_ms": raw_times,
        "raw_row": list(raw_row),
        "plan": plan,
        "figures": result["figures"],
    }
    print(json.dumps({k: v for k, v in entry.items() if k != "figures"}), flush=True)
    return entry


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sellers", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--section", choices=["wave", "standing", "all"], default="all")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "programme-results.json")
    args = parser.parse_args(argv)
    pg_url = os.environ.get("SUPPORT_TEST_DATABASE_URL")
    if not pg_url:
        raise SystemExit("set SUPPORT_TEST_DATABASE_URL (bash deploy/postgres/start.sh)")
    results: dict[str, Any] = {}
    if args.out.exists():
        results = json.loads(args.out.read_text())
    if args.section in ("wave", "all"):
        results["wave"] = wave(pg_url, args.sellers)
    if args.section in ("standing", "all"):
        results["standing"] = standing(pg_url, args.requests, args.repeats)
    args.out.write_text(json.dumps(results, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
