"""Every store we own, where it lives, and `seller-support migrate` (shared/migrations.py).

The requests database holds the requests store (side tables beside the event store) and the relay's
position; each projection database (ledger, ratings, notifications) holds its own store and the
projection tracking tables. The URLs are the ones the system uses: `SUPPORT_DATABASE_URL` for
requests, `SUPPORT_<NAME>_DATABASE_URL` or `<data dir>/<name>.db` for the projections (the embedded
resolution; the distributed processes read the same variables).

A new store: a `Store` beside its tables, a folder `migrations/<store>/` (copy `env.py`,
`script.py.mako`, `__init__.py` of another store), a line in `STORES` and in `DATABASES`, then
`python -m services.migrate revision <store> -m "baseline"` and tidy the file it writes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from collections.abc import Sequence

from services.ledger.store import STORE as LEDGER
from services.notifications.store import STORE as NOTIFICATIONS
from services.ratings.store import STORE as RATINGS
from services.requests.relay import RELAY_STORE as RELAY
from services.requests.settings import Settings
from services.requests.store import STORE as REQUESTS
from shared.database import create_projection_engine
from shared.migrations import Store, ensure_schema, revision
from shared.transport.projection import TRACKING

STORES: dict[str, Store] = {
    store.name: store for store in (REQUESTS, RELAY, LEDGER, RATINGS, NOTIFICATIONS, TRACKING)
}

# database (as the settings name it) -> the stores it holds, in the order they are migrated
DATABASES: dict[str, tuple[Store, ...]] = {
    "requests": (REQUESTS, RELAY),
    "ledger": (LEDGER, TRACKING),
    "ratings": (RATINGS, TRACKING),
    "notifications": (NOTIFICATIONS, TRACKING),
}


def database_urls(settings: Settings) -> dict[str, str]:
    from services.auditing import live_store_urls

    live = live_store_urls(settings)
    return {
        "requests": settings.database_url,
        "ledger": live.ledger,
        "ratings": live.ratings,
        "notifications": live.notifications,
    }


def migrate_all(settings: Settings) -> list[tuple[str, str, str]]:
    """Bring every store of every database to head; (database, store, what was done) each."""
    done = []
    for database, url in database_urls(settings).items():
        engine = create_projection_engine(url)
        try:
            for store in DATABASES[database]:
                done.append((database, store.name, ensure_schema(engine, store, upgrade=True)))
        finally:
            engine.dispose()
    return done


def main(argv: Sequence[str] | None = None) -> int:
    """`python -m services.migrate revision STORE -m MESSAGE`: autogenerate a revision of STORE
    against a scratch SQLite database at its head (read and tidy the file before committing)."""
    parser = argparse.ArgumentParser(prog="python -m services.migrate")
    commands = parser.add_subparsers(dest="command", required=True)
    new = commands.add_parser("revision", help="write a new revision of a store")
    new.add_argument("store", choices=sorted(STORES))
    new.add_argument("-m", "--message", required=True)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        engine = create_projection_engine(f"sqlite:///{folder}/scratch.db")
        for script in revision(engine, STORES[args.store], args.message):
            print(script.path)
        engine.dispose()
    return 0


if __name__ == "__main__":  # pragma: no cover - process entry point
    sys.exit(main())
