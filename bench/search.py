"""The search service's list queries at scale (issue 19), on PostgreSQL, each beside the raw SQL of
the same query run directly in the same run.

A fresh schema is filled with N synthetic requests through the search projection itself (opened
events, and for a share of them an escalation, a partial-refund offer or a full refund; sellers of
about 100 requests each; descriptions of words drawn from a 5,000-word vocabulary). Then, R times
each (p50 / p99 in ms):

- `support_queue`: `SearchApplication.queue` (first page of 50, oldest wait first; it also counts
  the waiting requests and the SLA breaches) beside `SELECT … WHERE waiting_on = 'support' ORDER BY
  escalated_at, id LIMIT 51`;
- `seller_open_by_deadline`: a seller's open requests by next deadline (`list_requests`, status in
  the open statuses, `sort=due_at`) beside the same SELECT;
- `q_search`: a one-word `q` search (about 200 matches at 100,000 requests) (support, newest first) beside the same full-text SELECT.

Each raw query's `EXPLAIN` is recorded with the indexes its plan uses. Then the CSV export of every
row (`export_csv`, streamed through a server-side cursor) is timed in a forked child, with the
child's peak RSS, beside `COPY (SELECT …) TO STDOUT WITH CSV` read through psycopg in another forked
child.

Run alone: `.venv/bin/python bench/search.py [--requests N] [--repeats R]`; `bench/run.py` runs it
as its `search` section.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

REPO = Path(__file__).resolve().parent.parent
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

START = datetime(2026, 9, 7, 14, 0, tzinfo=UTC)
OPEN_STATUSES = ("awaiting_seller", "awaiting_buyer", "offer_pending", "awaiting_inspection")
SELLER_SIZE = 100


def vocabulary(size: int = 5000, seed: int = 19) -> list[str]:
    """Pronounceable pseudo-words: a realistic spread of rare and common words for `q`."""
    pick = random.Random(seed)
    consonants, vowels = "bcdfghjklmnprstvz", "aeiou"
    words: set[str] = set()
    while len(words) < size:
        length = pick.randint(2, 4)
        words.add("".join(pick.choice(consonants) + pick.choice(vowels) for _ in range(length)))
    return sorted(words)


def synthetic_events(n: int, seed: int = 19) -> Iterator[Any]:
    """Published-shape events of `n` requests (opened, then for some a response or escalation),
    request by request, as the search projection reads them."""
    from shared.transport.messages import EventMessage

    pick = random.Random(seed)
    words = vocabulary()
    for index in range(n):
        request_id = str(uuid.UUID(int=pick.getrandbits(128), version=4))
        at = START + timedelta(minutes=index)
        due = at + timedelta(days=2, minutes=pick.randint(0, 600))
        seller = f"seller-{index // SELLER_SIZE:05d}"
        description = " ".join(pick.choice(words) for _ in range(10))

        def message(
            version: int, name: str, moment: datetime, request_id: str = request_id, **data: Any
        ) -> EventMessage:
            payload = {
                "request_id": request_id,
                "version": version,
                "at": moment.isoformat(),
                "actor": "system",
                **data,
            }
            return EventMessage(f"{request_id}:{version}", name, request_id, moment, payload)

        yield message(
            1,
            "opened",
            at,
            order_id=f"order-{index}",
            buyer_id=f"buyer-{pick.randrange(n // 3 + 1)}",
            seller_id=seller,
            marketplace="US",
            currency="USD",
            items=[{"item_id": "i1"}],
            reason=pick.choice(["defective", "not_as_described", "damaged_in_transit"]),
            description=description,
            photos=[],
            routed_to_support=None,
            seller_response_due=due.isoformat(),
        )
        fate = pick.random()
        later = at + timedelta(hours=3)
        if fate < 0.10:
            yield message(
                2,
                "no_refund_explained",
                later,
                message=" ".join(pick.choice(words) for _ in range(6)),
                evidence=["e.jpg"],
                no_refund_close_due=(later + timedelta(days=7)).isoformat(),
            )
            yield message(
                3, "escalated", later + timedelta(hours=1), reason="unfair", grounds=["no_refund"]
            )
        elif fate < 0.30:
            yield message(
                2,
                "partial_refund_offered",
                later,
                amount=500,
                offer_answer_due=(later + timedelta(days=2)).isoformat(),
            )
        elif fate < 0.65:
            yield message(2, "full_refund_offered", later, amount=2500, auto_claim=None)


def fill(search: Any, n: int, batch: int = 2000) -> dict[str, Any]:
    started = time.perf_counter()
    chunk: list[tuple[int | None, Any]] = []
    events = 0
    for message in synthetic_events(n):
        chunk.append((None, message))
        if len(chunk) >= batch:
            events += search.projection.apply_batch(chunk, log_each=False)
            chunk = []
    events += search.projection.apply_batch(chunk, log_each=False)
    from sqlalchemy import text

    # as autovacuum would have by then: statistics, and the visibility map index-only scans need
    with search.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        vacuum = "VACUUM ANALYZE" if conn.dialect.name == "postgresql" else "ANALYZE"
        conn.execute(text(f"{vacuum} search_requests"))
    elapsed = time.perf_counter() - started
    return {"events": events, "seconds": round(elapsed, 1), "events_per_s": round(events / elapsed)}


def _percentiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {"p50": round(rank(0.5), 2), "p99": round(rank(0.99), 2), "max": round(ordered[-1], 2)}


def _timed(call: Callable[[], Any], repeats: int) -> tuple[dict[str, float], Any]:
    result = call()  # warm the plan and the cache
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append((time.perf_counter() - started) * 1000)
    return _percentiles(times), result


def _indexes(plan: Any) -> list[str]:
    """Every index a JSON plan uses, outermost first."""
    found: list[str] = []
    if isinstance(plan, dict):
        if "Index Name" in plan:
            found.append(f"{plan['Node Type']}: {plan['Index Name']}")
        for value in plan.values():
            found.extend(_indexes(value))
    elif isinstance(plan, list):
        for value in plan:
            found.extend(_indexes(value))
    return found


def _explain(engine: Any, sql: str, params: dict[str, Any]) -> dict[str, Any]:
    from sqlalchemy import text

    with engine.connect() as conn:
        plan = conn.execute(text(f"EXPLAIN (FORMAT JSON) {sql}"), params).scalar_one()
    if isinstance(plan, str):
        plan = json.loads(plan)
    top = plan[0]["Plan"]
    return {"top_node": top["Node Type"], "indexes": _indexes(plan)}


def _raw(engine: Any, sql: str, params: dict[str, Any]) -> Callable[[], Any]:
    from sqlalchemy import text

    statement = text(sql)

    def run() -> Any:
        with engine.connect() as conn:
            return conn.execute(statement, params).all()

    return run


def _in_child(work: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """Run `work` in a forked child; its result plus the child's peak RSS (MiB)."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        try:
            result = work()
            result["peak_rss_mb"] = round(
                resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1
            )
            payload = json.dumps(result).encode()
        except BaseException as error:  # report, never raise out of a fork
            payload = json.dumps({"error": repr(error)}).encode()
        with os.fdopen(write, "wb") as out:
            out.write(payload)
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        payload = pipe.read()
    os.waitpid(pid, 0)
    result = json.loads(payload)
    if "error" in result:
        raise RuntimeError(f"bench child failed: {result['error']}")
    return result


def measure(url: str, n: int, repeats: int = 200) -> dict[str, Any]:
    from services.search.application import ListQuery, QueueQuery, Viewer
    from services.search.domain import breach_cutoff, query_words
    from services.search.main import open_search_at
    from shared.clock import AdjustableClock

    now = START + timedelta(minutes=n + 60)
    search = open_search_at(url, AdjustableClock(now, frozen=True))
    try:
        filled = fill(search, n)
        support = Viewer("support", "agent-1")
        seller = f"seller-{(n // SELLER_SIZE) // 2:05d}"
        # a word of the first description: in about 10 of every 5,000 descriptions (10 words each
        # from a 5,000-word vocabulary), so some 200 matches at 100,000 requests
        q = next(synthetic_events(1, seed=19)).data["description"].split()[0]
        queries: dict[str, tuple[Callable[[], Any], str, dict[str, Any]]] = {
            "support_queue": (
                lambda: search.queue(support, QueueQuery(limit=50), now),
                "SELECT * FROM search_requests WHERE waiting_on = 'support' "
                "ORDER BY escalated_at, id LIMIT 51",
                {},
            ),
            "seller_open_by_deadline": (
                lambda: search.list_requests(
                    Viewer("seller", seller),
                    ListQuery(status=OPEN_STATUSES, sort="due_at", limit=50),
                ),
                "SELECT * FROM search_requests WHERE seller_id = :seller AND status IN "
                f"({', '.join(repr(s) for s in OPEN_STATUSES)}) ORDER BY due_key, id LIMIT 51",
                {"seller": seller},
            ),
            "q_search": (
                lambda: search.list_requests(support, ListQuery(q=q, limit=50)),
                "SELECT * FROM search_requests WHERE document @@ plainto_tsquery('simple', :q) "
                "ORDER BY opened_at DESC, id DESC LIMIT 51",
                {"q": " ".join(query_words(q))},
            ),
        }
        sections: dict[str, Any] = {}
        for name, (call, sql, params) in queries.items():
            system, page = _timed(call, repeats)
            raw, rows = _timed(_raw(search.engine, sql, params), repeats)
            items = len(page["items"])
            sections[name] = {
                "system_ms": system,
                "raw_sql_ms": raw,
                "p50_ratio": round(system["p50"] / raw["p50"], 2) if raw["p50"] else None,
                "items": items,
                "raw_rows": min(len(rows), 50),
                "raw_sql": sql,
                "explain": _explain(search.engine, sql, params),
            }
        sections["q_search"]["q"] = q
        # The queue also counts what waits and what is past the SLA: the same four statements raw
        # (the breach cutoff computed once beforehand), to tell SQL from the business-time work.
        cutoff = breach_cutoff("US", now, search.settings.queue_sla_hours)
        counts = [
            (sections["support_queue"]["raw_sql"], {}),
            ("SELECT DISTINCT marketplace FROM search_requests WHERE waiting_on = 'support'", {}),
            ("SELECT count(*) FROM search_requests WHERE waiting_on = 'support'", {}),
            (
                "SELECT count(*) FROM search_requests WHERE waiting_on = 'support' "
                "AND marketplace = 'US' AND escalated_at <= :cutoff",
                {"cutoff": cutoff},
            ),
        ]
        runs = [_raw(search.engine, sql, params) for sql, params in counts]
        every, _ = _timed(lambda: [run() for run in runs], repeats)
        sections["support_queue"]["raw_sql_with_counts_ms"] = every
        sections["support_queue"]["explain_counts"] = [
            _explain(search.engine, sql, params) for sql, params in counts[1:]
        ]
        search.engine.dispose()  # no pooled connection may cross the fork

        def export() -> dict[str, Any]:
            started = time.perf_counter()
            rows = size = 0
            for chunk in search.export_csv(support, ListQuery(sort="opened_at")):
                size += len(chunk)
                rows += chunk.count("\r\n")
            return {
                "rows": rows - 1,
                "bytes": size,
                "seconds": round(time.perf_counter() - started, 2),
            }

        def copy() -> dict[str, Any]:
            import psycopg
            from sqlalchemy.engine import make_url

            dsn = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
            started = time.perf_counter()
            size = 0
            with psycopg.connect(dsn) as conn, conn.cursor() as cursor:
                sql = (
                    "COPY (SELECT * FROM search_requests ORDER BY opened_at, id) "
                    "TO STDOUT WITH CSV HEADER"
                )
                with cursor.copy(sql) as stream:
                    for data in stream:
                        size += len(data)
            return {
                "bytes": size,
                "seconds": round(time.perf_counter() - started, 2),
            }

        csv_export = {"system": _in_child(export), "raw_copy": _in_child(copy)}
        return {
            "store": "PostgreSQL (a fresh schema)",
            "requests": n,
            "repeats": repeats,
            "fill": filled,
            **sections,
            "csv_export": csv_export,
        }
    finally:
        search.close()


def scratch_url(base_url: str, admin: Any) -> tuple[str, str]:
    from sqlalchemy import text

    schema = f"bench_search_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{base_url}{'&' if '?' in base_url else '?'}options={options}", schema


def run(pg_url: str, admin: Any, n: int, repeats: int = 200) -> dict[str, Any]:
    """The `search` section of bench/run.py: `measure` in a scratch schema, dropped afterwards."""
    from sqlalchemy import text

    url, schema = scratch_url(pg_url, admin)
    try:
        return measure(url, n, repeats)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def markdown_rows(s: dict[str, Any]) -> list[str]:
    rows = []
    for name, label in (
        ("support_queue", "support queue (first page)"),
        ("seller_open_by_deadline", "a seller's open requests by deadline"),
        ("q_search", f"`q` search ({s['q_search'].get('q', '')})"),
    ):
        f = s[name]
        rows.append(
            f"| list query ms, {label}, {s['requests']} requests, PostgreSQL (p50 / p99) | "
            f"**{f['system_ms']['p50']}** / {f['system_ms']['p99']} | "
            f"{f['raw_sql_ms']['p50']} / {f['raw_sql_ms']['p99']} (raw SQL; plan: "
            f"{', '.join(f['explain']['indexes']) or f['explain']['top_node']}) | "
            f"p50 x{f['p50_ratio']} |"
        )
    q = s["support_queue"]
    if "raw_sql_with_counts_ms" in q:
        raw = q["raw_sql_with_counts_ms"]
        rows.append(
            f"| support queue: the page and its three counting queries, raw SQL (p50 / p99) | "
            f"{q['system_ms']['p50']} / {q['system_ms']['p99']} | {raw['p50']} / {raw['p99']} | "
            f"p50 x{round(q['system_ms']['p50'] / raw['p50'], 2) if raw['p50'] else '-'} |"
        )
    c = s["csv_export"]
    rows.append(
        f"| CSV export of {c['system']['rows']} rows (s; peak RSS MiB) | "
        f"**{c['system']['seconds']}**; {c['system']['peak_rss_mb']} | "
        f"{c['raw_copy']['seconds']}; {c['raw_copy']['peak_rss_mb']} (COPY … TO STDOUT) | "
        f"x{round(c['system']['seconds'] / max(c['raw_copy']['seconds'], 0.01), 1)} |"
    )
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="search list queries at scale (PostgreSQL)")
    parser.add_argument("--requests", type=int, default=100_000)
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--out", type=Path, default=None, help="write the JSON here")
    args = parser.parse_args(argv)
    from sqlalchemy import create_engine

    pg_url = os.environ.get("SUPPORT_TEST_DATABASE_URL", "").strip()
    if not pg_url:
        raise SystemExit("set SUPPORT_TEST_DATABASE_URL (or run bench/run.py)")
    admin = create_engine(pg_url, isolation_level="AUTOCOMMIT")
    try:
        result = run(pg_url, admin, args.requests, args.repeats)
    finally:
        admin.dispose()
    text = json.dumps(result, indent=2)
    if args.out:
        args.out.write_text(text + "\n")
    print(text)
    print("\n".join(markdown_rows(result)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
