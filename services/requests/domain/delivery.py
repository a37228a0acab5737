"""When an order can have been delivered (issue 26, class 9): not before it was placed, nor before
it was shipped. A delivery dated earlier is a wrong fact from upstream (a clock or a mix-up), and
recording it would start the return and no-refund windows before the parcel existed."""

from __future__ import annotations

from datetime import datetime

from services.requests.domain.errors import InvalidCommand


class DeliveredBeforeShipped(InvalidCommand):
    """`order_delivered` dated before the order was placed or shipped (422)."""


def check_delivery_time(
    order_id: str, *, placed_at: datetime, shipped_at: datetime | None, delivered_at: datetime
) -> None:
    if delivered_at < placed_at:
        raise DeliveredBeforeShipped(
            f"order {order_id} cannot be delivered at {delivered_at.isoformat()}: it was placed "
            f"at {placed_at.isoformat()}; send the delivery time as the carrier recorded it"
        )
    if shipped_at is not None and delivered_at < shipped_at:
        raise DeliveredBeforeShipped(
            f"order {order_id} cannot be delivered at {delivered_at.isoformat()}: it was shipped "
            f"at {shipped_at.isoformat()}; send the delivery time as the carrier recorded it"
        )
