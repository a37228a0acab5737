"""`seller-support`: run the embedded system, mint local tokens, and walk a demo against it.

    seller-support serve                       # the whole system on SUPPORT_HOST:SUPPORT_PORT
    seller-support token --role buyer --sub b1 [--ttl 1h]
    seller-support demo [--base-url http://127.0.0.1:8000]
    seller-support migrate                     # every store of the configured databases to head
    seller-support config                      # the effective settings of every service, secrets masked
    seller-support audit verify [--anchors FILE]     # tamper check of every request's hash chain
    seller-support audit rebuild --compare [--from-kafka] [--now T]
    seller-support audit export [--out FILE] [--with-attachments]  # JSON Lines (+ the files)
    seller-support audit history REQUEST_ID [--as-of T]
    seller-support audit state REQUEST_ID --as-of T
    seller-support dlq list|retry|discard            # parked events (services/dlq_cli.py)

Every subcommand reads the same `SUPPORT_*` settings as the server, so tokens it mints verify there
and the audit commands read the server's stores. Audit exit codes: 0 intact / identical, 1 tampering
or differences, 2 usage errors (bad arguments, unknown request, missing store). See docs/audit.md.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from datetime import datetime, timedelta
from typing import Any
from uuid import uuid4

from pydantic import ValidationError

from services.demo_world import World, WorldNotAsPromised
from services.dlq_cli import add_dlq
from services.programme_cli import add_programme
from services.requests.settings import Settings
from shared.auth import ROLES
from shared.vocabulary import REQUESTS_TOPIC

_TTL = re.compile(r"^(\d+)([smhdw]?)$")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_ttl(text: str) -> timedelta:
    """`90s`, `30m`, `1h`, `7d`, `2w`, a number of seconds, or an ISO 8601 duration (`PT1H`)."""
    match = _TTL.match(text.strip().lower())
    if match:
        seconds = int(match.group(1)) * _UNITS[match.group(2)]
    else:
        from pydantic import TypeAdapter

        try:
            seconds = int(TypeAdapter(timedelta).validate_python(text).total_seconds())
        except ValidationError:
            raise argparse.ArgumentTypeError(
                f"not a duration: {text!r} (try 30m, 1h, 7d or PT1H)"
            ) from None
    if seconds <= 0:
        raise argparse.ArgumentTypeError("the ttl must be positive")
    return timedelta(seconds=seconds)


def _settings() -> Settings:
    try:
        return Settings()
    except ValidationError as error:
        messages = "; ".join(e["msg"].removeprefix("Value error, ") for e in error.errors())
        sys.exit(f"seller-support: invalid SUPPORT_* settings: {messages}")


def serve_log_format(settings: Settings) -> str:
    """SUPPORT_LOG_FORMAT when set; else short human lines in development (`make run` is read by a
    person) and JSON lines in production (read by machines). docs/operations.md, "Logs"."""
    return settings.log_format or ("json" if settings.production else "console")


def serve(args: argparse.Namespace) -> int:
    import uvicorn

    from services.embedded import create_embedded_app
    from services.notifications.smtp_server import stop_process
    from shared.http_server import PROBLEM_HTTP, proxy_headers
    from shared.observability import configure_logging

    settings = _settings()
    configure_logging(settings.log_level, log_format=serve_log_format(settings))
    mail_server, smtp_url = _start_local_mail_server(settings)
    try:
        settings.ensure_data_dir()
        _migrated(settings)  # embedded mode migrates every store on start (docs/architecture.md)
        app = create_embedded_app(settings, smtp_url=smtp_url)
        print(
            f"seller-support: http://{settings.host}:{settings.port} (docs at /docs), "
            f"database {settings.database_url}, e-mail to {_mail_target(smtp_url)}, "
            f"{'production' if settings.production else 'development: admin clock enabled'}",
            file=sys.stderr,
            flush=True,
        )
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            http=PROBLEM_HTTP,  # malformed HTTP answered as problem+json too (issue 18)
            log_level=settings.log_level.lower(),
            log_config=None,  # configure_logging above renders uvicorn's lines too
            access_log=False,  # the observability middleware logs one line per request
            **proxy_headers(settings.trusted_proxies),  # none unless configured (issue 26)
        )
    finally:
        if mail_server is not None:
            stop_process(mail_server)
    return 0


def _kafka_bootstrap() -> str:
    """SUPPORT_KAFKA_BOOTSTRAP (shared settings), default 127.0.0.1:9092."""
    from shared.settings import ProcessSettings

    return ProcessSettings().kafka_bootstrap


def _mail_target(smtp_url: str | None = None) -> str:
    """Where e-mail goes: the local server's URL when one was started, else as the notifications
    settings read it (its password masked)."""
    from services.configuration import mask_url
    from services.notifications.settings import NotificationsSettings

    return mask_url(smtp_url or NotificationsSettings().smtp_url)


def _start_local_mail_server(settings: Settings) -> tuple[Any, str | None]:
    """Unless SUPPORT_SMTP_URL points elsewhere, e-mail goes to a real local SMTP server that
    stores each message under <data dir>/mail/ for a person to read: (its process, its URL, which
    the caller passes to the embedded app), else (None, None)."""
    from services.notifications.settings import NotificationsSettings
    from services.notifications.smtp_server import start_process

    if "smtp_url" in NotificationsSettings().model_fields_set:  # SUPPORT_(NOTIFICATIONS_)SMTP_URL
        return None, None
    settings.ensure_data_dir()
    process, port = start_process(settings.data_dir)
    return process, f"smtp://127.0.0.1:{port}"


def _migrated(settings: Settings) -> list[tuple[str, str, str]]:
    from services.migrate import migrate_all

    return migrate_all(settings)


def migrate(args: argparse.Namespace) -> int:
    """Bring every store of the configured databases to its newest revision."""
    for database, store, done in _migrated(_settings()):
        print(f"{database}: {store} {done}")
    return 0


def config(args: argparse.Namespace) -> int:
    """Print the effective settings of every service as JSON, secrets masked."""
    from services.configuration import effective_settings

    _print_json(effective_settings())
    return 0


def token(args: argparse.Namespace) -> int:
    settings = _settings()
    try:
        print(settings.token_codec().encode(sub=args.sub, role=args.role, ttl=args.ttl))
    except Exception as error:  # a missing RS256 private key, an empty subject
        sys.exit(f"seller-support token: {error}")
    return 0


class DemoFailed(Exception):
    """A demo step got an answer other than the one the walk expects."""


class Demo:
    """Walks one request of each kind against a running system, printing every step."""

    def __init__(self, settings: Settings, base_url: str) -> None:
        import httpx

        self.http = httpx.Client(base_url=base_url, timeout=60)
        self.codec = settings.token_codec()
        self.run = uuid4().hex[:6]
        self.buyer = f"demo-buyer-{self.run}"
        self.seller = f"demo-seller-{self.run}"
        self.orders = 0

    def call(self, role: str, method: str, path: str, body: Any = None, sub: str = "") -> Any:
        sub = sub or {"buyer": self.buyer, "seller": self.seller}.get(role, f"demo-{role}")
        headers = {"Authorization": f"Bearer {self.codec.encode(sub=sub, role=role)}"}
        if method == "POST":
            headers["Idempotency-Key"] = uuid4().hex
        response = self.http.request(method, path, json=body, headers=headers)
        if response.status_code >= 400:
            raise DemoFailed(
                f"{method} {path} as {role} -> {response.status_code}: {response.text}"
            )
        return response.json()

    def now(self) -> datetime:
        return datetime.fromisoformat(self.call("admin", "GET", "/v1/admin/clock")["now"])

    def fact(self, fact: dict[str, Any]) -> None:
        self.call("platform", "POST", "/v1/upstream/events", fact)

    def order(self) -> str:
        self.orders += 1
        order_id = f"demo-{self.run}-{self.orders}"
        now = self.now().isoformat()
        self.fact(
            {
                "type": "order_placed",
                "order_id": order_id,
                "buyer_id": self.buyer,
                "seller_id": self.seller,
                "currency": "USD",
                "placed_at": now,
                "marketplace": "US",
                "items": [
                    {
                        "item_id": "card-1",
                        "title": "Holo trading card",
                        "category": "trading_cards",
                        "consumable": False,
                        "price": 2500,
                        "seller_payout": 2200,
                        "buyer_shipping_paid": 500,
                        "processing_fee": 103,
                    }
                ],
            }
        )
        self.fact(
            {
                "type": "order_shipped",
                "order_id": order_id,
                "carrier": "USPS",
                "service": "ground_advantage",
                "tracking_number": f"9400-{order_id}",
                "shipped_at": now,
                "insured_value": 5000,
                "extra_protection": False,
            }
        )
        self.fact({"type": "order_delivered", "order_id": order_id, "delivered_at": now})
        return order_id

    def open(self, title: str, reason: str = "defective") -> str:
        print(f"\n== {title}")
        order_id = self.order()
        state = self.call(
            "buyer",
            "POST",
            "/v1/support-requests",
            {
                "order_id": order_id,
                "item_ids": ["card-1"],
                "reason": reason,
                "description": "The card arrived creased.",
                "photos": ["https://photos.example/crease.jpg"],
            },
        )
        self.show(f"buyer opens a request on order {order_id}", state)
        return state["id"]

    def act(self, role: str, what: str, request_id: str, suffix: str, body: Any = None) -> Any:
        state = self.call(role, "POST", f"/v1/support-requests/{request_id}/{suffix}", body)
        self.show(f"{role} {what}", state)
        return state

    def show(self, step: str, state: dict[str, Any]) -> None:
        due = {k: v for k, v in state["deadlines"].items() if v}
        parts = [state["status"]]
        if state.get("resolution"):
            parts.append(f"resolution {state['resolution']}")
        if state.get("refund"):
            parts.append(f"refund {state['refund']['amount']} {state['refund']['currency']}")
        if due:
            parts.append("due " + ", ".join(f"{k} {v}" for k, v in due.items()))
        print(f"   - {step} -> {'; '.join(parts)}")

    def pass_deadline(self, request_id: str, kind: str) -> dict[str, Any]:
        state = self.call("support", "GET", f"/v1/support-requests/{request_id}")
        due = datetime.fromisoformat(state["deadlines"][kind])
        target = max(due, self.now()) + timedelta(minutes=1)
        moved = self.call("admin", "POST", "/v1/admin/clock", {"set": target.isoformat()})
        state = self.call("support", "GET", f"/v1/support-requests/{request_id}")
        self.show(
            f"admin moves the clock past {kind} to {moved['now']} ({moved['fired']} fired)", state
        )
        return state

    def walk(self) -> None:
        rid = self.open("Full refund (R10)")
        self.act("seller", "refunds in full", rid, "responses", {"type": "full_refund"})

        rid = self.open("Full refund with return (R11, R12)", reason="not_as_described")
        self.act(
            "seller",
            "asks for the item back",
            rid,
            "responses",
            {"type": "full_refund_with_return"},
        )
        tracking = f"RET-{rid[:8]}"
        at = self.now().isoformat()
        self.fact(
            {
                "type": "return_label_created",
                "request_id": rid,
                "tracking_number": tracking,
                "label_cost": 450,
                "at": at,
            }
        )
        print(f"   - platform issues return label {tracking} (label cost 450)")
        for scan in ("accepted", "delivered"):
            self.fact(
                {
                    "type": "shipment_scanned",
                    "tracking_number": tracking,
                    "status": scan,
                    "at": self.now().isoformat(),
                }
            )
            state = self.call("buyer", "GET", f"/v1/support-requests/{rid}")
            self.show(f"carrier scans the return: {scan}", state)
        self.pass_deadline(rid, "return_inspection")

        rid = self.open("Partial refund accepted (R13, R14)")
        self.act(
            "seller",
            "offers 1000 back",
            rid,
            "responses",
            {"type": "partial_refund", "amount": 1000},
        )
        self.act("buyer", "accepts", rid, "offer/accept")

        rid = self.open("Partial refund declined (R14, R11)")
        self.act(
            "seller", "offers 800 back", rid, "responses", {"type": "partial_refund", "amount": 800}
        )
        self.act("buyer", "declines", rid, "offer/decline")
        self.pass_deadline(rid, "return_dropoff")

        rid = self.open("Replacement (R16)")
        tracking = f"REP-{rid[:8]}"
        self.act(
            "seller",
            f"sends a replacement ({tracking})",
            rid,
            "responses",
            {"type": "replacement", "carrier": "USPS", "tracking_number": tracking},
        )
        self.fact(
            {
                "type": "shipment_scanned",
                "tracking_number": tracking,
                "status": "accepted",
                "at": self.now().isoformat(),
            }
        )
        state = self.call("buyer", "GET", f"/v1/support-requests/{rid}")
        self.show("carrier's first scan of the replacement", state)

        rid = self.open("No refund, with explanation (R17)")
        self.act(
            "seller",
            "explains why not",
            rid,
            "responses",
            {
                "type": "no_refund",
                "message": "The crease is in the listing photos.",
                "evidence": ["https://photos.example/listing.jpg"],
            },
        )
        self.pass_deadline(rid, "no_refund_close")

        rid = self.open("Information request (R18)")
        self.act(
            "seller",
            "asks for a photo",
            rid,
            "responses",
            {"type": "request_info", "message": "Could you send a photo of the back?"},
        )
        self.act(
            "buyer",
            "answers",
            rid,
            "messages",
            {"body": "Here it is.", "attachments": ["https://photos.example/back.jpg"]},
        )
        self.act("seller", "refunds in full", rid, "responses", {"type": "full_refund"})

        rid = self.open("Escalation and support decision (R19-R22)")
        self.pass_deadline(rid, "seller_response")
        self.act("buyer", "escalates", rid, "escalate", {"reason": "No answer from the seller."})
        self.act("support", "decides: refund", rid, "decision", {"outcome": "refund"})
        self.act("buyer", "gives feedback", rid, "feedback", {"thumbs": "down"})
        history = self.call("auditor", "GET", f"/v1/support-requests/{rid}/history")
        print(f"   - auditor reads the history: {', '.join(e['type'] for e in history)}")


def demo(args: argparse.Namespace) -> int:
    settings = _settings()
    base_url = args.base_url or f"http://{settings.host}:{settings.port}"
    walker = Demo(settings, base_url)
    print(f"seller-support demo against {base_url} (run {walker.run})")
    world = World(walker)
    try:
        walker.walk()
        print("\ndone: every kind of request walked end to end.")
        world.build()  # issue 24: requests left in every state to explore in the web app
    except (DemoFailed, WorldNotAsPromised) as error:
        sys.exit(f"demo failed: {error}")
    except Exception as error:  # connection refused, mostly
        sys.exit(f"demo failed: {error!r}; is the system running (`make run`)?")
    print("\n".join(world.describe(base_url)))
    return 0


# --- audit (R62, docs/audit.md) --------------------------------------------------------------------

USAGE_ERROR = 2


class UsageError(Exception):
    """An audit command was called wrongly (exit 2)."""


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _parse_moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not an ISO 8601 moment: {text!r} (e.g. 2026-12-07T14:00:00-05:00)"
        ) from None
    if moment.tzinfo is None:
        raise argparse.ArgumentTypeError(f"{text!r} needs a UTC offset (e.g. Z or -05:00)")
    return moment


def _open_requests(settings: Settings) -> Any:
    from pathlib import Path

    from services.requests.application import open_application
    from shared.clock import SystemClock

    url = settings.database_url
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists():
        raise UsageError(f"no event store at {url} (set SUPPORT_DATABASE_URL or SUPPORT_DATA_DIR)")
    from services.requests.settings import ProgrammeSettings

    return open_application(url, SystemClock(), ProgrammeSettings().rules())


def _close_requests(app: Any) -> None:
    app.close()
    app.recorder.datastore.engine.dispose()


class _Progress:
    """Progress lines on stderr, at most about once a second."""

    def __init__(self, quiet: bool = False) -> None:
        import time

        self.quiet = quiet
        self.time = time.monotonic
        self.last = 0.0

    def __call__(self, what: str, done: int, total: int | None = None) -> None:
        if self.quiet or self.time() - self.last < 1.0:
            return
        self.last = self.time()
        _err(f"... {what} {done}" + (f" of {total}" if total else ""))


def audit_verify(args: argparse.Namespace) -> int:
    from services.requests.application import audit
    from services.requests.application.remedy_fold import remedy_drift

    app = _open_requests(_settings())
    try:
        progress = _Progress(args.quiet)
        report = audit.verify(app, lambda done, total: progress("requests verified", done, total))
        problems = list(report.problems or [])
        if args.anchors:
            with open(args.anchors, encoding="utf-8") as handle:
                anchors = [json.loads(line) for line in handle if line.strip()]
            problems.extend(audit.verify_against_anchors(app, anchors))
        # R63: the per-item remedy record must be what history gives
        drift = remedy_drift(app)
    finally:
        _close_requests(app)
    for problem in problems:
        print(f"TAMPERED {problem}")
    for difference in drift:
        print(f"REMEDY {difference}")
    problems.extend(drift)
    verdict = "intact" if not problems else f"{len(problems)} problem(s)"
    print(f"verified {report.requests} request(s), {report.events} event(s): {verdict}")
    return 0 if not problems else 1


def audit_rebuild(args: argparse.Namespace) -> int:
    import time

    from services import auditing

    settings = _settings()
    app = _open_requests(settings)
    live = auditing.live_store_urls(settings)
    started = time.monotonic()
    try:
        comparison, applied = auditing.rebuild_and_compare(
            app,
            live,
            now=args.now,
            source="kafka" if args.from_kafka else "store",
            kafka_bootstrap=args.bootstrap or _kafka_bootstrap(),
            topic=args.topic,
            progress=_Progress(args.quiet),
            keep=args.keep,
            workers=args.workers,
        )
    finally:
        _close_requests(app)
    elapsed = time.monotonic() - started
    source = f"Kafka topic {args.topic}" if args.from_kafka else "the event store"
    print(f"rebuilt every projection from {source}: {applied} event(s) in {elapsed:.1f}s")
    for note in comparison.notes:
        print(f"note: {note}")
    if not args.compare:
        return 0
    for store_name, table, live_rows, rebuilt_rows in comparison.tables:
        print(f"  {store_name}.{table}: live {live_rows} row(s), rebuilt {rebuilt_rows}")
    shown = comparison.differences[: args.max_differences]
    for difference in shown:
        print(f"DIFFERENT {difference}")
    if len(comparison.differences) > len(shown):
        print(f"... and {len(comparison.differences) - len(shown)} more difference(s)")
    if comparison.identical:
        print("identical: the live projections equal the rebuild")
        return 0
    print(f"{len(comparison.differences)} difference(s)")
    return 1


def audit_export(args: argparse.Namespace) -> int:
    from services.requests.application import audit

    if args.with_attachments and (not args.out or args.out == "-"):
        _err("--with-attachments writes the files beside the export: give --out FILE")
        return 2
    settings = _settings()
    app = _open_requests(settings)
    progress = _Progress(args.quiet)
    try:
        if args.out and args.out != "-":
            with open(args.out, "w", encoding="utf-8") as handle:
                count = audit.export(app, handle, lambda n, _t: progress("exported", n))
        else:
            count = audit.export(app, sys.stdout, lambda n, _t: progress("exported", n))
        if args.with_attachments:
            from pathlib import Path

            from services.requests.attachments.export import export_files
            from services.requests.attachments.main import open_attachments

            folder = Path(f"{args.out}.attachments")
            files = export_files(open_attachments(settings, app), folder)
            _err(f"exported {files} attachment file(s) to {folder}")
    finally:
        _close_requests(app)
    _err(f"exported {count} event(s)" + (f" to {args.out}" if args.out else ""))
    return 0


def _print_json(value: Any) -> None:
    print(
        json.dumps(
            value, indent=2, default=lambda v: v.isoformat() if hasattr(v, "isoformat") else str(v)
        )
    )


def audit_history(args: argparse.Namespace) -> int:
    from services.requests.application import RequestNotFound, audit
    from services.requests.http.views import request_view

    app = _open_requests(_settings())
    try:
        if args.as_of is not None:
            state = audit.state_as_of(app, args.request_id, args.as_of)
            if state is None:
                raise UsageError(f"support request {args.request_id} did not exist at {args.as_of}")
            _print_json(request_view(state, "auditor", args.as_of))
        else:
            _print_json(audit.history(app, args.request_id))
    except RequestNotFound as error:
        raise UsageError(str(error)) from None
    finally:
        _close_requests(app)
    return 0


def _add_audit(commands: Any) -> None:
    audit = commands.add_parser(
        "audit", help="auditors: tamper check, rebuild-compare, export, history, state as of T"
    )
    sub = audit.add_subparsers(dest="audit_command", required=True)

    verify = sub.add_parser("verify", help="recompute every request's hash chain; 1 if tampered")
    verify.add_argument(
        "--anchors", help="an earlier `audit export` file: its chain hashes must still be stored"
    )
    verify.add_argument("--quiet", action="store_true", help="no progress on stderr")
    verify.set_defaults(handler=audit_verify)

    rebuild = sub.add_parser("rebuild", help="rebuild every projection into fresh stores")
    rebuild.add_argument("--compare", action="store_true", help="compare with the live stores")
    rebuild.add_argument(
        "--from-kafka", action="store_true", help="read the topic from offset 0, not the store"
    )
    rebuild.add_argument(
        "--bootstrap",
        default=None,
        help="Kafka bootstrap servers (default SUPPORT_KAFKA_BOOTSTRAP or 127.0.0.1:9092)",
    )
    rebuild.add_argument("--topic", default=REQUESTS_TOPIC)
    rebuild.add_argument(
        "--now",
        type=_parse_moment,
        default=None,
        help="instant ratings are computed at (default now)",
    )
    rebuild.add_argument("--keep", action="store_true", help="keep the rebuilt stores")
    rebuild.add_argument(
        "--workers",
        type=int,
        choices=(1, 2, 3),
        default=2,
        help="processes replaying the event store: 2 (ledger and ratings beside notifications), "
        "3 (one per projection) or 1",
    )
    rebuild.add_argument("--max-differences", type=int, default=200)
    rebuild.add_argument("--quiet", action="store_true", help="no progress on stderr")
    rebuild.set_defaults(handler=audit_rebuild)

    export = sub.add_parser("export", help="the whole history as JSON Lines of CloudEvents")
    export.add_argument("--out", default=None, help="file to write (default stdout)")
    export.add_argument("--quiet", action="store_true", help="no progress on stderr")
    export.add_argument(
        "--with-attachments",
        action="store_true",
        help="also write every referenced file to FILE.attachments/<sha256> (needs --out)",
    )
    export.set_defaults(handler=audit_export)

    history = sub.add_parser("history", help="one request's events (or its state with --as-of)")
    history.add_argument("request_id")
    history.add_argument("--as-of", type=_parse_moment, default=None)
    history.set_defaults(handler=audit_history)

    state = sub.add_parser("state", help="one request's state as of a moment")
    state.add_argument("request_id")
    state.add_argument("--as-of", type=_parse_moment, required=True)
    state.set_defaults(handler=audit_history)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="seller-support", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)

    run = commands.add_parser("serve", help="run the embedded system (all services, one process)")
    run.set_defaults(handler=serve)

    mint = commands.add_parser("token", help="print a bearer token for local use")
    mint.add_argument("--role", required=True, choices=ROLES)
    mint.add_argument("--sub", required=True, help="the user (or system) id the token is for")
    mint.add_argument("--ttl", type=parse_ttl, default=timedelta(hours=1), help="default 1h")
    mint.set_defaults(handler=token)

    walk = commands.add_parser(
        "demo",
        help="walk one request of each kind, then leave a world to explore in the web app",
    )
    walk.add_argument("--base-url", default=None, help="default http://SUPPORT_HOST:SUPPORT_PORT")
    walk.set_defaults(handler=demo)
    upgrade = commands.add_parser("migrate", help="migrate every store to its newest schema")
    upgrade.set_defaults(handler=migrate)
    show = commands.add_parser("config", help="print every service's settings, secrets masked")
    show.set_defaults(handler=config)
    _add_audit(commands)
    add_dlq(commands)
    add_programme(commands)
    return parser


def main(argv: list[str] | None = None) -> Any:
    args = build_parser().parse_args(argv)
    try:
        return args.handler(args)
    except UsageError as error:
        _err(f"seller-support {args.command}: {error}")
        return USAGE_ERROR


if __name__ == "__main__":
    sys.exit(main())
