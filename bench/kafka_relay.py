"""Outbox relay figures on PostgreSQL + the local Kafka broker (not a test: prints figures to write
down in docs/kafka-backbone.md).

- throughput: N events already in the event store, one relay drains them to a fresh topic
  (acks=all, idempotence), for a few batch sizes -> events/s;
- latency: commands arrive at a steady rate while the relay runs with its production poll interval;
  a consumer reads the topic; latency = command call -> record received by the consumer.

Run: `.venv/bin/python bench/kafka_relay.py [--events N] [--commands K]` (starts the broker and
PostgreSQL with the deploy scripts when needed).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import quote

from kafka import KafkaConsumer
from sqlalchemy import create_engine, text

from services.requests.application import Actor, open_application
from services.requests.outbox.relay import OutboxRelay
from shared.clock import AdjustableClock
from shared.contracts.upstream import upstream_fact_adapter
from shared.transport.admin import ensure_topics

REPO = Path(__file__).resolve().parent.parent


def _run(script: str) -> str:
    return subprocess.run(
        ["bash", str(REPO / script)], check=True, capture_output=True, text=True
    ).stdout.strip()


def _order(n: int, run: str) -> tuple[str, str, str]:
    order_id, buyer = f"bench-{run}-{n}", f"buyer-{run}-{n}"
    return order_id, buyer, "i1"


def _record_order(app, order_id: str, buyer: str) -> None:
    app.record_order_placed(
        upstream_fact_adapter.validate_python(
            {
                "type": "order_placed",
                "order_id": order_id,
                "buyer_id": buyer,
                "seller_id": "seller-bench",
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
        )
    )


def _open(app, order_id: str, buyer: str):
    return app.open_request(
        Actor("buyer", buyer),
        order_id=order_id,
        item_ids=["i1"],
        reason="defective",
        description="broken",
        photos=["p.jpg"],
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--commands", type=int, default=200)
    parser.add_argument("--rate", type=float, default=20.0, help="commands per second")
    args = parser.parse_args()

    bootstrap = _run("deploy/kafka/start.sh").splitlines()[-1]
    base_url = os.environ.get("SUPPORT_TEST_DATABASE_URL") or _run("deploy/postgres/start.sh")
    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = f"{base_url}?options={quote(f'-csearch_path={schema}', safe='')}"
    run = uuid.uuid4().hex[:8]
    results: dict = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "store": "PostgreSQL (local)",
        "broker": "Apache Kafka (local, single node KRaft), acks=all, idempotence on",
    }
    app = open_application(url, AdjustableClock())
    try:
        # --- throughput ---------------------------------------------------------------------------
        for n in range(args.events):
            order_id, buyer, _ = _order(n, run)
            _record_order(app, order_id, buyer)
            _open(app, order_id, buyer)
        throughput = {}
        for batch_size in (50, 500):
            topic = f"bench-relay-{run}-{batch_size}"
            ensure_topics(bootstrap, {topic: 3})
            relay = OutboxRelay.for_bootstrap(
                app, bootstrap, topic=topic, name=f"bench-{batch_size}", batch_size=batch_size
            )
            started = time.perf_counter()
            published = relay.drain(timeout_s=600)
            elapsed = time.perf_counter() - started
            relay.close()
            throughput[f"batch_{batch_size}"] = {
                "events": published,
                "seconds": round(elapsed, 2),
                "events_per_s": round(published / elapsed),
            }
        results["relay_throughput"] = throughput

        # --- command -> topic latency ---------------------------------------------------------------
        topic = f"bench-latency-{run}"
        ensure_topics(bootstrap, {topic: 3})
        relay = OutboxRelay.for_bootstrap(app, bootstrap, topic=topic, name="bench-latency")
        relay.drain(timeout_s=600)  # start from the end of the log
        received: dict[str, float] = {}
        consumer = KafkaConsumer(
            topic, bootstrap_servers=bootstrap, group_id=None, auto_offset_reset="earliest"
        )
        consumer.poll(timeout_ms=500)
        stop = threading.Event()

        def consume() -> None:
            while not stop.is_set():
                for records in consumer.poll(timeout_ms=50).values():
                    now = time.perf_counter()
                    for record in records:
                        received.setdefault(dict(record.headers)["ce_id"].decode(), now)

        reader = threading.Thread(target=consume, daemon=True)
        reader.start()
        relay_thread = relay.start_thread()  # production poll interval (run() defaults)
        sent: dict[str, float] = {}
        orders = [_order(args.events + n, run) for n in range(args.commands)]
        for order_id, buyer, _ in orders:
            _record_order(app, order_id, buyer)
        interval = 1.0 / args.rate
        for order_id, buyer, _ in orders:
            started = time.perf_counter()
            request = _open(app, order_id, buyer)
            sent[f"{request.id}:1"] = started
            time.sleep(max(0.0, interval - (time.perf_counter() - started)))
        deadline = time.monotonic() + 60
        while len(set(sent) & set(received)) < len(sent) and time.monotonic() < deadline:
            time.sleep(0.05)
        stop.set()
        relay.stop()
        relay_thread.join(10)
        reader.join(5)
        consumer.close()
        latencies = sorted((received[i] - sent[i]) * 1000 for i in sent if i in received)
        results["command_to_topic_latency_ms"] = {
            "commands": len(sent),
            "received": len(latencies),
            "rate_per_s": args.rate,
            "p50": round(statistics.median(latencies), 1),
            "p95": round(latencies[int(0.95 * (len(latencies) - 1))], 1),
            "max": round(latencies[-1], 1),
            "relay_idle_poll_ms": 100,
        }
    finally:
        app.close()
        app.engine.dispose()
        with admin.connect() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
