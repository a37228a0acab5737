"""Engines for the projections' own databases: SQLite files (embedded) or PostgreSQL (distributed),
the SQLite tuning the requests event store shares with them, and the schema version a projection
store was created with."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Engine,
    Integer,
    MetaData,
    String,
    Table,
    create_engine,
    event,
    insert,
    inspect,
    select,
)
from sqlalchemy.engine import make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.dml import Insert


def create_projection_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30})
    tune_sqlite(engine)
    return engine


def tune_sqlite(engine: Engine, *, durable: bool = False) -> None:
    """WAL and a 30 s busy timeout on every new connection of a SQLite file engine (call it before
    the engine's pool holds connections, or dispose the pool after); `durable` keeps an fsync per
    commit (synchronous=FULL), else synchronous=NORMAL."""

    @event.listens_for(engine, "connect")
    def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
        # WAL lets readers (the API, the projection feed) read while one writer writes; the busy
        # timeout rides out short write locks of other processes.
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        # WAL + NORMAL: no fsync per commit (one at each checkpoint). A power loss (not a process
        # crash) may drop the last commits, never tear one: fine for a projection, which is
        # rebuilt from the event store and keeps its position beside its rows; not for the event
        # store, whose acknowledged commands must survive it (docs/operations.md).
        cursor.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        cursor.close()


_versions_metadata = MetaData()
schema_versions = Table(
    "schema_versions",
    _versions_metadata,
    Column("store", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)


class SchemaOutdated(RuntimeError):
    """A projection store was created by an older build whose tables this one cannot use."""


def create_versioned(engine: Engine, metadata: MetaData, store: str, version: int) -> None:
    """Create `metadata`'s tables in an empty store, recording `version`; in an existing store,
    refuse (SchemaOutdated) unless it was created at `version`. A projection store is rebuilt from
    history, not migrated (docs/operations.md, "A projection's schema changed"). A store with the
    tables but no recorded version predates versioning: version 1."""
    with engine.begin() as conn:
        present = set(inspect(conn).get_table_names())
        _versions_metadata.create_all(conn)
        found = conn.execute(
            select(schema_versions.c.version).where(schema_versions.c.store == store)
        ).scalar_one_or_none()
        if found is None and present & set(metadata.tables):
            found = 1
        if found is None:
            conn.execute(insert(schema_versions).values(store=store, version=version))
        elif found != version:
            raise SchemaOutdated(
                f"the {store} store ({engine.url.render_as_string(hide_password=True)}) has "
                f"schema version {found}, this build needs {version}: rebuild it from history "
                '(docs/operations.md, "A projection\'s schema changed")'
            )
        metadata.create_all(conn)


class _InsertIgnoringDuplicates(Insert):
    """`INSERT … ON CONFLICT DO NOTHING` (SQLite >= 3.24 and PostgreSQL spell it alike) that uses
    SQLAlchemy's compiled-statement cache. The dialects' own `insert().on_conflict_do_nothing()`
    are never cached (`inherit_cache = False`), so every call compiled the statement afresh: the
    top cost of the notifications and ratings projections (docs/benchmarks.md)."""

    inherit_cache = True


@compiles(_InsertIgnoringDuplicates)
def _compile_insert_ignoring(element: Insert, compiler: Any, **kw: Any) -> str:
    return compiler.visit_insert(element, **kw) + " ON CONFLICT DO NOTHING"


_IGNORING_INSERTS: dict[Table, Insert] = {}


def insert_ignoring(table: Table) -> Insert:
    """The statement for `conn.execute(insert_ignoring(table), values)`: one per table, so its
    cache key is computed once; `inline()`: no RETURNING of generated keys (it would have to come
    before ON CONFLICT), nobody reads them."""
    statement = _IGNORING_INSERTS.get(table)
    if statement is None:
        statement = _IGNORING_INSERTS[table] = _InsertIgnoringDuplicates(table).inline()
    return statement
