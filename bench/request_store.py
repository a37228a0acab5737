"""Request save/load rates on SQLite and PostgreSQL (not a test: prints figures to write down).

Save = one command through the application (load, rule checks, events + side tables in one
transaction). Load = rebuilding one request from its events. Run: `make bench` or
`.venv/bin/python bench/request_store.py [--requests N] [--postgres-url URL]`.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import tempfile
import time
from datetime import UTC, datetime
from uuid import uuid4

from services.requests.application import Actor, SellerResponse, open_application
from shared.clock import AdjustableClock
from shared.contracts.upstream import upstream_fact_adapter


def _order(order_id: str, buyer: str, seller: str) -> dict:
    return {
        "type": "order_placed",
        "order_id": order_id,
        "buyer_id": buyer,
        "seller_id": seller,
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00+00:00",
        "items": [
            {
                "item_id": "i1",
                "title": "card",
                "category": "trading_cards",
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }


def measure(url: str, n: int) -> dict[str, float]:
    clock = AdjustableClock(datetime(2026, 12, 7, 19, 0, tzinfo=UTC), frozen=True)
    app = open_application(url, clock)
    try:
        ids = []
        for k in range(n):
            app.record_order_placed(
                upstream_fact_adapter.validate_python(_order(f"o{k}", "b", "s"))
            )
        started = time.perf_counter()
        for k in range(n):
            request = app.open_request(
                Actor("buyer", "b"),
                order_id=f"o{k}",
                item_ids=["i1"],
                reason="defective",
                description="does not power on",
                photos=[],
            )
            ids.append(request.id)
        opened = time.perf_counter() - started
        started = time.perf_counter()
        for rid in ids:
            app.respond(
                rid, Actor("seller", "s"), SellerResponse(type="partial_refund", amount=900)
            )
        responded = time.perf_counter() - started
        started = time.perf_counter()
        for rid in ids:
            app.repository.get(rid)
        loaded = time.perf_counter() - started
        return {
            "open_per_s": round(n / opened, 1),
            "respond_per_s": round(n / responded, 1),
            "load_per_s": round(n / loaded, 1),
        }
    finally:
        app.close()
        app.recorder.datastore.engine.dispose()


def _postgres_url(given: str | None) -> str:
    base = given or os.environ.get("SUPPORT_TEST_DATABASE_URL")
    if not base:
        base = subprocess.run(
            ["bash", "deploy/postgres/start.sh"], check=True, capture_output=True, text=True
        ).stdout.strip()
    schema = f"bench_{uuid4().hex[:12]}"
    from sqlalchemy import create_engine, text

    engine = create_engine(base)
    with engine.begin() as conn:
        conn.execute(text(f"create schema {schema}"))
    engine.dispose()
    return f"{base}?options=-csearch_path%3D{schema}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=500)
    parser.add_argument("--postgres-url")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        results = {
            "machine": {"cores": os.cpu_count(), "python": platform.python_version()},
            "requests": args.requests,
            "sqlite": measure(f"sqlite:///{tmp}/bench.db", args.requests),
            "postgres": measure(_postgres_url(args.postgres_url), args.requests),
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
