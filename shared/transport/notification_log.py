"""The in-process adapter: feeds projections from the requests application's notification log.

Used in embedded mode (no broker). It reads the log in its total order from each projection's own
stored position, so a restart resumes where it stopped and nothing is skipped. Each read serves every
projection at or before it (one read, not one per projection), and each projection applies its part
as one batch (`Projection.apply_batch`: one transaction).
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
        positions = {id(p): p.position() for p in self.projections}
        while True:
            batch = self.read(min(positions.values(), default=0) + 1, batch_size)
            for projection in self.projections:
                after = positions[id(projection)]
                part = [(position, message) for position, message in batch if position > after]
                if part:
                    applied += projection.apply_batch(part)
                    positions[id(projection)] = part[-1][0]
            if len(batch) < batch_size:
                return applied
