"""The in-process adapter: feeds projections from the requests application's notification log.

Used in embedded mode (no broker). It reads the log in its total order from each projection's own
stored position, so a restart resumes where it stopped and nothing is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from shared.transport.messages import EventMessage
from shared.transport.projection import Projection

# (start position inclusive, limit) -> [(position, message)] in position order
LogReader = Callable[[int, int], Sequence[tuple[int, EventMessage]]]


class NotificationLogFeed:
    def __init__(self, read: LogReader, projections: Sequence[Projection]) -> None:
        self.read = read
        self.projections = list(projections)

    def pump(self, batch_size: int = 500) -> int:
        """Apply everything new to every projection; returns how many events were applied."""
        applied = 0
        for projection in self.projections:
            while True:
                batch = self.read(projection.position() + 1, batch_size)
                for position, message in batch:
                    applied += projection.apply(message, position=position)
                if len(batch) < batch_size:
                    break
        return applied
