"""Each projection handler declares the events it reacts to (`shared.transport.projection.reacts_to`):
events outside that set are recorded as applied without reaching the handler, and a rebuild does not
decode them. So every published event name it leaves out must change nothing in its rules, whatever
the request's state (a rule added for such a name must add the name too)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.ledger import domain as ledger
from services.ledger.projection import EVENTS as LEDGER_EVENTS
from services.notifications import domain as notifications
from services.notifications.projection import NotificationsProjection
from services.notifications.settings import NotificationsSettings
from services.ratings import domain as ratings
from services.ratings.projection import EVENTS as RATINGS_EVENTS
from shared.contracts.requests_v1 import REQUEST_EVENT_CONTRACTS
from shared.transport.projection import handled_events

RID = "11111111-1111-4111-8111-111111111111"
AT = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
PUBLISHED = sorted(REQUEST_EVENT_CONTRACTS)


def _data(version: int, **fields: Any) -> dict[str, Any]:
    return {"request_id": RID, "version": version, "at": AT.isoformat(), "actor": "x", **fields}


OPENED = _data(
    1,
    order_id="o-1",
    buyer_id="b-1",
    seller_id="s-1",
    marketplace="US",
    currency="USD",
    reason="defective",
    routed_to_support=None,
    items=[
        {
            "item_id": "i1",
            "title": "t",
            "price": 2500,
            "seller_payout": 2200,
            "buyer_shipping_paid": 500,
            "processing_fee": 103,
        }
    ],
)


@pytest.mark.parametrize("name", [n for n in PUBLISHED if n not in LEDGER_EVENTS])
def test_an_event_the_ledger_leaves_out_changes_nothing_in_it(name: str) -> None:
    known = ledger.decide(None, "opened", OPENED, f"{RID}:1").facts
    for facts in (None, known):
        outcome = ledger.decide(facts, name, _data(2), f"{RID}:2")
        assert not outcome.changed
        assert (outcome.entries, outcome.claim) == ((), None)


@pytest.mark.parametrize("name", [n for n in PUBLISHED if n not in RATINGS_EVENTS])
def test_an_event_the_ratings_leave_out_changes_no_request(name: str) -> None:
    facts = ratings.evolve(None, "opened", OPENED, f"{RID}:1")
    assert ratings.evolve(facts, name, _data(2), f"{RID}:2") == facts


def test_the_notifications_projection_reacts_to_every_event_it_has_a_rule_for() -> None:
    handler_events = handled_events(NotificationsProjection(NotificationsSettings()))
    assert handler_events == frozenset(notifications.RULES)
    known = notifications.facts_from_opened(OPENED)
    for name in (n for n in PUBLISHED if n not in handler_events):
        assert notifications.plan(known, name, _data(2), "support") is notifications.NOTHING


def test_every_declared_event_is_a_published_one() -> None:
    # a misspelt name would silently keep its events from the handler
    for declared in (LEDGER_EVENTS, RATINGS_EVENTS, frozenset(notifications.RULES)):
        assert declared <= set(REQUEST_EVENT_CONTRACTS)
