"""End-to-end latency in distributed mode: command accepted -> ledger entry visible through the
ledger API (used by bench/run.py).

Set-up (untimed): orders seeded and one request opened per order over the requests API. Then, at
the offered rate (open loop: command k is sent at t0 + k/rate whatever happened before), each
seller answers its request with a full refund (`POST .../responses`), which R30 charges at once
(`refund_no_return`). A poller reads `GET /v1/sellers/{seller}/ledger?since=…` of every seller that
still has a pending request (support token, 2 pollers in round robin, each at most one poll per
`POLL_INTERVAL_S`) and stamps an entry the first time it sees it. Latency = the command's send time
-> first seen (it includes the command itself); `accepted_to_visible` = the 2xx answer -> first
seen. The measurement's resolution is the time between two polls of one seller, reported as
`poll_gap_ms`: with the default 2 sellers each lane polls one seller every 20 ms (plus the poll's
own time); with more sellers a lane polls its sellers in turn and the gap grows with them.

HTTP goes through `bench.http_load.client` (aiohttp: httpx cost more CPU than the pollers' reads).

The path measured: requests API (PostgreSQL) -> outbox relay (notification log, Kafka) -> the ledger
process's consumer -> ledger database -> ledger API.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.baselines import percentiles
from bench.http_load import (
    Http,
    Order,
    Tokens,
    client,
    make_orders,
    open_requests,
    seed_orders,
)

# Per poller lane (two lanes): at most 100 ledger reads/s in all. A seller is read again after one
# interval per seller of its lane: that gap (up to it, half on average) adds to a measured latency,
# and is written down with the results (`poll_gap_ms`).
POLL_INTERVAL_S = 0.02
# An entry's `at` is the command's time on the server (the same machine's clock), never before its
# send time: a poll asks from the oldest pending send minus this margin. A wider margin made every
# poll return (and the ledger serialise) entries already seen: ~0.5 s of them was most of a poll's
# cost, and the polls cost more CPU than the commands they observe.
SINCE_MARGIN = timedelta(milliseconds=50)


async def _latency(
    requests_url: str, ledger_url: str, rate: float, count: int, sellers: int, tokens: Tokens
) -> dict[str, Any]:
    orders = make_orders(count, sellers)
    async with client(requests_url, 8) as http:
        await seed_orders(http, tokens, orders)
        ids = await open_requests(http, tokens, orders)
    for order in orders:
        tokens.header("seller", order.seller)
    support = tokens.header("support", "bench-poller")

    sent: dict[str, float] = {}
    sent_wall: dict[str, datetime] = {}
    accepted: dict[str, float] = {}
    seen: dict[str, float] = {}
    since: dict[str, datetime] = {}  # per seller: the earliest send time still pending
    pending: dict[str, set[str]] = {o.seller: set() for o in orders}
    failures: dict[str, int] = {}
    finished = asyncio.Event()
    polls = 0
    last_poll: dict[str, float] = {}
    poll_gaps: list[float] = []  # ms between two polls of one seller while it had a request pending

    async def command(http: Http, order: Order, rid: str) -> None:
        wall = datetime.now(UTC)
        started = time.perf_counter()
        sent[rid] = started
        sent_wall[rid] = wall
        pending[order.seller].add(rid)
        since.setdefault(order.seller, wall - SINCE_MARGIN)
        response = await http.post(
            f"/v1/support-requests/{rid}/responses",
            json={"type": "full_refund"},
            headers=tokens.header("seller", order.seller),
        )
        if response.status_code != 200:
            failures[str(response.status_code)] = failures.get(str(response.status_code), 0) + 1
            pending[order.seller].discard(rid)
            sent.pop(rid, None)
            return
        accepted[rid] = time.perf_counter()

    async def poll_seller(http: Http, seller: str) -> None:
        nonlocal polls
        polls += 1
        started = time.perf_counter()
        if seller in last_poll:
            poll_gaps.append((started - last_poll[seller]) * 1000)
        last_poll[seller] = started
        response = await http.get(
            f"/v1/sellers/{seller}/ledger",
            params={"since": since[seller].isoformat(), "limit": 500},
            headers=support,
        )
        now = time.perf_counter()
        if response.status_code != 200:
            return
        for entry in response.json()["entries"]:
            rid = entry.get("request_id")
            if rid in pending[seller]:
                seen[rid] = now
                pending[seller].discard(rid)
        if pending[seller]:
            oldest = min(sent_wall[r] for r in pending[seller])
            since[seller] = oldest - SINCE_MARGIN
        else:
            since.pop(seller, None)
            last_poll.pop(seller, None)  # idle until its next command: not a gap

    async def poller(http: Http, lane: int) -> None:
        turn = 0
        while not finished.is_set():
            waiting = sorted(s for s, p in pending.items() if p and s in since)
            mine = [s for k, s in enumerate(waiting) if k % 2 == lane]
            if not mine:
                await asyncio.sleep(0.002)
                continue
            started = time.perf_counter()
            await poll_seller(http, mine[turn % len(mine)])
            turn += 1
            # Paced: back-to-back polls would spend a core of this 2-core machine on observing.
            await asyncio.sleep(max(0.0, POLL_INTERVAL_S - (time.perf_counter() - started)))

    async with client(requests_url, 32) as commands, client(ledger_url, 4) as ledger:
        pollers = [asyncio.create_task(poller(ledger, lane)) for lane in (0, 1)]
        interval = 1.0 / rate
        begin = time.perf_counter()
        tasks = []
        for k, (order, rid) in enumerate(zip(orders, ids, strict=True)):
            pause = begin + k * interval - time.perf_counter()
            if pause > 0:
                await asyncio.sleep(pause)
            tasks.append(asyncio.create_task(command(commands, order, rid)))
        await asyncio.gather(*tasks)
        offered_s = time.perf_counter() - begin
        deadline = time.monotonic() + 60
        while any(pending.values()) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)
        finished.set()
        await asyncio.gather(*pollers)

    send_to_seen = [(seen[r] - sent[r]) * 1000 for r in sent if r in seen]
    accepted_to_seen = [(seen[r] - accepted[r]) * 1000 for r in accepted if r in seen]
    command_ms = [(accepted[r] - sent[r]) * 1000 for r in accepted]
    return {
        "offered_rate_per_s": rate,
        "achieved_rate_per_s": round(len(sent) / offered_s, 1),
        "commands": count,
        "visible": len(send_to_seen),
        "failures": failures,
        "sellers": sellers,
        "ledger_polls": polls,
        "poll_interval_ms": POLL_INTERVAL_S * 1000,
        "poll_gap_ms": percentiles(poll_gaps),
        "latency_ms": percentiles(send_to_seen),
        "accepted_to_visible_ms": percentiles(accepted_to_seen),
        "command_ms": percentiles(command_ms),
    }


def measure(
    requests_url: str, ledger_url: str, rate: float, count: int, sellers: int = 2
) -> dict[str, Any]:
    return asyncio.run(_latency(requests_url, ledger_url, rate, count, sellers, Tokens()))
