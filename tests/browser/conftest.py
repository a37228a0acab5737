"""Browser tests: Playwright for Python driving Debian's chromium (never `playwright install`)
against a real `seller-support serve` on a free port with its own data folder.

The tests seed orders as the platform and move the clock as the admin through the public API, act
as people through the web app, and check through the API that the state is what the page said.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import uuid4

import httpx
import pytest
from playwright import sync_api as playwright_api

from shared.auth import TokenCodec

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / ".venv" / "bin" / "seller-support"
CHROMIUM = os.environ.get("SUPPORT_TEST_CHROMIUM", "/usr/bin/chromium")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_server(
    tmp: Path, extra_env: dict[str, str] | None = None
) -> tuple[subprocess.Popen[bytes], str, Path]:
    port = free_port()
    env = {**os.environ, "SUPPORT_PORT": str(port), "SUPPORT_DATA_DIR": str(tmp / "var")}
    for name in (
        "SUPPORT_DATABASE_URL",
        "SUPPORT_PRODUCTION",
        "SUPPORT_JWT_SECRET",
        "SUPPORT_WEBAPP_API_URL",
    ):
        env.pop(name, None)
    # The notifications stream polls every second by default; the live test wants it snappy.
    env.setdefault("SUPPORT_NOTIFICATIONS_STREAM_POLL_SECONDS", "0.2")
    env.update(extra_env or {})
    log = tmp / "server.log"
    process = subprocess.Popen(
        [str(SERVER), "serve"], cwd=REPO, env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    return process, base, log
            if process.poll() is not None:
                raise RuntimeError(f"server exited: {log.read_text()}")
            time.sleep(0.1)
        raise RuntimeError(f"server did not become ready: {log.read_text()}")
    except BaseException:  # not ready, or interrupted: nothing left running (issue 24)
        stop(process)
        raise


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


class Api:
    """The test's own API client (platform, admin and each person's token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.http = httpx.Client(base_url=base, timeout=30)
        self.codec = TokenCodec()

    def auth(self, role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.codec.encode(sub=sub, role=role)}"}

    def call(self, role: str, sub: str, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, path, json=body, headers=self.auth(role, sub))
        assert response.status_code < 400, (
            f"{method} {path}: {response.status_code} {response.text}"
        )
        return response.json() if response.content else None

    def now(self) -> str:
        return self.call("admin", "ops", "GET", "/v1/admin/clock")["now"]

    def advance(self, duration: str) -> None:
        self.call("admin", "ops", "POST", "/v1/admin/clock", {"advance": duration})

    def fact(self, fact: dict[str, Any]) -> None:
        self.call("platform", "orders", "POST", "/v1/upstream/events", fact)

    def order(self, buyer: str, seller: str, *, price: int = 2500, delivered: bool = True) -> str:
        order_id = f"o-{uuid4().hex[:8]}"
        now = self.now()
        self.fact(
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
                        "item_id": "i1",
                        "title": "Holo trading card",
                        "category": "trading_cards",
                        "consumable": False,
                        "price": price,
                        "seller_payout": price - 300,
                        "buyer_shipping_paid": 500,
                        "processing_fee": 103,
                    }
                ],
            }
        )
        self.fact(
            {
                "type": "order_shipped",
                "order_id": order_id,
                "carrier": "USPS",
                "service": "ground_advantage",
                "tracking_number": f"9400-{order_id}",
                "shipped_at": now,
                "insured_value": 5000,
                "extra_protection": False,
            }
        )
        if delivered:
            self.fact({"type": "order_delivered", "order_id": order_id, "delivered_at": now})
        return order_id

    def open(self, buyer: str, order_id: str, reason: str = "defective") -> dict[str, Any]:
        return self.call(
            "buyer",
            buyer,
            "POST",
            "/v1/support-requests",
            {
                "order_id": order_id,
                "item_ids": ["i1"],
                "reason": reason,
                "description": "The card arrived creased.",
                "photos": ["https://photos.example/crease.jpg"],
            },
        )

    def conversation(self, role: str, user: str, request_id: str, archived: bool = False) -> Any:
        """The user's inbox row of a request, once the notifications projection has it."""
        for _ in range(100):
            rows = self.call(
                role, user, "GET", f"/v1/inbox?tab=all&archived={str(archived).lower()}"
            )
            found = [r for r in rows if r["request_id"] == request_id]
            if found:
                return found[0]
            time.sleep(0.1)
        raise AssertionError(f"{request_id} never reached {user}'s inbox")

    def wait_for_listed(self, role: str, user: str, count: int, **filters: str) -> None:
        """Until the request list (the search projection) has caught up."""
        query = "&".join(f"{k}={v}" for k, v in filters.items())
        for _ in range(100):
            page = self.call(role, user, "GET", f"/v1/support-requests?limit=100&{query}")
            if len(page["items"]) == count:
                return
            time.sleep(0.1)
        raise AssertionError(f"{user}'s list never had {count} requests ({filters})")

    def wait_for_queue(self, request_ids: list[str], assigned_to: str | None = None) -> None:
        for _ in range(100):
            queue = self.call("support", "agent-1", "GET", "/v1/support/queue?limit=100")
            present = {i["id"] for i in queue["items"] if assigned_to in (None, i["assigned_to"])}
            if set(request_ids) <= present:
                return
            time.sleep(0.1)
        raise AssertionError(f"{request_ids} never reached the support queue")

    def state(self, request_id: str) -> dict[str, Any]:
        return self.call("support", "agent-1", "GET", f"/v1/support-requests/{request_id}")


@pytest.fixture(scope="package")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base, _ = start_server(tmp_path_factory.mktemp("browser"))
    try:
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="package")
def api(server: str) -> Api:
    return Api(server)


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    with playwright_api.sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 900})
    ctx.set_default_timeout(15_000)
    try:
        yield ctx
    finally:
        ctx.close()


@pytest.fixture
def page(context: Any) -> Any:
    return context.new_page()


def sign_in(page: Any, base: str, role: str, user_id: str) -> None:
    page.goto(f"{base}/app/")
    page.get_by_label("Role").select_option(role)
    page.get_by_label("User id").fill(user_id)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state("networkidle")


def new_user(prefix: str) -> str:
    return f"{prefix}-{uuid4().hex[:6]}"
