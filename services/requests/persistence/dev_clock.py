"""The development clock's offset, kept with the data (issue 18, class 6).

`make run` moves its business clock forward through `POST /v1/admin/clock`; the offset from the
system clock is stored in the requests database (table `ss_dev_clock`, one row) after every move and
at shutdown, together with the latest time the clock handed out. A restart resumes the clock at the
moved time and never before that latest time, so history times never go backwards and `as_of`
never shows a state that did not exist. Production has no movable clock and no row.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import BigInteger, Column, DateTime, Integer, MetaData, Table, select
from sqlalchemy.engine import Engine

from shared.clock import AdjustableClock
from shared.migrations import Store, ensure_schema

metadata = MetaData()

dev_clock = Table(
    "ss_dev_clock",
    metadata,
    Column("id", Integer, primary_key=True),  # always 1
    Column("offset_us", BigInteger, nullable=False),  # microseconds ahead of the system clock
    Column("floor", DateTime(timezone=True), nullable=False),  # latest time handed out (UTC)
)

DEV_CLOCK_STORE = Store("dev_clock", "services.requests.migrations.dev_clock", metadata)


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def resume(engine: Engine, clock: AdjustableClock) -> datetime:
    """Bring `clock` to where the last run left it; returns its time now."""
    ensure_schema(engine, DEV_CLOCK_STORE)
    with engine.connect() as connection:
        row = connection.execute(select(dev_clock).where(dev_clock.c.id == 1)).first()
    if row is None:
        return clock.now()
    return clock.resume(timedelta(microseconds=row.offset_us), _utc(row.floor))


def save(engine: Engine, clock: AdjustableClock) -> None:
    """Store the clock's offset and the time it shows now (after a move, and at shutdown)."""
    now = clock.now()
    offset_us = clock.offset // timedelta(microseconds=1)
    values = {"offset_us": offset_us, "floor": now.astimezone(UTC)}
    with engine.begin() as connection:
        updated = connection.execute(
            dev_clock.update().where(dev_clock.c.id == 1).values(**values)
        ).rowcount
        if not updated:
            connection.execute(dev_clock.insert().values(id=1, **values))
