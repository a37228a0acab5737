"""Issue 18, class 3 on the Kafka side: the upstream consumer reads facts tolerantly (unknown fields
ignored) and parks a fact that contradicts a recorded one (a `PoisonMessage` naming what it
contradicts) instead of retrying it forever. The requests application on SQLite and PostgreSQL; the
record decoding is the consumer's own (`decode_upstream_fact`), without a broker.
"""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

import pytest

from services.requests.application import SellerResponse
from services.requests.consumers.upstream import apply_fact
from shared.envelope import PoisonMessage
from shared.transport.decoders import decode_upstream_fact
from tests.factories import (
    item_fact,
    open_on_fresh_order,
    order_placed,
    order_shipped,
    return_label_created,
    unique,
)


def _record(fact: dict[str, Any]) -> Any:
    """What the consumer's decoder reads of a Kafka record: its value bytes."""
    return SimpleNamespace(value=json.dumps(fact).encode())


def test_class3_kafka_fact_with_unknown_fields_is_applied(app) -> None:
    # given an order_placed from a newer producer, with fields this version does not know
    order = order_placed().model_dump(mode="json")
    order["sales_channel"] = "app"
    order["items"][0]["warehouse"] = "NL-3"
    # when the upstream consumer decodes and applies it
    fact = decode_upstream_fact(_record(order))
    # then it is recorded, and a redelivery changes nothing
    assert apply_fact(app, fact) is True
    assert apply_fact(app, decode_upstream_fact(_record(order))) is False
    assert app.order(order["order_id"])["seller_id"] == order["seller_id"]


@pytest.mark.parametrize(
    "bad",
    [
        {"seller_payout": 2**63},
        {"price": -1},
        {"price": 10**12 + 1},
    ],
)
def test_class1_kafka_fact_with_an_amount_out_of_range_is_parked(bad: dict[str, int]) -> None:
    order = order_placed(items=[item_fact()]).model_dump(mode="json")
    order["items"][0].update(bad)
    with pytest.raises(PoisonMessage, match=next(iter(bad))):
        decode_upstream_fact(_record(order))


def test_class2_kafka_fact_dated_9999_or_as_an_epoch_is_parked() -> None:
    order = order_placed().model_dump(mode="json")
    with pytest.raises(PoisonMessage, match="placed_at"):
        decode_upstream_fact(_record({**order, "placed_at": "9999-12-31T00:00:00Z"}))
    with pytest.raises(PoisonMessage, match="placed_at"):
        decode_upstream_fact(_record({**order, "placed_at": 1764936000}))


def test_class3_kafka_second_order_shipped_with_another_tracking_number_is_parked(app) -> None:
    order = order_placed()
    app.record_order_placed(order)
    assert apply_fact(app, order_shipped(order.order_id, tracking_number=unique("9400"))) is True
    other = order_shipped(order.order_id, tracking_number="another-1")
    with pytest.raises(PoisonMessage, match="tracking_number"):
        apply_fact(app, other)


def test_class3_kafka_return_label_with_another_cost_is_parked_and_the_first_cost_kept(
    app, clock
) -> None:
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund_with_return"))
    label = return_label_created(opened.id, clock.now(), label_cost=750, tracking_number="RET-1")
    assert apply_fact(app, label) is True
    assert apply_fact(app, label) is False  # an exact duplicate is a no-op
    dearer = return_label_created(opened.id, clock.now(), label_cost=9999, tracking_number="RET-1")
    with pytest.raises(PoisonMessage, match="label_cost recorded 750, sent 9999"):
        apply_fact(app, dearer)
    assert opened.view()["return"]["label_cost"] == 750


def test_class3_kafka_order_with_two_items_of_one_id_is_parked() -> None:
    order = order_placed(items=[item_fact(item_id="i1")]).model_dump(mode="json")
    order["items"].append({**order["items"][0], "price": 1})
    with pytest.raises(PoisonMessage, match="repeated: i1"):
        decode_upstream_fact(_record(order))
