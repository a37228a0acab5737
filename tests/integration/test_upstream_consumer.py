"""Upstream facts over a real broker: orders.v1 / shipments.v1 -> the requests application (R60),
and on to seller-support.requests.v1 through the outbox relay."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
from fastapi.testclient import TestClient

from services.requests.application import Actor, SellerResponse
from services.requests.consumers.upstream import upstream_runtime
from services.requests.main import create_app
from services.requests.outbox.relay import OutboxRelay
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from shared.contracts import generate
from shared.contracts.requests_v1 import REQUEST_EVENT_CONTRACTS
from shared.envelope import from_kafka, is_valid_traceparent
from tests.conftest import START
from tests.factories import item_fact, order_placed, order_shipped, shipment_scanned
from tests.integration.kafka_fixtures import (
    plain_producer,
    read_topic,
    running,
    unique,
    wait_for,
)

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _json(fact: Any) -> bytes:
    return json.dumps(fact.model_dump(mode="json")).encode()


def _runtime(app, bootstrap: str, orders: str, shipments: str):
    return upstream_runtime(
        app,
        bootstrap,
        orders_topic=orders,
        shipments_topic=shipments,
        group_id=unique("upstream"),
        poll_timeout_ms=100,
        backoff_initial_s=0.05,
    )


def test_an_order_from_kafka_becomes_a_request_opened_over_http_whose_events_are_published(
    kafka_bootstrap, topics, pg_app, pg_url, tmp_path: Path
) -> None:
    orders, shipments, requests_topic = topics("orders"), topics("shipments"), topics("requests")
    order = order_placed(items=[item_fact(), item_fact()])

    # 1. the upstream order service publishes the order with a plain kafka-python producer
    producer = plain_producer(kafka_bootstrap)
    producer.send(orders, key=order.order_id.encode(), value=_json(order)).get(timeout=30)
    producer.close()

    # 2. the requests service's upstream consumer records it
    with running(_runtime(pg_app, kafka_bootstrap, orders, shipments)):
        wait_for(lambda: pg_app.order(order.order_id) is not None, 30, "the order to be recorded")

    # 3. the buyer opens a request on it over HTTP (the API process has its own application)
    settings = Settings(data_dir=tmp_path, database_url=pg_url, timer_interval_seconds=60)
    clock = AdjustableClock(START, frozen=True)
    codec = settings.token_codec()
    with TestClient(create_app(settings, clock)) as client:
        buyer = {"Authorization": f"Bearer {codec.encode(sub=order.buyer_id, role='buyer')}"}
        seller = {"Authorization": f"Bearer {codec.encode(sub=order.seller_id, role='seller')}"}
        opened = client.post(
            "/v1/support-requests",
            headers=buyer,
            json={
                "order_id": order.order_id,
                "item_ids": [order.items[0].item_id],
                "reason": "defective",
                "description": "It arrived broken.",
                "photos": ["p.jpg"],
            },
        )
        assert opened.status_code == 201, opened.text
        request_id = opened.json()["id"]
        offered = client.post(
            f"/v1/support-requests/{request_id}/responses",
            headers=seller,
            json={"type": "partial_refund", "amount": 1000},
        )
        assert offered.status_code == 200, offered.text

    # 4. the relay publishes its events
    relay = OutboxRelay.for_bootstrap(pg_app, kafka_bootstrap, topic=requests_topic)
    assert relay.lag() == 2
    assert relay.drain() == 2
    assert relay.lag() == 0

    records = read_topic(kafka_bootstrap, requests_topic, expect=2)
    assert len(records) == 2
    assert {r.partition for r in records} == {records[0].partition}  # one key, one partition
    for version, record in enumerate(sorted(records, key=lambda r: r.offset), start=1):
        headers = dict(record.headers)
        assert record.key == request_id.encode()
        assert headers["ce_specversion"] == b"1.0"
        assert headers["ce_id"] == f"{request_id}:{version}".encode()
        assert headers["ce_source"] == b"/seller-support/requests"
        assert headers["ce_subject"] == request_id.encode()
        assert headers["content-type"] == b"application/json"
        assert headers["ce_time"]
        assert is_valid_traceparent(headers["traceparent"].decode())
        message = from_kafka(record.key, record.value, record.headers)  # CloudEvents SDK + contract
        name = message.name
        assert headers["ce_type"] == f"seller_support.request.{name}.v1".encode()
        schema = json.loads((generate.SCHEMAS_DIR / generate.request_schema_file(name)).read_text())
        jsonschema_rs.validator_for(schema).validate(json.loads(record.value))
        REQUEST_EVENT_CONTRACTS[name].model_validate_json(record.value)
    names = [
        from_kafka(r.key, r.value, r.headers).name for r in sorted(records, key=lambda r: r.offset)
    ]
    assert names == ["opened", "partial_refund_offered"]


def test_duplicate_facts_are_harmless_and_shipment_scans_move_requests(
    kafka_bootstrap, topics, pg_app
) -> None:
    orders, shipments = topics("orders"), topics("shipments")
    order = order_placed()
    shipped = order_shipped(order.order_id)
    producer = plain_producer(kafka_bootstrap)
    for _ in range(2):  # every fact delivered twice
        producer.send(orders, key=order.order_id.encode(), value=_json(order))
        producer.send(orders, key=order.order_id.encode(), value=_json(shipped))
    producer.flush(30)

    runtime = _runtime(pg_app, kafka_bootstrap, orders, shipments)
    with running(runtime):
        wait_for(
            lambda: (pg_app.order(order.order_id) or {}).get("shipment") is not None,
            30,
            "the shipment",
        )
        wait_for(lambda: runtime.stats.processed == 4, 30, "all four facts")
        assert runtime.stats.dead_lettered == 0

        # a replacement's first carrier scan, arriving on shipments.v1, resolves its request
        buyer, seller = Actor("buyer", order.buyer_id), Actor("seller", order.seller_id)
        request = pg_app.open_request(
            buyer,
            order_id=order.order_id,
            item_ids=[order.items[0].item_id],
            reason="defective",
            description="Broken.",
            photos=["p.jpg"],
        )
        tracking = f"REP-{uuid.uuid4().hex[:8]}"
        pg_app.respond(
            request.id,
            seller,
            SellerResponse(type="replacement", carrier="USPS", tracking_number=tracking),
        )
        scan = shipment_scanned(tracking, "accepted", START)
        for _ in range(2):
            producer.send(shipments, key=tracking.encode(), value=_json(scan))
        producer.flush(30)
        wait_for(
            lambda: pg_app.get_request(request.id, buyer).status == "resolved", 30, "resolution"
        )
        wait_for(lambda: runtime.stats.processed == 6, 30, "both scans")
    producer.close()
    state = pg_app.get_request(request.id, buyer)
    assert state.resolution == "replacement"
    assert state.version == 3  # opened, replacement_promised, replacement_shipped: once


def test_a_fact_the_application_rejects_goes_to_the_dlq_with_its_reason(
    kafka_bootstrap, topics, pg_app
) -> None:
    orders, shipments = topics("orders"), topics("shipments")
    unknown_order = order_shipped("no-such-order")
    good = order_placed()
    producer = plain_producer(kafka_bootstrap)
    producer.send(orders, key=b"no-such-order", value=_json(unknown_order))
    producer.send(shipments, key=b"NOPE-1", value=b'{"type": "shipment_scanned"}')
    producer.send(orders, key=good.order_id.encode(), value=_json(good))
    producer.flush(30)
    producer.close()

    runtime = _runtime(pg_app, kafka_bootstrap, orders, shipments)
    with running(runtime):
        wait_for(lambda: pg_app.order(good.order_id) is not None, 30, "the good order")
        wait_for(lambda: runtime.stats.dead_lettered == 2, 30, "two dead letters")

    (rejected,) = read_topic(kafka_bootstrap, f"{orders}.dlq", expect=1)
    headers = dict(rejected.headers)
    assert b"OrderNotFound" in headers["error"]
    assert headers["original_topic"] == orders.encode()
    assert int(headers["original_offset"]) == 0
    assert rejected.value == _json(unknown_order)
    (invalid,) = read_topic(kafka_bootstrap, f"{shipments}.dlq", expect=1)
    assert b"schema violation" in dict(invalid.headers)["error"]
