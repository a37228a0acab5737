"""`seller-support.ledger.v1` and `seller-support.ratings.v1` on a real broker: every ledger entry and
every rating change appears with valid CloudEvents binary-mode headers and schema-valid JSON, keyed by
seller; the outbox is marked only after the broker's ack, so a publisher that dies before marking
re-publishes identical records (same ce_id), and a publisher run again publishes nothing new."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from services.ledger.application import LedgerApplication
from services.ledger.streams import ledger_publisher
from services.ratings.application import RatingsApplication
from services.ratings.main import open_ratings_at
from services.ratings.projection import CONSUMER as RATINGS_CONSUMER
from services.ratings.streams import ratings_publisher
from services.requests.application import Actor, RequestsApplication, SellerResponse
from services.requests.outbox.publishing import read_messages
from shared.clock import AdjustableClock
from shared.contracts import generate
from shared.contracts.ledger_v1 import LEDGER_ENTRY_RECORDED_TYPE, LedgerEntryRecorded
from shared.contracts.ratings_v1 import EVENT_TYPE as RATING_CHANGED_TYPE
from shared.contracts.ratings_v1 import SupportRatingChanged
from shared.envelope import from_kafka_record, headers_of, is_valid_traceparent
from shared.transport.notification_log import NotificationLogFeed
from tests.factories import item_fact, order_placed, unique
from tests.integration.kafka_fixtures import read_topic
from tests.integration.ledger_harness import (
    escalate_after_no_refund,
    open_request,
    pump,
    respond,
    ship_return,
)

pytest_plugins = ["tests.integration.kafka_fixtures", "tests.integration.ledger_harness"]

pytestmark = [pytest.mark.kafka, pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)]


class Crash(Exception):
    """The publisher dies after the broker acknowledged, before it marked the rows."""


def check_record(record: Any, ce_type: str, source: str, model: Any) -> dict[str, Any]:
    """Valid CloudEvents binary mode + schema-valid JSON; returns the data."""
    headers = headers_of(record.headers)
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == ce_type.encode()
    assert headers["ce_source"] == source.encode()
    assert headers["content-type"] == b"application/json"
    assert is_valid_traceparent(headers["traceparent"].decode())
    message = from_kafka_record(record.key, record.value, record.headers, expected_type=ce_type)
    data = json.loads(record.value)
    schema = json.loads((generate.SCHEMAS_DIR / f"{ce_type}.json").read_text())
    jsonschema_rs.validator_for(schema).validate(data)
    model.model_validate(data)
    assert message.id == data["id"] == headers["ce_id"].decode()
    assert message.key == message.subject == data["seller_id"]
    return data


def identical(records: list[Any]) -> dict[str, set[tuple[bytes, bytes, tuple[Any, ...]]]]:
    """ce_id -> the distinct (key, value, headers) published under it."""
    out: dict[str, set[tuple[bytes, bytes, tuple[Any, ...]]]] = {}
    for r in records:
        ce_id = headers_of(r.headers)["ce_id"].decode()
        out.setdefault(ce_id, set()).add((r.key, r.value, tuple(r.headers)))
    return out


def test_ledger_entries_are_published_once_in_effect(
    kafka_bootstrap: str,
    topics: Any,
    app: RequestsApplication,
    ledger: LedgerApplication,
    clock: AdjustableClock,
) -> None:
    topic = topics("ledger")
    seller = unique("seller")
    a = open_request(app, seller_id=seller)
    respond(a, "full_refund")
    b = open_request(app, seller_id=seller)
    respond(b, "partial_refund", amount=700)
    app.accept_offer(b.id, b.buyer)
    c = open_request(app)  # another seller
    respond(c, "full_refund_with_return")
    ship_return(c, clock.now(), label_cost=555)
    app.confirm_return(c.id, c.seller)
    d = open_request(app, seller_id=seller)
    escalate_after_no_refund(d)
    app.decide(d.id, d.agent, outcome="refund")
    pump(app, ledger)
    entries = ledger.all_entries()
    assert len(entries) == 4 and ledger.unpublished_count() == 4

    crashing = ledger_publisher(ledger, kafka_bootstrap, topic=topic, before_mark=_crash)
    with pytest.raises(Crash):
        crashing.run_once()  # acknowledged by the broker, then died before marking
    crashing.close()
    assert ledger.unpublished_count() == 4
    publisher = ledger_publisher(ledger, kafka_bootstrap, topic=topic)
    try:
        assert publisher.drain() == 4
        assert publisher.drain() == 0  # run again: nothing pending, nothing published
    finally:
        publisher.close()
    assert ledger.unpublished_count() == 0

    records = read_topic(kafka_bootstrap, topic, expect=8, timeout_s=15)
    assert len(records) == 8  # 4 entries, each twice (the crash), and no more
    by_id = identical(records)
    assert set(by_id) == {e["id"] for e in entries}
    assert all(len(versions) == 1 for versions in by_id.values()), "a re-publication differed"
    for record in records:
        data = check_record(
            record, LEDGER_ENTRY_RECORDED_TYPE, "/seller-support/ledger", LedgerEntryRecorded
        )
        entry = next(e for e in entries if e["id"] == data["id"])
        assert (data["kind"], data["amount"], data["request_id"], data["event_id"]) == (
            entry["kind"],
            entry["amount"],
            entry["request_id"],
            entry["event_id"],
        )
    # one seller's entries share a key, hence a partition
    assert len({r.partition for r in records if r.key == seller.encode()}) == 1


# --- ratings -----------------------------------------------------------------------------------


@pytest.fixture
def ratings(tmp_path: Path, clock: AdjustableClock) -> Iterator[RatingsApplication]:
    application = open_ratings_at(f"sqlite:///{tmp_path}/ratings.db", clock)
    try:
        yield application
    finally:
        application.close()


def pump_ratings(app: RequestsApplication, ratings: RatingsApplication) -> None:
    NotificationLogFeed(lambda s, n: read_messages(app, s, n), [ratings.projection]).pump(
        batch_size=app.log_section_size
    )
    ratings.refresh()


def open_and_refund(app: RequestsApplication, seller: str) -> str:
    order = order_placed(seller_id=seller, items=[item_fact()])
    app.record_order_placed(order)
    request = app.open_request(
        Actor("buyer", order.buyer_id),
        order_id=order.order_id,
        item_ids=[i.item_id for i in order.items],
        reason="defective",
        description="It arrived broken.",
        photos=["p.jpg"],
    )
    app.respond(request.id, Actor("seller", seller), SellerResponse(type="full_refund"))
    return str(request.id)


def test_rating_changes_are_published_once_in_effect(
    kafka_bootstrap: str, topics: Any, app: RequestsApplication, ratings: RatingsApplication
) -> None:
    assert ratings.consumer == RATINGS_CONSUMER
    topic = topics("ratings")
    sellers = [unique("seller"), unique("seller")]
    for seller in sellers:
        for _ in range(10):  # R40: visible from the 10th request
            open_and_refund(app, seller)
    pump_ratings(app, ratings)
    changes = ratings.pending_changes()
    assert {(c.seller_id, c.visible, c.level, c.sequence) for c in changes} == {
        (s, True, "excellent", 1) for s in sellers
    }

    crashing = ratings_publisher(ratings, kafka_bootstrap, topic=topic, before_mark=_crash)
    with pytest.raises(Crash):
        crashing.run_once()
    crashing.close()
    publisher = ratings_publisher(ratings, kafka_bootstrap, topic=topic)
    try:
        assert publisher.drain() == 2
        pump_ratings(app, ratings)  # nothing changed: no new change, nothing to publish
        assert publisher.drain() == 0
    finally:
        publisher.close()
    assert ratings.pending_changes() == []

    records = read_topic(kafka_bootstrap, topic, expect=4, timeout_s=15)
    assert len(records) == 4
    by_id = identical(records)
    assert set(by_id) == {c.id for c in changes}
    assert all(len(versions) == 1 for versions in by_id.values())
    for record in records:
        data = check_record(
            record, RATING_CHANGED_TYPE, "/seller-support/ratings", SupportRatingChanged
        )
        assert (data["visible"], data["level"], data["previous_visible"]) == (
            True,
            "excellent",
            False,
        )
        assert "csat" not in data and "explanation" not in data  # private, never published


def _crash(_ids: Any) -> None:
    raise Crash("died after the broker's ack, before marking the outbox")
