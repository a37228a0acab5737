"""R63 on upgrade: fold the stored histories into the per-item remedy record.

The record (`ss_item_remedies`) is new with R63; requests refunded before it exist only as events.
`fold_remedies` rebuilds the record from every request's events — the shares an event carries since
R63 (`remedy`), or, for older events, the shares the code of their time paid and charged (a full
refund: each item's price + shipping back and its R30 amount charged; an accepted partial refund
spread over the items in proportion to what they cost; a platform-funded refund charging nothing).
No refund is lost or doubled: the sums are what was paid out, even where that passed what the buyer
paid — such items are the report's `over_refunded`, with the requests that refunded them, and they
stay refundable at 0.

The first process that opens an upgraded store folds it, once: the fold's row (`ss_remedy_fold`,
primary key 1) is inserted first in the fold's transaction, so a second process folding at the same
time fails on it and finds the fold done. The report stays in that row.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any
from uuid import UUID

from sqlalchemy import delete, insert, select
from sqlalchemy.exc import IntegrityError as SqlIntegrityError

from services.requests.domain import OrderItem, event_name
from services.requests.domain.remedy import (
    ItemShare,
    allocate,
    full_refund_shares,
    item_full_charge,
    item_paid,
)
from services.requests.persistence import store

_FULL_REFUNDS = {"full_refund_offered", "return_confirmed", "return_auto_confirmed"}
_ITEM_FIELDS = set(OrderItem.__dataclass_fields__)


def shares_of(name: str, event: Any, items: list[OrderItem]) -> list[ItemShare]:
    """A stored event's per-item shares: its own since R63, else what the code of its time did."""
    recorded = getattr(event, "remedy", None)
    if recorded:
        return [ItemShare(s["item_id"], s["refund"], s["charge"]) for s in recorded]
    if name in _FULL_REFUNDS:
        return full_refund_shares(items, None)
    if name == "support_decided":
        if getattr(event, "outcome", None) not in ("refund", "platform_refund"):
            return []
        return full_refund_shares(items, None, seller_liable=event.liable == "seller")
    if name == "offer_accepted":
        parts = allocate(event.amount, [item_paid(i) for i in items])
        return [ItemShare(i.item_id, p, p) for i, p in zip(items, parts, strict=True)]
    return []


def fold_remedies(app: Any, now: datetime) -> dict[str, Any]:
    """Rebuild `ss_item_remedies` from history (once per store); returns the fold's report."""
    engine = app.engine
    with engine.connect() as connection:
        done = connection.execute(select(store.remedy_fold.c.report)).scalar_one_or_none()
    if done is not None:
        return done
    try:
        with app.side_tables.transaction() as session:
            session.execute(
                insert(store.remedy_fold).values(id=1, folded_at=now, report={"folding": True})
            )
            report = _fold(app, session)
            session.execute(
                store.remedy_fold.update().where(store.remedy_fold.c.id == 1).values(report=report)
            )
    except Exception as error:
        if not _is_integrity_error(error):
            raise
        with engine.connect() as connection:  # another process folded the store meanwhile
            return connection.execute(select(store.remedy_fold.c.report)).scalar_one()
    return report


def _is_integrity_error(error: BaseException) -> bool:
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, SqlIntegrityError) or type(seen).__name__ == "IntegrityError":
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def _sums(app: Any, session: Any) -> tuple[int, dict[tuple[str, str], dict[str, Any]], dict]:
    """Per (order, item): the record history gives, and the requests that refunded it."""
    by = store.requests_by_order.c
    rows = session.execute(
        select(by.request_id, by.order_id).order_by(by.opened_at, by.request_id)
    ).all()
    sums: dict[tuple[str, str], dict[str, Any]] = {}
    refunders: dict[tuple[str, str], list[str]] = defaultdict(list)
    for row in rows:
        events = list(app.events.get(UUID(row.request_id)))
        opened = events[0]
        items = [
            OrderItem(**{k: v for k, v in i.items() if k in _ITEM_FIELDS}) for i in opened.items
        ]
        by_id = {i.item_id: i for i in items}
        for domain_event in events[1:]:
            for share in shares_of(event_name(domain_event), domain_event, items):
                if share.refund == 0 and share.charge == 0:
                    continue
                key = (row.order_id, share.item_id)
                item = by_id[share.item_id]
                entry = sums.setdefault(
                    key,
                    {
                        "order_id": row.order_id,
                        "item_id": share.item_id,
                        "currency": opened.currency,
                        "paid": item_paid(item),
                        "full_charge": item_full_charge(item),
                        "refunded": 0,
                        "charged": 0,
                        "last_request_id": None,
                        "updated_at": domain_event.at,
                    },
                )
                entry["refunded"] += share.refund
                entry["charged"] += share.charge
                entry["last_request_id"] = row.request_id
                entry["updated_at"] = domain_event.at
                if row.request_id not in refunders[key]:
                    refunders[key].append(row.request_id)
    return len(rows), sums, refunders


def _fold(app: Any, session: Any) -> dict[str, Any]:
    count, sums, refunders = _sums(app, session)
    session.execute(delete(store.item_remedies))
    if sums:
        session.execute(insert(store.item_remedies), list(sums.values()))
    over = [
        {
            "order_id": e["order_id"],
            "item_id": e["item_id"],
            "paid": e["paid"],
            "refunded": e["refunded"],
            "full_charge": e["full_charge"],
            "charged": e["charged"],
            "requests": refunders[(e["order_id"], e["item_id"])],
        }
        for e in sums.values()
        if e["refunded"] > e["paid"] or e["charged"] > e["full_charge"]
    ]
    return {"requests": count, "items": len(sums), "over_refunded": over}


def remedy_drift(app: Any) -> list[str]:
    """R63/R62: the per-item record compared with what history gives (empty: they agree). The
    money property test checks it after its walks; a difference means a step wrote the record
    without its event, or the reverse."""
    with app.side_tables.transaction(commit=False) as session:
        _count, sums, _refunders = _sums(app, session)
        live = {
            (r.order_id, r.item_id): (r.refunded, r.charged, r.paid, r.full_charge)
            for r in session.execute(select(store.item_remedies))
        }
    folded = {
        key: (e["refunded"], e["charged"], e["paid"], e["full_charge"]) for key, e in sums.items()
    }
    return [
        f"item {key[1]} of order {key[0]}: record {live.get(key)}, history {folded.get(key)}"
        for key in sorted(set(live) | set(folded))
        if live.get(key) != folded.get(key)
    ]
