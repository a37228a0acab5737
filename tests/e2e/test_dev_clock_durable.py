"""Issue 18, class 6: the dev clock survives restarts of the real `seller-support serve`.

Given a server whose clock was moved 30 days ahead and a request opened at the moved time, when the
process is killed (kill -9: nothing saved at shutdown) and started again, and then stopped politely
and started once more, then the clock resumes at the moved time every time and the request's history
times never go backwards.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.auth import TokenCodec
from tests.integration.real_processes import Server, serve

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _headers(role: str, sub: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TokenCodec().encode(sub=sub, role=role)}"}


def _clock(server: Server) -> datetime:
    response = httpx.get(f"{server.base}/v1/admin/clock", headers=_headers("admin", "ops"))
    assert response.status_code == 200, response.text
    return datetime.fromisoformat(response.json()["now"])


def _order(tag: str) -> dict[str, object]:
    return {
        "type": "order_placed",
        "order_id": f"o-{tag}",
        "buyer_id": f"b-{tag}",
        "seller_id": f"s-{tag}",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "items": [
            {
                "item_id": f"i{n}",
                "title": "card",
                "category": "cards",
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
            for n in (1, 2, 3)
        ],
    }


def _open(server: Server, tag: str, item: str) -> dict[str, object]:
    body = {"order_id": f"o-{tag}", "item_ids": [item], "reason": "defective", "description": "x"}
    response = httpx.post(
        f"{server.base}/v1/support-requests", json=body, headers=_headers("buyer", f"b-{tag}")
    )
    assert response.status_code == 201, response.text
    return response.json()


def _history_times(server: Server, request_id: object) -> list[datetime]:
    """The request's event times in the order the events happened (by version)."""
    history = httpx.get(
        f"{server.base}/v1/support-requests/{request_id}/history",
        headers=_headers("support", "agent"),
    ).json()
    return [datetime.fromisoformat(e["at"]) for e in sorted(history, key=lambda e: e["version"])]


def test_class6_dev_clock_resumes_after_kill_and_restart_and_never_goes_back(
    tmp_path: Path,
) -> None:
    server = serve(tmp_path).start()
    tag = uuid.uuid4().hex[:8]
    try:
        real_start = _clock(server)
        moved = httpx.post(
            f"{server.base}/v1/admin/clock",
            json={"advance": "P30D"},
            headers=_headers("admin", "ops"),
        )
        assert moved.status_code == 200, moved.text
        moved_to = datetime.fromisoformat(moved.json()["now"])
        assert moved_to >= real_start + timedelta(days=30)
        platform = _headers("platform", "orders")
        placed = httpx.post(f"{server.base}/v1/upstream/events", json=_order(tag), headers=platform)
        assert placed.status_code == 202
        first = _open(server, tag, "i1")
        assert datetime.fromisoformat(str(first["opened_at"])) >= moved_to
        # when the process dies without any shutdown code running
        server.kill()
        server.start()
        # then the clock is where it was moved, not back at real time
        after_kill = _clock(server)
        assert after_kill >= moved_to, (after_kill, moved_to)
        second = _open(server, tag, "i2")
        assert datetime.fromisoformat(str(second["opened_at"])) >= moved_to
        # and again after a polite stop
        last_seen = _clock(server)
        server.stop()
        server.start()
        assert _clock(server) >= last_seen
        third = _open(server, tag, "i3")
        opened = [datetime.fromisoformat(str(r["opened_at"])) for r in (first, second, third)]
        assert opened == sorted(opened) and opened[0] >= moved_to
        for request in (first, second, third):
            times = _history_times(server, request["id"])
            assert times and times == sorted(times) and times[0] >= moved_to
        assert server.starts == 3
    finally:
        server.stop()
