"""The notifications projection: request events in; notifications, e-mail outbox, reminders and inbox
rows out.

`NotificationsProjection(settings, renderer)` is a plain transport handler `(EventMessage,
Connection) -> None`: it runs inside the transaction in which `Projection.apply` records the event id
as applied, so one event's notifications, outbox rows, reminder changes and inbox changes commit
together with that record, exactly once in effect. It reads nothing but `EventMessage.data`.

Every notification's id is derived from (event id, recipient, channel) and is unique, and an outbox
row exists only for a notification inserted now: even a handler run twice for one event (a replay
without tracking rows, a second consumer) creates no second notification and sends no second e-mail.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.engine import Connection

from services.notifications import store
from services.notifications.domain import (
    Audience,
    Channel,
    Delivery,
    InboxTouch,
    Plan,
    RequestFacts,
    email_address,
    plan,
    remind_at,
)
from services.notifications.rendering import Renderer
from services.notifications.settings import NotificationsSettings
from shared.transport.messages import EventMessage

log = logging.getLogger("seller_support.notifications")

CONSUMER = "notifications"
FALLBACK_KIND = "update"
_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:seller-support:notifications")


def notification_id(source_id: str, recipient_id: str, channel: str) -> str:
    return str(uuid.uuid5(_NAMESPACE, f"{source_id}|{recipient_id}|{channel}"))


def _time(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


class Notifier:
    """Renders and records notifications (and their e-mails) for one recipient at a time."""

    def __init__(self, settings: NotificationsSettings, renderer: Renderer) -> None:
        self.settings = settings
        self.renderer = renderer

    def preferences(self, conn: Connection, user_id: str) -> tuple[str | None, str | None]:
        row = conn.execute(
            select(store.preferences.c.locale, store.preferences.c.email).where(
                store.preferences.c.user_id == user_id
            )
        ).first()
        return (None, None) if row is None else (row.locale, row.email)

    def context(
        self,
        facts: RequestFacts,
        delivery: Delivery,
        event: str,
        data: Mapping[str, Any],
        **extra: Any,
    ) -> dict[str, Any]:
        counterpart = {
            Audience.BUYER: facts.seller_id,
            Audience.SELLER: facts.buyer_id,
        }.get(delivery.audience)
        base = self.settings.public_base_url.rstrip("/")
        return {
            "audience": str(delivery.audience),
            "recipient_id": delivery.recipient_id,
            "counterpart_id": counterpart,
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
            "e": dict(data),
            "link": f"{base}/v1/support-requests/{facts.request_id}",
            "due_at": None,
            **extra,
        }

    def deliver(
        self,
        conn: Connection,
        facts: RequestFacts,
        delivery: Delivery,
        *,
        source_id: str,
        at: datetime,
        event: str,
        data: Mapping[str, Any],
        **extra: Any,
    ) -> int:
        """Record the notification on each channel; returns how many were new."""
        locale, configured_email = self.preferences(conn, delivery.recipient_id)
        context = self.context(facts, delivery, event, data, **extra)
        try:
            rendered = self.renderer.render(delivery.kind, locale, context)
        except Exception:  # a template bug must not stop the stream: send the generic text
            log.exception("rendering %s failed; sending the generic update", delivery.kind)
            rendered = self.renderer.render(FALLBACK_KIND, locale, context)
        created = 0
        for channel in delivery.channels:
            nid = notification_id(source_id, delivery.recipient_id, str(channel))
            inserted = store.insert_ignoring_duplicates(
                conn,
                store.notifications,
                {
                    "id": nid,
                    "source_id": source_id,
                    "recipient_id": delivery.recipient_id,
                    "audience": str(delivery.audience),
                    "channel": str(channel),
                    "kind": delivery.kind,
                    "request_id": facts.request_id,
                    "locale": rendered.locale,
                    "subject": rendered.subject,
                    "body": rendered.body,
                    "at": store.utc(at),
                    "read": False,
                },
            )
            if not inserted:
                continue
            created += 1
            if channel == Channel.EMAIL:
                address = email_address(
                    delivery.recipient_id, configured_email, self.settings.email_domain
                )
                store.insert_ignoring_duplicates(
                    conn,
                    store.outbox,
                    {
                        "notification_id": nid,
                        "to_address": address,
                        "subject": rendered.subject,
                        "body": rendered.body,
                        "headers": {
                            "Content-Language": rendered.locale,
                            "X-Seller-Support-Kind": delivery.kind,
                            "X-Seller-Support-Request": facts.request_id,
                            "X-Seller-Support-Notification": nid,
                        },
                        "status": "pending",
                        "attempts": 0,
                        # wall-clock: sending is operational, not business time
                        "next_attempt_at": datetime.now(UTC),
                    },
                )
        return created


class NotificationsProjection:
    """The transport handler: `handler(message, connection)`."""

    def __init__(self, settings: NotificationsSettings, renderer: Renderer | None = None) -> None:
        self.settings = settings
        self.notifier = Notifier(settings, renderer or Renderer())

    def __call__(self, message: EventMessage, conn: Connection) -> None:
        data = message.data
        request_id = str(data.get("request_id") or message.subject)
        known = load_facts(conn, request_id)
        outcome = plan(known, message.name, data, self.settings.support_team_id)
        if not outcome.changes_anything:
            return
        facts = outcome.facts or known
        assert facts is not None
        if outcome.facts is not None:
            save_facts(conn, outcome.facts, exists=known is not None)
        at = _time(data.get("at") or message.time)
        for delivery in outcome.deliveries:
            self.notifier.deliver(
                conn, facts, delivery, source_id=message.id, at=at, event=message.name, data=data
            )
        self._reminders(conn, request_id, outcome, at)
        for touch in outcome.inbox:
            touch_inbox(conn, facts, touch, at, message.name)

    def _reminders(self, conn: Connection, request_id: str, outcome: Plan, at: datetime) -> None:
        keep = {(r.kind, store.utc(r.due_at)) for r in outcome.schedule}
        if outcome.cancel:
            pending = conn.execute(
                select(
                    store.reminders.c.id, store.reminders.c.kind, store.reminders.c.due_at
                ).where(
                    store.reminders.c.request_id == request_id,
                    store.reminders.c.kind.in_([str(k) for k in outcome.cancel]),
                    store.reminders.c.cancelled.is_(False),
                    store.reminders.c.fired_at.is_(None),
                )
            ).all()
            doomed = [r.id for r in pending if (r.kind, store.aware(r.due_at)) not in keep]
            if doomed:
                conn.execute(
                    update(store.reminders)
                    .where(store.reminders.c.id.in_(doomed))
                    .values(cancelled=True)
                )
        for reminder in outcome.schedule:
            due = store.utc(reminder.due_at)
            moment = remind_at(due, self.settings.reminder_lead, at)
            if moment is None:
                continue
            store.insert_ignoring_duplicates(
                conn,
                store.reminders,
                {
                    "id": reminder_id(request_id, str(reminder.kind), due),
                    "request_id": request_id,
                    "kind": str(reminder.kind),
                    "due_at": due,
                    "remind_at": store.utc(moment),
                    "cancelled": False,
                    "skipped": False,
                },
            )


def reminder_id(request_id: str, kind: str, due_at: datetime) -> str:
    return f"{request_id}:{kind}:{store.utc(due_at).isoformat()}"


# --- request facts -------------------------------------------------------------------------------


def load_facts(conn: Connection, request_id: str) -> RequestFacts | None:
    row = conn.execute(
        select(store.request_facts).where(store.request_facts.c.request_id == request_id)
    ).first()
    if row is None:
        return None
    return RequestFacts(**dict(row._mapping))


def save_facts(conn: Connection, facts: RequestFacts, *, exists: bool) -> None:
    values = {
        "buyer_id": facts.buyer_id,
        "seller_id": facts.seller_id,
        "order_id": facts.order_id,
        "marketplace": facts.marketplace,
        "currency": facts.currency,
        "reason": facts.reason,
        "routed_to_support": facts.routed_to_support,
        "return_required_by": facts.return_required_by,
    }
    if exists:
        conn.execute(
            update(store.request_facts)
            .where(store.request_facts.c.request_id == facts.request_id)
            .values(**values)
        )
    else:
        conn.execute(insert(store.request_facts).values(request_id=facts.request_id, **values))


# --- inbox (R50, R51) ------------------------------------------------------------------------------


def touch_inbox(
    conn: Connection, facts: RequestFacts, touch: InboxTouch, at: datetime, event: str
) -> None:
    table = store.inbox
    where = and_(table.c.user_id == touch.user_id, table.c.request_id == facts.request_id)
    row = conn.execute(select(table).where(where)).first()
    at = store.utc(at)
    if row is None:
        conn.execute(
            insert(table).values(
                user_id=touch.user_id,
                request_id=facts.request_id,
                role=str(touch.role),
                order_id=facts.order_id,
                counterpart_id=touch.counterpart_id,
                last_activity_at=at,
                last_message_at=at if touch.is_message else None,
                last_event=event,
                unread=bool(touch.unread),
                archived=False,
            )
        )
        return
    values: dict[str, Any] = {}
    if at >= store.aware(row.last_activity_at):
        values["last_activity_at"] = at
        values["last_event"] = event
    if touch.is_message and (row.last_message_at is None or at >= store.aware(row.last_message_at)):
        values["last_message_at"] = at
    if touch.unread is not None:
        values["unread"] = touch.unread
    if touch.unarchive:
        values["archived"] = False  # R51: a new message brings it back into the inbox
    if values:
        conn.execute(update(table).where(where).values(**values))
