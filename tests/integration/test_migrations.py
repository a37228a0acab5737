"""Every store we own is upgraded by its Alembic migrations without losing a row, and its migrations
build exactly the tables its code declares — on SQLite and PostgreSQL (shared/migrations.py,
docs/architecture.md "Stores and migrations").

"Old" is commit f329105, the last build before migrations: its tables are frozen in
tests/integration/schema_f329105.py and created the way that build created them (`create_all`, and
for notifications `create_versioned`), then filled with rows, then migrated.

The stores added after f329105 (dev_clock, attachments, attachment_chunks, search: `NEW_STORES`)
have no f329105 schema to start from, so the f329105 tests run over `OLD_STORES` only. Every store,
new ones included, is checked for being created at head on an empty database, for migrations that
build exactly its declared tables, and for refusing an unknown revision; a new store built by
`create_all` before it had migrations (what the merged branches did) is adopted with its rows.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Engine,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    select,
)

from services.ledger.application import LedgerApplication
from services.ledger.projection import CONSUMER
from services.migrate import STORES, VERSIONED, main, migrate_store
from services.notifications.store import SCHEMA_VERSION
from shared.database import SchemaOutdated, create_projection_engine, create_versioned
from shared.migrations import (
    Store,
    alembic_config,
    current_revision,
    drift,
    ensure_schema,
    head,
    revisions,
    upgrade,
)
from tests.integration.schema_f329105 import METADATA

START = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)
ROWS = 3
STORE_NAMES = sorted(STORES)
OLD_STORES = sorted(METADATA)  # the stores f329105 had
NEW_STORES = sorted(set(STORES) - set(METADATA))  # no f329105 schema: created after it


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_projection_engine(database_url)
    yield engine
    engine.dispose()


def build_as_f329105(engine: Engine, name: str) -> None:
    """The store as f329105 made it on start: `create_all` of its tables (notifications also
    recorded its schema version, shared.database.create_versioned)."""
    if name in VERSIONED:
        create_versioned(engine, METADATA[name], name, VERSIONED[name])
    else:
        METADATA[name].create_all(engine)


def _value(table: Table, column: Any, row: int) -> Any:
    if column.nullable and not column.primary_key and row == 1:
        return None  # one row keeps every nullable column empty
    kind = column.type
    if isinstance(kind, Float):
        return row + 0.5
    if isinstance(kind, LargeBinary):
        return bytes([row, 0, 255]) * 3
    if isinstance(kind, Boolean):
        return row % 2 == 0
    if isinstance(kind, Integer):  # BigInteger too
        return 10 * row + 7
    if isinstance(kind, DateTime):
        return START + timedelta(minutes=row, microseconds=row)
    if isinstance(kind, JSON):
        return {"row": row, "table": table.name, "nested": [row, "é"]}
    if isinstance(kind, Text):
        return f"text of row {row} in {table.name}: ünïcode"
    if isinstance(kind, String):
        return f"{row}-{column.name}"[: kind.length or 50]
    raise AssertionError(f"no sample value for {table.name}.{column.name} ({kind!r})")


def fill(engine: Engine, metadata: MetaData) -> None:
    with engine.begin() as conn:
        for table in metadata.sorted_tables:
            rows = [{c.name: _value(table, c, row) for c in table.columns} for row in range(ROWS)]
            conn.execute(table.insert(), rows)


def contents(engine: Engine, metadata: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, in primary-key order, through `metadata`'s tables."""
    with engine.connect() as conn:
        return {
            table.name: [
                tuple(row)
                for row in conn.execute(select(*table.columns).order_by(*table.primary_key.columns))
            ]
            for table in metadata.sorted_tables
        }


def kept(engine: Engine, store: Store, before: dict[str, list[tuple[Any, ...]]]) -> bool:
    """Every row of `before` (the f329105 tables) is in the store's tables of today, and the
    tables added since (e.g. tracking's `parked_events`, issue 18) are empty."""
    after = contents(engine, store.metadata)
    return {name: after[name] for name in before} == before and not any(
        rows for name, rows in after.items() if name not in before
    )


def differences(engine: Engine, store: Store, metadata: MetaData) -> list[Any]:
    """The differences between `metadata` and the store's tables in the database."""
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn,
            opts={
                "compare_type": True,
                "include_name": lambda name, kind, _parent: (
                    kind != "table" or name in store.metadata.tables or name in metadata.tables
                ),
            },
        )
        return list(compare_metadata(context, metadata))


@pytest.mark.parametrize("name", OLD_STORES)
def test_a_store_built_and_filled_by_f329105_keeps_every_row_when_migrated(engine, name) -> None:
    store = STORES[name]
    # given the store as f329105 built it on start, with rows in every table
    build_as_f329105(engine, name)
    fill(engine, METADATA[name])
    before = contents(engine, METADATA[name])
    # when `seller-support migrate` brings it to head
    done = migrate_store(engine, store)
    # then it was upgraded (not recreated), is at head, matches today's tables, lost nothing
    assert done == "upgraded"
    with engine.connect() as conn:
        assert current_revision(conn, store) == head(store)
    assert drift(engine, store) == []
    assert kept(engine, store, before)
    # and a service opening it now finds it current
    assert ensure_schema(engine, store) == "current"


@pytest.mark.parametrize("name", OLD_STORES)
def test_the_baseline_revision_builds_exactly_the_f329105_schema(engine, name) -> None:
    store = STORES[name]
    # given an empty database, when only the store's first revision runs
    baseline = revisions(store)[0]
    upgrade(engine, store, baseline)
    # then its tables are f329105's, column for column and index for index
    assert differences(engine, store, METADATA[name]) == []
    # and rows written at the baseline survive the upgrade to head
    fill(engine, METADATA[name])
    before = contents(engine, METADATA[name])
    upgrade(engine, store)
    assert kept(engine, store, before)


@pytest.mark.parametrize("name", STORE_NAMES)
def test_models_and_migrations_do_not_drift(engine, name) -> None:
    store = STORES[name]
    # given an empty database upgraded through every revision of the store
    upgrade(engine, store)
    # then the tables its code declares are exactly the ones its migrations built
    assert drift(engine, store) == []
    assert set(store.metadata.tables) <= set(inspect(engine).get_table_names())


@pytest.mark.parametrize("name", OLD_STORES)
def test_a_service_opening_a_store_of_f329105_upgrades_it_on_start(engine, name) -> None:
    store = STORES[name]
    # given a store built and filled by f329105 (tables, no migration version)
    build_as_f329105(engine, name)
    fill(engine, METADATA[name])
    before = contents(engine, METADATA[name])
    # when a service opens it (what each constructor calls), then it is upgraded, rows kept
    assert ensure_schema(engine, store) == "upgraded"
    assert kept(engine, store, before)
    assert drift(engine, store) == []


@pytest.mark.parametrize("name", NEW_STORES)
def test_a_newer_store_created_before_its_migrations_is_adopted_with_its_rows(engine, name) -> None:
    store = STORES[name]
    # given the store as the build before its migrations made it (`create_all`), filled
    store.metadata.create_all(engine)
    fill(engine, store.metadata)
    before = contents(engine, store.metadata)
    # when a service opens it, then its baseline adopts it (creates nothing twice), rows kept
    assert ensure_schema(engine, store) == "upgraded"
    with engine.connect() as conn:
        assert current_revision(conn, store) == head(store)
    assert contents(engine, store.metadata) == before
    assert drift(engine, store) == []


def _full_text_objects(engine: Engine) -> set[str]:
    """Search's dialect-made full-text objects that exist (services/search/store.py)."""
    found = inspect(engine)
    if engine.dialect.name == "postgresql":
        if not found.has_table("search_requests"):
            return set()
        columns = {c["name"] for c in found.get_columns("search_requests")}
        indexes = {i["name"] for i in found.get_indexes("search_requests")}
        return ({"document"} & columns) | ({"ix_search_document"} & indexes)
    return {"search_requests_fts"} & set(found.get_table_names())


def test_search_revisions_build_the_full_text_objects_create_all_builds(engine) -> None:
    store = STORES["search"]
    expected = (
        {"document", "ix_search_document"}
        if engine.dialect.name == "postgresql"
        else {"search_requests_fts"}
    )
    # given a search store built through its revisions: it has its dialect's full-text objects
    # (the drift check leaves them out, so this test is what keeps the two paths alike)
    upgrade(engine, store)
    assert _full_text_objects(engine) == expected
    # when it is taken down to nothing and created at head the fast way (`create_all`)
    with engine.begin() as conn:
        command.downgrade(alembic_config(store, conn), "base")
    assert _full_text_objects(engine) == set()
    assert ensure_schema(engine, store) == "created"
    # then it has the same full-text objects
    assert _full_text_objects(engine) == expected


def test_the_ledger_service_starts_on_its_f329105_database_and_reads_its_rows(engine) -> None:
    # given the ledger's database as f329105 left it: its store and the projection tracking
    for name in ("ledger", "tracking"):
        build_as_f329105(engine, name)
        fill(engine, METADATA[name])
    with engine.begin() as conn:
        conn.execute(
            METADATA["tracking"].tables["feed_positions"].insert(),
            [{"consumer": CONSUMER, "position": 42}],
        )
    before = contents(engine, METADATA["ledger"])
    # when the ledger application starts on it
    ledger = LedgerApplication(engine)
    # then both stores are at head and every row is still there
    with engine.connect() as conn:
        assert current_revision(conn, STORES["ledger"]) == head(STORES["ledger"])
        assert current_revision(conn, STORES["tracking"]) == head(STORES["tracking"])
    assert contents(engine, STORES["ledger"].metadata) == before
    assert ledger.projection.position() == 42
    ledger.close()


@pytest.mark.parametrize("name", STORE_NAMES)
def test_a_store_at_a_revision_this_build_does_not_know_is_refused(engine, name) -> None:
    store = STORES[name]
    # given a store a newer build migrated (its version table names an unknown revision)
    ensure_schema(engine, store)
    with engine.begin() as conn:
        conn.exec_driver_sql(f"UPDATE {store.version_table} SET version_num = 'f00dfeed0001'")
    # when a service opens it, then it refuses, naming the revision, and changes nothing
    with pytest.raises(SchemaOutdated, match=r"f00dfeed0001, which this build does not know"):
        ensure_schema(engine, store)


@pytest.mark.parametrize("name", STORE_NAMES)
def test_an_empty_database_is_created_at_head_in_one_step(engine, name) -> None:
    store = STORES[name]
    # when a service opens an empty database, then the tables are created and stamped at head
    assert ensure_schema(engine, store) == "created"
    with engine.connect() as conn:
        assert current_revision(conn, store) == head(store)
    assert drift(engine, store) == []
    assert ensure_schema(engine, store) == "current"


def test_migrate_command_upgrades_every_embedded_store_of_f329105(
    tmp_path, monkeypatch, capsys
) -> None:
    # given the embedded data folder as f329105 left it: four databases, every store filled
    monkeypatch.setenv("SUPPORT_DATA_DIR", str(tmp_path))
    for variable in ("DATABASE_URL", "LEDGER_DATABASE_URL", "RATINGS_DATABASE_URL"):
        monkeypatch.delenv(f"SUPPORT_{variable}", raising=False)
    monkeypatch.delenv("SUPPORT_NOTIFICATIONS_DATABASE_URL", raising=False)
    monkeypatch.delenv("SUPPORT_SEARCH_DATABASE_URL", raising=False)
    files = {
        "seller-support.sqlite": ("requests", "relay"),
        "ledger.db": ("ledger", "tracking"),
        "ratings.db": ("ratings", "tracking"),
        "notifications.db": ("notifications", "tracking"),
    }
    before = {}
    for file, names in files.items():
        engine = create_projection_engine(f"sqlite:///{tmp_path / file}")
        for name in names:
            build_as_f329105(engine, name)
            fill(engine, METADATA[name])
            before[file, name] = contents(engine, METADATA[name])
        engine.dispose()
    # when `seller-support migrate` runs, twice
    from services.cli import main as cli

    assert cli(["migrate"]) == 0
    first = capsys.readouterr().out
    assert cli(["migrate"]) == 0
    second = capsys.readouterr().out
    # then every store of f329105 was upgraded once and the newer stores (requests: dev_clock,
    # attachments, attachment_chunks, programme; search.db: search, tracking) created, then all
    # found current, and every row is still there
    assert first.count(" upgraded") == 8 and first.count(" created") == 6, first
    assert second.count(" current") == 14, second
    for (file, name), rows in before.items():
        engine = create_projection_engine(f"sqlite:///{tmp_path / file}")
        assert kept(engine, STORES[name], rows), (file, name)
        assert drift(engine, STORES[name]) == []
        engine.dispose()


def test_the_notifications_version_guard_still_runs_before_migrating(engine) -> None:
    # given a notifications store recorded at another schema version (rebuild, not migrate)
    build_as_f329105(engine, "notifications")
    with engine.begin() as conn:
        conn.exec_driver_sql(
            f"UPDATE schema_versions SET version = {SCHEMA_VERSION - 1} "
            "WHERE store = 'notifications'"
        )
    # when migrating it, then it is refused with the rebuild remedy, untouched
    with pytest.raises(SchemaOutdated, match="rebuild it"):
        migrate_store(engine, STORES["notifications"])


def test_the_lint_drift_check_passes_on_this_build(capsys) -> None:
    # the drift check of `make lint` (python -m services.migrate check) passes on this build
    assert main(["check"]) == 0
    assert "no drift" in capsys.readouterr().out
