"""Every store we own, where it lives, and `seller-support migrate` (shared/migrations.py).

The requests database holds the requests store (side tables beside the event store), the relay's
position, the development clock and the attachments' tables; each projection database (ledger,
ratings, notifications, search) holds its own store and the projection tracking tables. The URLs
are the ones the system uses: `SUPPORT_DATABASE_URL` for requests, `SUPPORT_<NAME>_DATABASE_URL` or
`<data dir>/<name>.db` for the projections (the embedded resolution; the distributed processes read
the same variables).

A new store: a `Store` beside its tables, a folder `migrations/<store>/` (copy `env.py`,
`script.py.mako`, `__init__.py` of another store), a line in `STORES` and in `DATABASES`, then
`python -m services.migrate revision <store> -m "baseline"` and tidy the file it writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence

from sqlalchemy import Engine

from services.ledger.store import STORE as LEDGER
from services.notifications.store import SCHEMA_VERSION as NOTIFICATIONS_VERSION
from services.notifications.store import STORE as NOTIFICATIONS
from services.ratings.store import STORE as RATINGS
from services.requests.attachments.storage import ATTACHMENTS_STORE as ATTACHMENTS
from services.requests.attachments.storage import CHUNKS_STORE as ATTACHMENT_CHUNKS
from services.requests.outbox.relay import RELAY_STORE as RELAY
from services.requests.persistence.dev_clock import DEV_CLOCK_STORE as DEV_CLOCK
from services.requests.persistence.programme_store import PROGRAMME_STORE as PROGRAMME
from services.requests.persistence.store import STORE as REQUESTS
from services.requests.settings import Settings
from services.search.store import STORE as SEARCH
from shared.database import create_projection_engine, create_versioned
from shared.migrations import Store, drift, ensure_schema, revision, upgrade
from shared.transport.projection import TRACKING

STORES: dict[str, Store] = {
    store.name: store
    for store in (
        REQUESTS,
        RELAY,
        LEDGER,
        RATINGS,
        NOTIFICATIONS,
        TRACKING,
        DEV_CLOCK,
        ATTACHMENTS,
        ATTACHMENT_CHUNKS,
        SEARCH,
        PROGRAMME,
    )
}

# database (as the settings name it) -> the stores it holds, in the order they are migrated
DATABASES: dict[str, tuple[Store, ...]] = {
    "requests": (REQUESTS, RELAY, DEV_CLOCK, ATTACHMENTS, ATTACHMENT_CHUNKS, PROGRAMME),
    "ledger": (LEDGER, TRACKING),
    "ratings": (RATINGS, TRACKING),
    "notifications": (NOTIFICATIONS, TRACKING),
    "search": (SEARCH, TRACKING),
}


def database_urls(settings: Settings) -> dict[str, str]:
    from services.auditing import live_store_urls

    live = live_store_urls(settings)
    return {
        "requests": settings.database_url,
        "ledger": live.ledger,
        "ratings": live.ratings,
        "notifications": live.notifications,
        **({} if live.search is None else {"search": live.search}),
    }


# stores that also record a rebuild-or-refuse schema version (shared.database.create_versioned)
VERSIONED: dict[str, int] = {NOTIFICATIONS.name: NOTIFICATIONS_VERSION}


def migrate_store(engine: Engine, store: Store) -> str:
    """Bring one store to head (what `ensure_schema` did), checking its recorded version first
    where it has one, as its service does on start."""
    if store.name not in VERSIONED:
        return ensure_schema(engine, store)
    done: list[str] = []
    create_versioned(
        engine,
        store.metadata,
        store.name,
        VERSIONED[store.name],
        create=lambda conn: done.append(ensure_schema(conn, store)),
    )
    return done[0]


def migrate_all(settings: Settings) -> list[tuple[str, str, str]]:
    """Bring every store of every database to head; (database, store, what was done) each."""
    done = []
    for database, url in database_urls(settings).items():
        engine = create_projection_engine(url)
        try:
            for store in DATABASES[database]:
                done.append((database, store.name, migrate_store(engine, store)))
        finally:
            engine.dispose()
    return done


def check() -> int:
    """Upgrade a scratch SQLite database through every store's revisions and compare it with the
    tables the code declares (`alembic check`, programmatically)."""
    failed = 0
    with tempfile.TemporaryDirectory() as folder:
        for name, store in STORES.items():
            engine = create_projection_engine(f"sqlite:///{folder}/{name}.db")
            try:
                upgrade(engine, store)
                found = drift(engine, store)
            finally:
                engine.dispose()
            if found:
                failed += 1
                print(f"{name}: the models differ from the migrations: {found}", file=sys.stderr)
                print(
                    f"  write a revision: python -m services.migrate revision {name} -m '...'",
                    file=sys.stderr,
                )
    if not failed:
        print(f"migrations: no drift in {len(STORES)} stores")
    return 1 if failed else 0


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.migrate revision STORE -m MESSAGE`: autogenerate a revision of STORE
    against a scratch SQLite database at its head (read and tidy the file before committing).
    `python -m services.migrate check` (in `make lint`): exit 1 when any store's tables as declared
    differ from what its migrations build (a revision is missing)."""
    parser = argparse.ArgumentParser(prog="python -m services.migrate")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("revision", help="write a new revision of a store")
    new.add_argument("store", choices=sorted(STORES))
    new.add_argument("-m", "--message", required=True)
    commands.add_parser("check", help="fail when a store's models and migrations drift")
    args = parser.parse_args(argv)
    if args.command == "check":
        return check()
    with tempfile.TemporaryDirectory() as folder:
        engine = create_projection_engine(f"sqlite:///{folder}/scratch.db")
        for script in revision(engine, STORES[args.store], args.message):
            print(script.path)
        engine.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
