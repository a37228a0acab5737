"""The notifications projection folds a batch of events in memory (services/notifications/
projection.py): applying a generated history in batches of random sizes leaves every table exactly as
applying it one event at a time does, on SQLite and PostgreSQL; delivering it again changes nothing,
and running the handler again without the applied-event records adds no notification or e-mail."""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import Table, select, text

from services.notifications import store
from services.notifications.application import NotificationsApplication, Viewer
from services.notifications.domain import RULES
from services.notifications.main import build_engine
from services.notifications.settings import NotificationsSettings
from shared.transport.messages import EventMessage
from shared.transport.projection import applied_events

START = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
DEADLINE_FIELDS = (
    "seller_response_due",
    "offer_answer_due",
    "return_dropoff_due",
    "return_inspection_due",
)
# Wall-clock columns: when the row was written, not what history says.
WALL_CLOCK = {"applied_at", "next_attempt_at"}


def _history(seed: int, requests: int = 12) -> list[EventMessage]:
    """Events of several requests interleaved: every event kind, actors of every side, deadlines
    set again and again (some too close to remind), routed requests, an `opened` delivered twice,
    events of a request never opened and an event kind this version does not know."""
    rng = random.Random(seed)
    names = [n for n in RULES if n != "opened"] + ["some_future_event"]
    streams: list[list[tuple[str, dict[str, Any]]]] = []
    for r in range(requests):
        rid = str(uuid.UUID(int=rng.getrandbits(128)))
        buyer, seller = f"b-{rng.randrange(5)}", f"s-{rng.randrange(3)}"
        opened = {
            "order_id": f"o-{r}",
            "buyer_id": buyer,
            "seller_id": seller,
            "marketplace": rng.choice(["US", "NL"]),
            "currency": "USD",
            "reason": "defective",
            "routed_to_support": rng.choice([None, None, "consumable_item"]),
        }
        steps = [("opened", {**opened, "actor": f"buyer:{buyer}"})]
        if r == 0:
            steps.append(("opened", {**opened, "actor": f"buyer:{buyer}"}))  # a replayed opening
        for _ in range(rng.randrange(3, 12)):
            actor = rng.choice([f"buyer:{buyer}", f"seller:{seller}", "system", "support:a-1"])
            steps.append((rng.choice(names), {"actor": actor}))
        if r == 1:
            steps.pop(0)  # a request whose opening this projection never saw
        streams.append([(rid, name, data) for name, data in steps])  # type: ignore[misc]
    messages: list[EventMessage] = []
    at = START
    versions: dict[str, int] = {}
    while any(streams):
        stream = rng.choice([s for s in streams if s])
        rid, name, data = stream.pop(0)  # type: ignore[misc]
        at += timedelta(minutes=rng.choice([0, 1, 7, 90]))
        version = versions[rid] = versions.get(rid, 0) + 1
        published = {"request_id": rid, "version": version, "at": at.isoformat(), **data}
        for field in DEADLINE_FIELDS:
            due = at + rng.choice([timedelta(hours=6), timedelta(days=2), timedelta(days=3)])
            published[field] = due.replace(minute=0, second=0).isoformat()
        if name == "support_decided":
            published["outcome"] = rng.choice(["refund", "refund_with_return", "uphold_seller"])
        messages.append(EventMessage(f"{rid}:{version}", name, rid, at, published))
    return messages


def _with_search_path(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def fresh_urls(request: pytest.FixtureRequest, database_url: str, tmp_path: Path) -> Iterator[Any]:
    """`fresh_urls(name)`: a new empty notifications database on the backend of `database_url`."""
    admin = None
    schemas: list[str] = []
    if not database_url.startswith("sqlite"):
        admin = request.getfixturevalue("postgres_admin_engine")
        base = request.getfixturevalue("postgres_url")

    def fresh(name: str) -> str:
        if admin is None:
            return f"sqlite:///{tmp_path}/{name}.db"
        schema = f"nb_{uuid.uuid4().hex}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return _with_search_path(base, schema)

    yield fresh
    for schema in schemas:
        with admin.connect() as connection:  # type: ignore[union-attr]
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


def _open(url: str) -> NotificationsApplication:
    settings = NotificationsSettings(database_url=url, reminder_lead=timedelta(hours=12))
    application = NotificationsApplication(build_engine(settings), settings)
    # User settings shape the stored locale and address: the same on both sides.
    application.set_preferences("s-1", Viewer("seller", "s-1"), locale="nl")
    application.set_preferences("b-2", Viewer("buyer", "b-2"), email="b2@shop.example")
    return application


TABLES: list[tuple[Table, tuple[str, ...]]] = [
    (store.request_facts, ("request_id",)),
    (store.sources, ("source_id",)),
    (store.notifications, ("seq",)),
    (store.outbox, ("notification_id",)),
    (store.reminders, ("id",)),
    (store.inbox, ("request_id", "user_id")),
    (applied_events, ("consumer", "event_id")),
]


def _snapshot(application: NotificationsApplication) -> dict[str, list[dict[str, Any]]]:
    """Every table of the projection, row by row, without wall-clock columns."""
    tables = {}
    with application.engine.connect() as conn:
        for table, order in TABLES:
            rows = conn.execute(select(table).order_by(*(table.c[c] for c in order)))
            tables[table.name] = [
                {k: v for k, v in row._mapping.items() if k not in WALL_CLOCK} for row in rows
            ]
    return tables


def _in_random_batches(rng: random.Random, messages: list[EventMessage]) -> Iterator[list[Any]]:
    i = 0
    while i < len(messages):
        size = rng.choice([1, 2, 3, 5, 8, 13, 40, 500])
        yield [(None, m) for m in messages[i : i + size]]
        i += size


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_notifications_batch_equals_one_at_a_time(seed: int, fresh_urls: Any):
    messages = _history(seed)
    half = len(messages) // 2
    rng = random.Random(seed)
    one_by_one, batched = _open(fresh_urls("singles")), _open(fresh_urls("batches"))
    try:
        # Given the same history, one side fed an event at a time, the other in random batches,
        # with the reminder loop firing between the halves on both ...
        for part in (messages[:half], messages[half:]):
            for message in part:
                one_by_one.projection.apply(message)
            for batch in _in_random_batches(rng, part):
                batched.projection.apply_batch(batch)
            for side in (one_by_one, batched):
                side.fire_due(part[-1].time + timedelta(days=1, hours=15))
        # ... then every table holds the same rows.
        expected = _snapshot(one_by_one)
        assert sum(len(rows) for rows in expected.values()) > 100
        assert expected["notif_reminders"] and any(
            r["cancelled"] for r in expected["notif_reminders"]
        )
        assert _snapshot(batched) == expected
    finally:
        one_by_one.close()
        batched.close()


def test_notifications_redelivered_batch_changes_nothing(fresh_urls: Any):
    messages = _history(7)
    application = _open(fresh_urls("redelivery"))
    try:
        # Given a history applied in one batch ...
        assert application.projection.apply_batch([(None, m) for m in messages]) == len(messages)
        before = _snapshot(application)
        # ... when it is delivered again, in batches and one by one ...
        assert application.projection.apply_batch([(None, m) for m in messages]) == 0
        assert not any(application.projection.apply(m) for m in messages)
        # ... then nothing changed.
        assert _snapshot(application) == before
    finally:
        application.close()


def test_notifications_handler_run_again_without_tracking_adds_no_notification_or_email(
    fresh_urls: Any,
):
    messages = _history(8)
    application = _open(fresh_urls("rerun"))
    try:
        # Given a history applied in batches ...
        for start in range(0, len(messages), 7):
            application.projection.apply_batch([(None, m) for m in messages[start : start + 7]])
        before = _snapshot(application)
        # ... when the handler runs again on all of it, without the applied-event records (a
        # replay without tracking rows, a second consumer) ...
        with application.engine.begin() as conn:
            application.handler(messages, conn)
        # ... then no notification, source or e-mail was added or changed.
        after = _snapshot(application)
        for table in ("notif_sources", "notif_notifications", "notif_outbox"):
            assert after[table] == before[table], table
    finally:
        application.close()
