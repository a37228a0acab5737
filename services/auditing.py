"""Deterministic rebuild of every projection from history, compared with the live stores (R62).

`rebuild_and_compare(requests_app, live, ...)` replays the requests event store (or, with
`source="kafka"`, the topic `seller-support.requests.v1` from offset 0) into FRESH stores - a
temporary SQLite file per projection when the live one is SQLite, a fresh schema in the same database
when it is PostgreSQL - through the very handlers the live system runs (ledger, ratings,
notifications and inbox), then compares the live and rebuilt stores table by table.

Columns and rows that are legitimately not a function of history are left out; each is listed, with
its reason, in `IGNORED` below and in docs/audit.md. No e-mail is sent: the rebuilt notifications
application gets a mailer that refuses to send, neither reminders nor the outbox are processed, and
history's e-mails are recorded as `rebuilt` (never sent), so a kept store can go live.

The fresh SQLite stores are bulk-loaded (`shared.database.bulk_load`) and then left in their live
mode; each process decodes only the events its projections react to (docs/audit.md).

Like services/embedded.py this module composes services and may import all of them.
"""

from __future__ import annotations

import contextlib
import functools
import gc
import json
import multiprocessing
import shutil
import tempfile
import traceback
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from multiprocessing.connection import Connection
from typing import Any
from urllib.parse import quote

from eventsourcing.persistence import StoredEvent
from sqlalchemy import Engine, Index, Table, create_engine, select, text
from sqlalchemy.engine import make_url

from services.ledger import store as ledger_store
from services.ledger.main import open_ledger_at
from services.notifications import store as notif_store
from services.notifications.application import NotificationsApplication
from services.notifications.main import build_engine as build_notifications_engine
from services.notifications.settings import NotificationsSettings
from services.ratings import store as ratings_store
from services.ratings.main import open_ratings_at
from services.requests.application import RequestsApplication, event_name_of_class
from services.requests.outbox.publishing import message_from_stored, stored_rows, to_message
from services.requests.settings import Settings
from services.search import store as search_store
from services.search.main import open_search_at
from shared.clock import AdjustableClock
from shared.database import bulk_load
from shared.settings import projection_database_url
from shared.transport.messages import EventMessage
from shared.transport.projection import applied_events
from shared.vocabulary import REQUESTS_TOPIC as TOPIC

REQUESTS_TOPIC = TOPIC  # shared/vocabulary.py
Progress = Callable[[str, int, int | None], None]


# --- where the live stores are --------------------------------------------------------------------


@dataclass(frozen=True)
class StoreUrls:
    ledger: str
    ratings: str
    notifications: str
    search: str | None = None  # None: no search store to rebuild


def live_store_urls(settings: Settings) -> StoreUrls:
    """The projections' databases as the embedded system resolves them (services/embedded.py):
    `SUPPORT_<NAME>_DATABASE_URL`, else `<data dir>/<name>.db`."""

    def url(name: str) -> str:
        return projection_database_url(name, settings.data_dir)

    return StoreUrls(url("ledger"), url("ratings"), url("notifications"), url("search"))


class ScratchStores:
    """Fresh, empty databases for a rebuild, on the backend of each live store; removed on close."""

    def __init__(self, live: StoreUrls, keep: bool = False) -> None:
        self.keep = keep
        self._folder: str | None = None
        self._schemas: list[tuple[str, str]] = []  # (admin url, schema)
        self.urls = StoreUrls(
            self._fresh(live.ledger, "ledger"),
            self._fresh(live.ratings, "ratings"),
            self._fresh(live.notifications, "notifications"),
            None if live.search is None else self._fresh(live.search, "search"),
        )

    def _fresh(self, live_url: str, name: str) -> str:
        url = make_url(live_url)
        if url.get_backend_name() == "sqlite":
            if self._folder is None:
                self._folder = tempfile.mkdtemp(prefix="seller-support-audit-")
            return f"sqlite:///{self._folder}/{name}.db"
        schema = f"audit_{name}_{uuid.uuid4().hex[:12]}"
        admin = create_engine(live_url, isolation_level="AUTOCOMMIT")
        try:
            with admin.connect() as conn:
                conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        finally:
            admin.dispose()
        self._schemas.append((live_url, schema))
        base = live_url.split("?", 1)[0] if "options=" in live_url else live_url
        options = quote(f"-csearch_path={schema}", safe="")
        return f"{base}{'&' if '?' in base else '?'}options={options}"

    def close(self) -> None:
        if self.keep:
            return
        for live_url, schema in self._schemas:
            admin = create_engine(live_url, isolation_level="AUTOCOMMIT")
            try:
                with admin.connect() as conn:
                    conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
            finally:
                admin.dispose()
        if self._folder is not None:
            shutil.rmtree(self._folder, ignore_errors=True)


# --- the rebuilt projections -------------------------------------------------------------------------


class _NoMail:
    """The rebuilt notifications application's mailer: a rebuild never sends e-mail."""

    def send_pending(self, now: Any = None) -> int:
        raise RuntimeError("a rebuild never sends e-mail")


@dataclass
class Rebuilt:
    ledger: Any
    ratings: Any
    notifications: NotificationsApplication
    search: Any = None
    applied: int = 0
    poison: list[str] = field(default_factory=list)

    @property
    def projections(self) -> list[Any]:
        found = [self.ledger.projection, self.ratings.projection, self.notifications.projection]
        return found if self.search is None else [*found, self.search.projection]

    def apply(self, message: EventMessage, position: int | None = None) -> None:
        self.apply_batch([(position, message)])

    def apply_batch(self, batch: Sequence[tuple[int | None, EventMessage]]) -> None:
        """Apply events to every rebuilt projection, one transaction per projection and batch,
        through the projections' own `apply_batch` (without a log line per event)."""
        if not batch:
            return
        for projection in self.projections:
            projection.apply_batch(batch, log_each=False)
        self.applied += len(batch)

    def close(self) -> None:
        self.ledger.close()
        self.ratings.close()
        self.notifications.close()
        if self.search is not None:
            self.search.close()


def open_rebuilt(urls: StoreUrls, now: datetime, live_notifications: str | None) -> Rebuilt:
    settings = NotificationsSettings(database_url=urls.notifications)
    notifications = NotificationsApplication(
        build_notifications_engine(settings),
        settings,
        mailer=_NoMail(),  # type: ignore[arg-type]
    )
    notifications.handler.replaying_history()
    if live_notifications is not None:
        _copy_preferences(live_notifications, notifications.engine)
    return Rebuilt(
        ledger=open_ledger_at(urls.ledger),
        ratings=open_ratings_at(urls.ratings, AdjustableClock(now, frozen=True)),
        notifications=notifications,
        search=None
        if urls.search is None
        else open_search_at(urls.search, AdjustableClock(now, frozen=True)),
    )


def _copy_preferences(live_url: str, fresh: Engine) -> None:
    """User settings (locale, e-mail address) are not request events but shape rendering: the
    rebuild starts from the live ones."""
    engine = create_engine(live_url)
    try:
        with engine.connect() as conn:
            if not _has_table(conn, notif_store.preferences.name):
                return
            rows = [dict(r._mapping) for r in conn.execute(select(notif_store.preferences))]
    finally:
        engine.dispose()
    if rows:
        with fresh.begin() as conn:
            conn.execute(notif_store.preferences.insert(), rows)


def _has_table(conn: Any, name: str) -> bool:
    from sqlalchemy import inspect

    return inspect(conn).has_table(name)


def replay_event_store(
    app: RequestsApplication,
    rebuilt: Rebuilt,
    progress: Progress | None = None,
    batch: int = 2000,
    workers: int = 1,
) -> int:
    """Apply every stored event, in the notification log's order, to every rebuilt projection.

    `workers` processes share the projections: 1 all three; 2 notifications here and ledger and
    ratings in a forked child; 3 one each. Each process reads the store on its own, decoding only
    the events its projections react to, and bulk-loads its projections' stores (`_loading`): each
    projection still sees every event in the log's order, all stop at the same head, and they
    share nothing but the read-only event store. Fork is used (not spawn) because a fresh
    interpreter's imports would cost more than the replay of a large store saves; call it from a
    process without other threads (the CLI, the benchmark)."""
    head = app.recorder.max_notification_id() or 0  # every process stops at the same event
    groups = _groups(rebuilt, workers)
    if len(groups) > 1:
        # No connection to a rebuilt store may stay open across the fork: SQLite leaves WAL mode
        # for a bulk load only when its process holds the file's one connection.
        for projection in rebuilt.projections:
            projection.engine.dispose()
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Connection]] = []
    for group in groups[1:]:
        receive, send = context.Pipe(duplex=False)
        child = context.Process(
            target=_replay_in_child,
            args=(app, group, head, batch, send),
            name="seller-support-rebuild-" + "-".join(p.consumer for p, _ in group),
        )
        child.start()
        send.close()
        children.append((child, receive))
    try:
        replayed = _replay_loading(app, groups[0], head, progress, batch)
        outcomes = [receive.recv() for _, receive in children]
    finally:
        for child, receive in children:
            child.join()
            receive.close()
    for outcome in outcomes:
        if outcome != replayed:
            raise RuntimeError(f"a rebuild process failed:\n{outcome}")
    rebuilt.applied += replayed
    return rebuilt.applied


# (projection, the indexes its store builds after the load)
Load = tuple[Any, tuple[Index, ...]]


def _loads(rebuilt: Rebuilt) -> tuple[Load, ...]:
    """Ledger, ratings, notifications (and search), each with the indexes its store builds after
    the load."""
    loads: tuple[Load, ...] = (
        (rebuilt.ledger.projection, ledger_store.QUERY_INDEXES),
        (rebuilt.ratings.projection, ratings_store.QUERY_INDEXES),
        (rebuilt.notifications.projection, notif_store.QUERY_INDEXES),
    )
    if rebuilt.search is not None:
        loads += ((rebuilt.search.projection, search_store.QUERY_INDEXES),)
    return loads


def _groups(rebuilt: Rebuilt, workers: int) -> list[list[Load]]:
    """The projections of each process, this one's first. Notifications costs most (about 8 rows
    per event against 2-3), so it has a process of its own whenever there are two."""
    ledger, ratings, notifications, *search = _loads(rebuilt)
    if workers <= 1:
        return [[ledger, ratings, notifications, *search]]
    if workers == 2:
        return [[notifications], [ledger, ratings, *search]]
    return [[notifications], [ledger, *search], [ratings]]


def _replay_loading(
    app: RequestsApplication,
    loads: Sequence[Load],
    head: int,
    progress: Progress | None,
    batch: int,
) -> int:
    with _loading(loads):
        return _replay(app, [p for p, _ in loads], head, progress, batch)


@contextlib.contextmanager
def _loading(loads: Sequence[Load]) -> Iterator[None]:
    """The rebuilt stores are fresh files or schemas this run created and throws away if it fails:
    they are bulk-loaded (`shared.database.bulk_load`), then left in their live mode."""
    with contextlib.ExitStack() as stack:
        for projection, indexes in loads:
            stack.enter_context(bulk_load(projection.engine, indexes))
        stack.enter_context(_few_collections())
        yield


@contextlib.contextmanager
def _few_collections() -> Iterator[None]:
    """A replay allocates millions of short-lived objects and almost no cycles: the cyclic garbage
    collector's passes (over every object the imports left too) cost about a seventh of the time.
    What exists now is frozen out of its sight and young objects are collected 100 times less
    often."""
    threshold = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(70_000, threshold[1], threshold[2])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        gc.unfreeze()


def _replay(
    app: RequestsApplication,
    projections: Sequence[Any],
    head: int,
    progress: Progress | None,
    batch: int,
) -> int:
    """Replay the log up to position `head` into `projections`; returns how many events."""
    wanted = [p.events for p in projections]
    events = None if None in wanted else frozenset().union(*wanted)
    start, replayed = 1, 0
    while start <= head and (
        chunk := read_for_rebuild(app, start, min(batch, head - start + 1), events)
    ):
        for projection in projections:
            projection.apply_batch(chunk, log_each=False)
        replayed += len(chunk)
        start = chunk[-1][0] + 1
        if progress is not None:
            progress("replayed", chunk[-1][0], head)
    return replayed


# The time of an event left undecoded (see `read_for_rebuild`): nothing reads it.
_NOT_DECODED = datetime.min.replace(tzinfo=UTC)


def read_for_rebuild(
    app: RequestsApplication, start: int, limit: int, events: frozenset[str] | None
) -> list[tuple[int, EventMessage]]:
    """The notification log from position `start`, as `publishing.read_messages` reads it, less
    what a rebuild does not need. Without chain hashes and traceparents: the handlers read only an
    event's name and data, and a rebuild logs no line per event (that lookup was a third of the
    read). And an event whose name is not in `events` (None: all) is not decoded: no handler
    being rebuilt reacts to it, `Projection.apply_batch` only records its id as applied, so it
    gets its id, name and subject, and empty data."""
    rows = stored_rows(app, start, limit)
    plain = app.mapper.cipher is None and app.mapper.compressor is None
    messages = []
    for row in rows:
        request_id, version = str(row.originator_id), row.originator_version
        name = _event_name(row.topic)
        if events is not None and name not in events:
            message = EventMessage(f"{request_id}:{version}", name, request_id, _NOT_DECODED, {})
        else:
            decoded = (
                message_from_stored(request_id, version, row.topic, row.state) if plain else None
            )
            message = decoded or to_message(
                app.mapper.to_domain_event(
                    StoredEvent(row.originator_id, version, row.topic, row.state)
                )
            )
        messages.append((row.id, message))
    return messages


@functools.cache
def _event_name(topic: str) -> str:
    """`services.requests.domain:SupportRequest.OfferAccepted` -> `offer_accepted`."""
    return event_name_of_class(topic.rsplit(".", 1)[-1])


def _replay_in_child(
    app: RequestsApplication, loads: Sequence[Load], head: int, batch: int, send: Connection
) -> None:
    try:
        # The parent's pooled connections must not be shared: fresh pools, parent's left open.
        engines = [app.engine, *(p.engine for p, _ in loads)]
        for engine in {id(e): e for e in engines}.values():
            engine.dispose(close=False)
        send.send(_replay_loading(app, loads, head, None, batch))
    except BaseException:
        send.send(traceback.format_exc())
    finally:
        send.close()


def replay_kafka(
    bootstrap: str,
    rebuilt: Rebuilt,
    topic: str = REQUESTS_TOPIC,
    progress: Progress | None = None,
    timeout_s: float = 600.0,
) -> int:
    """Apply every record of `topic` from offset 0 (a throwaway consumer group of its own) through
    the consumer runtime and decoder of the live consumers. Undecodable records are reported, not
    dead-lettered: an audit writes nothing to the broker but its group's offsets."""
    import time

    from kafka import KafkaConsumer, TopicPartition
    from kafka.admin import KafkaAdminClient

    from shared.envelope import PoisonMessage
    from shared.transport.consumer import ConsumerRuntime, ConsumerSettings
    from shared.transport.decoders import decode_request_event

    probe = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        partitions = probe.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        ends = probe.end_offsets(tps) if tps else {}
        begins = probe.beginning_offsets(tps) if tps else {}
    finally:
        probe.close()
    total = sum(ends[tp] - begins[tp] for tp in tps)
    seen = 0

    def decode(record: Any) -> EventMessage | None:
        try:
            return decode_request_event(record)
        except PoisonMessage as error:
            rebuilt.poison.append(f"{record.topic}[{record.partition}]@{record.offset}: {error}")
            return None

    buffer: list[tuple[int | None, EventMessage]] = []

    def handle(message: EventMessage | None, record: Any) -> None:
        # Buffered and applied in batches: the group is thrown away, so its committed offsets
        # running ahead of the rebuilt stores does not matter.
        nonlocal seen
        if message is not None and record.offset < ends.get(
            TopicPartition(record.topic, record.partition), 0
        ):
            buffer.append((None, message))
            if len(buffer) >= 500:
                rebuilt.apply_batch(buffer)
                buffer.clear()
        seen += 1

    group = f"seller-support-audit-{uuid.uuid4().hex[:12]}"
    runtime = ConsumerRuntime(
        ConsumerSettings(
            bootstrap_servers=bootstrap,
            topics=[topic],
            group_id=group,
            client_id="seller-support-audit",
            auto_offset_reset="earliest",
        ),
        decode,
        handle,
    )
    deadline = time.monotonic() + timeout_s
    try:
        runtime.start()
        while seen < total:
            if time.monotonic() > deadline:
                raise TimeoutError(f"read {seen} of {total} records of {topic} in {timeout_s:.0f}s")
            runtime.poll_once()
            if progress is not None:
                progress("consumed", seen, total)
        rebuilt.apply_batch(buffer)
    finally:
        runtime.close()
        with contextlib.suppress(Exception):
            admin = KafkaAdminClient(bootstrap_servers=bootstrap)
            admin.delete_groups([group])
            admin.close()
    return rebuilt.applied


# --- comparing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TableRule:
    table: Table
    ignore: tuple[str, ...] = ()
    # rows to leave out of the comparison (on either side): (row) -> bool
    skip: Callable[[dict[str, Any]], bool] | None = None
    # (column, live row) -> compare that column of that row?
    compare_column: Callable[[str, dict[str, Any]], bool] | None = None
    consumer: str | None = None  # applied_events: only this consumer's rows
    key: tuple[str, ...] = ()  # default: the primary key


def _is_reminder_kind(row: dict[str, Any]) -> bool:
    headers = row.get("headers") or {}
    if isinstance(headers, str):
        headers = json.loads(headers)
    return str(headers.get("X-Seller-Support-Kind", "")).startswith("reminder_")


def _reminder_cancel_comparable(column: str, live: dict[str, Any]) -> bool:
    # A reminder that was sent is never cancelled afterwards; the rebuild sends none, so whether a
    # later event cancelled it is comparable only for reminders the live loop did not send.
    return column != "cancelled" or live.get("fired_at") is None


# Why each left-out column or row is not a function of history: see docs/audit.md.
IGNORED: dict[str, str] = {
    "applied_events.applied_at": "wall-clock time the event was applied",
    "feed_positions": "where the transport reader is (a notification-log position), not state",
    "ledger_entries[kind=claim_credit]": "credits from carriers' claim_paid reports, an upstream "
    "input the ledger receives directly; not in the request history",
    "ledger_claims.paid_amount/paid_at/credited": "the same carrier reports",
    "ratings_sellers.evaluated_changes": "the refresher's bookkeeping of what it last evaluated",
    "ratings_published, ratings_changes, ratings_refresh": "the announcement log of "
    "seller-support.ratings.v1: depends on when refresh ran; the ratings themselves are "
    "compared, computed at the same instant on both sides",
    "notif_notifications.seq": "insertion order across the event feed and the reminder loop",
    "notif_notifications.read": "a user action (mark read), not a request event",
    "notif_notifications[source=reminder:*], notif_sources[source=reminder:*], "
    "notif_outbox[kind=reminder_*]": "sent by the reminder loop when the clock reached them, not "
    "by an event; the rebuild fires no reminders",
    "notif_outbox.subject/body/status/attempts/next_attempt_at/claimed_until/last_error/sent_at": (
        "e-mail delivery state (the text as sent, wall-clock, SMTP outcome); a rebuild sends nothing"
    ),
    "notif_reminders.fired_at/skipped": "when the reminder loop ran",
    "notif_reminders.cancelled (of sent reminders)": "a sent reminder is never cancelled later",
    "notif_inbox.unread/archived": "user actions (mark read/unread, archive) change them",
    "notif_preferences": "user settings, copied from live into the rebuild (input, not output)",
    "search_requests.document, search_requests_fts": "the full-text words, derived by the "
    "database from the compared description and messages_text columns",
}

LEDGER_RULES = (
    TableRule(ledger_store.entries, skip=lambda r: r["kind"] == "claim_credit"),
    TableRule(ledger_store.requests),
    TableRule(ledger_store.claims, ignore=("paid_amount", "paid_at", "credited")),
    TableRule(applied_events, ignore=("applied_at",), consumer="ledger"),
)
RATINGS_RULES = (
    TableRule(ratings_store.requests),
    TableRule(ratings_store.reasons),
    TableRule(ratings_store.sellers, ignore=("evaluated_changes",)),
    TableRule(applied_events, ignore=("applied_at",), consumer="ratings"),
)
SEARCH_RULES = (
    TableRule(search_store.requests),
    TableRule(applied_events, ignore=("applied_at",), consumer="search"),
)
NOTIFICATIONS_RULES = (
    TableRule(notif_store.request_facts),
    TableRule(notif_store.sources, skip=lambda r: str(r["source_id"]).startswith("reminder:")),
    TableRule(
        notif_store.notifications,
        key=("id",),  # unique, derived from (event, recipient, channel); `seq` is arrival order
        ignore=("seq", "read"),
        skip=lambda r: str(r["source_id"]).startswith("reminder:"),
    ),
    TableRule(
        notif_store.outbox,
        ignore=(
            "subject",
            "body",
            "status",
            "attempts",
            "next_attempt_at",
            "claimed_until",
            "last_error",
            "sent_at",
        ),
        skip=_is_reminder_kind,
    ),
    TableRule(
        notif_store.reminders,
        ignore=("fired_at", "skipped"),
        compare_column=_reminder_cancel_comparable,
    ),
    TableRule(notif_store.inbox, ignore=("unread", "archived")),
)


@dataclass
class Difference:
    store: str
    table: str
    key: str
    what: str

    def __str__(self) -> str:
        return f"{self.store}.{self.table} [{self.key}]: {self.what}"


@dataclass
class Comparison:
    tables: list[tuple[str, str, int, int]] = field(
        default_factory=list
    )  # store, table, live, rebuilt
    differences: list[Difference] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def identical(self) -> bool:
        return not self.differences


def _normal(value: Any) -> Any:
    if isinstance(value, datetime):
        value = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, default=str)
    if isinstance(value, bool):
        return value
    if isinstance(value, memoryview | bytes):
        return bytes(value).hex()
    if isinstance(value, int) and not isinstance(value, bool):
        return int(value)
    return value


def _rows(engine: Engine, rule: TableRule) -> dict[tuple[Any, ...], dict[str, Any]]:
    table = rule.table
    with engine.connect() as conn:
        if not _has_table(conn, table.name):
            return {}
        query = select(table)
        if rule.consumer is not None:
            query = query.where(table.c.consumer == rule.consumer)
        rows = [dict(r._mapping) for r in conn.execute(query)]
    keys = list(rule.key) or [c.name for c in table.primary_key.columns]
    result = {}
    for row in rows:
        if rule.skip is not None and rule.skip(row):
            continue
        result[tuple(_normal(row[k]) for k in keys)] = row
    return result


def compare_tables(
    store_name: str, live: Engine, rebuilt: Engine, rules: Sequence[TableRule], out: Comparison
) -> None:
    for rule in rules:
        left, right = _rows(live, rule), _rows(rebuilt, rule)
        name = rule.table.name + (f"[{rule.consumer}]" if rule.consumer else "")
        out.tables.append((store_name, name, len(left), len(right)))
        columns = [c.name for c in rule.table.columns if c.name not in rule.ignore]
        for key in sorted(set(left) | set(right), key=str):
            shown = ", ".join(str(k) for k in key)
            if key not in right:
                out.differences.append(
                    Difference(store_name, name, shown, "only in the live store")
                )
                continue
            if key not in left:
                out.differences.append(Difference(store_name, name, shown, "only in the rebuild"))
                continue
            a, b = left[key], right[key]
            for column in columns:
                if rule.compare_column is not None and not rule.compare_column(column, a):
                    continue
                if _normal(a[column]) != _normal(b[column]):
                    out.differences.append(
                        Difference(
                            store_name,
                            name,
                            shown,
                            f"{column}: live {_normal(a[column])!r} != rebuilt {_normal(b[column])!r}",
                        )
                    )


def compare_ratings(live: Any, rebuilt: Any, now: datetime, out: Comparison) -> None:
    """The ratings as the API computes them, for every seller, at the same instant."""
    with live.engine.connect() as conn:
        sellers = set(conn.execute(select(ratings_store.requests.c.seller_id)).scalars())
    with rebuilt.engine.connect() as conn:
        sellers |= set(conn.execute(select(ratings_store.requests.c.seller_id)).scalars())
    for seller in sorted(sellers):
        a = live.view(seller, seller, now)
        b = rebuilt.view(seller, seller, now)
        if _normal_view(a) != _normal_view(b):
            out.differences.append(
                Difference(
                    "ratings", f"rating at {now.isoformat()}", seller, f"live {a} != rebuilt {b}"
                )
            )
    out.tables.append(("ratings", "computed ratings", len(sellers), len(sellers)))


def _normal_view(view: Any) -> str:
    return json.dumps(view, sort_keys=True, default=str)


def _feed_position(engine: Engine, consumer: str) -> int | None:
    from shared.transport.projection import feed_positions

    with engine.connect() as conn:
        if not _has_table(conn, feed_positions.name):
            return None
        return conn.execute(
            select(feed_positions.c.position).where(feed_positions.c.consumer == consumer)
        ).scalar_one_or_none()


# --- the whole run -------------------------------------------------------------------------------


@contextlib.contextmanager
def _engine(url: str) -> Iterator[Engine]:
    engine = create_engine(url)
    try:
        yield engine
    finally:
        engine.dispose()


def rebuild_and_compare(
    app: RequestsApplication,
    live: StoreUrls,
    *,
    now: datetime | None = None,
    source: str = "store",
    kafka_bootstrap: str | None = None,
    topic: str = REQUESTS_TOPIC,
    progress: Progress | None = None,
    keep: bool = False,
    workers: int = 1,
) -> tuple[Comparison, int]:
    """Rebuild into scratch stores and compare with `live`; returns (comparison, events applied)."""
    now = now or datetime.now(UTC)
    scratch = ScratchStores(live, keep=keep)
    rebuilt = open_rebuilt(scratch.urls, now, live.notifications)
    out = Comparison()
    try:
        if source == "kafka":
            if not kafka_bootstrap:
                raise ValueError("--from-kafka needs a bootstrap server (SUPPORT_KAFKA_BOOTSTRAP)")
            with _loading(_loads(rebuilt)):
                applied = replay_kafka(kafka_bootstrap, rebuilt, topic, progress)
            out.notes.extend(f"undecodable record: {p}" for p in rebuilt.poison)
        else:
            applied = replay_event_store(app, rebuilt, progress, workers=workers)
        head = app.recorder.max_notification_id() or 0
        with (
            _engine(live.ledger) as ledger_live,
            _engine(live.ratings) as ratings_live,
            _engine(live.notifications) as notif_live,
        ):
            for name, engine, consumer in (
                ("ledger", ledger_live, "ledger"),
                ("ratings", ratings_live, "ratings"),
                ("notifications", notif_live, rebuilt.notifications.settings.consumer_name),
            ):
                position = _feed_position(engine, consumer)
                if position is not None and position < head:
                    out.notes.append(
                        f"the live {name} projection is at log position {position} of {head}: "
                        "it has not caught up, so differences are expected"
                    )
            compare_tables("ledger", ledger_live, rebuilt.ledger.engine, LEDGER_RULES, out)
            compare_tables("ratings", ratings_live, rebuilt.ratings.engine, RATINGS_RULES, out)
            notif_rules = (
                *NOTIFICATIONS_RULES,
                TableRule(
                    applied_events,
                    ignore=("applied_at",),
                    consumer=rebuilt.notifications.settings.consumer_name,
                ),
            )
            compare_tables(
                "notifications", notif_live, rebuilt.notifications.engine, notif_rules, out
            )
        if live.search is not None and rebuilt.search is not None:
            with _engine(live.search) as search_live:
                position = _feed_position(search_live, "search")
                if position is not None and position < head:
                    out.notes.append(
                        f"the live search projection is at log position {position} of {head}: "
                        "it has not caught up, so differences are expected"
                    )
                compare_tables("search", search_live, rebuilt.search.engine, SEARCH_RULES, out)
        live_ratings = open_ratings_at(live.ratings, AdjustableClock(now, frozen=True))
        try:
            compare_ratings(live_ratings, rebuilt.ratings, now, out)
        finally:
            live_ratings.close()
        if keep:
            out.notes.append(f"rebuilt stores kept: {scratch.urls}")
    finally:
        rebuilt.close()
        scratch.close()
    return out, applied
