"""The inbox and the feed through HTTP, on the embedded app (services/embedded.py) with the
notifications application on `app.state.notifications` (R50, R51, R54, privacy)."""

# ruff: noqa: F811 - pytest fixtures imported from the harness are redefined as parameters

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from services.embedded import create_embedded_app
from services.notifications.application import NotificationsApplication
from services.notifications.main import build_engine
from services.notifications.smtp_server import free_port
from services.requests.application import Actor
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from tests.factories import item_fact, order_placed, unique
from tests.integration.notifications_harness import (
    SmtpServer,
    notifications_url,  # noqa: F401 - a fixture
    pump,
    settings_for,
    smtp_server,  # noqa: F401 - a fixture
)
from tests.waiting import wait_for


class System:
    def __init__(
        self, client: TestClient | None, app: Any, notifications: NotificationsApplication
    ):
        self.client = client
        self.app = app
        self.notifications = notifications

    @property
    def requests(self) -> Any:
        return self.app.state.requests

    def headers(self, role: str, sub: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.app.state.token_codec.encode(sub=sub, role=role)}"}

    def call(self, role: str, sub: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        assert self.client is not None
        response = self.client.request(method, path, headers=self.headers(role, sub), **kwargs)
        pump(self.requests, self.notifications)
        return response

    def open(self, buyer: str, seller: str) -> str:
        order = order_placed(buyer_id=buyer, seller_id=seller, items=[item_fact()])
        self.requests.record_order_placed(order)
        response = self.call(
            "buyer",
            buyer,
            "POST",
            "/v1/support-requests",
            json={
                "order_id": order.order_id,
                "item_ids": [order.items[0].item_id],
                "reason": "defective",
                "description": "Broken.",
                "photos": [],
            },
        )
        assert response.status_code == 201, response.text
        return response.json()["id"]

    def inbox(self, user: str, role: str = "seller", **params: Any) -> list[dict[str, Any]]:
        response = self.call(role, user, "GET", "/v1/inbox", params=params)
        assert response.status_code == 200, response.text
        return response.json()


def _app(database_url: str, tmp_path: Path, clock: AdjustableClock) -> Any:
    return create_embedded_app(Settings(data_dir=tmp_path, database_url=database_url), clock)


@pytest.fixture
def system(
    database_url: str,
    notifications_url: str,
    smtp_server: SmtpServer,
    tmp_path: Path,
    clock: AdjustableClock,
) -> Iterator[System]:
    settings = settings_for(notifications_url, smtp_server)
    notifications = NotificationsApplication(build_engine(settings), settings)
    app = _app(database_url, tmp_path, clock)
    with TestClient(app) as client:
        app.state.notifications = notifications  # what the embedded composition will do
        yield System(client, app, notifications)
    notifications.close()


def test_r51_an_archived_conversation_returns_to_the_inbox_when_a_message_is_posted(
    system: System,
):
    buyer, seller = unique("buyer"), unique("seller")
    rid = system.open(buyer, seller)
    assert [(c["request_id"], c["unread"]) for c in system.inbox(seller)] == [(rid, True)]

    archived = system.call("seller", seller, "POST", f"/v1/inbox/{rid}/archive")
    assert archived.json() == {"request_id": rid, "unread": True, "archived": True}
    assert system.inbox(seller) == []
    assert [c["request_id"] for c in system.inbox(seller, archived="true")] == [rid]

    # A step without a message keeps it archived ...
    system.call("seller", seller, "POST", f"/v1/inbox/{rid}/read")
    system.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{rid}/responses",
        json={"type": "request_info", "message": "Which part is broken?"},
    )
    assert system.inbox(seller) != []  # ... an information request is a message: back it comes
    system.call("seller", seller, "POST", f"/v1/inbox/{rid}/archive")
    assert system.inbox(seller) == []

    posted = system.call(
        "buyer",
        buyer,
        "POST",
        f"/v1/support-requests/{rid}/messages",
        json={"body": "The hinge.", "attachments": []},
    )
    assert posted.status_code == 200, posted.text
    (back,) = system.inbox(seller)
    assert (back["request_id"], back["archived"], back["unread"]) == (rid, False, True)
    assert back["last_message_at"] is not None


def test_r51_a_conversation_can_be_marked_unread_and_read(system: System):
    buyer, seller = unique("buyer"), unique("seller")
    rid = system.open(buyer, seller)
    (mine,) = system.inbox(buyer, role="buyer")
    assert mine["unread"] is False  # the buyer opened it
    marked = system.call("buyer", buyer, "POST", f"/v1/inbox/{rid}/unread")
    assert marked.json() == {"request_id": rid, "unread": True, "archived": False}
    assert system.inbox(buyer, role="buyer")[0]["unread"] is True
    system.call("buyer", buyer, "POST", f"/v1/inbox/{rid}/read")
    assert system.inbox(buyer, role="buyer")[0]["unread"] is False


def test_r50_customer_service_tab_has_my_sales_all_messages_has_everything_paged(
    system: System, clock: AdjustableClock
):
    me, other_buyer, other_seller = unique("user"), unique("buyer"), unique("seller")
    sale = system.open(other_buyer, me)  # I am the seller
    clock.advance(timedelta(minutes=1))
    purchase = system.open(me, other_seller)  # I am the buyer
    assert [c["request_id"] for c in system.inbox(me, tab="customer_service")] == [sale]
    assert [c["request_id"] for c in system.inbox(me, tab="all")] == [purchase, sale]
    assert system.inbox(me, role="buyer", tab="all") == system.inbox(me, tab="all")

    first = system.call("seller", me, "GET", "/v1/inbox", params={"tab": "all", "limit": 1})
    assert len(first.json()) == 1 and "X-Next-Cursor" in first.headers
    assert 'rel="next"' in first.headers["Link"]
    second = system.call(
        "seller",
        me,
        "GET",
        "/v1/inbox",
        params={"tab": "all", "limit": 1, "cursor": first.headers["X-Next-Cursor"]},
    )
    assert len(second.json()) == 1 and "X-Next-Cursor" not in second.headers
    assert {first.json()[0]["request_id"], second.json()[0]["request_id"]} == {sale, purchase}
    bad = system.call("seller", me, "GET", "/v1/inbox", params={"cursor": "nonsense!"})
    assert bad.status_code == 422


def test_r50_the_inbox_is_ordered_by_last_activity(system: System, clock: AdjustableClock):
    me, b1, b2 = unique("seller"), unique("buyer"), unique("buyer")
    first = system.open(b1, me)
    clock.advance(timedelta(minutes=5))
    second = system.open(b2, me)
    assert [c["request_id"] for c in system.inbox(me)] == [second, first]
    clock.advance(timedelta(minutes=5))
    system.call(
        "buyer",
        b1,
        "POST",
        f"/v1/support-requests/{first}/messages",
        json={"body": "Hello?", "attachments": []},
    )
    assert [c["request_id"] for c in system.inbox(me)] == [first, second]


def test_nobody_reads_another_users_feed_inbox_or_settings(system: System):
    buyer, seller, stranger = unique("buyer"), unique("seller"), unique("seller")
    rid = system.open(buyer, seller)
    own = system.call("seller", seller, "GET", f"/v1/users/{seller}/notifications")
    assert own.status_code == 200 and {n["kind"] for n in own.json()} == {"opened"}

    for role in ("seller", "buyer", "support", "auditor", "admin"):
        theirs = system.call(role, stranger, "GET", f"/v1/users/{seller}/notifications")
        assert theirs.status_code == 404, role
    assert (
        system.call("buyer", buyer, "GET", f"/v1/users/{seller}/notifications").status_code == 404
    )
    assert system.inbox(stranger) == []
    for action in ("unread", "read", "archive", "unarchive"):
        response = system.call("seller", stranger, "POST", f"/v1/inbox/{rid}/{action}")
        assert response.status_code == 404, action
    assert system.call("support", "agent-1", "GET", "/v1/inbox").status_code == 403
    assert system.call("seller", stranger, "GET", f"/v1/users/{seller}/settings").status_code == 404
    stream = system.call("seller", stranger, "GET", f"/v1/users/{seller}/notifications/stream")
    assert stream.status_code == 404
    assert system.client is not None
    assert system.client.get(f"/v1/users/{seller}/notifications").status_code == 401


def test_r54_a_user_switches_to_dutch_and_later_notifications_are_dutch(system: System):
    buyer, seller = unique("buyer"), unique("seller")
    put = system.call(
        "seller", seller, "PUT", f"/v1/users/{seller}/settings", json={"locale": "nl"}
    )
    assert put.json() == {"user_id": seller, "locale": "nl", "email": None}
    bad = system.call(
        "seller", seller, "PUT", f"/v1/users/{seller}/settings", json={"locale": "fr"}
    )
    assert bad.status_code == 422
    system.open(buyer, seller)
    (note,) = system.call(
        "seller", seller, "GET", f"/v1/users/{seller}/notifications", params={"channel": "in_app"}
    ).json()
    assert note["subject"].startswith("Nieuwe supportaanvraag") and note["locale"] == "nl"
    read = system.call(
        "seller", seller, "POST", f"/v1/users/{seller}/notifications/{note['id']}/read"
    )
    assert read.status_code == 204


def test_live_stream_sends_the_callers_new_notifications(
    database_url: str,
    notifications_url: str,
    smtp_server: SmtpServer,
    tmp_path: Path,
    clock: AdjustableClock,
):
    """Server-sent events over a real HTTP server (uvicorn), read as they arrive."""
    settings = settings_for(notifications_url, smtp_server)
    notifications = NotificationsApplication(build_engine(settings), settings)
    app = _app(database_url, tmp_path, clock)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: server.started, 30, "uvicorn to start serving the event stream")
        app.state.notifications = notifications
        system = System(None, app, notifications)
        buyer, seller = unique("buyer"), unique("seller")
        received: list[str] = []
        connected = threading.Event()

        def listen() -> None:
            url = f"http://127.0.0.1:{port}/v1/users/{seller}/notifications/stream"
            with httpx.stream(
                "GET", url, headers=system.headers("seller", seller), timeout=10
            ) as r:
                assert r.headers["content-type"].startswith("text/event-stream")
                for line in r.iter_lines():
                    connected.set()
                    received.append(line)
                    if line.startswith("data:"):
                        return

        listener = threading.Thread(target=listen, daemon=True)
        listener.start()
        assert connected.wait(timeout=10)  # the stream is open and positioned
        order = order_placed(buyer_id=buyer, seller_id=seller, items=[item_fact()])
        system.requests.record_order_placed(order)
        system.requests.open_request(
            Actor("buyer", buyer),
            order_id=order.order_id,
            item_ids=[order.items[0].item_id],
            reason="defective",
            description="Broken.",
            photos=[],
        )
        pump(system.requests, notifications)
        listener.join(timeout=10)
        assert any(line == "event: notification" for line in received)
        data = next(line for line in received if line.startswith("data:"))
        assert '"kind":"opened"' in data and '"channel":"in_app"' in data
        assert any(line.startswith("id: ") for line in received)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        notifications.close()
