"""`seller-support demo`'s world to explore (issue 24): after the walk, requests for a few named
buyers and sellers left in every interesting state, and the lines to sign in with.

Every name carries the run's id, so a second run adds a second world beside the first and never
collides with it. The clock is moved only forward, and only once (past the seller's deadline of the
overdue and the escalated requests); the requests that must still be waiting are opened after that
move, so their deadlines lie ahead.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


class Walker(Protocol):
    """What the world needs of the demo's client (services/cli.py `Demo`)."""

    run: str

    def call(self, role: str, method: str, path: str, body: Any = None, sub: str = "") -> Any: ...

    def fact(self, fact: dict[str, Any]) -> None: ...

    def now(self) -> datetime: ...


@dataclass(frozen=True)
class Case:
    kind: str  # what a person finds (KINDS)
    order_id: str
    request_id: str
    buyer: str
    seller: str


# Each kind the world promises, in the order it is printed, with the status it is left in.
KINDS: dict[str, str] = {
    "waiting on the seller": "awaiting_seller",
    "overdue (the seller's 48 business hours passed)": "awaiting_seller",
    "an offer waiting on the buyer": "offer_pending",
    "a return in transit": "return_in_transit",
    "escalated, in the support queue": "escalated",
    "resolved with a full refund": "resolved",
}
SUPPORT_AGENT = "demo-support"


class WorldNotAsPromised(Exception):
    """A case did not end in the state the world promises (the rules changed under the demo)."""


class World:
    def __init__(self, walker: Walker) -> None:
        self.walker = walker
        run = walker.run
        self.sellers = {"main": f"demo-seller-{run}", "games": f"demo-seller-{run}-games"}
        self.buyers = {"ana": f"demo-buyer-{run}", "bo": f"demo-buyer-{run}-bo"}
        self.orders = 0
        self.cases: list[Case] = []

    def _as(self, role: str, user: str, method: str, path: str, body: Any = None) -> Any:
        return self.walker.call(role, method, path, body, sub=user)

    def _order(self, buyer: str, seller: str, title: str, price: int) -> str:
        self.orders += 1
        order_id = f"demo-{self.walker.run}-w{self.orders}"
        now = self.walker.now().isoformat()
        self.walker.fact(
            {
                "type": "order_placed",
                "order_id": order_id,
                "buyer_id": buyer,
                "seller_id": seller,
                "currency": "USD",
                "placed_at": now,
                "marketplace": "US",
                "items": [
                    {
                        "item_id": "item-1",
                        "title": title,
                        "category": "trading_cards",
                        "consumable": False,
                        "price": price,
                        "seller_payout": price - price // 10,
                        "buyer_shipping_paid": 500,
                        "processing_fee": price // 25,
                    }
                ],
            }
        )
        self.walker.fact(
            {
                "type": "order_shipped",
                "order_id": order_id,
                "carrier": "USPS",
                "service": "ground_advantage",
                "tracking_number": f"9400-{order_id}",
                "shipped_at": now,
                "insured_value": price,
                "extra_protection": False,
            }
        )
        self.walker.fact({"type": "order_delivered", "order_id": order_id, "delivered_at": now})
        return order_id

    def _open(
        self, kind: str, buyer: str, seller: str, title: str, price: int, reason: str, text: str
    ) -> Case:
        order_id = self._order(buyer, seller, title, price)
        state = self._as(
            "buyer",
            buyer,
            "POST",
            "/v1/support-requests",
            {
                "order_id": order_id,
                "item_ids": ["item-1"],
                "reason": reason,
                "description": text,
                "photos": [f"https://photos.example/{order_id}.jpg"],  # some reasons need them
            },
        )
        case = Case(kind, order_id, state["id"], buyer, seller)
        self.cases.append(case)
        return case

    def _respond(self, case: Case, body: dict[str, Any]) -> None:
        self._as(
            "seller", case.seller, "POST", f"/v1/support-requests/{case.request_id}/responses", body
        )

    def build(self) -> list[Case]:
        ana, bo = self.buyers["ana"], self.buyers["bo"]
        main, games = self.sellers["main"], self.sellers["games"]
        kinds = list(KINDS)
        # First the two that need the seller's deadline behind them, then one clock move.
        overdue = self._open(
            kinds[1],
            ana,
            main,
            "Booster box, sealed",
            9000,
            "significantly_delayed",
            "Three weeks and still nothing.",
        )
        escalated = self._open(
            kinds[4],
            bo,
            main,
            "Graded holo card",
            12000,
            "not_as_described",
            "The grade on the slab is not the one in the listing.",
        )
        self._pass_seller_deadline(overdue, escalated)
        self._as(
            "buyer",
            bo,
            "POST",
            f"/v1/support-requests/{escalated.request_id}/escalate",
            {"reason": "The seller did not answer in two business days."},
        )
        # Then the ones whose deadlines lie ahead.
        self._open(
            kinds[0],
            ana,
            main,
            "Starter deck",
            2500,
            "defective",
            "Two cards are creased.",
        )
        offer = self._open(
            kinds[2],
            bo,
            main,
            "Card sleeves (100)",
            1500,
            "damaged_in_transit",
            "The box was crushed; a third of the sleeves are torn.",
        )
        self._respond(offer, {"type": "partial_refund", "amount": 500})
        returning = self._open(
            kinds[3],
            ana,
            main,
            "Deck box",
            3000,
            "wrong_item",
            "A red box arrived; I ordered the blue one.",
        )
        self._respond(returning, {"type": "full_refund_with_return"})
        tracking = f"RET-{returning.order_id}"
        self.walker.fact(
            {
                "type": "return_label_created",
                "request_id": returning.request_id,
                "tracking_number": tracking,
                "label_cost": 450,
                "at": self.walker.now().isoformat(),
            }
        )
        self.walker.fact(
            {
                "type": "shipment_scanned",
                "tracking_number": tracking,
                "status": "accepted",
                "at": self.walker.now().isoformat(),
            }
        )
        resolved = self._open(
            kinds[5],
            bo,
            main,
            "Playmat",
            2000,
            "missing_item",
            "The parcel was empty.",
        )
        self._respond(resolved, {"type": "full_refund"})
        # A second seller, so the buyer's list has more than one shop in it.
        self._open(
            kinds[0],
            bo,
            games,
            "Board game expansion",
            4500,
            "missing_item",
            "The expansion's cards are missing from the box.",
        )
        self._check()
        return self.cases

    def _pass_seller_deadline(self, *cases: Case) -> None:
        due = [
            datetime.fromisoformat(
                self._as("support", SUPPORT_AGENT, "GET", f"/v1/support-requests/{c.request_id}")[
                    "deadlines"
                ]["seller_response"]
            )
            for c in cases
        ]
        target = max([*due, self.walker.now()]) + timedelta(minutes=1)
        self._as("admin", "demo-admin", "POST", "/v1/admin/clock", {"set": target.isoformat()})

    def _check(self) -> None:
        """Every case is in the state it promises (a change in the rules shows up here, loudly)."""
        for case in self.cases:
            path = f"/v1/support-requests/{case.request_id}"
            status = self._as("support", SUPPORT_AGENT, "GET", path)["status"]
            if status != KINDS[case.kind]:
                raise WorldNotAsPromised(
                    f"{case.kind}: {case.order_id} is {status}, not {KINDS[case.kind]}"
                )

    def describe(self, base_url: str) -> list[str]:
        """The world, then — last — the sign-in lines."""
        lines = [f"\nA world to explore (run {self.walker.run}):"]
        order = list(KINDS)
        for case in sorted(self.cases, key=lambda c: order.index(c.kind)):
            lines.append(
                f"   - {case.kind}: order {case.order_id} "
                f"(buyer {case.buyer}, seller {case.seller})"
            )
        app = f"{base_url.rstrip('/')}/app/"
        signs = [("seller", s) for s in self.sellers.values()]
        signs += [("buyer", b) for b in self.buyers.values()]
        signs.append(("support", SUPPORT_AGENT))
        lines.append("")
        lines += [f"open {app} — sign in as {role} {user}" for role, user in signs]
        return lines
