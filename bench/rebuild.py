"""Rebuild rate of every projection (ledger, ratings, notifications/inbox) from the event store, on
SQLite and PostgreSQL (not a test: prints figures to write down in docs/audit.md).

It writes a history of about `--events` events (requests opened, answered with a partial refund and
accepted, some with messages), feeds the live projections as the embedded system does, then times
(1) the replay into fresh stores alone and (2) the whole `audit rebuild --compare` (replay plus the
table-by-table comparison), and (3) `audit verify`. Run:
`.venv/bin/python bench/rebuild.py [--events 10000] [--backend sqlite|postgres|both] [--postgres-url URL]`.
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from services.auditing import (
    ScratchStores,
    StoreUrls,
    open_rebuilt,
    rebuild_and_compare,
    replay_event_store,
)
from services.ledger.main import open_ledger_at
from services.notifications.application import NotificationsApplication
from services.notifications.main import build_engine
from services.notifications.settings import NotificationsSettings
from services.ratings.main import open_ratings_at
from services.requests.application import Actor, SellerResponse, audit, open_application
from services.requests.outbox.publishing import read_messages
from shared.clock import AdjustableClock
from shared.contracts.upstream import upstream_fact_adapter
from shared.transport.notification_log import NotificationLogFeed

START = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)


def _order(order_id: str, buyer: str, seller: str):
    return upstream_fact_adapter.validate_python(
        {
            "type": "order_placed",
            "order_id": order_id,
            "buyer_id": buyer,
            "seller_id": seller,
            "currency": "USD",
            "placed_at": "2026-12-01T10:00:00+00:00",
            "marketplace": "US",
            "items": [
                {
                    "item_id": "i1",
                    "title": "card",
                    "category": "trading_cards",
                    "consumable": False,
                    "price": 2500,
                    "seller_payout": 2200,
                    "buyer_shipping_paid": 500,
                    "processing_fee": 103,
                }
            ],
        }
    )


def write_history(app, events: int) -> int:
    """Requests of 4 events each (opened, message, partial refund offered, accepted) over 50
    sellers, until about `events` are stored."""
    n = 0
    i = 0
    while n < events:
        i += 1
        buyer, seller = f"b-{i}", f"s-{i % 50}"
        order_id = f"o-{uuid.uuid4().hex[:12]}"
        app.record_order_placed(_order(order_id, buyer, seller))
        b, s = Actor("buyer", buyer), Actor("seller", seller)
        request = app.open_request(
            b, order_id=order_id, item_ids=["i1"], reason="defective", description="d", photos=[]
        )
        app.post_message(request.id, b, body="it is creased", attachments=[])
        app.respond(request.id, s, SellerResponse(type="partial_refund", amount=700))
        app.accept_offer(request.id, b)
        n += 4
    return n


def _schema_url(url: str, admin, prefix: str) -> tuple[str, str]:
    schema = f"{prefix}_{uuid.uuid4().hex[:10]}"
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}", schema


def run(backend: str, events: int, postgres_url: str | None) -> dict:
    folder = tempfile.mkdtemp(prefix="bench-rebuild-")
    schemas: list[str] = []
    admin = None
    if backend == "sqlite":
        events_url = f"sqlite:///{folder}/events.db"
        live = StoreUrls(
            *(f"sqlite:///{folder}/{n}.db" for n in ("ledger", "ratings", "notifications"))
        )
    else:
        admin = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
        events_url, schema = _schema_url(postgres_url, admin, "bench_events")
        schemas.append(schema)
        live_url, schema = _schema_url(postgres_url, admin, "bench_live")
        schemas.append(schema)
        live = StoreUrls(live_url, live_url, live_url)
    clock = AdjustableClock(START, frozen=True)
    app = open_application(events_url, clock)
    try:
        t0 = time.perf_counter()
        written = write_history(app, events)
        write_s = time.perf_counter() - t0
        # the live projections, fed as in embedded mode
        ledger, ratings = open_ledger_at(live.ledger), open_ratings_at(live.ratings, clock)
        settings = NotificationsSettings(database_url=live.notifications)
        notifications = NotificationsApplication(build_engine(settings), settings)
        NotificationLogFeed(
            lambda s, n: read_messages(app, s, n),
            [ledger.projection, ratings.projection, notifications.projection],
        ).pump(batch_size=app.log_section_size)
        ratings.refresh(clock.now())
        for closing in (ledger, ratings, notifications):
            closing.close()

        scratch = ScratchStores(live)
        rebuilt = open_rebuilt(scratch.urls, clock.now(), live.notifications)
        try:
            t0 = time.perf_counter()
            applied = replay_event_store(app, rebuilt)
            replay_s = time.perf_counter() - t0
        finally:
            rebuilt.close()
            scratch.close()

        t0 = time.perf_counter()
        comparison, _ = rebuild_and_compare(app, live, now=clock.now())
        compare_s = time.perf_counter() - t0
        assert comparison.identical, comparison.differences[:5]

        t0 = time.perf_counter()
        report = audit.verify(app)
        verify_s = time.perf_counter() - t0
        assert report.intact
    finally:
        app.close()
        app.recorder.datastore.engine.dispose()
        shutil.rmtree(folder, ignore_errors=True)
        if admin is not None:
            with admin.connect() as conn:
                for schema in schemas:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            admin.dispose()
    return {
        "backend": backend,
        "events": written,
        "write_events_per_s": round(written / write_s),
        "replay_events_per_s": round(applied / replay_s),
        "rebuild_compare_s": round(compare_s, 1),
        "rebuild_compare_events_per_s": round(applied / compare_s),
        "verify_events_per_s": round(report.events / verify_s),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres-url", default=os.environ.get("SUPPORT_TEST_DATABASE_URL"))
    args = parser.parse_args()
    backends = ["sqlite", "postgres"] if args.backend == "both" else [args.backend]
    url = args.postgres_url
    if "postgres" in backends and not url:
        url = subprocess.run(
            ["bash", "deploy/postgres/start.sh"], check=True, capture_output=True, text=True
        ).stdout.strip()
    print(f"# {platform.processor() or platform.machine()}, Python {platform.python_version()}")
    for backend in backends:
        print(run(backend, args.events, url), flush=True)


if __name__ == "__main__":
    main()
