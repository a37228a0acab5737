"""R63 on upgrade: a store written before the per-item remedy record is folded into it when the
upgraded build opens it — no refund lost or doubled, and a double refund made before R63 reported
(services/requests/application/remedy_fold.py). SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest
from alembic import command
from sqlalchemy import create_engine, select

from services.requests.application import SellerResponse, open_application
from services.requests.domain import OrderItem, SupportRequest
from services.requests.domain.remedy import NothingLeftToRefund
from services.requests.persistence import store
from shared.migrations import alembic_config
from tests.conftest import close_application
from tests.factories import (
    BUYER_SHIPPING_PAID,
    PRICE,
    PROCESSING_FEE,
    SELLER_PAYOUT,
    open_on_fresh_order,
)

PAID = PRICE + BUYER_SHIPPING_PAID
R30 = SELLER_PAYOUT + BUYER_SHIPPING_PAID + PROCESSING_FEE
BEFORE_R63 = "2bc0b5813c8b"


def _refund_again_as_before_r63(app, opened, at) -> SupportRequest:
    """A second request on an item refunded already, refunded in full again, stored as the code
    before R63 stored it: the aggregate's own events (no per-item shares, no seller charge), the
    request indexed by its order, and nothing else."""
    (item,) = opened.order.items
    second = SupportRequest.open(
        request_id=uuid4(),
        at=at,
        order_id=opened.order.order_id,
        buyer_id=opened.order.buyer_id,
        seller_id=opened.order.seller_id,
        marketplace="US",
        currency="USD",
        items=[OrderItem(**item.model_dump(exclude_none=True))],
        reason="defective",
        description="Broken again.",
        photos=["photo-2.jpg"],
    )
    # the event exactly as the code before R63 recorded it: the full amount, no `remedy`
    second._full_refund_offered(
        at=at + timedelta(hours=1),
        actor=f"seller:{opened.order.seller_id}",
        amount=PAID,
        auto_claim=None,
    )
    with app.side_tables.transaction() as tx:
        app.side_tables.index_by_order(tx, str(second.id), opened.order.order_id, at)
        app.save(second)
    return second


def test_r63_the_upgrade_folds_histories_and_reports_a_double_refund(database_url, clock) -> None:
    # given a store holding an item refunded in full twice (what the code before R63 allowed) and
    # an item refunded once
    app = open_application(database_url, clock)
    first = open_on_fresh_order(app)
    app.respond(first.id, first.seller, SellerResponse("full_refund"))
    clock.advance(timedelta(minutes=5))
    second = _refund_again_as_before_r63(app, first, clock.now())
    once = open_on_fresh_order(app)
    app.respond(once.id, once.seller, SellerResponse("partial_refund", amount=1200))
    app.accept_offer(once.id, once.buyer)
    close_application(app)
    # and its schema taken back to before R63 (the record and the fold's row gone)
    engine = create_engine(database_url)
    with engine.begin() as connection:
        command.downgrade(alembic_config(store.STORE, connection), BEFORE_R63)
    engine.dispose()
    # when the upgraded build opens the store
    upgraded = open_application(database_url, clock)
    try:
        with upgraded.engine.connect() as connection:
            report = connection.execute(select(store.remedy_fold.c.report)).scalar_one()
            rows = {
                r.item_id: (r.refunded, r.charged)
                for r in connection.execute(select(store.item_remedies))
            }
        # then both refunds of the first item are in its record (none lost, none doubled again) and
        # the report names the item and both requests; the other item is folded and not reported
        (doubled,) = first.order.items
        (single,) = once.order.items
        assert rows == {doubled.item_id: (2 * PAID, 2 * R30), single.item_id: (1200, 1200)}
        assert report["requests"] == 3
        assert report["over_refunded"] == [
            {
                "order_id": first.order.order_id,
                "item_id": doubled.item_id,
                "paid": PAID,
                "refunded": 2 * PAID,
                "full_charge": R30,
                "charged": 2 * R30,
                "requests": [str(first.id), str(second.id)],
            }
        ]
        # and the folded record is enforced: the doubly refunded item takes no third request, the
        # other still has 1800 left
        with pytest.raises(NothingLeftToRefund):
            upgraded.open_request(
                first.buyer,
                order_id=first.order.order_id,
                item_ids=[doubled.item_id],
                reason="defective",
                description="third time",
                photos=["p.jpg"],
            )
        view = upgraded.order_view(once.order.order_id, once.buyer)
        assert view["items"][0]["refundable"] == PAID - 1200
    finally:
        close_application(upgraded)


def test_r63_a_store_is_folded_once(database_url, clock) -> None:
    # given a store opened (and folded) once, with a refund made since
    app = open_application(database_url, clock)
    opened = open_on_fresh_order(app)
    app.respond(opened.id, opened.seller, SellerResponse("full_refund"))
    close_application(app)
    # when it is opened again
    again = open_application(database_url, clock)
    try:
        with again.engine.connect() as connection:
            (row,) = connection.execute(select(store.remedy_fold)).all()
            (record,) = connection.execute(select(store.item_remedies)).all()
        # then the fold's report is the first one (an empty store's), and the record is the one
        # the refund wrote, not folded twice
        assert row.report == {"requests": 0, "items": 0, "over_refunded": []}
        assert (record.refunded, record.charged) == (PAID, R30)
    finally:
        close_application(again)
