"""The embedded path for notification tests: requests application -> notification log -> published
messages -> notifications projection; and a real SMTP server process (services/notifications/
smtp_server.py) on a free port that stores what it receives."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from email.message import Message
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import func, select, text

from services.notifications import store
from services.notifications.application import NotificationsApplication
from services.notifications.main import build_engine
from services.notifications.settings import NotificationsSettings
from services.notifications.smtp_server import read_mailbox, start_process, stop_process
from services.requests.application import Actor, RequestsApplication, SellerResponse
from services.requests.outbox.publishing import read_messages
from shared.transport.notification_log import NotificationLogFeed
from tests.factories import Opened, item_fact, order_placed, unique

EMAIL_DOMAIN = "users.seller-support.invalid"


@dataclass
class SmtpServer:
    port: int
    data_dir: Path

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def messages(self, to: str | None = None) -> list[Message]:
        found = read_mailbox(self.data_dir)
        if to is None:
            return found
        address = to if "@" in to else f"{to}@{EMAIL_DOMAIN}"
        return [m for m in found if m["To"] == address]


@pytest.fixture(scope="session")
def smtp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SmtpServer]:
    """A real SMTP server process (aiosmtpd) for the whole session; tests tell their mail apart by
    their unique recipients."""
    data_dir = tmp_path_factory.mktemp("smtp")
    process, port = start_process(data_dir)
    try:
        yield SmtpServer(port, data_dir)
    finally:
        stop_process(process)


def _with_search_path(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def notifications_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[str]:
    """The service's own database, on the same backend as the requests app's (`database_url`)."""
    if database_url.startswith("sqlite"):
        yield f"sqlite:///{tmp_path}/notifications.db"
        return
    admin = request.getfixturevalue("postgres_admin_engine")
    base = request.getfixturevalue("postgres_url")
    schema = f"n_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(base, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def settings_for(url: str, smtp: SmtpServer, **overrides: Any) -> NotificationsSettings:
    values: dict[str, Any] = {
        "database_url": url,
        "smtp_url": smtp.url,
        "reminder_lead": timedelta(hours=12),
        "send_backoff_initial": timedelta(seconds=1),
        "stream_poll_seconds": 0.05,
        "email_domain": EMAIL_DOMAIN,
    }
    values.update(overrides)
    return NotificationsSettings(**values)


@pytest.fixture
def notifications(
    notifications_url: str, smtp_server: SmtpServer
) -> Iterator[NotificationsApplication]:
    settings = settings_for(notifications_url, smtp_server)
    application = NotificationsApplication(build_engine(settings), settings)
    try:
        yield application
    finally:
        application.close()


def pump(app: RequestsApplication, notifications: NotificationsApplication) -> int:
    feed = NotificationLogFeed(
        lambda start, limit: read_messages(app, start, limit), [notifications.projection]
    )
    return feed.pump(batch_size=app.log_section_size)


def all_messages(app: RequestsApplication) -> list[tuple[int, Any]]:
    out: list[tuple[int, Any]] = []
    while True:
        batch = read_messages(app, len(out) + 1, app.log_section_size)
        out.extend(batch)
        if len(batch) < app.log_section_size:
            return out


def open_request(
    app: RequestsApplication,
    *,
    seller_id: str | None = None,
    buyer_id: str | None = None,
    reason: str = "defective",
    consumable: bool = False,
) -> Opened:
    order = order_placed(
        seller_id=seller_id or unique("seller"),
        buyer_id=buyer_id or unique("buyer"),
        items=[item_fact(consumable=consumable)],
    )
    app.record_order_placed(order)
    request = app.open_request(
        Actor("buyer", order.buyer_id),
        order_id=order.order_id,
        item_ids=[i.item_id for i in order.items],
        reason=reason,
        description="It arrived broken.",
        photos=["photo-1.jpg"],
    )
    return Opened(app, request, order)


def respond(opened: Opened, type_: str, **fields: Any) -> None:
    opened.app.respond(opened.id, opened.seller, SellerResponse(type=type_, **fields))


def notification_rows(notifications: NotificationsApplication, **where: Any) -> list[dict]:
    table = store.notifications
    query = select(table).order_by(table.c.seq)
    for column, value in where.items():
        query = query.where(table.c[column] == value)
    with notifications.engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def count(notifications: NotificationsApplication, table: Any) -> int:
    with notifications.engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(table)).scalar_one())


def kinds_for(notifications: NotificationsApplication, user_id: str, channel: str) -> list[str]:
    return [
        r["kind"] for r in notification_rows(notifications, recipient_id=user_id, channel=channel)
    ]
