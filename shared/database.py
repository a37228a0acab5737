"""Engines for the projections' own databases: SQLite files (embedded) or PostgreSQL (distributed),
the SQLite tuning the requests event store shares with them, the schema version a projection
store was created with, and the projections' many-row inserts."""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from operator import itemgetter
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import (
    Column,
    DateTime,
    Engine,
    Index,
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
from sqlalchemy.engine import Connection, Dialect, make_url
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.dml import Insert


def create_projection_engine(database_url: str) -> Engine:
    url = make_url(database_url)
    json_codec = {"json_serializer": json_text, "json_deserializer": json_value}
    if url.get_backend_name() != "sqlite":
        return create_engine(url, pool_pre_ping=True, **json_codec)
    if url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 30}, **json_codec)
    tune_sqlite(engine)
    return engine


def json_text(value: Any) -> str:
    """A JSON column's text, by orjson: the standard library's encoder was half of a rebuild's
    parameter handling (the notifications' template contexts and e-mail headers). Non-string keys
    become strings, as `json.dumps` makes them."""
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


def json_value(stored: Any) -> Any:
    """A JSON column's value. SQLite's NUMERIC affinity (a column declared `JSON`) hands a bare
    number back as a number, not as its text."""
    return orjson.loads(stored) if isinstance(stored, str | bytes) else stored


def tune_sqlite(engine: Engine, *, durable: bool = False) -> None:
    """WAL and a 30 s busy timeout on every new connection of a SQLite file engine (call it before
    the engine's pool holds connections, or dispose the pool after); `durable` keeps an fsync per
    commit (synchronous=FULL), else synchronous=NORMAL."""

    # WAL lets readers (the API, the projection feed) read while one writer writes; the busy
    # timeout rides out short write locks of other processes. WAL + NORMAL: no fsync per commit
    # (one at each checkpoint). A power loss (not a process crash) may drop the last commits, never
    # tear one: fine for a projection, which is rebuilt from the event store and keeps its position
    # beside its rows; not for the event store, whose acknowledged commands must survive it
    # (docs/operations.md).
    event.listen(
        engine,
        "connect",
        _pragmas(
            "journal_mode=WAL",
            "busy_timeout=30000",
            f"synchronous={'FULL' if durable else 'NORMAL'}",
        ),
    )


def _pragmas(*settings: str) -> Callable[[Any, Any], None]:
    """A `connect` listener that sets these `PRAGMA`s on every new SQLite connection."""

    def set_pragmas(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for setting in settings:
            cursor.execute(f"PRAGMA {setting}")
        cursor.close()

    return set_pragmas


# A bulk load's page cache (KiB): a 100,000-event rebuild's notifications store is ~100 MB, and
# with SQLite's default 2 MB most index inserts missed the cache.
BULK_LOAD_CACHE_KIB = 262_144


@contextmanager
def bulk_load(engine: Engine, deferred_indexes: Iterable[Index] = ()) -> Iterator[None]:
    """Load a fresh SQLite store that is thrown away if the load fails (a rebuild): while inside,
    its connections keep no rollback journal (`journal_mode=OFF`: no WAL to write and checkpoint,
    each page written once), do not fsync and keep a large page cache, and `deferred_indexes` are
    dropped, then built once after the load instead of row by row (only indexes the load never
    reads through). On leaving, whether the load succeeded or not, the connections are closed and
    the next one finds the store in its live mode again (WAL, `tune_sqlite`). Nobody else may use
    the store meanwhile. Other databases are left as they are."""
    if engine.dialect.name != "sqlite":
        yield
        return
    deferred = list(deferred_indexes)

    bulk_pragmas = _pragmas(
        "journal_mode=OFF", "synchronous=OFF", f"cache_size=-{BULK_LOAD_CACHE_KIB}"
    )
    event.listen(engine, "connect", bulk_pragmas)
    engine.dispose()  # every connection from here on is a bulk one
    try:
        with engine.begin() as conn:
            for index in deferred:
                index.drop(conn)
        yield
        with engine.begin() as conn:
            for index in deferred:
                index.create(conn)
    finally:
        event.remove(engine, "connect", bulk_pragmas)
        engine.dispose()
        with engine.connect():
            pass  # back to WAL before anyone else opens the file (tune_sqlite's listener)


def indexes_named(tables: Iterable[Table], *names: str) -> tuple[Index, ...]:
    """The indexes of `tables` with these names (a store's query-only indexes, for `bulk_load`);
    a name that matches none is an error, so a renamed index cannot drop out silently."""
    found = tuple(index for table in tables for index in table.indexes if index.name in names)
    missing = set(names) - {index.name for index in found}
    if missing:
        raise ValueError(f"no such indexes: {sorted(missing)}")
    return found


_versions_metadata = MetaData()
schema_versions = Table(
    "schema_versions",
    _versions_metadata,
    Column("store", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
)


class SchemaOutdated(RuntimeError):
    """A projection store was created by an older build whose tables this one cannot use."""


def create_versioned(
    engine: Engine,
    metadata: MetaData,
    store: str,
    version: int,
    create: Callable[[Connection], object] | None = None,
) -> None:
    """Create `metadata`'s tables in an empty store, recording `version`; in an existing store,
    refuse (SchemaOutdated) unless it was created at `version`. A projection store is rebuilt from
    history, not migrated (docs/operations.md, "A projection's schema changed"). A store with the
    tables but no recorded version predates versioning: version 1. `create(connection)` makes the
    tables once the version is accepted (the store's migrations), else `metadata.create_all`."""
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
        if create is None:
            metadata.create_all(conn)
        else:
            create(conn)


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


# --- many rows at once --------------------------------------------------------------------------


@dataclass(frozen=True)
class _PreparedInsert:
    sql: str
    values: Callable[[Mapping[str, Any]], tuple[Any, ...]]  # a row's values in `sql`'s order
    # (index, bind processor, convert runs of one object once?)
    converters: tuple[tuple[int, Callable[[Any], Any], bool], ...]
    defaults: tuple[Any, ...]  # the processed scalar defaults of the columns rows leave out


_PREPARED: weakref.WeakKeyDictionary[Dialect, dict[Any, _PreparedInsert | None]] = (
    weakref.WeakKeyDictionary()
)


def insert_rows(
    conn: Connection,
    table: Table,
    rows: Sequence[Mapping[str, Any]],
    *,
    ignore_duplicates: bool = False,
) -> None:
    """`INSERT` (`… ON CONFLICT DO NOTHING` with `ignore_duplicates`) of rows that all have the same
    keys, as one executemany.

    On SQLite the SQL and the columns' bind processors are prepared once per table and set of keys,
    and each row goes to the driver as a tuple: SQLAlchemy's own executemany spends ~10 µs a row
    building and processing parameters, more than SQLite spends inserting the row (the top cost of
    a rebuild, docs/audit.md). The values stored are the same (the same bind processors; columns
    left out get their scalar Python default as SQLAlchemy would). Other databases, and columns
    with a callable default, take the ordinary `conn.execute(statement, rows)`."""
    if not rows:
        return
    prepared = _prepared_insert(conn.dialect, table, tuple(rows[0]), ignore_duplicates)
    if prepared is None:
        statement = insert_ignoring(table) if ignore_duplicates else table.insert()
        conn.execute(statement, list(rows))
        return
    conn.exec_driver_sql(prepared.sql, _parameters(prepared, rows))


def _parameters(
    prepared: _PreparedInsert, rows: Sequence[Mapping[str, Any]]
) -> list[tuple[Any, ...]]:
    """The rows as the driver's tuples, converted column by column (map and zip loop in C)."""
    if not prepared.converters:
        return [prepared.values(row) + prepared.defaults for row in rows]
    columns: list[Any] = list(zip(*map(prepared.values, rows), strict=True))
    for index, process, by_identity in prepared.converters:
        columns[index] = (
            _converted_runs(process, columns[index])
            if by_identity
            else list(map(process, columns[index]))
        )
    for default in prepared.defaults:
        columns.append([default] * len(rows))
    return list(zip(*columns, strict=True))


def _converted_runs(process: Callable[[Any], Any], values: Sequence[Any]) -> list[Any]:
    """`process` of each value, once per run of the very same object: rows in a row often share a
    datetime (an event's notifications, a batch's applied_at)."""
    converted = []
    last, result = _NOTHING, None
    for value in values:
        if value is not last:
            last, result = value, process(value)
        converted.append(result)
    return converted


_NOTHING = object()


def _prepared_insert(
    dialect: Dialect, table: Table, names: tuple[str, ...], ignore_duplicates: bool
) -> _PreparedInsert | None:
    cache = _PREPARED.setdefault(dialect, {})
    key = (table, names, ignore_duplicates)
    if key not in cache:
        cache[key] = _prepare_insert(dialect, table, names, ignore_duplicates)
    return cache[key]


def _prepare_insert(
    dialect: Dialect, table: Table, names: tuple[str, ...], ignore_duplicates: bool
) -> _PreparedInsert | None:
    if dialect.name != "sqlite" or dialect.paramstyle != "qmark":
        return None
    given = [table.c[name] for name in names]
    defaulted = [c for c in table.c if c.name not in names and c.default is not None]
    if any(not c.default.is_scalar for c in defaulted):  # type: ignore[union-attr]
        return None
    columns = [*given, *defaulted]
    processors = [c.type.dialect_impl(dialect).bind_processor(dialect) for c in columns]
    quote = dialect.identifier_preparer
    sql = (
        f"INSERT INTO {quote.format_table(table)} "
        f"({', '.join(quote.format_column(c) for c in columns)}) "
        f"VALUES ({', '.join('?' for _ in columns)})"
        + (" ON CONFLICT DO NOTHING" if ignore_duplicates else "")
    )
    default_values = tuple(
        process(c.default.arg) if process else c.default.arg  # type: ignore[union-attr]
        for c, process in zip(defaulted, processors[len(given) :], strict=True)
    )
    getter = itemgetter(*names)
    values = getter if len(names) > 1 else lambda row: (getter(row),)
    return _PreparedInsert(
        sql,
        values,
        tuple(
            (i, p, isinstance(c.type, DateTime))
            for i, (c, p) in enumerate(zip(given, processors[: len(given)], strict=True))
            if p is not None
        ),
        default_values,
    )
