"""Timers: the durable deadlines of the side tables, fired when due (services/requests/main.py
`timer_loop()` calls `fire_due()`; commands apply the deadlines of their request due by then first,
`RequestsCore._command`)."""

from __future__ import annotations

from datetime import datetime

from services.requests.application.core import RequestsCore, _aware, _deadline_rows
from services.requests.application.errors import ConcurrentUpdate


class Timers(RequestsCore):
    def due_deadlines(self, now: datetime, limit: int = 500) -> list[tuple[str, str, datetime]]:
        with self.side_tables.transaction(commit=False) as session:
            rows = self.side_tables.due_deadlines(session, now, limit)
        return [(request_id, kind, _aware(due_at)) for request_id, kind, due_at in rows]

    def next_deadline(self) -> datetime | None:
        with self.side_tables.transaction(commit=False) as session:
            due = self.side_tables.next_deadline(session)
        return None if due is None else _aware(due)

    def fire_due(self, now: datetime | None = None) -> int:
        """Apply every deadline due at `now` (default: the clock), oldest first; returns the count
        of events it caused. Safe to run concurrently and repeatedly: a deadline that no longer
        applies is a no-op, and a conflict means another runner already handled it."""
        now = now or self.clock.now()
        fired = 0
        while True:
            due = self.due_deadlines(now)
            if not due:
                return fired
            progressed = False
            for request_id, kind, due_at in due:
                try:
                    with self._transaction() as session:
                        request = self._load(request_id)
                        stored = _deadline_rows(request)
                        self._read_order_record(session, request)
                        if request.fire_deadline(kind, due_at):
                            fired += 1
                        progressed = True
                        self._save_with_side_tables(session, request, stored)
                        # A deadline the aggregate no longer holds would otherwise be due forever.
                        self.side_tables.delete_deadline(session, request_id, kind, due_at)
                except ConcurrentUpdate:
                    progressed = True  # another runner moved this request; re-read what is due
            if not progressed:
                return fired
