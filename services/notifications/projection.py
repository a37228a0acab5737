"""The notifications projection: request events in; notifications, e-mail outbox, reminders and inbox
rows out.

`NotificationsProjection(settings)` is a batch transport handler `(messages, connection) -> None`:
it runs inside the transaction in which `Projection.apply_batch` records the events as applied, so a
batch's notifications, outbox rows, reminder changes and inbox changes commit together with that
record, exactly once in effect. It reads nothing but `EventMessage.data`.

A batch is folded in memory: the request facts, reminders and inbox conversations it touches are
loaded with one select per table, every message is planned in order with the pure `plan` against the
state the earlier ones left, and the result is written with one statement per table and kind of
change. The database ends exactly as applying the messages one at a time would leave it.

Notifications are stored as what to say (kind, locale, recipient, and their source's template context,
once per event), not as text: rendering is done when they are read or mailed
(docs/notifications.md), which keeps a rebuild fast.

Every notification's id is derived from (event id, recipient, channel) and is unique, and a source's
notifications and outbox rows are inserted only with the source itself: even a handler run twice for
one event (a replay without tracking rows, a second consumer) creates no second notification and
sends no second e-mail.
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Connection

from services.notifications import store
from services.notifications.domain import (
    RULES,
    Channel,
    Delivery,
    InboxTouch,
    Plan,
    RequestFacts,
    email_address,
    plan,
    remind_at,
)
from services.notifications.rendering import pick_locale
from services.notifications.settings import NotificationsSettings
from shared.database import insert_rows
from shared.transport.messages import EventMessage

CONSUMER = "notifications"
_NAMESPACE_BYTES = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seller-support:notifications").bytes
# Keys per `IN (...)` list: far below SQLite's and PostgreSQL's parameter limits.
CHUNK = 500

T = TypeVar("T")


def notification_id(source_id: str, recipient_id: str, channel: str) -> str:
    """`uuid5(namespace, "source|recipient|channel")`, spelled out: building `uuid.UUID` objects
    was a tenth of a rebuild's time."""
    name = f"{source_id}|{recipient_id}|{channel}".encode()
    raw = bytearray(hashlib.sha1(_NAMESPACE_BYTES + name).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x50  # version 5
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def reminder_id(request_id: str, kind: str, due_at: datetime) -> str:
    return f"{request_id}:{kind}:{store.utc(due_at).isoformat()}"


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def chunks(values: Iterable[T]) -> Iterator[list[T]]:
    items = list(values)
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _keys_in(column: Any) -> Any:
    """`column IN (:keys)`, one cached statement shape for every list length."""
    return column.in_(bindparam("keys", expanding=True))


# --- notifications and their e-mails ---------------------------------------------------------------


@dataclass(frozen=True)
class Notice:
    """What one source (an event, a reminder) tells whom: the template context its recipients
    share, and the deliveries."""

    source_id: str
    request_id: str
    at: datetime  # UTC
    context: dict[str, Any]
    deliveries: tuple[Delivery, ...]


class Notifier:
    """Records notifications (and their e-mails) as kind, locale and template context."""

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self._link_base = settings.public_base_url.rstrip("/")
        # A rebuild's e-mails are history: recorded (`store.REBUILT`), never sent again.
        self.mail_status = "pending"

    def notice(
        self,
        facts: RequestFacts,
        deliveries: Sequence[Delivery],
        *,
        source_id: str,
        at: datetime,
        event: str,
        data: Mapping[str, Any],
        due_at: str | None = None,
    ) -> Notice:
        """Everything the templates need, JSON-ready, but the recipient's part
        (`rendering.recipient_context`): the request's facts as they are now, the event's data,
        the link."""
        context = {
            "request_id": facts.request_id,
            "order_id": facts.order_id,
            "buyer_id": facts.buyer_id,
            "seller_id": facts.seller_id,
            "reason": facts.reason,
            "marketplace": facts.marketplace,
            "currency": facts.currency,
            "routed_to_support": facts.routed_to_support,
            "return_required_by": facts.return_required_by,
            "event": event,
            "e": data,
            "link": f"{self._link_base}/app/requests/{facts.request_id}",
            "due_at": due_at,
        }
        return Notice(source_id, facts.request_id, at, context, tuple(deliveries))

    def record(self, conn: Connection, notices: Sequence[Notice]) -> None:
        """Insert each notice's source, notifications, and an outbox row per e-mail; a source
        recorded before (a re-run) is left as it is."""
        notices = [n for n in notices if n.deliveries]
        if not notices:
            return
        recorded = _recorded_sources(conn, {n.source_id for n in notices})
        recipients = {d.recipient_id for n in notices for d in n.deliveries}
        preferences = load_preferences(conn, recipients)
        domain = self.settings.email_domain
        locales = {r: pick_locale(preferences.get(r, (None, None))[0]) for r in recipients}
        addresses = {
            r: email_address(r, preferences.get(r, (None, None))[1], domain) for r in recipients
        }
        # wall-clock: sending is operational, not business time
        now = datetime.now(UTC)
        sources: list[dict[str, Any]] = []
        rows: list[dict[str, Any]] = []
        mails: list[dict[str, Any]] = []
        for notice in notices:
            if notice.source_id in recorded:
                continue
            recorded.add(notice.source_id)
            sources.append({"source_id": notice.source_id, "context": notice.context})
            for delivery in notice.deliveries:
                locale = locales[delivery.recipient_id]
                for channel in delivery.channels:
                    nid = notification_id(notice.source_id, delivery.recipient_id, str(channel))
                    rows.append(
                        {
                            "id": nid,
                            "source_id": notice.source_id,
                            "recipient_id": delivery.recipient_id,
                            "audience": str(delivery.audience),
                            "channel": str(channel),
                            "kind": delivery.kind,
                            "request_id": notice.request_id,
                            "locale": locale,
                            "at": notice.at,
                            "read": False,
                        }
                    )
                    if channel == Channel.EMAIL:
                        mails.append(
                            {
                                "notification_id": nid,
                                "to_address": addresses[delivery.recipient_id],
                                "headers": {
                                    "Content-Language": locale,
                                    "X-Seller-Support-Kind": delivery.kind,
                                    "X-Seller-Support-Request": notice.request_id,
                                    "X-Seller-Support-Notification": nid,
                                },
                                "status": self.mail_status,
                                "attempts": 0,
                                "next_attempt_at": now,
                            }
                        )
        insert_rows(conn, store.sources, sources, ignore_duplicates=True)
        insert_rows(conn, store.notifications, rows, ignore_duplicates=True)
        insert_rows(conn, store.outbox, mails, ignore_duplicates=True)


_SOURCES_RECORDED = select(store.sources.c.source_id).where(_keys_in(store.sources.c.source_id))


def _recorded_sources(conn: Connection, source_ids: Iterable[str]) -> set[str]:
    recorded: set[str] = set()
    for keys in chunks(source_ids):
        recorded.update(conn.execute(_SOURCES_RECORDED, {"keys": keys}).scalars())
    return recorded


_PREFERENCES = select(
    store.preferences.c.user_id, store.preferences.c.locale, store.preferences.c.email
).where(_keys_in(store.preferences.c.user_id))


def load_preferences(
    conn: Connection, user_ids: Iterable[str]
) -> dict[str, tuple[str | None, str | None]]:
    """Each user's (locale, e-mail address) setting; users without settings are left out."""
    found: dict[str, tuple[str | None, str | None]] = {}
    for keys in chunks(user_ids):
        for row in conn.execute(_PREFERENCES, {"keys": keys}):
            found[row.user_id] = (row.locale, row.email)
    return found


# --- request facts -------------------------------------------------------------------------------

_FACTS = select(store.request_facts).where(_keys_in(store.request_facts.c.request_id))
_FACT_FIELDS = (
    "buyer_id",
    "seller_id",
    "order_id",
    "marketplace",
    "currency",
    "reason",
    "routed_to_support",
    "return_required_by",
)
_UPDATE_FACTS = (
    update(store.request_facts)
    .where(store.request_facts.c.request_id == bindparam("b_request_id"))
    .values({name: bindparam(f"b_{name}") for name in _FACT_FIELDS})
)


def load_facts(conn: Connection, request_ids: Iterable[str]) -> dict[str, RequestFacts]:
    found: dict[str, RequestFacts] = {}
    for keys in chunks(request_ids):
        for row in conn.execute(_FACTS, {"keys": keys}):
            found[row.request_id] = RequestFacts(**row._mapping)
    return found


def save_facts(
    conn: Connection, stored: Mapping[str, RequestFacts], current: Mapping[str, RequestFacts]
) -> None:
    """Insert the requests first seen now; update those whose facts changed."""
    new = [
        {"request_id": rid, **{name: getattr(facts, name) for name in _FACT_FIELDS}}
        for rid, facts in current.items()
        if rid not in stored
    ]
    changed = [
        {f"b_{name}": getattr(facts, name) for name in ("request_id", *_FACT_FIELDS)}
        for rid, facts in current.items()
        if rid in stored and stored[rid] != facts
    ]
    insert_rows(conn, store.request_facts, new)
    if changed:
        conn.execute(_UPDATE_FACTS, changed)


# --- reminders (R53) -----------------------------------------------------------------------------

_REMINDERS = select(
    store.reminders.c.id,
    store.reminders.c.request_id,
    store.reminders.c.kind,
    store.reminders.c.due_at,
    store.reminders.c.cancelled,
    store.reminders.c.fired_at,
).where(_keys_in(store.reminders.c.request_id))
_CANCEL_REMINDERS = (
    update(store.reminders).where(_keys_in(store.reminders.c.id)).values(cancelled=True)
)


@dataclass
class _Reminder:
    id: str
    kind: str
    due_at: datetime  # UTC
    cancelled: bool
    fired: bool
    row: dict[str, Any] | None = None  # the row to insert, for a reminder scheduled in this batch


@dataclass
class Reminders:
    """The reminders of a batch's requests, changed in memory, then written at once."""

    by_request: dict[str, dict[str, _Reminder]] = field(default_factory=dict)
    cancelled: list[str] = field(default_factory=list)  # stored reminders to cancel

    @classmethod
    def load(cls, conn: Connection, request_ids: Iterable[str]) -> Reminders:
        loaded = cls({rid: {} for rid in request_ids})
        for keys in chunks(loaded.by_request):
            for row in conn.execute(_REMINDERS, {"keys": keys}):
                due = store.aware(row.due_at)
                assert due is not None
                loaded.by_request[row.request_id][row.id] = _Reminder(
                    row.id, row.kind, due, bool(row.cancelled), row.fired_at is not None
                )
        return loaded

    def apply(
        self, request_id: str, outcome: Plan, at: datetime, settings: NotificationsSettings
    ) -> None:
        """Cancel the pending reminders of the deadlines the event cleared or replaced (not one it
        schedules again), then schedule the new ones (a reminder already there stays as it is)."""
        reminders = self.by_request[request_id]
        keep = {(str(r.kind), store.utc(r.due_at)) for r in outcome.schedule}
        cancel = {str(k) for k in outcome.cancel}
        for reminder in reminders.values():
            if (
                reminder.kind in cancel
                and not reminder.cancelled
                and not reminder.fired
                and (reminder.kind, reminder.due_at) not in keep
            ):
                reminder.cancelled = True
                if reminder.row is None:
                    self.cancelled.append(reminder.id)
                else:
                    reminder.row["cancelled"] = True
        for plan_ in outcome.schedule:
            due = store.utc(plan_.due_at)
            moment = remind_at(due, settings.reminder_lead, at)
            rid = reminder_id(request_id, str(plan_.kind), due)
            if moment is None or rid in reminders:
                continue
            row = {
                "id": rid,
                "request_id": request_id,
                "kind": str(plan_.kind),
                "due_at": due,
                "remind_at": store.utc(moment),
                "cancelled": False,
                "skipped": False,
            }
            reminders[rid] = _Reminder(rid, str(plan_.kind), due, False, False, row)

    def save(self, conn: Connection) -> None:
        new = [r.row for rs in self.by_request.values() for r in rs.values() if r.row is not None]
        insert_rows(conn, store.reminders, new, ignore_duplicates=True)
        for keys in chunks(self.cancelled):
            conn.execute(_CANCEL_REMINDERS, {"keys": keys})


# --- inbox (R50, R51) ----------------------------------------------------------------------------

_INBOX = select(store.inbox).where(_keys_in(store.inbox.c.request_id))
_INBOX_CHANGES = ("last_activity_at", "last_message_at", "last_event", "unread", "archived")
_UPDATE_INBOX = (
    update(store.inbox)
    .where(
        store.inbox.c.request_id == bindparam("b_request_id"),
        store.inbox.c.user_id == bindparam("b_user_id"),
    )
    .values({name: bindparam(f"b_{name}") for name in _INBOX_CHANGES})
)


@dataclass
class Inbox:
    """The conversations of a batch's requests, changed in memory, then written once each."""

    rows: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)  # (request, user)
    stored: set[tuple[str, str]] = field(default_factory=set)
    changed: set[tuple[str, str]] = field(default_factory=set)

    @classmethod
    def load(cls, conn: Connection, request_ids: Iterable[str]) -> Inbox:
        loaded = cls()
        for keys in chunks(request_ids):
            for row in conn.execute(_INBOX, {"keys": keys}):
                values = dict(row._mapping)
                values["last_activity_at"] = store.aware(values["last_activity_at"])
                values["last_message_at"] = store.aware(values["last_message_at"])
                loaded.rows[(row.request_id, row.user_id)] = values
        loaded.stored = set(loaded.rows)
        return loaded

    def touch(self, facts: RequestFacts, touch: InboxTouch, at: datetime, event: str) -> None:
        """`at` in UTC. The first touch creates the conversation; later ones move it on."""
        key = (facts.request_id, touch.user_id)
        row = self.rows.get(key)
        if row is None:
            self.rows[key] = {
                "user_id": touch.user_id,
                "request_id": facts.request_id,
                "role": str(touch.role),
                "order_id": facts.order_id,
                "counterpart_id": touch.counterpart_id,
                "last_activity_at": at,
                "last_message_at": at if touch.is_message else None,
                "last_event": event,
                "unread": bool(touch.unread),
                "archived": False,
            }
            return
        self.changed.add(key)
        if at >= row["last_activity_at"]:
            row["last_activity_at"] = at
            row["last_event"] = event
        if touch.is_message and (row["last_message_at"] is None or at >= row["last_message_at"]):
            row["last_message_at"] = at
        if touch.unread is not None:
            row["unread"] = touch.unread
        if touch.unarchive:
            row["archived"] = False  # R51: a new message brings it back into the inbox

    def save(self, conn: Connection) -> None:
        new = [row for key, row in self.rows.items() if key not in self.stored]
        changed = [
            {
                f"b_{name}": self.rows[key][name]
                for name in ("request_id", "user_id", *_INBOX_CHANGES)
            }
            for key in self.changed & self.stored
        ]
        insert_rows(conn, store.inbox, new)
        if changed:
            conn.execute(_UPDATE_INBOX, changed)


# --- the handler ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Step:
    message: EventMessage
    facts: RequestFacts
    outcome: Plan
    at: datetime  # UTC


class NotificationsProjection:
    """The transport handler: `handler(messages, connection)`."""

    # `plan` tells nothing of an event without a rule (shared/transport/projection.py `events`).
    events = frozenset(RULES)

    def __init__(self, settings: NotificationsSettings) -> None:
        self.settings = settings
        self.notifier = Notifier(settings)

    def replaying_history(self) -> None:
        """For a rebuild from history: the e-mails it records were the replaced store's to send
        (sent, or due to be, long ago), so they are recorded `rebuilt` and no mailer sends them.
        Live projections record each e-mail `pending`."""
        self.notifier.mail_status = store.REBUILT

    def __call__(self, messages: Sequence[EventMessage], conn: Connection) -> None:
        request_ids = [str(m.data.get("request_id") or m.subject) for m in messages]
        stored = load_facts(conn, set(request_ids))
        facts = dict(stored)
        steps: list[_Step] = []
        for message, request_id in zip(messages, request_ids, strict=True):
            known = facts.get(request_id)
            outcome = plan(known, message.name, message.data, self.settings.support_team_id)
            if not outcome.changes_anything:
                continue
            if outcome.facts is not None:
                facts[request_id] = outcome.facts
            current = outcome.facts or known
            assert current is not None
            at = store.utc(_time(message.data.get("at") or message.time))
            steps.append(_Step(message, current, outcome, at))
        if not steps:
            return
        save_facts(conn, stored, facts)
        touched = {step.facts.request_id for step in steps}
        reminders = Reminders.load(
            conn, {s.facts.request_id for s in steps if s.outcome.cancel or s.outcome.schedule}
        )
        inbox = Inbox.load(conn, touched)
        notices: list[Notice] = []
        for step in steps:
            message, outcome = step.message, step.outcome
            notices.append(
                self.notifier.notice(
                    step.facts,
                    outcome.deliveries,
                    source_id=message.id,
                    at=step.at,
                    event=message.name,
                    data=message.data,
                )
            )
            if outcome.cancel or outcome.schedule:
                reminders.apply(step.facts.request_id, outcome, step.at, self.settings)
            for touch in outcome.inbox:
                inbox.touch(step.facts, touch, step.at, message.name)
        self.notifier.record(conn, notices)
        reminders.save(conn)
        inbox.save(conn)
