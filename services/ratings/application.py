"""Use cases of the ratings service.

- `rating(seller_id, now)` computes a seller's rating at read time from the stored per-request facts:
  the 90-day window moves with the clock, so nothing needs to happen for a rating to change as old
  requests age out (R41).
- `view(seller_id, viewer_id)` is the API's answer: public fields for anyone, CSAT and the
  explanation only for the seller themself (R46, R47).
- `refresh(now)` detects the sellers whose public rating (visible, level) changed since it was last
  announced - after new events, or because requests aged out of the window - and writes one
  `SupportRatingChanged` per change to an outbox in the same transaction. It returns the new ones.
  The Kafka publisher (another component) reads `pending_changes()`, publishes each with key
  `seller_id`, then calls `mark_published(ids)`: at-least-once, in order per seller (`sequence`).
  Call `refresh` after every projection batch and periodically from the timer loop.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlalchemy.engine import Connection

from services.ratings import store
from services.ratings.domain import (
    Code,
    Formula,
    PublicRating,
    Rating,
    public_from_counts,
    rate,
)
from services.ratings.projection import CONSUMER, ratings_projection
from shared.clock import Clock
from shared.contracts.ratings_v1 import EVENT_TYPE, SupportRatingChanged
from shared.transport.projection import Projection
from shared.transport.publishing import Published

RATINGS_SOURCE = "/seller-support/ratings"
_CHANGE_NAMESPACE = uuid.UUID("6f1c4b0e-3f7a-4b8e-9a55-2b7d1c9e0a11")


class RatingsApplication:
    """Reads and change detection over the ratings database; the projection writes it."""

    def __init__(self, engine: Engine, clock: Clock, formula: Formula | None = None) -> None:
        self.engine = engine
        self.clock = clock
        self.formula = formula or Formula()
        self.projection: Projection = ratings_projection(engine)

    @property
    def consumer(self) -> str:
        return CONSUMER

    def close(self) -> None:
        self.engine.dispose()

    # --- queries ---------------------------------------------------------------------------------

    def rating(self, seller_id: str, now: datetime | None = None) -> Rating:
        now = now or self.clock.now()
        with self.engine.connect() as conn:
            return self._rating(conn, seller_id, now)

    def _rating(self, conn: Connection, seller_id: str, now: datetime) -> Rating:
        since = now - timedelta(days=self.formula.window_days)
        requests, received = store.seller_requests(
            conn, seller_id, now, since, self.formula.fallback_most_recent
        )
        return rate(seller_id, requests, now, self.formula, requests_received=received)

    def view(
        self, seller_id: str, viewer_id: str | None = None, now: datetime | None = None
    ) -> dict[str, Any]:
        """API.md's answer. `viewer_id` = the caller's id when the caller is a seller."""
        return rating_view(self.rating(seller_id, now), private=viewer_id == seller_id)

    # --- change detection (seller-support.ratings.v1) --------------------------------------------

    def refresh(self, now: datetime | None = None) -> list[SupportRatingChanged]:
        """Announce every seller whose (visible, level) differs from what was last announced."""
        now = now or self.clock.now()
        new: list[SupportRatingChanged] = []
        with self.engine.begin() as conn:
            previous = self._lock_marker(conn)
            for seller_id, counter in self._candidates(conn, previous, now):
                rating = self._public_rating(conn, seller_id, now)
                change = self._announce_if_changed(conn, rating)
                if change is not None:
                    new.append(change)
                conn.execute(
                    update(store.sellers)
                    .where(store.sellers.c.seller_id == seller_id)
                    .values(evaluated_changes=counter)
                )
            if previous is None or now > previous:
                conn.execute(
                    update(store.refresh_marker)
                    .where(store.refresh_marker.c.id == 1)
                    .values(refreshed_at=store.utc(now))
                )
        return new

    def _public_rating(
        self, conn: Connection, seller_id: str, now: datetime
    ) -> Rating | PublicRating:
        """The seller's public (visible, level) at `now`, for `refresh` (issue 30): from counts
        taken in SQL when the 90-day window applies, so no request or reason is read into Python
        (the full window read was 11.6 % of the embedded server's CPU and grew with the history);
        else `rate` over the at most `fallback_most_recent` most recent requests. Equal to
        `rate(...).public` (tests/integration/test_ratings_projection.py)."""
        since = now - timedelta(days=self.formula.window_days)
        received, in_window, per_code = store.seller_window_counts(
            conn, seller_id, now, since, self.formula.visible_from_received
        )
        counted = public_from_counts(
            seller_id,
            now,
            self.formula,
            received=received,
            in_window=in_window,
            reasons_in_window={Code(code): n for code, n in per_code.items()},
        )
        return counted if counted is not None else self._rating(conn, seller_id, now)

    def _lock_marker(self, conn: Connection) -> datetime | None:
        store.insert_ignoring_duplicates(
            conn, store.refresh_marker, {"id": 1, "refreshed_at": None}
        )
        # One refresher at a time (a row lock on PostgreSQL; SQLite serialises writers anyway).
        conn.execute(
            update(store.refresh_marker)
            .where(store.refresh_marker.c.id == 1)
            .values(refreshed_at=store.refresh_marker.c.refreshed_at)
        )
        stored = conn.execute(
            select(store.refresh_marker.c.refreshed_at).where(store.refresh_marker.c.id == 1)
        ).scalar_one()
        return store.aware(stored)

    def _candidates(
        self, conn: Connection, previous: datetime | None, now: datetime
    ) -> list[tuple[str, int]]:
        """Sellers changed by events since their last evaluation, and sellers with a request that
        left the 90-day window since the previous refresh (or every seller on the first one)."""
        sellers = store.sellers
        pair = select(sellers.c.seller_id, sellers.c.changes)
        if previous is None:
            return sorted((r.seller_id, r.changes) for r in conn.execute(pair))
        # Only the sellers that can have changed are read (issue 30), not every seller's counter.
        counters = {
            r.seller_id: r.changes
            for r in conn.execute(pair.where(sellers.c.changes != sellers.c.evaluated_changes))
        }
        days = timedelta(days=self.formula.window_days)
        if now > previous:
            requests = store.requests
            aged = (
                select(requests.c.seller_id)
                .where(
                    requests.c.routed_to_support.is_(None),
                    requests.c.opened_at > store.utc(previous - days),
                    requests.c.opened_at <= store.utc(now - days),
                )
                .distinct()
            )
            counters.update(
                (r.seller_id, r.changes)
                for r in conn.execute(pair.where(sellers.c.seller_id.in_(aged.scalar_subquery())))
            )
        return sorted(counters.items())

    def _announce_if_changed(
        self, conn: Connection, rating: Rating | PublicRating
    ) -> SupportRatingChanged | None:
        last = conn.execute(
            select(store.published).where(store.published.c.seller_id == rating.seller_id)
        ).first()
        before = (False, None) if last is None else (bool(last.visible), last.level)
        level = None if rating.level is None else str(rating.level)
        if before == (rating.visible, level):
            return None
        sequence = 1 if last is None else last.sequence + 1
        change = SupportRatingChanged(
            id=str(uuid.uuid5(_CHANGE_NAMESPACE, f"{rating.seller_id}:{sequence}")),
            seller_id=rating.seller_id,
            sequence=sequence,
            changed_at=rating.at,
            visible=rating.visible,
            level=level,
            previous_visible=before[0],
            previous_level=before[1],
            window=str(rating.window),
            requests_considered=rating.requests_considered,
        )
        values = {"visible": rating.visible, "level": level, "sequence": sequence}
        if last is None:
            conn.execute(store.published.insert().values(seller_id=rating.seller_id, **values))
        else:
            conn.execute(
                update(store.published)
                .where(store.published.c.seller_id == rating.seller_id)
                .values(**values)
            )
        conn.execute(
            store.changes.insert().values(
                id=change.id,
                seller_id=change.seller_id,
                sequence=sequence,
                at=store.utc(rating.at),
                payload=change.model_dump(mode="json"),
                published_at=None,
            )
        )
        return change

    def pending_changes(self, limit: int = 500) -> list[SupportRatingChanged]:
        """Changes not yet marked published, oldest first (per seller in `sequence` order)."""
        changes = store.changes
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(changes.c.payload)
                .where(changes.c.published_at.is_(None))
                .order_by(changes.c.at, changes.c.seller_id, changes.c.sequence)
                .limit(limit)
            ).scalars()
            return [SupportRatingChanged.model_validate(p) for p in rows]

    def pending_publications(self, limit: int = 500) -> list[Published]:
        """`pending_changes` as CloudEvents for the publisher: `ce_id` = change id, key and
        `ce_subject` = seller id, `ce_time` = when the change was detected."""
        return [
            Published(
                id=change.id,
                type=EVENT_TYPE,
                source=RATINGS_SOURCE,
                subject=change.seller_id,
                time=change.changed_at,
                key=change.seller_id,
                data=change.model_dump(mode="json"),
            )
            for change in self.pending_changes(limit)
        ]

    def mark_published(self, change_ids: Iterable[str]) -> int:
        ids = list(change_ids)
        if not ids:
            return 0
        with self.engine.begin() as conn:
            return conn.execute(
                update(store.changes)
                .where(store.changes.c.id.in_(ids), store.changes.c.published_at.is_(None))
                .values(published_at=store.utc(self.clock.now()))
            ).rowcount

    def count_changes(self) -> int:
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(store.changes)).scalar_one()


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)


def rating_view(rating: Rating, *, private: bool) -> dict[str, Any]:
    """API.md's fields; with `private`, the seller's own CSAT, score and explanation too."""
    view: dict[str, Any] = {
        "visible": rating.visible,
        "level": None if rating.level is None else str(rating.level),
        "window": str(rating.window),
        "requests_considered": rating.requests_considered,
    }
    if not private:
        return view
    view.update(
        {
            "requests_received": rating.requests_received,
            "score": _number(rating.score),
            "positive_points": rating.positive_points,
            "negative_points": rating.negative_points,
            "csat": {
                "score": _number(rating.csat),
                "responses": rating.feedback_up + rating.feedback_down,
                "thumbs_up": rating.feedback_up,
                "thumbs_down": rating.feedback_down,
            },
            "computed_at": rating.at,
            "explanation": [
                {
                    "request_id": c.request_id,
                    "opened_at": c.opened_at,
                    "effect": c.effect,
                    "points": c.positive - c.negative,
                    "reasons": [
                        {"code": str(r.code), "points": r.points, "at": r.at, "why": r.why}
                        for r in c.reasons
                    ],
                }
                for c in rating.explanation
            ],
        }
    )
    return view


__all__: Sequence[str] = ["RatingsApplication", "rating_view"]
