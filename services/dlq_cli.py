"""`seller-support dlq list|retry|discard`: the operator's hand on parked events (issue 18).

A projection parks an event it cannot apply (shared/transport/parking.py) in its own database's
`parked_events` table. These commands read and act on that table:

    seller-support dlq list [--service ledger|ratings|notifications] [--all]
    seller-support dlq retry EVENT_ID --service ledger      # apply it again (after a fix)
    seller-support dlq discard EVENT_ID --service ledger    # never apply it; the record stays

Each service's database is `--database-url`, else `SUPPORT_<SERVICE>_DATABASE_URL`, else the
embedded mode's SQLite file under `SUPPORT_DATA_DIR` (what `make run` uses). `list` prints JSON
lines, money events flagged (`"money": true`) and repeated on stderr in capitals: while one is parked,
a seller's ledger balance is incomplete. Exit codes: 0 done (list: nothing parked), 1 list: events are
parked / retry: it failed again (the new error is stored), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sqlalchemy import create_engine

from shared.settings import ProjectionDatabases

SERVICES = ("ledger", "ratings", "notifications")


class DlqUsageError(Exception):
    """Wrong arguments: an unknown service, event or database (exit 2)."""


def _database_url(service: str, explicit: str | None) -> str:
    if explicit:
        return explicit
    from_env = ProjectionDatabases().explicit(service)
    if from_env:
        return from_env
    from services.requests.settings import Settings

    path = (Settings().data_dir / f"{service}.db").resolve()
    if not path.exists():
        raise DlqUsageError(
            f"no {service} database at {path} (set --database-url, "
            f"SUPPORT_{service.upper()}_DATABASE_URL or SUPPORT_DATA_DIR)"
        )
    return f"sqlite:///{path}"


def _projection(service: str, url: str) -> Any:
    """The service's projection (its handler, to apply an event again) on `url`."""
    if service == "ledger":
        from services.ledger.main import open_ledger_at

        return open_ledger_at(url)
    if service == "ratings":
        from services.ratings.main import open_ratings_at
        from shared.clock import SystemClock

        return open_ratings_at(url, SystemClock())
    from services.notifications.application import NotificationsApplication
    from services.notifications.settings import NotificationsSettings
    from shared.database import create_projection_engine

    settings = NotificationsSettings(database_url=url)
    return NotificationsApplication(create_projection_engine(url), settings)


def dlq_list(args: argparse.Namespace) -> int:
    from shared.transport.parking import ParkedStatus, list_parked
    from shared.transport.projection import parked_events

    services = [args.service] if args.service else list(SERVICES)
    status = None if args.all else ParkedStatus.PARKED.value
    waiting = money = 0
    for service in services:
        try:
            url = _database_url(service, args.database_url)
        except DlqUsageError:
            if args.service:
                raise
            continue  # `make run` never started that store: nothing parked in it
        engine = create_engine(url)
        try:
            for parked in list_parked(engine, parked_events, status=status):
                print(json.dumps({"service": service, **parked.as_dict()}), flush=True)
                if parked.status == ParkedStatus.PARKED.value:
                    waiting += 1
                    if parked.money:
                        money += 1
                        print(
                            f"MONEY EVENT PARKED in {service}: {parked.event_id} "
                            f"({parked.event_type}, request {parked.subject}) — a seller's "
                            f"balance is incomplete until it is retried",
                            file=sys.stderr,
                        )
        finally:
            engine.dispose()
    print(f"{waiting} parked ({money} money events)", file=sys.stderr)
    return 1 if waiting else 0


def _act(args: argparse.Namespace, action: str) -> int:
    url = _database_url(args.service, args.database_url)
    application = _projection(args.service, url)
    try:
        projection = application.projection
        try:
            if action == "retry":
                projection.retry_parked(args.event_id)
            else:
                projection.discard_parked(args.event_id)
        except LookupError as error:
            raise DlqUsageError(str(error).strip("'\"")) from None
        except Exception as error:
            print(f"retry of {args.event_id} failed again: {error!r}", file=sys.stderr)
            return 1
    finally:
        application.close()
    print(f"{args.event_id}: {'applied' if action == 'retry' else 'discarded'}", file=sys.stderr)
    return 0


def dlq_retry(args: argparse.Namespace) -> int:
    return _act(args, "retry")


def dlq_discard(args: argparse.Namespace) -> int:
    return _act(args, "discard")


def add_dlq(commands: Any) -> None:
    dlq = commands.add_parser("dlq", help="operators: list, retry or discard parked events")
    sub = dlq.add_subparsers(dest="dlq_command", required=True)

    def common(parser: argparse.ArgumentParser, service_required: bool) -> None:
        parser.add_argument("--service", choices=SERVICES, required=service_required)
        parser.add_argument(
            "--database-url", default=None, help="default SUPPORT_<SERVICE>_DATABASE_URL"
        )

    listing = sub.add_parser("list", help="parked events (JSON lines); exit 1 when any waits")
    common(listing, service_required=False)
    listing.add_argument("--all", action="store_true", help="also the retried and discarded")
    listing.set_defaults(handler=_guarded(dlq_list))

    for name, handler, text in (
        ("retry", dlq_retry, "apply a parked event again"),
        ("discard", dlq_discard, "never apply a parked event (its record stays)"),
    ):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("event_id")
        common(parser, service_required=True)
        parser.set_defaults(handler=_guarded(handler))


def _guarded(handler: Any) -> Any:
    def run(args: argparse.Namespace) -> int:
        try:
            return handler(args)
        except DlqUsageError as error:
            print(f"seller-support dlq: {error}", file=sys.stderr)
            return 2

    return run
