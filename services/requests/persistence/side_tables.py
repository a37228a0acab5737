"""The requests service's side tables in SQL (services/requests/persistence/store.py), in the
transaction of the event store's recorder: the application's `SideTables` port
(services/requests/application/ports.py). It conforms to the port by its shape; persistence never
imports the application.

`SqlSideTables.open()` also readies the store the side tables live beside: it checks the event
store is ours (services/requests/persistence/event_store.py), wires the hash chain's write path into
it (R62: each event's chain link and traceparent, written in the command's transaction just before
the events), creates or migrates the tables (shared/migrations.py), and tunes SQLite.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, delete, insert, or_, select, tuple_, update
from sqlalchemy.orm import Session

from services.requests.domain.order_view import OrderDetails
from services.requests.domain.remedy import ItemRecord
from services.requests.persistence import chain, programme_store, store
from services.requests.persistence.event_store import EVENT_STORE, EventsRecorder
from shared.database import tune_sqlite
from shared.migrations import ensure_schema
from shared.tracing import current_traceparent


class SqlSideTables:
    def __init__(self, recorder: EventsRecorder) -> None:
        self.recorder = recorder

    @classmethod
    def open(cls, recorder: Any) -> SqlSideTables:
        if not isinstance(recorder, EventsRecorder):
            raise TypeError(f"the requests application needs PERSISTENCE_MODULE={EVENT_STORE}")
        # R62: each new event's link in its request's hash chain, and the trace it belongs to,
        # written in the command's transaction just before the events (not under their lock).
        recorder.before_lock = lambda session, stored: chain.record_chain(
            session, stored, current_traceparent()
        )
        engine = recorder.datastore.engine
        ensure_schema(engine, store.STORE)
        ensure_schema(engine, programme_store.PROGRAMME_STORE)  # R66-R68, same database
        if recorder.datastore.is_sqlite_filedb:
            # The pool holds the connection that created the tables: drop it so every connection
            # gets the pragmas (WAL; still an fsync per commit: an acknowledged command is durable).
            tune_sqlite(engine, durable=True)
            engine.dispose()
        return cls(recorder)

    @contextmanager
    def transaction(self, commit: bool = True) -> Iterator[Session]:
        with self.recorder.transaction(commit=commit) as session:
            yield session

    # -- the order read model --

    def order(self, tx: Session, order_id: str) -> dict[str, Any] | None:
        row = tx.execute(_ORDER, {"b_order_id": order_id}).first()
        return None if row is None else dict(row._mapping)

    def insert_order(self, tx: Session, row: dict[str, Any]) -> None:
        tx.execute(insert(store.orders).values(**row))

    def update_order(self, tx: Session, order_id: str, values: dict[str, Any]) -> None:
        tx.execute(update(store.orders).where(store.orders.c.order_id == order_id).values(values))

    def order_shipped_with(self, tx: Session, tracking_number: str) -> str | None:
        return tx.execute(
            select(store.orders.c.order_id).where(
                store.orders.c.shipment["tracking_number"].as_string() == tracking_number
            )
        ).scalar_one_or_none()

    # -- item locks and the requests of an order --

    def held_items(self, tx: Session, order_id: str, item_ids: Sequence[str]) -> list[str]:
        return list(
            tx.execute(_HELD_ITEMS, {"b_order_id": order_id, "b_item_ids": list(item_ids)})
            .scalars()
            .all()
        )

    def lock_items(
        self, tx: Session, order_id: str, item_ids: Sequence[str], request_id: str
    ) -> None:
        tx.execute(
            _LOCK_ITEM,
            [
                {"order_id": order_id, "item_id": item_id, "request_id": request_id}
                for item_id in item_ids
            ],
        )

    def release_item_locks(self, tx: Session, request_id: str) -> None:
        tx.execute(_RELEASE_ITEM_LOCKS, {"b_request_id": request_id})

    def index_by_order(
        self, tx: Session, request_id: str, order_id: str, opened_at: datetime
    ) -> None:
        tx.execute(
            _INDEX_BY_ORDER,
            {"request_id": request_id, "order_id": order_id, "opened_at": opened_at},
        )

    def requests_of_order(self, tx: Session, order_id: str) -> list[str]:
        return list(
            tx.execute(
                select(store.requests_by_order.c.request_id)
                .where(store.requests_by_order.c.order_id == order_id)
                .order_by(store.requests_by_order.c.opened_at)
            )
            .scalars()
            .all()
        )

    # -- item remedies (R63) --

    def item_records(
        self, tx: Session, order_id: str, item_ids: Sequence[str] | None = None
    ) -> dict[str, ItemRecord]:
        """The remedy records of an order's items (all of them, or those named) that have one.
        One statement without an IN list (an order has few items): an expanding IN is compiled
        again at every execution."""
        wanted = None if item_ids is None else set(item_ids)
        return {
            row.item_id: ItemRecord(
                row.item_id,
                row.paid,
                row.full_charge,
                row.refunded,
                row.charged,
                row.last_request_id,
            )
            for row in tx.execute(_ORDER_RECORDS, {"b_order_id": order_id})
            if wanted is None or row.item_id in wanted
        }

    def add_remedy(
        self,
        tx: Session,
        order_id: str,
        currency: str,
        shares: Sequence[tuple[ItemRecord, int, int]],
        by: str,
        at: datetime,
    ) -> list[str]:
        """Add each `(record, refund, charge)` to its item's sums, unless that would pass the item's
        caps: a guarded increment, so two steps racing on one item cannot both pass (PostgreSQL
        re-checks the guard on the row the winner committed; SQLite has one writer). A record read
        as fresh (no row: `last_request_id` None) is inserted instead; a concurrent first remedy on
        the same item then breaks the primary key (IntegrityError: the command is refused with a
        409 and retried). Returns the item ids refused; the caller rolls the whole step back."""
        refused = []
        for record, refund, charge in shares:
            if refund == 0 and charge == 0:
                continue
            if record.last_request_id is None:
                if refund > record.paid or charge > record.full_charge:
                    refused.append(record.item_id)
                    continue
                tx.execute(
                    _INSERT_REMEDY,
                    {
                        "order_id": order_id,
                        "item_id": record.item_id,
                        "currency": currency,
                        "paid": record.paid,
                        "full_charge": record.full_charge,
                        "refunded": refund,
                        "charged": charge,
                        "last_request_id": by,
                        "updated_at": at,
                    },
                )
                continue
            params = {
                "b_order_id": order_id,
                "b_item_id": record.item_id,
                "b_refund": refund,
                "b_charge": charge,
                "b_by": by,
                "b_at": at,
            }
            if tx.execute(_ADD_REMEDY, params).rowcount != 1:
                refused.append(record.item_id)
        return refused

    # -- the order view (R64) --

    def orders_page(
        self,
        tx: Session,
        *,
        buyer_id: str | None,
        seller_id: str | None,
        after: tuple[datetime, str] | None,
        limit: int,
    ) -> list[dict[str, Any]]:
        """Orders newest first (placed_at, then order id, both descending), of that buyer or seller
        (None: any), after the keyset position `after` (as the rows hold it), at most `limit`."""
        o = store.orders.c
        query = select(store.orders)
        if buyer_id is not None:
            query = query.where(o.buyer_id == buyer_id)
        if seller_id is not None:
            query = query.where(o.seller_id == seller_id)
        if after is not None:
            query = query.where(tuple_(o.placed_at, o.order_id) < tuple_(*after))
        query = query.order_by(o.placed_at.desc(), o.order_id.desc()).limit(limit)
        return [dict(row._mapping) for row in tx.execute(query)]

    def order_details(self, tx: Session, order_ids: Sequence[str]) -> dict[str, OrderDetails]:
        """Per order: its items' remedy records, the open requests holding its items, its
        requests (oldest first) and the last scan of its shipment — four queries for a page."""
        ids = list(order_ids)
        details = {i: OrderDetails({}, {}, [], None) for i in ids}
        if not ids:
            return details
        r = store.item_remedies.c
        for row in tx.execute(select(store.item_remedies).where(r.order_id.in_(ids))):
            details[row.order_id].records[row.item_id] = ItemRecord(
                row.item_id,
                row.paid,
                row.full_charge,
                row.refunded,
                row.charged,
                row.last_request_id,
            )
        lock = store.item_locks.c
        for row in tx.execute(select(store.item_locks).where(lock.order_id.in_(ids))):
            details[row.order_id].locks[row.item_id] = row.request_id
        by = store.requests_by_order.c
        for row in tx.execute(
            select(by.order_id, by.request_id)
            .where(by.order_id.in_(ids))
            .order_by(by.opened_at, by.request_id)
        ):
            details[row.order_id].request_ids.append(row.request_id)
        scan = store.order_scans.c
        for row in tx.execute(select(store.order_scans).where(scan.order_id.in_(ids))):
            details[row.order_id] = details[row.order_id]._replace(
                last_scan={"status": row.status, "at": row.at}
            )
        return details

    def record_order_scan(self, tx: Session, order_id: str, status: str, at: datetime) -> None:
        """Keep the latest scan of the order's original shipment (an older one arriving late
        changes nothing)."""
        s = store.order_scans.c
        row = tx.execute(select(s.at).where(s.order_id == order_id)).first()
        if row is None:
            tx.execute(insert(store.order_scans).values(order_id=order_id, status=status, at=at))
        elif _utc(row.at) <= at:
            tx.execute(
                update(store.order_scans).where(s.order_id == order_id).values(status=status, at=at)
            )

    # -- tracking links --

    def tracking_link(self, tx: Session, tracking_number: str) -> Any:
        """The link's row (`request_id`, `purpose`: the port's `TrackingLink` shape), or None."""
        return tx.execute(_TRACKING_LINK, {"b_tracking": tracking_number}).first()

    def link_tracking(
        self, tx: Session, tracking_number: str, request_id: str, purpose: str
    ) -> None:
        tx.execute(
            _INSERT_TRACKING_LINK,
            {"tracking_number": tracking_number, "request_id": request_id, "purpose": purpose},
        )

    # -- deadlines --

    def delete_deadlines(self, tx: Session, request_id: str) -> None:
        tx.execute(_DELETE_DEADLINES, {"b_request_id": request_id})

    def insert_deadlines(
        self,
        tx: Session,
        request_id: str,
        policy_version: str,
        deadlines: Sequence[tuple[str, datetime]],
    ) -> None:
        tx.execute(
            _INSERT_DEADLINES,
            [
                {
                    "request_id": request_id,
                    "kind": kind,
                    "due_at": due_at,
                    "policy_version": policy_version,
                }
                for kind, due_at in deadlines
            ],
        )

    def delete_deadline(self, tx: Session, request_id: str, kind: str, due_by: datetime) -> None:
        tx.execute(
            delete(store.deadlines).where(
                store.deadlines.c.request_id == request_id,
                store.deadlines.c.kind == kind,
                store.deadlines.c.due_at <= due_by,
            )
        )

    def due_deadlines(
        self, tx: Session, now: datetime, limit: int
    ) -> list[tuple[str, str, datetime]]:
        rows = tx.execute(
            select(store.deadlines.c.request_id, store.deadlines.c.kind, store.deadlines.c.due_at)
            .where(store.deadlines.c.due_at <= now)
            .order_by(store.deadlines.c.due_at, store.deadlines.c.request_id)
            .limit(limit)
        ).all()
        return [(r.request_id, r.kind, r.due_at) for r in rows]

    def next_deadline(self, tx: Session) -> datetime | None:
        return tx.execute(
            select(store.deadlines.c.due_at).order_by(store.deadlines.c.due_at).limit(1)
        ).scalar_one_or_none()


def _utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes (UTC as written by an aware UTC value)."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


# The statements of every command, built once: building and cache-keying a statement per call cost
# as much as executing it.
_ORDER = select(store.orders).where(store.orders.c.order_id == bindparam("b_order_id"))
_HELD_ITEMS = select(store.item_locks.c.item_id).where(
    store.item_locks.c.order_id == bindparam("b_order_id"),
    store.item_locks.c.item_id.in_(bindparam("b_item_ids", expanding=True)),
)
_LOCK_ITEM = insert(store.item_locks)
_RELEASE_ITEM_LOCKS = delete(store.item_locks).where(
    store.item_locks.c.request_id == bindparam("b_request_id")
)
_INDEX_BY_ORDER = insert(store.requests_by_order)
_DELETE_DEADLINES = delete(store.deadlines).where(
    store.deadlines.c.request_id == bindparam("b_request_id")
)
_INSERT_DEADLINES = insert(store.deadlines)
_TRACKING_LINK = select(store.tracking_links.c.request_id, store.tracking_links.c.purpose).where(
    store.tracking_links.c.tracking_number == bindparam("b_tracking")
)
_INSERT_TRACKING_LINK = insert(store.tracking_links)
_ORDER_RECORDS = select(store.item_remedies).where(
    store.item_remedies.c.order_id == bindparam("b_order_id")
)
_INSERT_REMEDY = insert(store.item_remedies)
_R = store.item_remedies.c
# R63's guarded increment: the sums move only while they stay within the item's caps.
_ADD_REMEDY = (
    update(store.item_remedies)
    .where(
        _R.order_id == bindparam("b_order_id"),
        _R.item_id == bindparam("b_item_id"),
        or_(bindparam("b_refund") == 0, _R.refunded + bindparam("b_refund") <= _R.paid),
        or_(bindparam("b_charge") == 0, _R.charged + bindparam("b_charge") <= _R.full_charge),
    )
    .values(
        refunded=_R.refunded + bindparam("b_refund"),
        charged=_R.charged + bindparam("b_charge"),
        last_request_id=bindparam("b_by"),
        updated_at=bindparam("b_at"),
    )
)
