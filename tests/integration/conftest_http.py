"""Fixtures for the HTTP tests: the embedded app on a real database (SQLite file or PostgreSQL schema).

Use with `pytest_plugins = ["tests.integration.conftest_http"]`. One app per test module and backend
(building it is the slow part); every helper call makes unique ids, so tests never see each other's
data. The shared app's clock is frozen at Monday 2026-12-07 14:00 New York and never moves: a test
that moves time is marked `@pytest.mark.own_clock` and gets an app, database and clock of its own
(`api` then is that app's), so no other test sees its time (issue 31). `module_clocked_api` is the
same for a module-scoped world that moves time while it is built. Time moves only through the admin
endpoint, forward; `Api.move_clock` on the shared app fails, naming the marker.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.embedded import create_embedded_app
from services.requests.settings import Settings
from shared.auth import TokenCodec
from shared.clock import AdjustableClock

START = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)  # Monday 14:00 in New York


def _schema_url(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture(scope="module", params=["sqlite", "postgres"])
def http_database_url(request: pytest.FixtureRequest, tmp_path_factory) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path_factory.mktemp('http')}/events.db"
        return
    admin = request.getfixturevalue("postgres_admin_engine")
    url = request.getfixturevalue("postgres_url")
    schema = f"http_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _schema_url(url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture(scope="module")
def http_settings(http_database_url: str, tmp_path_factory) -> Settings:
    return Settings(
        data_dir=Path(tmp_path_factory.mktemp("data")),
        database_url=http_database_url,
        timer_interval_seconds=0.2,
    )


@pytest.fixture(scope="module")
def http_clock(http_database_url: str) -> AdjustableClock:
    return AdjustableClock(START, frozen=True)


@pytest.fixture(scope="module")
def client(http_settings: Settings, http_clock: AdjustableClock) -> Iterator[TestClient]:
    with TestClient(create_embedded_app(http_settings, http_clock)) as test_client:
        yield test_client


@contextmanager
def own_app(request: pytest.FixtureRequest, backend_url: str, folder: Path) -> Iterator[Api]:
    """An embedded app with a database (on `backend_url`'s backend), folder and clock of its own."""
    admin = None
    schema = f"http_{uuid.uuid4().hex}"
    if backend_url.startswith("sqlite"):
        url = f"sqlite:///{folder}/events.db"
    else:
        admin = request.getfixturevalue("postgres_admin_engine")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        url = _schema_url(request.getfixturevalue("postgres_url"), schema)
    settings = Settings(data_dir=folder, database_url=url, timer_interval_seconds=0.2)
    clock = AdjustableClock(START, frozen=True)
    try:
        with TestClient(create_embedded_app(settings, clock)) as test_client:
            yield Api(test_client, settings.token_codec(), clock, own_clock=True)
    finally:
        if admin is not None:
            with admin.connect() as connection:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


class Api:
    """Calls as a role, and builds the world a test needs (orders, requests) with unique ids."""

    def __init__(
        self, client: TestClient, codec: TokenCodec, clock: AdjustableClock, own_clock: bool = False
    ) -> None:
        self.client = client
        self.codec = codec
        self.clock = clock
        self.own_clock = own_clock

    def token(self, role: str, sub: str | None = None, ttl: timedelta = timedelta(hours=1)) -> str:
        return self.codec.encode(sub=sub or f"{role}-x", role=role, ttl=ttl)

    def headers(self, role: str, sub: str | None = None, **extra: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(role, sub)}", **extra}

    def call(
        self,
        role: str | None,
        method: str,
        path: str,
        body: Any = None,
        sub: str | None = None,
        **headers: str,
    ) -> httpx.Response:
        sent = dict(headers)
        if role is not None:
            sent.update(self.headers(role, sub))
        return self.client.request(method, path, json=body, headers=sent)

    def fact(self, fact: dict[str, Any]) -> httpx.Response:
        response = self.call("platform", "POST", "/v1/upstream/events", fact, sub="orders")
        assert response.status_code in (200, 202), response.text
        return response

    def place_order(self, *, consumable: bool = False, items: int = 1) -> dict[str, Any]:
        tag = uuid.uuid4().hex[:10]
        order = {
            "type": "order_placed",
            "order_id": f"o-{tag}",
            "buyer_id": f"b-{tag}",
            "seller_id": f"s-{tag}",
            "currency": "USD",
            "placed_at": "2026-12-01T10:00:00-05:00",
            "marketplace": "US",
            "items": [
                {
                    "item_id": f"i{n}",
                    "title": "Holo card",
                    "category": "trading_cards",
                    "consumable": consumable,
                    "price": 2500,
                    "seller_payout": 2200,
                    "buyer_shipping_paid": 500,
                    "processing_fee": 103,
                }
                for n in range(1, items + 1)
            ],
        }
        self.fact(order)
        self.fact(
            {
                "type": "order_shipped",
                "order_id": order["order_id"],
                "carrier": "USPS",
                "service": "ground_advantage",
                "tracking_number": f"9400-{tag}",
                "shipped_at": "2026-12-02T10:00:00-05:00",
                "insured_value": 10000,
                "extra_protection": False,
            }
        )
        return order

    def open_request(self, order: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        """Opens a request; returns its state plus `_order` (the order fact)."""
        order = order or self.place_order()
        body = {
            "order_id": order["order_id"],
            "item_ids": ["i1"],
            "reason": "defective",
            "description": "It does not power on.",
            "photos": [],
            **fields,
        }
        response = self.call("buyer", "POST", "/v1/support-requests", body, sub=order["buyer_id"])
        assert response.status_code == 201, response.text
        return {**response.json(), "_order": order}

    def as_party(
        self, state: dict[str, Any], role: str, method: str, suffix: str = "", body: Any = None
    ) -> httpx.Response:
        """Call a request path as its buyer or seller (or any other role, with a generic id)."""
        sub = {"buyer": state["buyer_id"], "seller": state["seller_id"]}.get(role)
        path = f"/v1/support-requests/{state['id']}{suffix}"
        return self.call(role, method, path, body, sub=sub)

    def now(self) -> str:
        return self.clock.now().isoformat()

    def move_clock(self, **body: str) -> dict[str, Any]:
        assert self.own_clock, (
            "this test shares the module's app and clock: mark it @pytest.mark.own_clock "
            "(or build its world on module_clocked_api) to move time (issue 31)"
        )
        response = self.call("admin", "POST", "/v1/admin/clock", body, sub="ops")
        assert response.status_code == 200, response.text
        return response.json()

    def pass_deadline(self, state: dict[str, Any], kind: str) -> dict[str, Any]:
        current = self.as_party(state, "support", "GET").json()
        due = datetime.fromisoformat(current["deadlines"][kind])
        target = max(due, self.clock.now()) + timedelta(minutes=1)
        return self.move_clock(set=target.isoformat())


@pytest.fixture(scope="module")
def shared_api(client: TestClient, http_settings: Settings, http_clock: AdjustableClock) -> Api:
    """The module's app (its clock never moves), for module-scoped fixtures."""
    return Api(client, http_settings.token_codec(), http_clock)


@pytest.fixture
def api(request: pytest.FixtureRequest, http_database_url: str, tmp_path: Path) -> Iterator[Api]:
    """The module's shared app; with `@pytest.mark.own_clock`, an app and clock of the test's own."""
    if request.node.get_closest_marker("own_clock") is None:
        yield request.getfixturevalue("shared_api")
        return
    with own_app(request, http_database_url, tmp_path) as own:
        yield own


@pytest.fixture(scope="module")
def module_clocked_api(
    request: pytest.FixtureRequest, http_database_url: str, tmp_path_factory
) -> Iterator[Api]:
    """An app and clock of one module-scoped world's own, which may move time while it is built."""
    with own_app(request, http_database_url, tmp_path_factory.mktemp("world")) as own:
        yield own


def assert_problem(response: httpx.Response, status: int, *, detail_contains: str = "") -> dict:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert {"type", "title", "status", "detail"} <= problem.keys()
    assert problem["status"] == status
    assert problem["detail"]
    assert detail_contains.lower() in problem["detail"].lower(), problem["detail"]
    return problem
