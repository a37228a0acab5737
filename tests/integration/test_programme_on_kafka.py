"""R66 over a real broker: `seller_registered` on orders.v1 enrols a new seller in a gradual rollout;
a seller not enrolled has their buyers' requests routed to support; a contradicting or invalid
registration goes to the DLQ with its reason (PostgreSQL)."""

from __future__ import annotations

import json

import pytest

from services.requests.application import Actor, RequestsApplication
from services.requests.consumers.upstream import upstream_runtime
from services.requests.domain.programme import ProgrammeRules, Rollout
from tests.factories import order_placed
from tests.integration.kafka_fixtures import plain_producer, read_topic, running, unique, wait_for

pytest_plugins = ["tests.integration.kafka_fixtures"]
pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _registered(seller_id: str, registered_at: str) -> bytes:
    return json.dumps(
        {
            "type": "seller_registered",
            "seller_id": seller_id,
            "marketplace": "US",
            "registered_at": registered_at,
        }
    ).encode()


def _runtime(app: RequestsApplication, bootstrap: str, orders: str, shipments: str):
    return upstream_runtime(
        app,
        bootstrap,
        orders_topic=orders,
        shipments_topic=shipments,
        group_id=unique("upstream"),
        poll_timeout_ms=100,
        backoff_initial_s=0.05,
    )


def test_r66_seller_registered_over_kafka_enrols_new_sellers_and_routes_the_others(
    kafka_bootstrap, topics, pg_app: RequestsApplication
) -> None:
    # given a gradual rollout, a seller who joined after the start date and one who joined before
    pg_app.programme_rules = ProgrammeRules(rollout=Rollout.GRADUAL)
    orders, shipments = topics("orders"), topics("shipments")
    new, old = unique("seller-new"), unique("seller-old")
    old_order = order_placed(seller_id=old)
    producer = plain_producer(kafka_bootstrap)
    producer.send(orders, key=new.encode(), value=_registered(new, "2026-01-05T09:00:00-05:00"))
    producer.send(orders, key=old.encode(), value=_registered(old, "2025-06-01T09:00:00-05:00"))
    # a contradiction of the first report, and a registration without a seller id
    producer.send(orders, key=new.encode(), value=_registered(new, "2026-02-05T09:00:00-05:00"))
    producer.send(orders, key=b"x", value=b'{"type": "seller_registered", "registered_at": "x"}')
    producer.send(
        orders, key=old_order.order_id.encode(), value=old_order.model_dump_json().encode()
    )
    producer.flush(30)
    producer.close()

    # when the requests service's upstream consumer applies them
    runtime = _runtime(pg_app, kafka_bootstrap, orders, shipments)
    with running(runtime):
        wait_for(lambda: pg_app.order(old_order.order_id) is not None, 30, "the order")
        wait_for(lambda: runtime.stats.dead_lettered == 2, 30, "two dead letters")

    # then the new seller is enrolled by the rule, the old one only registered
    assert pg_app.programme(new).enrolment_rule == "registered_on_or_after_start"
    assert pg_app.programme(old).registered_at is not None
    assert not pg_app.programme(old).recorded_enrolled
    # and the contradiction and the invalid fact are parked in the DLQ with their reasons
    dead = read_topic(kafka_bootstrap, f"{orders}.dlq", expect=2)
    reasons = sorted(dict(r.headers)["error"] for r in dead)
    assert any(b"SellerRegistrationConflict" in r for r in reasons), reasons
    assert any(b"schema violation" in r for r in reasons), reasons
    # and a request on the old seller's order goes to support (R66)
    request = pg_app.open_request(
        Actor("buyer", old_order.buyer_id),
        order_id=old_order.order_id,
        item_ids=[old_order.items[0].item_id],
        reason="defective",
        description="It does not power on.",
        photos=[],
    )
    assert request.routed_to_support == "seller_not_enrolled"
    assert request.status == "escalated"
