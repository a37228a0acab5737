"""A small asyncio + aiohttp load driver for the requests API (used by bench/run.py).

- `seed_orders`: the order facts (POST /v1/upstream/events as `platform`), untimed.
- `open_requests`: buyers open one request per order, untimed set-up for latency runs.
- `command_throughput`: closed loop, `concurrency` clients; each takes the next order, opens a
  request on it (POST /v1/support-requests) and the seller answers with a partial refund
  (POST .../responses). Commands/s = successful commands / wall time; per-command latency too.

Tokens are minted locally with the development secret every service uses unless SUPPORT_JWT_SECRET
is set (the same `TokenCodec` the servers verify with).

The HTTP client is aiohttp (keep-alive, C-accelerated parser) behind `Http`: the driver shares the
2-core machine with the system it measures, and httpx cost it about 2 ms of CPU per request (anyio,
httpcore, h11), several times aiohttp's.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

from bench.baselines import percentiles
from shared.auth import TokenCodec


@dataclass(frozen=True)
class Order:
    order_id: str
    buyer: str
    seller: str


class Tokens:
    """One token per (role, subject), minted once and reused (the client's side is not measured)."""

    def __init__(self, codec: TokenCodec | None = None) -> None:
        self.codec = codec or TokenCodec()
        self._cache: dict[tuple[str, str], dict[str, str]] = {}

    def header(self, role: str, sub: str) -> dict[str, str]:
        key = (role, sub)
        if key not in self._cache:
            token = self.codec.encode(sub=sub, role=role, ttl=timedelta(hours=2))
            self._cache[key] = {"Authorization": f"Bearer {token}"}
        return self._cache[key]


def make_orders(count: int, sellers: int, run: str | None = None) -> list[Order]:
    run = run or uuid.uuid4().hex[:8]
    return [
        Order(f"bench-{run}-{k}", f"buyer-{run}-{k}", f"seller-{run}-{k % sellers}")
        for k in range(count)
    ]


def order_fact(order: Order) -> dict[str, Any]:
    placed = datetime.now(UTC) - timedelta(days=6)
    return {
        "type": "order_placed",
        "order_id": order.order_id,
        "buyer_id": order.buyer,
        "seller_id": order.seller,
        "currency": "USD",
        "placed_at": placed.isoformat(),
        "marketplace": "US",
        "items": [
            {
                "item_id": "i1",
                "title": "card",
                "category": "trading_cards",
                "consumable": False,
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }


OPEN_BODY = {"item_ids": ["i1"], "reason": "defective", "description": "does not power on"}


@dataclass(frozen=True)
class Answer:
    status_code: int
    content: bytes

    def json(self) -> Any:
        return json.loads(self.content)

    @property
    def text(self) -> str:
        return self.content.decode(errors="replace")


class Http:
    """Keep-alive HTTP to one base URL, at most `connections` at a time; answers read whole."""

    def __init__(self, base_url: str, connections: int) -> None:
        # uvicorn closes a connection idle for 5 s: never reuse one idle for 4 s, so a request
        # does not race the server's close.
        connector = aiohttp.TCPConnector(limit=connections, keepalive_timeout=4.0)
        self._session = aiohttp.ClientSession(
            base_url, connector=connector, timeout=aiohttp.ClientTimeout(total=60)
        )

    async def __aenter__(self) -> Http:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self._session.close()

    async def get(
        self, path: str, params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> Answer:
        async with self._session.get(path, params=params, headers=headers) as response:
            return Answer(response.status, await response.read())

    async def post(
        self, path: str, json: Any = None, headers: dict[str, str] | None = None
    ) -> Answer:
        async with self._session.post(path, json=json, headers=headers) as response:
            return Answer(response.status, await response.read())


def client(base_url: str, concurrency: int) -> Http:
    return Http(base_url, concurrency + 4)


async def _bounded(concurrency: int, jobs: list[Any], work: Any) -> list[Any]:
    queue: asyncio.Queue[tuple[int, Any]] = asyncio.Queue()
    for item in enumerate(jobs):
        queue.put_nowait(item)
    results: list[Any] = [None] * len(jobs)

    async def worker() -> None:
        while True:
            try:
                index, job = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            results[index] = await work(job)

    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return results


async def seed_orders(
    http: Http, tokens: Tokens, orders: list[Order], concurrency: int = 4
) -> None:
    platform = tokens.header("platform", "order-service")

    async def place(order: Order) -> None:
        response = await http.post("/v1/upstream/events", json=order_fact(order), headers=platform)
        if response.status_code not in (200, 202):
            raise RuntimeError(f"order_placed answered {response.status_code}: {response.text}")

    await _bounded(concurrency, orders, place)


async def open_requests(
    http: Http, tokens: Tokens, orders: list[Order], concurrency: int = 4
) -> list[str]:
    async def open_one(order: Order) -> str:
        response = await http.post(
            "/v1/support-requests",
            json={"order_id": order.order_id, **OPEN_BODY, "photos": []},
            headers=tokens.header("buyer", order.buyer),
        )
        if response.status_code != 201:
            raise RuntimeError(f"open answered {response.status_code}: {response.text}")
        return response.json()["id"]

    return await _bounded(concurrency, orders, open_one)


async def command_throughput(
    base_url: str, orders: list[Order], concurrency: int, tokens: Tokens | None = None
) -> dict[str, Any]:
    """Closed loop: open + respond per order, `concurrency` clients. Orders are seeded first
    (untimed)."""
    tokens = tokens or Tokens()
    latencies: list[float] = []
    failures: dict[str, int] = {}
    async with client(base_url, concurrency) as http:
        await seed_orders(http, tokens, orders)
        for order in orders:  # mint outside the timed part
            tokens.header("buyer", order.buyer)
            tokens.header("seller", order.seller)

        async def walk(order: Order) -> int:
            done = 0
            started = time.perf_counter()
            opened = await http.post(
                "/v1/support-requests",
                json={"order_id": order.order_id, **OPEN_BODY, "photos": []},
                headers={**tokens.header("buyer", order.buyer), "Idempotency-Key": order.order_id},
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if opened.status_code != 201:
                failures[str(opened.status_code)] = failures.get(str(opened.status_code), 0) + 1
                return done
            done += 1
            started = time.perf_counter()
            answered = await http.post(
                f"/v1/support-requests/{opened.json()['id']}/responses",
                json={"type": "partial_refund", "amount": 900},
                headers=tokens.header("seller", order.seller),
            )
            latencies.append((time.perf_counter() - started) * 1000)
            if answered.status_code != 200:
                failures[str(answered.status_code)] = failures.get(str(answered.status_code), 0) + 1
                return done
            return done + 1

        started = time.perf_counter()
        done = await _bounded(concurrency, orders, walk)
        elapsed = time.perf_counter() - started
    commands = sum(done)
    return {
        "concurrency": concurrency,
        "orders": len(orders),
        "commands": commands,
        "failures": failures,
        "seconds": round(elapsed, 2),
        "commands_per_s": round(commands / elapsed, 1),
        "latency_ms": percentiles(latencies),
    }


def run_throughput(base_url: str, count: int, concurrency: int, sellers: int = 20) -> dict:
    return asyncio.run(command_throughput(base_url, make_orders(count, sellers), concurrency))
