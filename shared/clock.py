"""The one injectable clock. Production reads the system time; demos and tests move a clock by hand."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Protocol

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class AdjustableClock:
    """System time plus an offset that only ever moves forward, so timers never fire backwards."""

    def __init__(self, start: datetime | None = None, frozen: bool = False) -> None:
        self._lock = threading.Lock()
        self._frozen = frozen
        self._offset = timedelta(0)
        self._last = _EPOCH
        if start is not None:
            if start.tzinfo is None:
                raise ValueError("the clock needs a timezone-aware start")
            self._offset = start - datetime.now(UTC)
            # In UTC: adding a timedelta to a zoned datetime is wall-clock arithmetic, which would
            # shift the clock by an hour whenever an advance crosses a DST change.
            self._frozen_at = start.astimezone(UTC)
        else:
            self._frozen_at = datetime.now(UTC)

    def now(self) -> datetime:
        with self._lock:
            if self._frozen:
                return self._frozen_at
            # Never behind a time already handed out, even if the system clock steps back.
            self._last = max(self._last, datetime.now(UTC) + self._offset)
            return self._last

    @property
    def offset(self) -> timedelta:
        """How far this clock is ahead of the system clock (what a restart must resume)."""
        with self._lock:
            return self._frozen_at - datetime.now(UTC) if self._frozen else self._offset

    def resume(self, offset: timedelta, floor: datetime | None = None) -> datetime:
        """Continue a clock moved before a restart (issue 18, class 6): at least `offset` ahead of
        the system clock, and never before `floor` (the latest time the last run handed out)."""
        with self._lock:
            real = datetime.now(UTC)
            wanted = max(self._offset, offset)
            if floor is not None and real + wanted < floor:
                wanted = floor - real
            self._frozen_at += wanted - self._offset
            self._offset = wanted
        return self.now()

    def advance(self, by: timedelta) -> datetime:
        if by < timedelta(0):
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += by
            self._frozen_at += by
        return self.now()

    def set(self, to: datetime) -> datetime:
        if to.tzinfo is None:
            raise ValueError("the clock needs a timezone-aware instant")
        current = self.now()
        if to < current:
            raise ValueError(f"the clock only moves forward: it is already {current.isoformat()}")
        return self.advance(to - current)
