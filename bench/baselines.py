"""Raw baselines measured in the same run as the system's figures (bench/run.py).

- `raw_save_rate`: a plain eventsourcing `Application` with eventsourcing-sqlalchemy on the same
  database saves a comparable aggregate: "open" creates it with the fields a support request is
  opened with (one event), "respond" loads it, triggers one event with an offer and saves it. No
  side tables, no rules, no HTTP: the ceiling the requests service's commands stand beside.
- `raw_read_rate`: the same store's notification log read in order and every record decoded to a
  domain event (the ceiling of a replay).
- `raw_producer_rate`: kafka-python producer with the relay's settings (acks=all, idempotence)
  sending messages of a given value size and header sizes.
- `raw_produce_consume_latency`: kafka-python produce -> a consumer in another thread receives it,
  at an offered rate.
"""

from __future__ import annotations

import statistics
import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from eventsourcing.application import Application
from eventsourcing.domain import Aggregate, event

from shared.database import tune_sqlite


class Ticket(Aggregate):
    """Shaped like a support request's first two events (opened, partial refund offered)."""

    @event("Opened")
    def __init__(
        self,
        *,
        at: datetime,
        actor: str,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        items: list[dict[str, Any]],
        reason: str,
        description: str,
        photos: list[str],
    ) -> None:
        self.order_id = order_id
        self.buyer_id = buyer_id
        self.seller_id = seller_id
        self.items = items
        self.reason = reason
        self.offer: int | None = None

    @event("PartialRefundOffered")
    def offer_partial_refund(self, *, at: datetime, actor: str, amount: int) -> None:
        self.offer = amount


class RawApplication(Application):
    name = "rawbench"


def _item() -> dict[str, Any]:
    return {
        "item_id": "i1",
        "title": "card",
        "category": "trading_cards",
        "consumable": False,
        "price": 2500,
        "seller_payout": 2200,
        "buyer_shipping_paid": 500,
        "processing_fee": 103,
    }


def raw_save_rate(url: str, commands: int) -> dict[str, Any]:
    """`commands` saves (half opens, half responds) through a plain eventsourcing Application,
    on a SQLite file tuned exactly as the requests event store is (WAL, fsync per commit)."""
    app = RawApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy", "SQLALCHEMY_URL": url}
    )
    if app.recorder.datastore.is_sqlite_filedb:
        tune_sqlite(app.recorder.datastore.engine, durable=True)
        app.recorder.datastore.engine.dispose()
    try:
        pairs = max(1, commands // 2)
        now = datetime.now(UTC)
        ids = []
        started = time.perf_counter()
        for k in range(pairs):
            ticket = Ticket(
                at=now,
                actor="buyer:b",
                order_id=f"o{k}",
                buyer_id="b",
                seller_id="s",
                items=[_item()],
                reason="defective",
                description="does not power on",
                photos=[],
            )
            app.save(ticket)
            ids.append(ticket.id)
        opened = time.perf_counter() - started
        started = time.perf_counter()
        for tid in ids:
            ticket = app.repository.get(tid)
            ticket.offer_partial_refund(at=now, actor="seller:s", amount=900)
            app.save(ticket)
        responded = time.perf_counter() - started
        return {
            "commands": 2 * pairs,
            "open_per_s": round(pairs / opened, 1),
            "respond_per_s": round(pairs / responded, 1),
            "commands_per_s": round(2 * pairs / (opened + responded), 1),
        }
    finally:
        app.close()
        engine = getattr(app.recorder.datastore, "engine", None)
        if engine is not None:
            engine.dispose()


def raw_read_rate(app: Application, limit: int = 500) -> dict[str, Any]:
    """Read the whole notification log of `app` in order, decoding every record."""
    started = time.perf_counter()
    start, count = 1, 0
    while True:
        notifications = app.recorder.select_notifications(start=start, limit=limit)
        if not notifications:
            break
        for n in notifications:
            app.mapper.to_domain_event(n)
        count += len(notifications)
        start = notifications[-1].id + 1
    elapsed = time.perf_counter() - started
    return {"events": count, "seconds": round(elapsed, 2), "events_per_s": round(count / elapsed)}


def _producer(bootstrap: str) -> Any:
    from kafka import KafkaProducer

    return KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        max_in_flight_requests_per_connection=5,
        linger_ms=0,
    )


def raw_producer_rate(
    bootstrap: str, topic: str, messages: int, value_bytes: int, header_sizes: list[int]
) -> dict[str, Any]:
    """Send `messages` records (value of `value_bytes`, headers of the given sizes, key = a request
    id) and wait for every ack: records/s."""
    producer = _producer(bootstrap)
    try:
        value = b"x" * value_bytes
        headers = [(f"h{i}", b"y" * size) for i, size in enumerate(header_sizes)]
        keys = [str(uuid.uuid4()).encode() for _ in range(64)]
        producer.send(topic, key=keys[0], value=value, headers=headers).get(timeout=30)  # warm up
        started = time.perf_counter()
        futures = [
            producer.send(topic, key=keys[k % 64], value=value, headers=headers)
            for k in range(messages)
        ]
        producer.flush(timeout=120)
        for future in futures:
            future.get(timeout=30)
        elapsed = time.perf_counter() - started
    finally:
        producer.close(timeout=10)
    return {
        "messages": messages,
        "value_bytes": value_bytes,
        "header_bytes": sum(header_sizes),
        "seconds": round(elapsed, 2),
        "messages_per_s": round(messages / elapsed),
    }


def percentiles(values: list[float]) -> dict[str, float]:
    """p50/p95/p99/max of `values` (ms), nearest-rank."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "max": 0.0}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]

    return {
        "p50": round(statistics.median(ordered), 1),
        "p95": round(rank(0.95), 1),
        "p99": round(rank(0.99), 1),
        "max": round(ordered[-1], 1),
    }


def raw_produce_consume_latency(
    bootstrap: str, topic: str, rate: float, messages: int, value_bytes: int = 600
) -> dict[str, Any]:
    """Produce at `rate`/s (acks=all, idempotent, each send waits for nothing); a consumer thread
    (poll timeout 50 ms, like the runtime's) stamps each record on receipt. Latency = send ->
    receive."""
    from kafka import KafkaConsumer

    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=100,
    )
    deadline = time.monotonic() + 20
    while not consumer.assignment() and time.monotonic() < deadline:
        consumer.poll(timeout_ms=100)
    consumer.poll(timeout_ms=200)
    received: dict[bytes, float] = {}
    stop = threading.Event()

    def consume() -> None:
        while not stop.is_set():
            for records in consumer.poll(timeout_ms=50).values():
                now = time.perf_counter()
                for record in records:
                    received.setdefault(record.key, now)

    reader = threading.Thread(target=consume, daemon=True)
    reader.start()
    producer = _producer(bootstrap)
    sent: dict[bytes, float] = {}
    try:
        interval = 1.0 / rate
        begin = time.perf_counter()
        for k in range(messages):
            target = begin + k * interval
            pause = target - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            key = f"{k}-{uuid.uuid4().hex[:8]}".encode()
            sent[key] = time.perf_counter()
            producer.send(topic, key=key, value=b"x" * value_bytes)
        producer.flush(timeout=60)
        wait_until = time.monotonic() + 30
        while len(received) < len(sent) and time.monotonic() < wait_until:
            time.sleep(0.02)
    finally:
        stop.set()
        reader.join(5)
        producer.close(timeout=10)
        consumer.close()
    latencies = [(received[k] - sent[k]) * 1000 for k in sent if k in received]
    return {
        "rate_per_s": rate,
        "messages": messages,
        "received": len(latencies),
        **percentiles(latencies),
    }
