"""Use cases of the notifications service: the projection, a user's feed, the inbox, settings.

Plain values in, plain values out; no HTTP. Every query is for the caller's own data: a user reads
only their own notifications, inbox and settings (the support team's shared feed is readable by
support agents). Errors: `NotFound` (404: unknown, or not yours: both answer the same),
`InvalidQuery` (422).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, and_, func, or_, select, update

from services.notifications import reminders, store
from services.notifications.domain import LOCALES
from services.notifications.mailer import Mailer
from services.notifications.projection import NotificationsProjection
from services.notifications.rendering import Renderer
from services.notifications.settings import NotificationsSettings
from shared.database import create_versioned
from shared.migrations import ensure_schema
from shared.transport.projection import Projection

TABS = ("customer_service", "all")
MAX_PAGE = 100


class NotFound(LookupError):
    """Not the caller's, or unknown: both answer 404."""


class InvalidQuery(ValueError):
    """An inbox or feed query with an impossible filter or cursor (422)."""


@dataclass(frozen=True)
class Viewer:
    role: str
    id: str


@dataclass(frozen=True)
class InboxPage:
    items: list[dict[str, Any]]
    next_cursor: str | None


# A notification with its source's template context, to render.
_NOTIFICATIONS = (
    select(
        store.notifications,
        store.sources.c.context,
        store.outbox.c.status.label("delivery_status"),
        store.outbox.c.attempts.label("delivery_attempts"),
        store.outbox.c.last_error.label("delivery_error"),
        store.outbox.c.sent_at.label("delivery_sent_at"),
    )
    .join(store.sources, store.sources.c.source_id == store.notifications.c.source_id)
    .outerjoin(store.outbox, store.outbox.c.notification_id == store.notifications.c.id)
)


def _delivery_view(row: Any) -> dict[str, Any] | None:
    """An e-mail's delivery: pending, sending, sent, or failed with the server's reason."""
    if row.channel != "email" or row.delivery_status is None:
        return None
    return {
        "status": row.delivery_status,
        "attempts": row.delivery_attempts,
        "error": row.delivery_error if row.delivery_status != "sent" else None,
        "sent_at": store.aware(row.delivery_sent_at),
    }


def _notification_view(row: Any, renderer: Renderer) -> dict[str, Any]:
    text = renderer.render_notification(row._mapping)
    return {
        "id": row.id,
        "seq": row.seq,  # the paging position (`before`); the API sends it as `X-Next-Before`
        "kind": row.kind,
        "channel": row.channel,
        "subject": text.subject,
        "body": text.body,
        "request_id": row.request_id,
        "at": store.aware(row.at),
        "read": bool(row.read),
        "locale": row.locale,
        "delivery": _delivery_view(row),
    }


def _conversation_view(row: Any) -> dict[str, Any]:
    return {
        "request_id": row.request_id,
        "order_id": row.order_id,
        "role": row.role,
        "counterpart_id": row.counterpart_id,
        "last_activity_at": store.aware(row.last_activity_at),
        "last_message_at": store.aware(row.last_message_at),
        "last_event": row.last_event,
        "unread": bool(row.unread),
        "archived": bool(row.archived),
        "tabs": ["customer_service", "all"] if row.role == "seller" else ["all"],
    }


def encode_cursor(last_activity_at: datetime, request_id: str) -> str:
    raw = json.dumps([store.utc(last_activity_at).isoformat(), request_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        moment, request_id = json.loads(raw)
        return datetime.fromisoformat(moment).astimezone(UTC), str(request_id)
    except (ValueError, TypeError, binascii.Error) as error:
        raise InvalidQuery("cursor: not a cursor this API returned") from error


class NotificationsApplication:
    def __init__(
        self,
        engine: Engine,
        settings: NotificationsSettings | None = None,
        renderer: Renderer | None = None,
        mailer: Mailer | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings or NotificationsSettings()
        create_versioned(
            engine,
            store.metadata,
            "notifications",
            store.SCHEMA_VERSION,
            create=lambda conn: ensure_schema(conn, store.STORE),
        )
        self.renderer = renderer or Renderer()
        self.handler = NotificationsProjection(self.settings)
        self.projection = Projection(engine, self.settings.consumer_name, self.handler)
        self.mailer = mailer or Mailer(engine, self.settings, renderer=self.renderer)

    def close(self) -> None:
        self.engine.dispose()

    # --- timers and sending ----------------------------------------------------------------------

    def fire_due(self, now: datetime) -> int:
        """R53: send the reminders due at `now` (business clock)."""
        return reminders.fire_due(self.engine, self.handler.notifier, now)

    def send_pending(self, now: datetime | None = None) -> int:
        """Send the e-mail outbox (wall-clock backoff)."""
        return self.mailer.send_pending(now)

    # --- the feed --------------------------------------------------------------------------------

    def may_read_feed(self, viewer: Viewer, user_id: str) -> bool:
        if viewer.id == user_id:
            return True
        return viewer.role == "support" and user_id == self.settings.support_team_id

    def _check_feed(self, viewer: Viewer, user_id: str) -> None:
        if not self.may_read_feed(viewer, user_id):
            raise NotFound(f"no notifications of user {user_id} for you")

    def notifications(
        self,
        user_id: str,
        viewer: Viewer,
        *,
        channel: str | None = None,
        limit: int = MAX_PAGE,
        before: int | None = None,
    ) -> list[dict[str, Any]]:
        """The user's notifications, newest first (`before`: a notification `seq`, for paging)."""
        self._check_feed(viewer, user_id)
        if not 1 <= limit <= 500:
            raise InvalidQuery("limit must be between 1 and 500")
        table = store.notifications
        query = _NOTIFICATIONS.where(table.c.recipient_id == user_id)
        if channel is not None:
            query = query.where(table.c.channel == channel)
        if before is not None:
            query = query.where(table.c.seq < before)
        query = query.order_by(table.c.seq.desc()).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [_notification_view(r, self.renderer) for r in rows]

    def mark_notification_read(self, user_id: str, viewer: Viewer, notification_id: str) -> None:
        self._check_feed(viewer, user_id)
        table = store.notifications
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(table)
                .where(table.c.id == notification_id, table.c.recipient_id == user_id)
                .values(read=True)
            ).rowcount
        if not moved:
            raise NotFound(f"no notification {notification_id} of yours")

    def latest_seq(self, user_id: str) -> int:
        table = store.notifications
        with self.engine.connect() as conn:
            value = conn.execute(
                select(func.max(table.c.seq)).where(table.c.recipient_id == user_id)
            ).scalar()
        return int(value or 0)

    def in_app_since(self, user_id: str, viewer: Viewer, seq: int) -> list[tuple[int, dict]]:
        """In-app notifications after stream position `seq`, oldest first (the live stream)."""
        self._check_feed(viewer, user_id)
        table = store.notifications
        with self.engine.connect() as conn:
            rows = conn.execute(
                _NOTIFICATIONS.where(
                    table.c.recipient_id == user_id,
                    table.c.channel == "in_app",
                    table.c.seq > seq,
                )
                .order_by(table.c.seq)
                .limit(200)
            ).all()
        return [(r.seq, _notification_view(r, self.renderer)) for r in rows]

    # --- the inbox (R50, R51) ------------------------------------------------------------------

    def inbox(
        self,
        viewer: Viewer,
        *,
        tab: str = "all",
        archived: bool = False,
        limit: int = 20,
        cursor: str | None = None,
    ) -> InboxPage:
        """The caller's conversations, most recent activity first. `customer_service`: requests
        about their sales; `all`: every conversation, including those they opened as a buyer.
        Archived conversations are listed only with `archived=True`."""
        if tab not in TABS:
            raise InvalidQuery(f"tab must be one of: {', '.join(TABS)}")
        if not 1 <= limit <= MAX_PAGE:
            raise InvalidQuery(f"limit must be between 1 and {MAX_PAGE}")
        table = store.inbox
        query = select(table).where(table.c.user_id == viewer.id, table.c.archived.is_(archived))
        if tab == "customer_service":
            query = query.where(table.c.role == "seller")
        if cursor is not None:
            moment, request_id = decode_cursor(cursor)
            query = query.where(
                or_(
                    table.c.last_activity_at < moment,
                    and_(table.c.last_activity_at == moment, table.c.request_id < request_id),
                )
            )
        query = query.order_by(table.c.last_activity_at.desc(), table.c.request_id.desc()).limit(
            limit + 1
        )
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        items = [_conversation_view(r) for r in rows[:limit]]
        next_cursor = None
        if len(rows) > limit:
            last = items[-1]
            next_cursor = encode_cursor(last["last_activity_at"], last["request_id"])
        return InboxPage(items, next_cursor)

    def conversation(self, viewer: Viewer, request_id: str) -> dict[str, Any]:
        table = store.inbox
        with self.engine.connect() as conn:
            row = conn.execute(
                select(table).where(table.c.user_id == viewer.id, table.c.request_id == request_id)
            ).first()
        if row is None:
            raise NotFound(f"no conversation {request_id} in your inbox")
        return _conversation_view(row)

    def _mark(self, viewer: Viewer, request_id: str, **values: bool) -> dict[str, Any]:
        table = store.inbox
        with self.engine.begin() as conn:
            moved = conn.execute(
                update(table)
                .where(table.c.user_id == viewer.id, table.c.request_id == request_id)
                .values(**values)
            ).rowcount
        if not moved:
            raise NotFound(f"no conversation {request_id} in your inbox")
        return self.conversation(viewer, request_id)

    def mark_unread(self, viewer: Viewer, request_id: str) -> dict[str, Any]:
        return self._mark(viewer, request_id, unread=True)

    def mark_read(self, viewer: Viewer, request_id: str) -> dict[str, Any]:
        return self._mark(viewer, request_id, unread=False)

    def archive(self, viewer: Viewer, request_id: str) -> dict[str, Any]:
        return self._mark(viewer, request_id, archived=True)

    def unarchive(self, viewer: Viewer, request_id: str) -> dict[str, Any]:
        return self._mark(viewer, request_id, archived=False)

    # --- settings (R54) --------------------------------------------------------------------------

    def preferences(self, user_id: str, viewer: Viewer) -> dict[str, Any]:
        if viewer.id != user_id:
            raise NotFound(f"no settings of user {user_id} for you")
        table = store.preferences
        with self.engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.user_id == user_id)).first()
        return {
            "user_id": user_id,
            "locale": "en" if row is None else row.locale,
            "email": None if row is None else row.email,
        }

    def set_preferences(
        self, user_id: str, viewer: Viewer, *, locale: str | None = None, email: str | None = None
    ) -> dict[str, Any]:
        """Set the user's locale (`en`, `nl`) and/or e-mail address; None leaves a field as is."""
        if viewer.id != user_id:
            raise NotFound(f"no settings of user {user_id} for you")
        if locale is not None and locale not in LOCALES:
            raise InvalidQuery(f"locale must be one of: {', '.join(LOCALES)}")
        if email and (email.count("@") != 1 or any(c.isspace() for c in email)):
            raise InvalidQuery("email must be one address like name@example.com")
        current = self.preferences(user_id, viewer)
        values = {
            "locale": locale or current["locale"],
            "email": (email or None) if email is not None else current["email"],
        }
        table = store.preferences
        with self.engine.begin() as conn:
            if not store.insert_ignoring_duplicates(conn, table, {"user_id": user_id, **values}):
                conn.execute(update(table).where(table.c.user_id == user_id).values(**values))
        return {"user_id": user_id, **values}
