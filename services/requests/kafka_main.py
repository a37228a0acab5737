"""Processes of the requests service's Kafka side (distributed mode).

    python -m services.requests.kafka_main relay      # notification log -> seller-support.requests.v1
    python -m services.requests.kafka_main upstream   # orders.v1 + shipments.v1 -> the application
    python -m services.requests.kafka_main api        # the requests HTTP API + timer loop alone
                                                      # (SUPPORT_HOST/SUPPORT_PORT, no embedded
                                                      # projections: they run as their own services)

Environment (flags override):
    SUPPORT_DATABASE_URL      the requests database (required; sqlite:/// or postgresql+psycopg://)
    SUPPORT_KAFKA_BOOTSTRAP   default 127.0.0.1:9092
    SUPPORT_REQUESTS_TOPIC    default seller-support.requests.v1
    SUPPORT_ORDERS_TOPIC      default orders.v1
    SUPPORT_SHIPMENTS_TOPIC   default shipments.v1
    SUPPORT_UPSTREAM_GROUP    default seller-support.requests.upstream
    SUPPORT_RELAY_NAME        default requests-relay (the row of ss_relay_positions)
    SUPPORT_RELAY_BATCH_SIZE  default 500 (events per acknowledged batch)
    SUPPORT_METRICS_PORT      relay / upstream: when set, /healthz, /readyz (database and broker)
                              and /metrics (relay lag, consumer lag, DLQ, ...) on that port
    SUPPORT_METRICS_HOST      default 127.0.0.1 (0.0.0.0 in a container)
    SUPPORT_LOG_LEVEL         default INFO; logs are JSON lines on stderr

The api process serves /healthz, /readyz (database) and /metrics itself on SUPPORT_PORT.

SIGTERM/SIGINT stop either process gracefully (exit 0). The upstream consumer exits 2 when a record
fails every retry (nothing is committed; a supervisor restarts it and the record is redelivered).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from typing import Any

from services.requests.application import RequestsApplication, open_application
from services.requests.consumers.upstream import (
    ORDERS_TOPIC,
    SHIPMENTS_TOPIC,
    UPSTREAM_GROUP,
    upstream_runtime,
)
from services.requests.outbox.relay import DEFAULT_RELAY_NAME, REQUESTS_TOPIC, OutboxRelay
from services.requests.settings import KafkaProcessSettings, ProgrammeSettings
from shared.clock import SystemClock
from shared.http_observability import BackgroundServer, broker_check, database_check, ops_app
from shared.observability import configure_logging
from shared.settings import ProcessSettings
from shared.transport.admin import ensure_topics_patiently
from shared.transport.consumer import ConsumerFailed

log = logging.getLogger("seller_support.requests.kafka")


def _configure_logging() -> None:
    configure_logging(ProcessSettings().log_level)


def _open(database_url: str) -> RequestsApplication:
    """Open the application, retried with capped backoff for as long as it takes: processes
    starting together race on CREATE TABLE, and a database that is down is waited for (issue 18)."""
    attempt = 0
    while True:
        attempt += 1
        try:
            return open_application(database_url, SystemClock(), ProgrammeSettings().rules())
        except Exception as error:
            delay = min(10.0, 0.5 * 2 ** min(attempt - 1, 10))
            log.warning(
                "opening the requests database failed (attempt %d), retrying in %.1fs: %r",
                attempt,
                delay,
                error,
            )
            time.sleep(delay)


def _parser() -> argparse.ArgumentParser:
    shared, own = ProcessSettings(), KafkaProcessSettings()
    parser = argparse.ArgumentParser(prog="python -m services.requests.kafka_main")
    parser.add_argument("process", choices=["relay", "upstream", "api"])
    parser.add_argument("--database-url", default=shared.database_url)
    parser.add_argument("--bootstrap", default=shared.kafka_bootstrap)
    parser.add_argument("--topic", default=shared.requests_topic or REQUESTS_TOPIC)
    parser.add_argument("--orders-topic", default=own.orders_topic or ORDERS_TOPIC)
    parser.add_argument("--shipments-topic", default=own.shipments_topic or SHIPMENTS_TOPIC)
    parser.add_argument("--group", default=own.upstream_group or UPSTREAM_GROUP)
    parser.add_argument("--relay-name", default=own.relay_name or DEFAULT_RELAY_NAME)
    parser.add_argument("--batch-size", type=int, default=own.relay_batch_size)
    parser.add_argument("--metrics-port", type=int, default=own.metrics_port)
    parser.add_argument("--metrics-host", default=own.metrics_host)
    parser.add_argument(
        "--create-topics",
        action="store_true",
        default=shared.kafka_create_topics,
        help="create the topics (3 partitions) when missing",
    )
    return parser


def run_relay(args: argparse.Namespace) -> int:
    app = _open(args.database_url)
    if args.create_topics:
        ensure_topics_patiently(args.bootstrap, {args.topic: 3, f"{args.topic}.dlq": 3})
    relay = OutboxRelay.for_bootstrap(
        app, args.bootstrap, topic=args.topic, name=args.relay_name, batch_size=args.batch_size
    )

    def on_signal(signum: int, _frame: Any) -> None:
        log.info("signal %d: stopping the relay", signum)
        relay.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        relay.run()
    finally:
        app.close()
    return 0


def run_upstream(args: argparse.Namespace) -> int:
    app = _open(args.database_url)
    if args.create_topics:
        ensure_topics_patiently(
            args.bootstrap,
            {
                args.orders_topic: 3,
                args.shipments_topic: 3,
                f"{args.orders_topic}.dlq": 3,
                f"{args.shipments_topic}.dlq": 3,
            },
        )
    runtime = upstream_runtime(
        app,
        args.bootstrap,
        orders_topic=args.orders_topic,
        shipments_topic=args.shipments_topic,
        group_id=args.group,
    )
    try:
        runtime.run()
    except ConsumerFailed as error:
        log.error("upstream consumer stopped: %s", error)
        return 2
    finally:
        app.close()
    return 0


def run_api(args: argparse.Namespace) -> int:
    import uvicorn

    from services.requests.main import create_app
    from services.requests.settings import Settings
    from shared.http_server import PROBLEM_HTTP, proxy_headers

    settings = Settings(database_url=args.database_url)
    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        http=PROBLEM_HTTP,  # malformed HTTP answered as problem+json too (issue 18)
        log_level=settings.log_level.lower(),
        log_config=None,  # configure_logging: JSON lines
        access_log=False,  # the observability middleware logs one line per request
        **proxy_headers(settings.trusted_proxies),  # only the gateway's (issue 26)
    )
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging()
    if not args.database_url:
        log.error("SUPPORT_DATABASE_URL (or --database-url) is required")
        return 64
    if args.process == "api":
        return run_api(args)
    ops = _start_ops_server(args)
    try:
        if args.process == "relay":
            return run_relay(args)
        return run_upstream(args)
    finally:
        if ops is not None:
            ops.stop()


def _start_ops_server(args: argparse.Namespace) -> BackgroundServer | None:
    """/healthz, /readyz (the requests database and the broker) and /metrics for the relay and
    the upstream consumer, on --metrics-port."""
    if not args.metrics_port:
        return None
    from sqlalchemy import create_engine

    engine = create_engine(args.database_url, pool_pre_ping=True, pool_size=1, max_overflow=0)
    app = ops_app(
        f"requests-{args.process}",
        {
            "database": database_check(lambda _request: engine),
            "broker": broker_check(args.bootstrap),
        },
    )
    return BackgroundServer(app, args.metrics_host, int(args.metrics_port)).start()


if __name__ == "__main__":
    sys.exit(main())
