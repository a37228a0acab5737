"""Alembic migrations of the stores we own: one Alembic environment per store, one version table per
store (`alembic_version_<store>`), so that stores sharing a database never see each other's
revisions (docs/architecture.md, "Stores and migrations").

A store is the tables one module creates (`Store`): its migration scripts sit in a package beside
that module (`<package>/env.py`, `<package>/versions/*.py`, shipped as package data). Every
`env.py` is the same two lines that call `run_env()`; migrations always run through this module
on a connection it passes, never against a URL of their own.

How a store gets its schema (`ensure_schema`, called where the tables used to be created):
- an empty database (none of the store's tables, no version table): `create_all` of today's tables
  and `stamp` at head, in one transaction. The tests build thousands of fresh stores: replaying
  every revision each time would cost more with each revision, and the migration test proves that
  the revisions build exactly the tables `create_all` builds (tests/integration/test_migrations.py);
- a store at head: nothing;
- a store behind head (or one created before migrations, with tables but no version table): the
  revisions run from where it stands, in the same transaction (on PostgreSQL, where DDL is
  transactional, a failed upgrade leaves the store as it was). `create_all` never runs over a
  populated store;
- a store at a revision this build does not know (a newer build migrated it): `SchemaOutdated`.
Alembic itself (~37 MB of memory, issue 30) is imported only when a store needs it: a store at
head, and a fresh store (`create_all` and the version row), are handled with a read of the revision
files' `revision` / `down_revision` assignments (`light_head`, checked equal to Alembic's head by
tests/unit/test_lazy_imports.py) and plain SQL. Every process upgrades the stores it opens, on start (`seller-support migrate` does all of them at
once, for an explicit step before a rollout). On PostgreSQL the whole check runs under a
transaction-scoped advisory lock per schema and store, so processes starting together do not race
each other's DDL: the first upgrades, the others then find the store current.
"""

from __future__ import annotations

import ast
import contextlib
import functools
import importlib.util
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    Column,
    Engine,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    inspect,
    select,
    text,
)
from sqlalchemy.engine import Connection

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

from shared.database import SchemaOutdated


@dataclass(frozen=True)
class Store:
    """The tables of `metadata`, migrated by the Alembic environment in package `package`."""

    name: str
    package: str
    metadata: MetaData
    # columns and indexes made by dialect-specific DDL rather than declared (search's PostgreSQL
    # text-search column and its index): left out of the drift comparison
    unmanaged: frozenset[str] = frozenset()

    @property
    def version_table(self) -> str:
        return f"alembic_version_{self.name}"

    @property
    def directory(self) -> Path:
        spec = importlib.util.find_spec(self.package)
        if spec is None or not spec.submodule_search_locations:
            raise LookupError(f"no migrations package {self.package}")
        return Path(next(iter(spec.submodule_search_locations)))

    def owns(self, table_name: str) -> bool:
        return table_name in self.metadata.tables


def alembic_config(store: Store, connection: Connection | None = None) -> Config:
    """An Alembic `Config` for `store` (no alembic.ini: everything is set here)."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(store.directory))
    config.attributes["store"] = store
    if connection is not None:
        config.attributes["connection"] = connection
    return config


@functools.cache
def _scripts(store: Store) -> ScriptDirectory:
    from alembic.script import ScriptDirectory

    return ScriptDirectory.from_config(alembic_config(store))


@functools.cache
def light_head(store: Store) -> str | None:
    """The head revision read from the revision files' `revision` / `down_revision` assignments,
    without Alembic; None when they are not one plain linear history (then Alembic decides)."""
    revision_of: dict[str, str | None] = {}
    for path in sorted((store.directory / "versions").glob("*.py")):
        found: dict[str, Any] = {}
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            target = node.target if isinstance(node, ast.AnnAssign) else None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target = node.targets[0]
            value = getattr(node, "value", None)
            if isinstance(target, ast.Name) and isinstance(value, ast.Constant):
                found[target.id] = value.value
        if not isinstance(found.get("revision"), str):
            return None
        down = found.get("down_revision")
        if down is not None and not isinstance(down, str):
            return None  # a merge point: Alembic's job
        revision_of[found["revision"]] = down
    heads = set(revision_of) - set(revision_of.values())
    return next(iter(heads)) if len(heads) == 1 else None


def _version_table(store: Store) -> Table:
    """The version table as Alembic creates it (`alembic.runtime.migration`), so that Alembic
    later reads and moves the row a fresh store was stamped with here."""
    return Table(
        store.version_table,
        MetaData(),
        Column("version_num", String(32), nullable=False),
        PrimaryKeyConstraint("version_num", name=f"{store.version_table}_pkc"),
    )


def _stored_revision(connection: Connection, store: Store) -> tuple[bool, str | None]:
    """(whether the version table exists, its one revision or None), in plain SQL."""
    if not inspect(connection).has_table(store.version_table):
        return False, None
    rows = connection.execute(select(_version_table(store).c.version_num)).scalars().all()
    return True, (rows[0] if len(rows) == 1 else None)


def head(store: Store) -> str:
    found = _scripts(store).get_current_head()
    if found is None:
        raise LookupError(f"the {store.name} store has no migrations")
    return found


def revisions(store: Store) -> list[str]:
    """`store`'s revisions, oldest first (the first is its baseline)."""
    return [script.revision for script in reversed(list(_scripts(store).walk_revisions()))]


def _context_options(store: Store) -> dict[str, Any]:
    def include_name(name: str | None, type_: str, _parent: Any) -> bool:
        # Another store's tables (and the event store's) share the database: not ours to compare.
        if type_ in ("column", "index") and name in store.unmanaged:
            return False
        return type_ != "table" or (name is not None and store.owns(name))

    return {
        "version_table": store.version_table,
        "target_metadata": store.metadata,
        "include_name": include_name,
        "render_as_batch": True,  # SQLite alters a table by copying it
        "compare_type": True,
        "compare_server_default": True,
    }


def run_env() -> None:
    """The body of every store's `env.py`: run on the connection `ensure_schema` or `upgrade`
    passed in the config."""
    from alembic import context

    config = context.config
    store: Store = config.attributes["store"]
    connection: Connection | None = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError(
            "migrations run through shared.migrations (seller-support migrate), not the alembic CLI"
        )
    context.configure(connection=connection, **_context_options(store))
    with context.begin_transaction():
        context.run_migrations()


def current_revision(connection: Connection, store: Store) -> str | None:
    from alembic.runtime.migration import MigrationContext

    migration = MigrationContext.configure(connection, opts={"version_table": store.version_table})
    return migration.get_current_revision()


def _lock(connection: Connection, store: Store) -> None:
    if connection.dialect.name == "postgresql":
        connection.execute(
            text("SELECT pg_advisory_xact_lock(hashtext(current_schema() || :store))"),
            {"store": f"/migrations/{store.name}"},
        )


def ensure_schema(bind: Engine | Connection, store: Store) -> str:
    """Bring `store` to head as the module docstring says; returns what was done: `created`,
    `current`, `upgraded`. Raises SchemaOutdated at a revision this build does not know."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            return ensure_schema(connection, store)
    connection = bind
    _lock(connection, store)
    target = light_head(store)
    if target is not None:
        # The two usual cases without Alembic: a store at head, and an empty database.
        has_version_table, stored = _stored_revision(connection, store)
        if stored == target:
            return "current"
        if not has_version_table and not any(
            store.owns(name) for name in inspect(connection).get_table_names()
        ):
            store.metadata.create_all(connection)
            version = _version_table(store)
            version.create(connection)
            connection.execute(version.insert().values(version_num=target))
            return "created"
    from alembic import command
    from alembic.runtime.migration import MigrationContext

    found = current_revision(connection, store)
    target = head(store)
    if found == target:
        return "current"
    if found is None and not any(
        store.owns(name) for name in inspect(connection).get_table_names()
    ):
        store.metadata.create_all(connection)
        MigrationContext.configure(connection, opts={"version_table": store.version_table}).stamp(
            _scripts(store), target
        )
        return "created"
    if found is not None and found not in revisions(store):
        raise SchemaOutdated(
            f"the {store.name} store ({connection.engine.url.render_as_string(hide_password=True)})"
            f" is at revision {found}, which this build does not know (its newest is {target}): "
            "a newer build migrated it; run that build, or restore the store (docs/operations.md)"
        )
    command.upgrade(alembic_config(store, connection), "head")
    return "upgraded"


def upgrade(bind: Engine | Connection, store: Store, revision: str = "head") -> None:
    """Run `store`'s revisions up to `revision` (tests build a store at its baseline this way)."""
    if isinstance(bind, Engine):
        with bind.begin() as connection:
            upgrade(connection, store, revision)
        return
    from alembic import command

    _lock(bind, store)
    command.upgrade(alembic_config(store, bind), revision)


def drift(bind: Engine | Connection, store: Store) -> list[Any]:
    """The differences between `store`'s tables as declared and the database (empty: none)."""
    if isinstance(bind, Engine):
        with bind.connect() as connection:
            return drift(connection, store)
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    options = _context_options(store)
    migration = MigrationContext.configure(bind, opts=options)
    return list(compare_metadata(migration, store.metadata))


def missing(table_name: str) -> bool:
    """In a revision: is this table absent? The baseline creates only what is missing, so a store
    created before migrations (some tables present, e.g. no relay position yet) is adopted."""
    from alembic import op

    return not inspect(op.get_bind()).has_table(table_name)


def revision(bind: Engine | Connection, store: Store, message: str) -> Iterable[Any]:
    """Write a new revision of `store` by autogenerate against `bind` (upgraded to head first)."""
    from alembic import command

    opened = bind.begin() if isinstance(bind, Engine) else contextlib.nullcontext(bind)
    with opened as connection:
        command.upgrade(alembic_config(store, connection), "head")
        made = command.revision(
            alembic_config(store, connection), message=message, autogenerate=True
        )
    return made if isinstance(made, list) else [made]
