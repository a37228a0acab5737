"""Reminders before deadlines (R53): seller response, offer answer, return drop-off, inspection.

The projection schedules a reminder row when an event sets one of those deadlines, at
`due_at - reminder_lead` (default 12 calendar hours, `SUPPORT_NOTIFICATIONS_REMINDER_LEAD`), and
cancels it when a later event clears or replaces the deadline. `fire_due(now)` sends every reminder
whose moment came, once: a reminder whose deadline already passed is skipped instead (the event that
the deadline caused tells the parties what happened). Calling it again, or from two processes, sends
nothing twice: the row is claimed with a conditional update and the notification ids are derived
from the reminder id.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Engine, select, update

from services.notifications import store
from services.notifications.domain import (
    ReminderKind,
    reminder_delivery,
    reminder_due,
)
from services.notifications.projection import Notice, Notifier, load_facts


def fire_due(engine: Engine, notifier: Notifier, now: datetime, limit: int = 500) -> int:
    """Send the reminders that are due at `now`; returns how many were sent."""
    table = store.reminders
    claimed: list[tuple[str, str, ReminderKind, datetime, datetime]] = []
    with engine.begin() as conn:
        due = conn.execute(
            select(table)
            .where(
                table.c.fired_at.is_(None),
                table.c.cancelled.is_(False),
                table.c.skipped.is_(False),
                table.c.remind_at <= store.utc(now),
            )
            .order_by(table.c.remind_at, table.c.id)
            .limit(limit)
        ).all()
        for row in due:
            remind, due_at = store.aware(row.remind_at), store.aware(row.due_at)
            assert remind is not None and due_at is not None
            pending = (
                table.c.id == row.id,
                table.c.fired_at.is_(None),
                table.c.cancelled.is_(False),
                table.c.skipped.is_(False),
            )
            if not reminder_due(remind, due_at, now):
                conn.execute(update(table).where(*pending).values(skipped=True))
                continue
            if conn.execute(update(table).where(*pending).values(fired_at=store.utc(now))).rowcount:
                claimed.append((row.id, row.request_id, ReminderKind(row.kind), remind, due_at))
        facts = load_facts(conn, {request_id for _, request_id, *_ in claimed})
        notices: list[Notice] = []
        for reminder, request_id, kind, remind, due_at in claimed:
            if request_id not in facts:
                continue
            delivery = reminder_delivery(facts[request_id], kind, notifier.settings.support_team_id)
            notices.append(
                notifier.notice(
                    facts[request_id],
                    [delivery],
                    source_id=f"reminder:{reminder}",
                    at=store.utc(remind),
                    event=delivery.kind,
                    data={"deadline": str(kind), "due_at": due_at.isoformat()},
                    due_at=due_at.isoformat(),
                )
            )
        notifier.record(conn, notices)
    return len(notices)


def pending_reminders(engine: Engine, request_id: str | None = None) -> list[dict]:
    """Reminders not sent, cancelled or skipped (operations, tests)."""
    table = store.reminders
    query = select(table).where(
        table.c.fired_at.is_(None), table.c.cancelled.is_(False), table.c.skipped.is_(False)
    )
    if request_id is not None:
        query = query.where(table.c.request_id == request_id)
    with engine.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query.order_by(table.c.remind_at))]
