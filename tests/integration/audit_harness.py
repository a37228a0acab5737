"""A live embedded system for audit tests: the requests application feeding the three projections
(ledger, ratings, notifications/inbox, search) in process, as services/embedded.py does, on one backend."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Any

from services.auditing import StoreUrls
from services.ledger.main import open_ledger_at
from services.notifications.application import NotificationsApplication
from services.notifications.main import build_engine
from services.notifications.settings import NotificationsSettings
from services.ratings.main import open_ratings_at
from services.requests.application import RequestsApplication, SellerResponse
from services.requests.domain import DomainError
from services.requests.outbox.publishing import read_messages
from services.search.main import open_search_at
from shared.transport.notification_log import NotificationLogFeed
from tests.factories import (
    open_on_fresh_order,
    order_shipped,
    return_label_created,
    shipment_scanned,
    unique,
)


def live_urls(database_url: str, folder: Any) -> StoreUrls:
    """SQLite: one file per projection; PostgreSQL: the test's own schema holds them all."""
    if database_url.startswith("sqlite"):
        return StoreUrls(
            f"sqlite:///{folder}/ledger.db",
            f"sqlite:///{folder}/ratings.db",
            f"sqlite:///{folder}/notifications.db",
            f"sqlite:///{folder}/search.db",
        )
    return StoreUrls(database_url, database_url, database_url, database_url)


class LiveSystem:
    def __init__(self, app: RequestsApplication, urls: StoreUrls, clock: Any) -> None:
        self.app, self.clock, self.urls = app, clock, urls
        self.ledger = open_ledger_at(urls.ledger)
        self.ratings = open_ratings_at(urls.ratings, clock)
        settings = NotificationsSettings(database_url=urls.notifications)
        self.notifications = NotificationsApplication(build_engine(settings), settings)
        assert urls.search is not None
        self.search = open_search_at(urls.search, clock)
        self.feed = NotificationLogFeed(
            lambda start, limit: read_messages(app, start, limit),
            [
                self.ledger.projection,
                self.ratings.projection,
                self.notifications.projection,
                self.search.projection,
            ],
        )

    def tick(self) -> None:
        """One round of the embedded loops: pump, refresh ratings, fire reminders (no e-mail)."""
        self.feed.pump(batch_size=self.app.log_section_size)
        self.ratings.refresh(self.clock.now())
        self.notifications.fire_due(self.clock.now())

    def advance(self, hours: float) -> None:
        self.clock.advance(timedelta(hours=hours))
        self.app.fire_due()
        self.tick()

    def close(self) -> None:
        self.ledger.close()
        self.ratings.close()
        self.notifications.close()
        self.search.close()


ACTIONS = (
    "full_refund",
    "full_refund_with_return",
    "partial",
    "replacement",
    "no_refund",
    "request_info",
    "accept",
    "decline",
    "ship_return",
    "confirm",
    "dispute",
    "replacement_scan",
    "return_for_refund",
    "buyer_message",
    "seller_message",
    "escalate",
    "decide_refund",
    "decide_uphold_seller",
    "assign",
    "feedback",
    "tick",
)


class Workload:
    """Commands over a few requests; invalid ones in the current state are rejected (no event)."""

    def __init__(self, system: LiveSystem, n_requests: int) -> None:
        self.system = system
        app = system.app
        self.requests = []
        for _ in range(n_requests):
            opened = open_on_fresh_order(app, shipped=False)
            app.record_order_shipped(order_shipped(opened.order.order_id))
            self.requests.append(opened)
        self.returns: dict[int, str] = {}
        self.replacements: dict[int, str] = {}

    def step(self, name: str, index: int, amount: int = 1000) -> None:
        if name == "advance":
            self.system.advance(amount)
            return
        if name == "tick":
            self.system.tick()
            return
        index %= len(self.requests)
        with contextlib.suppress(DomainError, LookupError, PermissionError):
            self._act(name, index, amount)

    def _act(self, name: str, index: int, amount: int) -> None:
        app, clock = self.system.app, self.system.clock
        opened = self.requests[index]
        rid, seller, buyer, agent = opened.id, opened.seller, opened.buyer, opened.agent
        if name in ("full_refund", "full_refund_with_return"):
            app.respond(rid, seller, SellerResponse(type=name))
        elif name == "partial":
            app.respond(
                rid, seller, SellerResponse(type="partial_refund", amount=1 + amount % 2999)
            )
        elif name == "replacement":
            self.replacements[index] = unique("REPL")
            app.respond(
                rid,
                seller,
                SellerResponse(
                    type="replacement", carrier="USPS", tracking_number=self.replacements[index]
                ),
            )
        elif name == "no_refund":
            app.respond(
                rid, seller, SellerResponse(type="no_refund", message="no", evidence=("e.png",))
            )
        elif name == "request_info":
            app.respond(rid, seller, SellerResponse(type="request_info", message="photos?"))
        elif name == "accept":
            app.accept_offer(rid, buyer)
        elif name == "decline":
            app.decline_offer(rid, buyer)
        elif name == "ship_return":
            current = opened.state().return_
            if current is not None and current["tracking_number"] is None:
                tracking = unique("RET")
                app.record_return_label(
                    return_label_created(rid, clock.now(), label_cost=450, tracking_number=tracking)
                )
                self.returns[index] = tracking
            if index in self.returns:
                for scan in ("accepted", "delivered"):
                    app.record_shipment_scan(
                        shipment_scanned(self.returns[index], scan, clock.now())
                    )
        elif name == "confirm":
            app.confirm_return(rid, seller)
        elif name == "dispute":
            app.dispute_return(rid, seller, reason="not the item", evidence=["p.jpg"])
        elif name == "replacement_scan":
            if index in self.replacements:
                app.record_shipment_scan(
                    shipment_scanned(self.replacements[index], "accepted", clock.now())
                )
        elif name == "return_for_refund":
            app.return_for_refund(rid, buyer)
        elif name in ("buyer_message", "seller_message"):
            who = buyer if name == "buyer_message" else seller
            app.post_message(rid, who, body="hello", attachments=[])
        elif name == "escalate":
            app.escalate(rid, buyer, reason="no help")
        elif name == "assign":
            app.assign_agent(rid, agent)
        elif name.startswith("decide_"):
            app.decide(rid, agent, outcome=name.removeprefix("decide_"))
        elif name == "feedback":
            app.give_feedback(rid, buyer, thumbs="up" if amount % 2 else "down")
