"""The web app's page times (issue 20), beside a static file served by the same server in the run.

Against an embedded `seller-support serve` (SQLite, its own data folder): one seller with
`conversations` requests in the inbox, and one request with `timeline` history entries (opened +
messages). Debian's chromium (Playwright) loads each page `loads` times in one signed-in browser
context; the Navigation Timing entry of each load gives the time to first byte (`responseStart`)
and the full load (`loadEventEnd`, the page's CSS and scripts included). The baseline is the web
app's own static CSS file loaded the same way by the same server. p50 / p95 in ms.

Run alone: `.venv/bin/python -m bench.webapp [--quick]`; `bench/run.py` runs it as `webapp`.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx

REPO = Path(__file__).resolve().parents[1]
CHROMIUM = os.environ.get("SUPPORT_TEST_CHROMIUM", "/usr/bin/chromium")


def _quantiles(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {"p50": round(statistics.median(ordered), 1), "p95": round(p95, 1), "n": len(ordered)}


class Seeder:
    def __init__(self, base: str) -> None:
        from shared.auth import TokenCodec

        self.http = httpx.Client(base_url=base, timeout=60)
        self.codec = TokenCodec()
        self.orders: list[str] = []

    def call(self, role: str, sub: str, path: str, body: Any) -> Any:
        token = self.codec.encode(sub=sub, role=role)
        response = self.http.post(path, json=body, headers={"Authorization": f"Bearer {token}"})
        response.raise_for_status()
        return response.json()

    def request(self, buyer: str, seller: str) -> str:
        order_id = f"bench-{uuid4().hex[:10]}"
        self.orders.append(order_id)
        self.call(
            "platform",
            "orders",
            "/v1/upstream/events",
            {
                "type": "order_placed",
                "order_id": order_id,
                "buyer_id": buyer,
                "seller_id": seller,
                "currency": "USD",
                "placed_at": "2026-01-05T10:00:00-05:00",
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
            },
        )
        opened = self.call(
            "buyer",
            buyer,
            "/v1/support-requests",
            {"order_id": order_id, "item_ids": ["i1"], "reason": "defective", "description": "x"},
        )
        return opened["id"]


def _wait_inbox(base: str, seller: str, count: int, codec: Any) -> None:
    """Until the notifications projection has every conversation (it runs behind the commands)."""
    token = codec.encode(sub=seller, role="seller")
    for _ in range(600):
        listed = httpx.get(
            f"{base}/v1/support-requests",
            params={"seller_id": seller, "limit": 1},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        inbox = httpx.get(
            f"{base}/v1/inbox",
            params={"tab": "customer_service", "limit": 100},
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        if listed.status_code == 200 and len(inbox.json()) >= min(count, 100):
            return
        time.sleep(0.2)


def _measure(page: Any, url: str, loads: int) -> dict[str, Any]:
    ttfb, full = [], []
    for _ in range(loads):
        page.goto(url, wait_until="load")
        entry = page.evaluate(
            "() => { const n = performance.getEntriesByType('navigation')[0];"
            " return [n.responseStart - n.startTime, n.loadEventEnd - n.startTime]; }"
        )
        ttfb.append(entry[0])
        full.append(entry[1])
    return {"ttfb_ms": _quantiles(ttfb), "full_load_ms": _quantiles(full)}


def run(conversations: int = 500, timeline: int = 50, loads: int = 30) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from shared.auth import TokenCodec

    folder = Path(tempfile.mkdtemp(prefix="bench-webapp-"))
    port = free_port()
    env = {**os.environ, "SUPPORT_DATA_DIR": str(folder), "SUPPORT_PORT": str(port)}
    for name in ("SUPPORT_DATABASE_URL", "SUPPORT_SMTP_URL", "SUPPORT_NOTIFICATIONS_SMTP_URL"):
        env.pop(name, None)
    log = (folder / "server.log").open("wb")
    server = subprocess.Popen(
        [str(REPO / ".venv/bin/seller-support"), "serve"],
        cwd=REPO,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        seeder = Seeder(base)
        seller, buyer = f"bench-seller-{uuid4().hex[:6]}", f"bench-buyer-{uuid4().hex[:6]}"
        started = time.perf_counter()
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = list(pool.map(lambda _: seeder.request(buyer, seller), range(conversations)))
        long_one = ids[0]
        for i in range(timeline - 1):  # opened + (timeline - 1) messages
            seeder.call(
                "buyer" if i % 2 else "seller",
                buyer if i % 2 else seller,
                f"/v1/support-requests/{long_one}/messages",
                {"body": f"message {i}"},
            )
        _wait_inbox(base, seller, conversations, TokenCodec())
        seeded_s = round(time.perf_counter() - started, 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            page = browser.new_page()
            page.goto(f"{base}/app/")
            page.get_by_label("Role").select_option("seller")
            page.get_by_label("User id").fill(seller)
            page.get_by_role("button", name="Sign in").click()
            page.wait_for_selector("#inbox-rows")
            result = {
                "conversations": conversations,
                "timeline_entries": timeline,
                "loads": loads,
                "seeded_s": seeded_s,
                "inbox": _measure(page, f"{base}/app/inbox", loads),
                "request_page": _measure(page, f"{base}/app/requests/{long_one}", loads),
                # Issue 29's pages: the money confirmation, the notifications feed, the orders
                # list and an order's page (its Get help form is the buyer's, the rest the same).
                "confirm_page": _measure(
                    page, f"{base}/app/requests/{long_one}/confirm?action=full_refund", loads
                ),
                "notifications_page": _measure(page, f"{base}/app/notifications", loads),
                "orders_page": _measure(page, f"{base}/app/orders", loads),
                "order_page": _measure(page, f"{base}/app/orders/{seeder.orders[0]}", loads),
                "static_file": _measure(page, f"{base}/app/static/app.css", loads),
            }
            browser.close()
        return result
    finally:
        server.terminate()
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(5)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def markdown_rows(section: dict[str, Any]) -> list[str]:
    static = section["static_file"]
    rows = []
    for key, label in (
        ("inbox", f"inbox page, {section['conversations']} conversations"),
        ("request_page", f"request page, {section['timeline_entries']} timeline entries"),
        ("confirm_page", "refund confirmation page"),
        ("notifications_page", "notifications page"),
        ("orders_page", "orders page"),
        ("order_page", "order page"),
    ):
        if key not in section:
            continue
        s = section[key]
        rows.append(
            f"| web app {label}: TTFB / full load ms (p50 / p95, {section['loads']} loads, "
            f"chromium) | **{s['ttfb_ms']['p50']} / {s['ttfb_ms']['p95']}** · "
            f"{s['full_load_ms']['p50']} / {s['full_load_ms']['p95']} | "
            f"{static['ttfb_ms']['p50']} / {static['ttfb_ms']['p95']} · "
            f"{static['full_load_ms']['p50']} / {static['full_load_ms']['p95']} "
            f"(static CSS, same server) | TTFB p50 x"
            f"{s['ttfb_ms']['p50'] / max(static['ttfb_ms']['p50'], 0.1):.1f} |"
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--conversations", type=int, default=500)
    parser.add_argument("--timeline", type=int, default=50)
    parser.add_argument("--loads", type=int, default=30)
    args = parser.parse_args()
    result = (
        run(conversations=30, timeline=10, loads=5)
        if args.quick
        else run(args.conversations, args.timeline, args.loads)
    )
    print(json.dumps(result, indent=2))
    print("\n".join(markdown_rows(result)))


if __name__ == "__main__":
    main()
