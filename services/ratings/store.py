"""The ratings service's own tables (SQLAlchemy Core), in its own database.

- `ratings_requests`: one row per request: its seller, when it was received (`opened_at`), whether it
  was routed straight to support (R6), and what the next events need to be classified (who escalated
  last, whether support decided).
- `ratings_reasons`: the rating events of each request (`domain.Code`), at most one per code and
  request (primary key), with when they happened. Weights are applied at read time, so a new formula
  re-rates every seller without replaying anything.
- `ratings_sellers`: per seller, a change counter the projection bumps with every change to one of
  the seller's requests; `refresh` compares it with the counter it last evaluated.
- `ratings_published`: the last (visible, level) announced per seller, and `ratings_changes`: the
  outbox of `SupportRatingChanged` messages for the publisher (see application.py).
- `ratings_refresh`: one row, the instant of the last refresh (which requests may have aged out).

The projection's tracking rows (`applied_events`, `feed_positions`) live in the same database:
see shared/transport/projection.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    and_,
    bindparam,
    func,
    select,
    update,
)
from sqlalchemy.engine import Connection

from services.ratings.domain import Code, Reason, RequestFacts
from shared.database import indexes_named, insert_ignoring, insert_rows
from shared.migrations import Store

metadata = MetaData()
# these tables' migrations: services/ratings/migrations/ratings/ (shared/migrations.py)
STORE = Store("ratings", "services.ratings.migrations.ratings", metadata)

requests = Table(
    "ratings_requests",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("routed_to_support", String(40), nullable=True),
    Column("last_escalation_by", String(20), nullable=True),
    Column("support_decided", Boolean, nullable=False, default=False),
    Index("ix_ratings_requests_seller_opened", "seller_id", "opened_at"),
    Index("ix_ratings_requests_opened", "opened_at"),
)

reasons = Table(
    "ratings_reasons",
    metadata,
    Column("request_id", String(36), primary_key=True),
    Column("code", String(40), primary_key=True),
    Column("seller_id", String(200), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("detail", String(200), nullable=False, default=""),
    Column("event_id", String(200), nullable=False),
)

sellers = Table(
    "ratings_sellers",
    metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("changes", Integer, nullable=False, default=0),
    Column("evaluated_changes", Integer, nullable=False, default=0),
)

published = Table(
    "ratings_published",
    metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("visible", Boolean, nullable=False),
    Column("level", String(20), nullable=True),
    Column("sequence", Integer, nullable=False),
)

changes = Table(
    "ratings_changes",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("seller_id", String(200), nullable=False),
    Column("sequence", Integer, nullable=False),  # per seller, from 1
    Column("at", DateTime(timezone=True), nullable=False),
    Column("payload", JSON, nullable=False),  # SupportRatingChanged, JSON mode
    Column("published_at", DateTime(timezone=True), nullable=True),
    Index("ix_ratings_changes_pending", "published_at", "at"),
)

refresh_marker = Table(
    "ratings_refresh",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("refreshed_at", DateTime(timezone=True), nullable=True),
)


# The indexes of the rating's reads: the projection reads through primary keys only, so a rebuild
# builds these after its load (`shared.database.bulk_load`).
QUERY_INDEXES = indexes_named(
    (requests, reasons),
    "ix_ratings_requests_seller_opened",
    "ix_ratings_requests_opened",
    "ix_ratings_reasons_seller_id",
)


def aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def insert_ignoring_duplicates(
    conn: Connection, table: Table, values: dict[str, Any] | list[dict[str, Any]]
) -> None:
    """INSERT … ON CONFLICT DO NOTHING of one row or many (executemany), on SQLite and PostgreSQL
    alike: safe under concurrent consumers."""
    if isinstance(values, dict):
        conn.execute(insert_ignoring(table), values)
    else:
        insert_rows(conn, table, values, ignore_duplicates=True)


# --- per-request facts ---------------------------------------------------------------------------

_IN_CHUNK = 500  # ids per IN list: one query for a usual batch, far below any bound-parameter limit


def _chunks(ids: list[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), _IN_CHUNK):
        yield ids[start : start + _IN_CHUNK]


def _reasons_of(conn: Connection, request_ids: list[str]) -> dict[str, list[Reason]]:
    found: dict[str, list[Reason]] = {rid: [] for rid in request_ids}
    for chunk in _chunks(request_ids):
        rows = conn.execute(
            select(reasons).where(reasons.c.request_id.in_(chunk)).order_by(reasons.c.at)
        ).all()
        for row in rows:
            found[row.request_id].append(
                Reason(Code(row.code), aware(row.at), row.detail, row.event_id)
            )
    return found


def _facts(row: Any, found: list[Reason]) -> RequestFacts:
    return RequestFacts(
        request_id=row.request_id,
        seller_id=row.seller_id,
        opened_at=aware(row.opened_at),
        routed_to_support=row.routed_to_support,
        last_escalation_by=row.last_escalation_by,
        support_decided=bool(row.support_decided),
        reasons=tuple(found),
    )


def load_requests(conn: Connection, request_ids: Iterable[str]) -> dict[str, RequestFacts]:
    """The stored facts of those of `request_ids` that are stored, by id: one query per table per
    500 ids."""
    wanted = sorted(set(request_ids))
    rows = [
        row
        for chunk in _chunks(wanted)
        for row in conn.execute(select(requests).where(requests.c.request_id.in_(chunk)))
    ]
    found = _reasons_of(conn, [row.request_id for row in rows])
    return {row.request_id: _facts(row, found[row.request_id]) for row in rows}


# Built once: per-row `.where()`/`.values()` constructs cost more than the rows' SQL itself.
_UPDATE_REQUEST = (
    update(requests)
    .where(requests.c.request_id == bindparam("b_request_id"))
    .values(
        last_escalation_by=bindparam("b_last_escalation_by"),
        support_decided=bindparam("b_support_decided"),
    )
)
_BUMP_SELLER = (
    update(sellers)
    .where(sellers.c.seller_id == bindparam("b_seller_id"))
    .values(changes=sellers.c.changes + bindparam("b_changes"))
)


def save_requests(
    conn: Connection,
    stored: Mapping[str, RequestFacts],
    current: Mapping[str, RequestFacts],
    seller_changes: Mapping[str, int],
) -> None:
    """Writes what differs between the `stored` facts and the `current` ones, one executemany per
    table, and adds `seller_changes` (changes per seller) to the sellers' counters."""
    new_requests: list[dict[str, Any]] = []
    updated: list[dict[str, Any]] = []
    new_reasons: list[dict[str, Any]] = []
    for request_id, after in current.items():
        before = stored.get(request_id)
        if after is before:
            continue
        if before is None:
            new_requests.append(
                {
                    "request_id": request_id,
                    "seller_id": after.seller_id,
                    "opened_at": utc(after.opened_at),
                    "routed_to_support": after.routed_to_support,
                    "last_escalation_by": after.last_escalation_by,
                    "support_decided": after.support_decided,
                }
            )
        elif (before.last_escalation_by, before.support_decided) != (
            after.last_escalation_by,
            after.support_decided,
        ):
            updated.append(
                {
                    "b_request_id": request_id,
                    "b_last_escalation_by": after.last_escalation_by,
                    "b_support_decided": after.support_decided,
                }
            )
        known = set() if before is None else {r.code for r in before.reasons}
        new_reasons.extend(
            {
                "request_id": request_id,
                "code": str(reason.code),
                "seller_id": after.seller_id,
                "at": utc(reason.at),
                "detail": reason.detail,
                "event_id": reason.event_id,
            }
            for reason in after.reasons
            if reason.code not in known
        )
    insert_rows(conn, requests, new_requests)
    if updated:
        conn.execute(_UPDATE_REQUEST, updated)
    if new_reasons:
        insert_ignoring_duplicates(conn, reasons, new_reasons)
    if seller_changes:
        # In id order: two consumers of one group (other partitions, same sellers) then lock the
        # rows in the same order and wait for each other instead of deadlocking.
        ordered = sorted(seller_changes.items())
        insert_ignoring_duplicates(
            conn,
            sellers,
            [{"seller_id": s, "changes": 0, "evaluated_changes": 0} for s, _ in ordered],
        )
        conn.execute(_BUMP_SELLER, [{"b_seller_id": s, "b_changes": n} for s, n in ordered])


def seller_requests(
    conn: Connection, seller_id: str, now: datetime, since: datetime, most_recent: int
) -> tuple[list[RequestFacts], int]:
    """The seller's requests received in (since, now] plus the `most_recent` ones up to `now`, and
    the all-time count received up to `now` (R6-routed requests excluded throughout)."""
    mine = and_(
        requests.c.seller_id == seller_id,
        requests.c.routed_to_support.is_(None),
        requests.c.opened_at <= utc(now),
    )
    recent = conn.execute(select(requests).where(mine, requests.c.opened_at > utc(since))).all()
    latest = conn.execute(
        select(requests)
        .where(mine)
        .order_by(requests.c.opened_at.desc(), requests.c.request_id.desc())
        .limit(most_recent)
    ).all()
    rows = {r.request_id: r for r in [*recent, *latest]}
    found = _reasons_of(conn, sorted(rows))
    received = conn.execute(select(func.count()).select_from(requests).where(mine)).scalar_one()
    return [_facts(r, found[rid]) for rid, r in sorted(rows.items())], int(received)


def seller_window_counts(
    conn: Connection, seller_id: str, now: datetime, since: datetime, received_cap: int
) -> tuple[int, int, dict[str, int]]:
    """For the ratings refresh (issue 30), in SQL rather than as rows: the seller's requests
    received up to `now`, counted only up to `received_cap` (a bounded read: only "at least the
    cap" matters); those received in (since, now]; and the reasons dated up to `now` of the
    latter, counted per code. R6-routed requests excluded throughout."""
    mine = and_(
        requests.c.seller_id == seller_id,
        requests.c.routed_to_support.is_(None),
        requests.c.opened_at <= utc(now),
    )
    capped = select(requests.c.request_id).where(mine).limit(received_cap).subquery()
    received = conn.execute(select(func.count()).select_from(capped)).scalar_one()
    in_window = and_(mine, requests.c.opened_at > utc(since))
    window = conn.execute(select(func.count()).select_from(requests).where(in_window)).scalar_one()
    per_code = conn.execute(
        select(reasons.c.code, func.count())
        .select_from(reasons.join(requests, reasons.c.request_id == requests.c.request_id))
        .where(in_window, reasons.c.at <= utc(now))
        .group_by(reasons.c.code)
    ).all()
    return int(received), int(window), {code: int(n) for code, n in per_code}
