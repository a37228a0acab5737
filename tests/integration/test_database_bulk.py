"""shared/database.py's many-row insert and bulk load, on SQLite and PostgreSQL: `insert_rows` stores
exactly what SQLAlchemy's own insert stores; `bulk_load` loads a SQLite store without a journal and
with some indexes built afterwards, and leaves it in WAL mode with every index, even after a failed
load; on PostgreSQL it changes nothing."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    inspect,
    select,
)
from sqlalchemy.exc import IntegrityError

from shared.database import bulk_load, create_projection_engine, insert_rows

AT = datetime(2026, 12, 7, 19, 0, 0, 123456, tzinfo=UTC)


def _table(metadata: MetaData, name: str) -> Table:
    return Table(
        name,
        metadata,
        Column("seq", Integer, primary_key=True, autoincrement=True),
        Column("key", String(40), nullable=False, unique=True),
        Column("at", DateTime(timezone=True), nullable=True),
        Column("payload", JSON, nullable=False),
        Column("flag", Boolean, nullable=False),
        Column("attempts", Integer, nullable=False, default=0),  # left out: its default
        Index(f"ix_{name}_at", "at"),
    )


metadata = MetaData()
by_sqlalchemy = _table(metadata, "it_bulk_sqlalchemy")
by_insert_rows = _table(metadata, "it_bulk_rows")


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_projection_engine(database_url)
    metadata.create_all(engine)
    yield engine
    engine.dispose()


def _rows() -> list[dict]:
    shared = AT + timedelta(hours=1)  # one object for two rows in a row, as an event's rows are
    return [
        {"key": "utc", "at": AT, "payload": {"a": [1, "x"], "b": None}, "flag": True},
        {"key": "same-1", "at": shared, "payload": {}, "flag": False},
        {"key": "same-2", "at": shared, "payload": [], "flag": False},
        {
            "key": "zoned",
            "at": datetime(2026, 12, 7, 21, 0, tzinfo=timezone(timedelta(hours=2))),
            "payload": "text",
            "flag": True,
        },
        {"key": "equal-instant", "at": AT, "payload": 3, "flag": True},
        {"key": "no-time", "at": None, "payload": {"n": 1.5}, "flag": False},
    ]


def _stored(engine: Engine, table: Table) -> list[tuple]:
    with engine.connect() as conn:
        return [tuple(r)[1:] for r in conn.execute(select(table).order_by(table.c.seq))]


def test_insert_rows_stores_what_sqlalchemys_insert_stores(engine) -> None:
    # given the same rows (datetimes in and out of UTC, shared and repeated, JSON, booleans, a
    # column left to its default)
    with engine.begin() as conn:
        # when one table gets them through SQLAlchemy and the other through insert_rows
        conn.execute(by_sqlalchemy.insert(), _rows())
        insert_rows(conn, by_insert_rows, _rows())
    # then both read back alike, in insertion order
    assert _stored(engine, by_insert_rows) == _stored(engine, by_sqlalchemy)
    assert [r[0] for r in _stored(engine, by_insert_rows)] == [r["key"] for r in _rows()]
    if engine.dialect.name == "sqlite":  # and the very text SQLite stores is the same
        with engine.connect() as conn:
            raw = [
                conn.exec_driver_sql(f"SELECT key, at, payload, flag, attempts FROM {t.name}").all()
                for t in (by_sqlalchemy, by_insert_rows)
            ]
        assert raw[0] == raw[1]


def test_insert_rows_skips_or_refuses_duplicates(engine) -> None:
    with engine.begin() as conn:
        insert_rows(conn, by_insert_rows, _rows()[:2])
    # when rows with a key already stored come again, with others
    with engine.begin() as conn:
        insert_rows(conn, by_insert_rows, _rows()[1:3], ignore_duplicates=True)
    # then only the new one was added
    assert [r[0] for r in _stored(engine, by_insert_rows)] == ["utc", "same-1", "same-2"]
    # and without ignore_duplicates the duplicate fails the statement
    with pytest.raises(IntegrityError), engine.begin() as conn:
        insert_rows(conn, by_insert_rows, _rows()[:1])


def _journal_mode(engine: Engine) -> str:
    with engine.connect() as conn:
        return conn.exec_driver_sql("PRAGMA journal_mode").scalar_one()


def _indexes(engine: Engine) -> set[str]:
    return {i["name"] for i in inspect(engine).get_indexes(by_insert_rows.name)}


def test_a_bulk_load_builds_deferred_indexes_after_and_ends_in_wal_mode(tmp_path) -> None:
    engine = create_projection_engine(f"sqlite:///{tmp_path}/bulk.db")
    metadata.create_all(engine)
    deferred = next(iter(by_insert_rows.indexes))
    try:
        assert _journal_mode(engine) == "wal"
        # when rows are loaded in bulk with the `at` index deferred
        with bulk_load(engine, [deferred]):
            # then the load runs without a journal and without that index
            assert _journal_mode(engine) == "off"
            assert deferred.name not in _indexes(engine)
            with engine.begin() as conn:
                insert_rows(conn, by_insert_rows, _rows())
        # and afterwards the store is in WAL mode again, with the index and every row
        assert _journal_mode(engine) == "wal"
        assert deferred.name in _indexes(engine)
        assert len(_stored(engine, by_insert_rows)) == len(_rows())
    finally:
        engine.dispose()
    with sqlite3.connect(tmp_path / "bulk.db") as conn:  # in the file itself, for any reader
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_a_failed_bulk_load_still_leaves_the_store_in_wal_mode(tmp_path) -> None:
    engine = create_projection_engine(f"sqlite:///{tmp_path}/bulk.db")
    metadata.create_all(engine)
    try:
        with pytest.raises(RuntimeError), bulk_load(engine, by_insert_rows.indexes):
            raise RuntimeError("the load failed")
        assert _journal_mode(engine) == "wal"
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
def test_a_bulk_load_changes_nothing_on_postgresql(engine) -> None:
    assert engine.dialect.name == "postgresql"
    # when a load runs inside bulk_load with an index "deferred"
    with bulk_load(engine, by_insert_rows.indexes):
        assert {i.name for i in by_insert_rows.indexes} <= _indexes(engine)
        with engine.begin() as conn:
            insert_rows(conn, by_insert_rows, _rows())
    # then nothing was dropped or rebuilt, and the rows are there
    assert {i.name for i in by_insert_rows.indexes} <= _indexes(engine)
    assert len(_stored(engine, by_insert_rows)) == len(_rows())
