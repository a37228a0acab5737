"""The bounded load of the fault-injection suite: clients walking support requests through the HTTP
API as real clients would — every command with an `Idempotency-Key`, retried with the same key
(capped backoff, for up to `GIVE_UP_S`) when the connection fails or the server answers 5xx — plus
probes that must answer each error kind (401, 403, 404, 409, 422).

Each journey has a seller of its own, so its expected ledger balance follows from the cost table
(docs/ledger.md) and what the client saw succeed:

- `full_refund`: the seller offers a full refund: R30, -(payout + shipping + fee) = -2803;
- `partial`: the seller offers 1000, the buyer accepts: R33, -1000;
- `escalated`: the seller refuses, the buyer escalates, support decides `refund`: R34, -2803;
- `silent`: the seller never answers (its deadline fires when the clock is advanced): nothing.
"""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from shared.auth import TokenCodec

R30 = 2200 + 500 + 103
PARTIAL = 1000
KINDS = ("full_refund", "partial", "escalated", "silent")
GIVE_UP_S = 120.0
RETRYABLE = {500, 502, 503, 504}


@dataclass
class Attempt:
    at: float  # monotonic
    op: str
    outcome: str  # an HTTP status, or the exception's name


@dataclass
class Journey:
    kind: str
    n: int
    seller: str = ""
    buyer: str = ""
    order_id: str = ""
    order: dict[str, Any] = field(default_factory=dict)
    request_id: str | None = None
    done: list[str] = field(default_factory=list)  # steps that succeeded
    failed: str | None = None  # the step given up on

    @property
    def expected_balance(self) -> int | None:
        """What the ledger must say, or None when a step was given up on mid-way."""
        if self.failed is not None and self.kind != "silent":
            return None
        return {
            "full_refund": -R30,
            "partial": -PARTIAL,
            "escalated": -R30,
            "silent": 0,
        }[self.kind]


class Load:
    def __init__(self, base_url: str, run: str, seed: int) -> None:
        self.base_url = base_url
        self.run = run
        self.random = random.Random(seed)
        self.codec = TokenCodec()
        self.attempts: list[Attempt] = []
        self.journeys: list[Journey] = []
        self.commands = 0
        self.probes: Counter[str] = Counter()  # "expected->got"
        self.stuck_keys = 0
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self._tokens: dict[tuple[str, str], str] = {}

    # --- HTTP ---

    def token(self, role: str, sub: str) -> str:
        key = (role, sub)
        if key not in self._tokens:
            from datetime import timedelta

            self._tokens[key] = self.codec.encode(sub=sub, role=role, ttl=timedelta(hours=6))
        return self._tokens[key]

    def _note(self, op: str, outcome: str) -> None:
        with self.lock:
            self.attempts.append(Attempt(time.monotonic(), op, outcome))

    def command(
        self,
        client: httpx.Client,
        op: str,
        path: str,
        role: str,
        sub: str,
        body: Any = None,
        *,
        ok: tuple[int, ...] = (200, 201, 202),
    ) -> httpx.Response | None:
        """POST with an Idempotency-Key, retried with the same key until it answers a status that
        is not a server or connection failure; None when given up on."""
        with self.lock:
            self.commands += 1
        key = f"{self.run}-{op}-{uuid.uuid4().hex}"
        deadline = time.monotonic() + GIVE_UP_S
        stuck_since: float | None = None
        delay = 0.25
        while time.monotonic() < deadline:
            headers = {"Authorization": f"Bearer {self.token(role, sub)}", "Idempotency-Key": key}
            try:
                answer = client.post(self.base_url + path, json=body, headers=headers)
            except httpx.HTTPError as error:
                self._note(op, type(error).__name__)
            else:
                self._note(op, str(answer.status_code))
                if answer.status_code in ok:
                    return answer
                if answer.status_code == 409 and "still running" in answer.text:
                    # a key whose first attempt is still running (or died: issue 18, class 9)
                    stuck_since = stuck_since or time.monotonic()
                    if time.monotonic() - stuck_since > 30:
                        with self.lock:
                            self.stuck_keys += 1
                        key = f"{self.run}-{op}-{uuid.uuid4().hex}"
                        stuck_since = None
                elif answer.status_code not in RETRYABLE and answer.status_code != 409:
                    return answer  # a 4xx answer is final
                elif answer.status_code == 409 and stuck_since is None:
                    return answer
            time.sleep(delay)
            delay = min(4.0, delay * 2)
        return None

    def probe(self, client: httpx.Client, expected: int, method: str, path: str, **kw: Any) -> None:
        """A call that must answer `expected` (an error kind); retried like a command while the
        server is away."""
        deadline = time.monotonic() + GIVE_UP_S
        while time.monotonic() < deadline:
            try:
                answer = client.request(method, self.base_url + path, **kw)
            except httpx.HTTPError as error:
                self._note(f"probe{expected}", type(error).__name__)
                time.sleep(1)
                continue
            self._note(f"probe{expected}", str(answer.status_code))
            if answer.status_code in RETRYABLE:
                time.sleep(1)
                continue
            with self.lock:
                self.probes[f"{expected}->{answer.status_code}"] += 1
            return

    # --- journeys ---

    def walk(self, client: httpx.Client, journey: Journey) -> None:
        n, run = journey.n, self.run
        journey.seller = f"chaos-seller-{run}-{n}"
        journey.buyer = f"chaos-buyer-{run}-{n}"
        journey.order_id = f"chaos-order-{run}-{n}"
        now = datetime.now(UTC).isoformat()
        order = {
            "type": "order_placed",
            "order_id": journey.order_id,
            "buyer_id": journey.buyer,
            "seller_id": journey.seller,
            "currency": "USD",
            "placed_at": now,
            "marketplace": "US",
            "items": [
                {
                    "item_id": "i1",
                    "title": "Holo card",
                    "category": "trading_cards",
                    "consumable": False,
                    "price": 2500,
                    "seller_payout": 2200,
                    "buyer_shipping_paid": 500,
                    "processing_fee": 103,
                }
            ],
        }
        journey.order = order
        steps: list[tuple[str, str, str, str, Any]] = [
            ("order_placed", "/v1/upstream/events", "platform", "order-service", order),
            (
                "open",
                "/v1/support-requests",
                "buyer",
                journey.buyer,
                {
                    "order_id": journey.order_id,
                    "item_ids": ["i1"],
                    "reason": "defective",
                    "description": "It arrived creased.",
                    "photos": [],
                },
            ),
        ]
        for step, path, role, sub, body in steps:
            answer = self.command(client, step, path, role, sub, body)
            if answer is None or answer.status_code >= 300:
                journey.failed = step
                return
            journey.done.append(step)
            if step == "open":
                journey.request_id = answer.json()["id"]
        rid = journey.request_id
        base = f"/v1/support-requests/{rid}"
        follow: list[tuple[str, str, str, str, Any]] = {
            "full_refund": [
                ("respond", base + "/responses", "seller", journey.seller, {"type": "full_refund"})
            ],
            "partial": [
                (
                    "respond",
                    base + "/responses",
                    "seller",
                    journey.seller,
                    {"type": "partial_refund", "amount": PARTIAL},
                ),
                ("accept", base + "/offer/accept", "buyer", journey.buyer, None),
            ],
            "escalated": [
                (
                    "respond",
                    base + "/responses",
                    "seller",
                    journey.seller,
                    {"type": "no_refund", "message": "Outside the policy.", "evidence": ["x.png"]},
                ),
                ("escalate", base + "/escalate", "buyer", journey.buyer, {"reason": "I disagree"}),
                ("decide", base + "/decision", "support", "agent-1", {"outcome": "refund"}),
            ],
            "silent": [],
        }[journey.kind]
        for step, path, role, sub, body in follow:
            answer = self.command(client, step, path, role, sub, body)
            if answer is None or answer.status_code >= 300:
                journey.failed = step
                return
            journey.done.append(step)
        self.probe_errors(client, journey)

    def probe_errors(self, client: httpx.Client, journey: Journey) -> None:
        """Every error kind (and a duplicate fact), now and then: one full-refund journey in two."""
        if journey.kind != "full_refund" or journey.n % 8:
            return
        rid = journey.request_id
        auth = {"Authorization": f"Bearer {self.token('buyer', journey.buyer)}"}
        seller = {"Authorization": f"Bearer {self.token('seller', journey.seller)}"}
        self.probe(client, 401, "GET", f"/v1/support-requests/{rid}")
        self.probe(client, 403, "POST", f"/v1/support-requests/{rid}/offer/accept", headers=seller)
        self.probe(client, 404, "GET", f"/v1/support-requests/{uuid.uuid4()}", headers=auth)
        self.probe(
            client,
            422,
            "POST",
            "/v1/support-requests",
            headers=auth,
            json={"order_id": journey.order_id, "item_ids": ["i1"], "reason": "bogus"},
        )
        # a response when none is due any more (the refund resolved the request)
        self.probe(
            client,
            409,
            "POST",
            f"/v1/support-requests/{rid}/responses",
            headers=seller,
            json={"type": "full_refund"},
        )
        # the order fact again: an exact duplicate is a 200 no-op
        platform = {"Authorization": f"Bearer {self.token('platform', 'order-service')}"}
        self.probe(client, 200, "POST", "/v1/upstream/events", headers=platform, json=journey.order)

    def worker(self, max_journeys: int, pace_s: float) -> None:
        with httpx.Client(timeout=15.0) as client:
            while not self.stop.is_set():
                with self.lock:
                    if len(self.journeys) >= max_journeys:
                        return
                    n = len(self.journeys)
                    journey = Journey(KINDS[n % len(KINDS)], n)
                    self.journeys.append(journey)
                self.walk(client, journey)
                self.stop.wait(pace_s * self.random.uniform(0.5, 1.5))

    def start(self, workers: int, max_journeys: int, pace_s: float) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self.worker, args=(max_journeys, pace_s), daemon=True)
            for _ in range(workers)
        ]
        for thread in threads:
            thread.start()
        return threads
