"""Distributed mode's one origin in a browser (issue 20): real nginx with the gateway's routes in
front, the web app as its own process (`python -m services.webapp.main`) calling the API through
the gateway, and the API behind it (one `seller-support serve` stands in for every service here, so
the test needs no broker). A seller answers through http://gateway/app/ and the API, read through the
same gateway, shows the answer."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO, Api, free_port, new_user, sign_in, start_server, stop
from tests.integration.test_gateway import start_gateway, stop_gateway


@pytest.fixture(scope="module")
def origin(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    tmp = tmp_path_factory.mktemp("origin")
    # Each process is stopped even when a later step of this setup fails (no nginx, say).
    with contextlib.ExitStack() as started:
        api_process, api_base, _ = start_server(tmp)
        started.callback(stop, api_process)
        api_address = api_base.removeprefix("http://")
        gateway_port, webapp_port = free_port(), free_port()
        log = started.enter_context((tmp / "webapp.log").open("wb"))
        webapp = subprocess.Popen(
            [sys.executable, "-m", "services.webapp.main"],
            cwd=REPO,
            env={
                **os.environ,
                "SUPPORT_WEBAPP_PORT": str(webapp_port),
                "SUPPORT_WEBAPP_API_URL": f"http://127.0.0.1:{gateway_port}",
            },
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        started.callback(stop, webapp)
        upstreams = {
            n: api_address for n in ("requests", "ledger", "ratings", "notifications", "search")
        }
        upstreams["webapp"] = f"127.0.0.1:{webapp_port}"
        (tmp / "gw").mkdir()
        gateway, base = start_gateway(tmp / "gw", upstreams, gateway_port)
        started.callback(stop_gateway, gateway)
        for _ in range(100):
            with contextlib.suppress(httpx.TransportError):  # not listening yet
                url = f"http://127.0.0.1:{webapp_port}/healthz"
                if httpx.get(url, timeout=1).status_code == 200:
                    break
            time.sleep(0.1)
        yield base


def test_seller_answers_through_the_gateway_on_one_origin(page: Any, origin: str) -> None:
    api = Api(origin)  # the test's own API calls go through the gateway too
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    request_id = api.open(buyer, order_id)["id"]
    api.wait_for_listed("seller", seller, waiting_on="seller", count=1)  # GET list -> search
    sign_in(page, origin, "seller", seller)
    expect(page.locator("#waiting-count")).to_contain_text("1 waiting on you")
    page.get_by_role("link", name=f"Order {order_id}").click()
    form = page.get_by_role("form", name="Partial refund", exact=True)
    form.get_by_label("Amount").fill("12.50")
    form.get_by_role("button", name="Partial refund").click()
    page.get_by_role("button", name="Confirm", exact=True).click()  # money moves confirm first
    expect(page.locator("#status-words")).to_contain_text("An offer waits for the buyer's answer")
    assert page.url.startswith(origin + "/app/requests/")
    state = api.state(request_id)
    assert (state["status"], state["offer"]) == (
        "offer_pending",
        {"amount": 1250, "state": "pending"},
    )


def test_a_photo_over_two_megabytes_passes_the_gateway_r5(origin: str) -> None:
    """The gateway's default body limit (2 MB) would refuse a phone's photo; `/v1/attachments`
    takes the API's own limit (issue 21)."""
    import io
    import random

    from PIL import Image

    # Given a 1200x1000 photo of noise, which no codec shrinks below 2 MB
    noise = random.Random(21).randbytes(1200 * 1000 * 3)
    out = io.BytesIO()
    Image.frombytes("RGB", (1200, 1000), noise).save(out, "PNG")
    assert out.tell() > 2 * 1024 * 1024
    # When a buyer uploads it through the gateway
    api = Api(origin)
    answer = httpx.post(
        f"{origin}/v1/attachments",
        headers=api.auth("buyer", new_user("buyer")),
        files={"file": ("photo.png", out.getvalue(), "image/png")},
        timeout=60,
    )
    # Then the requests service stored it
    assert answer.status_code == 201, answer.text
    assert answer.json()["media_type"] == "image/png"
