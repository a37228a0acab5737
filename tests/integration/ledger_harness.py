"""The whole path for ledger tests: requests application -> notification log -> published
messages -> ledger projection -> ledger query, on either transport adapter:

- embedded: `pump(app, ledger)` (the in-process notification-log feed);
- Kafka: `KafkaLedgerPath(bootstrap, topic)(app, ledger)` — the outbox relay publishes everything
  new to a real broker (one `run_once` per batch), and the ledger's own `ConsumerRuntime` (the one
  `python -m services.ledger.main` runs, `StreamOptions.runtime`) polls until it has processed every
  published record.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from services.ledger.application import LedgerApplication, Viewer
from services.ledger.main import open_ledger_at
from services.requests.application import Actor, RequestsApplication, SellerResponse
from services.requests.outbox.publishing import read_messages
from services.requests.outbox.relay import OutboxRelay
from shared.transport.consumer import ConsumerRuntime
from shared.transport.notification_log import NotificationLogFeed
from shared.transport.stream_consumers import StreamOptions
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PROCESSING_FEE,
    SELLER_PAYOUT,
    Opened,
    item_fact,
    ny,
    order_placed,
    order_shipped,
    return_label_created,
    shipment_scanned,
    unique,
)

R30_PER_ITEM = SELLER_PAYOUT + BUYER_SHIPPING_PAID + PROCESSING_FEE  # 2803
AUDITOR = Viewer("auditor", "auditor-1")


def _with_search_path(url: str, schema: str) -> str:
    from urllib.parse import quote

    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def ledger_url(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[str]:
    """The ledger's own database, on the same backend as the requests app's (`database_url`)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/ledger.db"
        return
    admin = request.getfixturevalue("postgres_admin_engine")
    base = request.getfixturevalue("postgres_url")
    schema = f"l_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def ledger(ledger_url: str) -> Iterator[LedgerApplication]:
    application = open_ledger_at(ledger_url)
    try:
        yield application
    finally:
        application.close()


def feed(app: RequestsApplication, *ledgers: LedgerApplication) -> NotificationLogFeed:
    return NotificationLogFeed(
        lambda start, limit: read_messages(app, start, limit), [lg.projection for lg in ledgers]
    )


def pump(app: RequestsApplication, *ledgers: LedgerApplication) -> int:
    return feed(app, *ledgers).pump()


class KafkaLedgerPath:
    """`path(app, ledger)`: relay -> Kafka -> the ledger's ConsumerRuntime -> projection, until
    every record published so far has been processed (bounded wait). Same signature as `pump`."""

    def __init__(self, bootstrap: str, topic: str, timeout_s: float = 10.0) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.group = f"it-ledger-{uuid.uuid4().hex[:10]}"
        self.timeout_s = timeout_s
        self.relay: OutboxRelay | None = None
        self.runtime: ConsumerRuntime | None = None
        self.published = 0

    def __call__(self, app: RequestsApplication, *ledgers: LedgerApplication) -> int:
        (ledger,) = ledgers
        if self.relay is None:
            self.relay = OutboxRelay.for_bootstrap(app, self.bootstrap, topic=self.topic)
            self.runtime = StreamOptions(
                bootstrap_servers=self.bootstrap, group_id=self.group, topic=self.topic
            ).runtime(ledger.projection)
        assert self.runtime is not None
        published = self.relay.drain(timeout_s=self.timeout_s)
        self.published += published
        stats = self.runtime.stats
        deadline = time.monotonic() + self.timeout_s
        while stats.processed + stats.dead_lettered < self.published:
            assert time.monotonic() < deadline, (
                f"the ledger consumer processed {stats.processed} (+{stats.dead_lettered} DLQ) of "
                f"{self.published} records within {self.timeout_s}s"
            )
            self.runtime.poll_once()
        assert stats.dead_lettered == 0, "a request event was dead-lettered"
        return published

    def close(self) -> None:
        if self.relay is not None:
            self.relay.close()
        if self.runtime is not None:
            self.runtime.close()


def all_messages(app: RequestsApplication) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    while True:
        batch = read_messages(app, len(out) + 1, app.log_section_size)
        out.extend(batch)
        if len(batch) < app.log_section_size:
            return out


def open_request(
    app: RequestsApplication,
    *,
    seller_id: str | None = None,
    items: list[dict[str, Any]] | None = None,
    affected: int | None = None,
    shipped: bool = True,
    shipped_at: datetime | None = None,
    carrier: str = "USPS",
    insured_value: int = 10_000,
    reason: str = "defective",
) -> Opened:
    """A fresh order (shipped by USPS by default) and a request on its first `affected` items."""
    order = order_placed(seller_id=seller_id, items=items if items is not None else [item_fact()])
    app.record_order_placed(order)
    if shipped:
        app.record_order_shipped(
            order_shipped(
                order.order_id,
                carrier=carrier,
                insured_value=insured_value,
                shipped_at=shipped_at or ny(2026, 11, 23, 9, 0),
            )
        )
    chosen = order.items[: affected or len(order.items)]
    request = app.open_request(
        Actor("buyer", order.buyer_id),
        order_id=order.order_id,
        item_ids=[i.item_id for i in chosen],
        reason=reason,
        description="It arrived broken.",
        photos=["photo-1.jpg"],
    )
    return Opened(app, request, order)


def shipment_tracking(app: RequestsApplication, opened: Opened) -> str:
    return app.order(opened.order.order_id)["shipment"]["tracking_number"]


def respond(opened: Opened, type_: str, **fields: Any) -> None:
    opened.app.respond(opened.id, opened.seller, SellerResponse(type=type_, **fields))


def ship_return(opened: Opened, at: datetime, *, label_cost: int = 800) -> str:
    """The platform issues the return label; the carrier accepts and delivers the return."""
    tracking = unique("RET")
    app = opened.app
    app.record_return_label(
        return_label_created(opened.id, at, label_cost=label_cost, tracking_number=tracking)
    )
    app.record_shipment_scan(shipment_scanned(tracking, "accepted", at))
    app.record_shipment_scan(shipment_scanned(tracking, "delivered", at + timedelta(hours=1)))
    return tracking


def escalate_after_no_refund(opened: Opened) -> None:
    respond(opened, "no_refund", message="Outside the policy.", evidence=("listing.png",))
    opened.app.escalate(opened.id, opened.buyer, reason="I disagree")


def seller_ledger(ledger: LedgerApplication, opened: Opened, **query: Any) -> dict[str, Any]:
    return ledger.ledger(opened.order.seller_id, AUDITOR, **query)


def kinds_and_amounts(view: dict[str, Any]) -> list[tuple[str, int]]:
    return [(e["kind"], e["amount"]) for e in view["entries"]]


def entry_rows(ledger: LedgerApplication) -> list[dict[str, Any]]:
    return ledger.all_entries()
