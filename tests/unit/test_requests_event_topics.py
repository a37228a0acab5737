"""The stored topics of the requests aggregate and its events stay what they were before the domain
became a package (issue 17): they are stored with every event and hashed into its chain link (R62),
so a move of the class must not change them, and the stored ones must still resolve."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

from eventsourcing.utils import get_topic, resolve_topic

from services.requests.domain import OrderItem, SupportRequest


def test_r62_new_events_are_stored_under_the_topics_of_the_pre_package_module() -> None:
    # given a request opened with the aggregate from its new module
    request = SupportRequest.open(
        request_id=uuid4(),
        at=datetime(2026, 12, 1, 15, 0, tzinfo=UTC),
        order_id="o1",
        buyer_id="b1",
        seller_id="s1",
        marketplace="US",
        currency="USD",
        items=[OrderItem("i1", "Mug", "kitchen", False, 2000, 1800, 500, 100)],
        reason="defective",
        description="cracked",
        photos=[],
    )
    (opened,) = request.collect_events()
    # then the event's and the aggregate's topics name services.requests.domain, as before
    assert get_topic(type(opened)) == "services.requests.domain:SupportRequest.Opened"
    assert opened.originator_topic == "services.requests.domain:SupportRequest"
    assert (
        get_topic(SupportRequest.FullRefundOffered)
        == "services.requests.domain:SupportRequest.FullRefundOffered"
    )


def test_r62_topics_stored_before_the_move_resolve_to_the_moved_classes() -> None:
    # given topics as events stored before issue 17 hold them
    # then they resolve to the aggregate and its event classes
    assert resolve_topic("services.requests.domain:SupportRequest") is SupportRequest
    assert (
        resolve_topic("services.requests.domain:SupportRequest.NoRefundClosed")
        is SupportRequest.NoRefundClosed
    )
