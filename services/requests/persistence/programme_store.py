"""The seller programme's store (R66-R68), in the requests database.

- `ss_programme_events`: every seller's programme history, append-only, one row per event; the
  primary key (seller, version) makes two concurrent writers of one seller lose cleanly (optimistic
  concurrency, as the event store's);
- `ss_seller_programmes`: each seller's current record (the fold of its events), written in the
  same transaction as the events, so opening a request reads one row; `rebuild_programmes` makes
  it again from the events (R62's "rebuilt from history").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import orjson
from sqlalchemy import (
    JSON,
    Column,
    DateTime,
    Integer,
    MetaData,
    String,
    Table,
    any_,
    bindparam,
    delete,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from services.requests.domain.programme import ProgrammeEvent, SellerProgramme
from shared.migrations import Store

metadata = MetaData()
# these tables' migrations: services/requests/migrations/programme/ (shared/migrations.py)
PROGRAMME_STORE = Store("programme", "services.requests.migrations.programme", metadata)

programme_events = Table(
    "ss_programme_events",
    metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", String(300), nullable=False),
    Column("data", JSON, nullable=False),
)

seller_programmes = Table(
    "ss_seller_programmes",
    metadata,
    Column("seller_id", String(200), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("marketplace", String(2), nullable=True),
    Column("registered_at", DateTime(timezone=True), nullable=True),
    Column("enrolled_at", DateTime(timezone=True), nullable=True, index=True),
    Column("enrolled_by", String(300), nullable=True),
    Column("enrolment_rule", String(40), nullable=True),
    Column("waitlisted_at", DateTime(timezone=True), nullable=True),
    Column("return_address", JSON, nullable=True),
)

_STATE_COLUMNS = (
    "version",
    "marketplace",
    "registered_at",
    "enrolled_at",
    "enrolled_by",
    "enrolment_rule",
    "waitlisted_at",
    "return_address",
)


def _aware(value: datetime | None) -> datetime | None:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=UTC)


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


def state_from_row(seller_id: str, row: Any) -> SellerProgramme:
    if row is None:
        return SellerProgramme(seller_id)
    m = row._mapping
    return SellerProgramme(
        seller_id=seller_id,
        version=m["version"],
        marketplace=m["marketplace"],
        registered_at=_aware(m["registered_at"]),
        enrolled_at=_aware(m["enrolled_at"]),
        enrolled_by=m["enrolled_by"],
        enrolment_rule=m["enrolment_rule"],
        waitlisted_at=_aware(m["waitlisted_at"]),
        return_address=m["return_address"],
    )


def _state_values(state: SellerProgramme) -> dict[str, Any]:
    return {
        "version": state.version,
        "marketplace": state.marketplace,
        "registered_at": _utc(state.registered_at),
        "enrolled_at": _utc(state.enrolled_at),
        "enrolled_by": state.enrolled_by,
        "enrolment_rule": state.enrolment_rule,
        "waitlisted_at": _utc(state.waitlisted_at),
        "return_address": state.return_address,
    }


def load(session: Session | Connection, seller_id: str) -> SellerProgramme:
    row = session.execute(
        select(seller_programmes).where(seller_programmes.c.seller_id == seller_id)
    ).first()
    return state_from_row(seller_id, row)


def load_many(session: Session | Connection, seller_ids: Sequence[str]) -> dict[str, Any]:
    """The recorded programmes of these sellers (absent ones have none)."""
    found: dict[str, SellerProgramme] = {}
    postgres = session.get_bind().dialect.name == "postgresql"
    for start in range(0, len(seller_ids), 1000):
        chunk = list(seller_ids[start : start + 1000])
        # PostgreSQL: one array parameter (`= ANY`); an expanded IN of 1000 parameters cost
        # 0.17 s a query to build and convert (bench/programme.py)
        condition = (
            seller_programmes.c.seller_id == any_(bindparam("ids", chunk, type_=ARRAY(String)))
            if postgres
            else seller_programmes.c.seller_id.in_(chunk)
        )
        for row in session.execute(select(seller_programmes).where(condition)):
            found[row.seller_id] = state_from_row(row.seller_id, row)
    return found


def is_recorded_enrolled(session: Session | Connection, seller_id: str) -> bool:
    return (
        session.execute(
            select(seller_programmes.c.enrolled_at).where(
                seller_programmes.c.seller_id == seller_id
            )
        ).scalar_one_or_none()
        is not None
    )


def append(
    session: Session | Connection,
    changes: Iterable[tuple[SellerProgramme, list[ProgrammeEvent]]],
) -> int:
    """Record new events and each seller's new state in the caller's transaction. `changes`: the
    state before the events, and the events. A concurrent writer of the same seller makes the
    events' insert fail (primary key), and the whole transaction with it."""
    rows: list[dict[str, Any]] = []
    new_states: list[dict[str, Any]] = []
    updated: list[tuple[str, dict[str, Any]]] = []
    for before, events in changes:
        if not events:
            continue
        after = before
        for event in events:
            after = after.apply(event)
            rows.append(
                {
                    "seller_id": event.seller_id,
                    "version": event.version,
                    "type": event.type,
                    "at": _utc(event.at),
                    "actor": event.actor,
                    "data": event.data,
                }
            )
        values = _state_values(after)
        if before.version == 0:
            new_states.append({"seller_id": after.seller_id, **values})
        else:
            updated.append((after.seller_id, values))
    if rows:
        _insert_rows(session, programme_events, rows)
    if new_states:
        _insert_rows(session, seller_programmes, new_states)
    for seller_id, values in updated:
        session.execute(
            update(seller_programmes)
            .where(seller_programmes.c.seller_id == seller_id)
            .values(values)
        )
    return len(rows)


def _insert_rows(session: Session | Connection, table: Table, rows: list[dict[str, Any]]) -> None:
    """Many rows at once: PostgreSQL's COPY in the session's transaction (psycopg's executemany
    sends rows one by one through its pipeline, 0.4 ms a row; a multi-row VALUES took longer to
    compile than to run: bench/programme.py); executemany on SQLite."""
    if len(rows) < 50 or session.get_bind().dialect.name != "postgresql":
        session.execute(insert(table), rows)
        return
    columns = [c.name for c in table.columns]
    json_columns = {c.name for c in table.columns if isinstance(c.type, JSON)}
    raw = session.connection().connection.dbapi_connection
    assert raw is not None
    statement = f"COPY {table.name} ({', '.join(columns)}) FROM STDIN"
    with raw.cursor() as cursor, cursor.copy(statement) as copy:
        for row in rows:
            copy.write_row(
                [
                    orjson.dumps(row.get(c)).decode() if c in json_columns else row.get(c)
                    for c in columns
                ]
            )


def history(session: Session | Connection, seller_id: str) -> list[ProgrammeEvent]:
    return [
        ProgrammeEvent(
            seller_id=r.seller_id,
            version=r.version,
            type=r.type,
            at=_aware(r.at),  # type: ignore[arg-type]
            actor=r.actor,
            data=dict(r.data),
        )
        for r in session.execute(
            select(programme_events)
            .where(programme_events.c.seller_id == seller_id)
            .order_by(programme_events.c.version)
        )
    ]


def rebuild_programmes(session: Session | Connection) -> int:
    """Every seller's current record made again from the events (R62); returns how many."""
    session.execute(delete(seller_programmes))
    count = 0
    seller_id = None
    events: list[ProgrammeEvent] = []

    def flush() -> None:
        nonlocal count
        if seller_id is not None:
            state = SellerProgramme.replay(seller_id, events)
            session.execute(
                insert(seller_programmes).values(seller_id=seller_id, **_state_values(state))
            )
            count += 1

    for r in session.execute(
        select(programme_events).order_by(programme_events.c.seller_id, programme_events.c.version)
    ):
        if r.seller_id != seller_id:
            flush()
            seller_id, events = r.seller_id, []
        events.append(
            ProgrammeEvent(r.seller_id, r.version, r.type, _aware(r.at), r.actor, dict(r.data))  # type: ignore[arg-type]
        )
    flush()
    return count


def snapshot(session: Session | Connection) -> list[tuple[Any, ...]]:
    """The current records, ordered: what `rebuild_programmes` must reproduce."""
    return [
        tuple(row)
        for row in session.execute(
            select(
                seller_programmes.c.seller_id, *(seller_programmes.c[c] for c in _STATE_COLUMNS)
            ).order_by(seller_programmes.c.seller_id)
        )
    ]


def count_enrolled(session: Session | Connection) -> int:
    return int(
        session.execute(
            select(func.count()).where(seller_programmes.c.enrolled_at.is_not(None))
        ).scalar_one()
    )
