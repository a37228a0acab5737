"""The process scaffolding of a projection service (`python -m services.<name>.main`), in one place.

A projection service process serves its HTTP API (+ `/healthz`, `/readyz`, `/metrics`) with uvicorn
and, unless `--no-consumer`, consumes the request stream in a thread of the same process. Every
service's `main.py` composes it from these parts:

- `projection_service_parser(service, port)`: the command line; every flag defaults to the shared
  settings (shared/settings.py `ProcessSettings`, the `SUPPORT_*` variables);
- `add_create_topics(parser, what)`: `--create-topics` (SUPPORT_KAFKA_CREATE_TOPICS=1);
- `stream_options(args, service)`: where it consumes, or None with `--no-consumer`;
- `projection_service_app(...)`: the FastAPI app (router, problem+json errors, metrics, `/readyz`
  checking the database and the broker, "degraded" while events are parked);
- `serve_projection_service(app, args)`: uvicorn until shutdown; the exit status says whether a
  consumer thread failed;
- `run_projection_service(...)`: all of the above in order, the whole `main()` of a service.

The web framework lives here and in the services, never in `shared.transport` (import-linter).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import FastAPI

from shared.auth import DEV_SECRET, TokenCodec
from shared.http_observability import broker_check, database_check, instrument
from shared.observability import configure_logging
from shared.problems import install_problem_handlers, install_problem_openapi
from shared.settings import ProcessSettings, ProjectionDatabases
from shared.transport.admin import create_topics_with_dlq
from shared.transport.parking import degraded_note
from shared.transport.projection import parked_events
from shared.transport.stream_consumers import StreamOptions

__all__ = [
    "add_create_topics",
    "projection_service_app",
    "projection_service_parser",
    "serve_projection_service",
    "stream_options",
    "token_codec_from_settings",
]


def projection_service_parser(
    service: str, default_port: int, settings: ProcessSettings | None = None
) -> argparse.ArgumentParser:
    """The command line of `python -m services.<service>.main`: its HTTP API (+ /healthz, /readyz,
    /metrics) on --host/--port, and unless --no-consumer its Kafka consumer of the request stream
    in the same process. Every flag defaults to the shared settings (`SUPPORT_*`)."""
    s = settings or ProcessSettings()
    upper = service.upper()
    parser = argparse.ArgumentParser(prog=f"python -m services.{service}.main")
    parser.add_argument(
        "--database-url",
        default=ProjectionDatabases().explicit(service) or s.database_url,
        help=f"SUPPORT_{upper}_DATABASE_URL or SUPPORT_DATABASE_URL",
    )
    parser.add_argument("--host", default=s.host)
    parser.add_argument("--port", type=int, default=default_port if s.port is None else s.port)
    parser.add_argument("--bootstrap", default=s.kafka_bootstrap)
    parser.add_argument("--topic", default=s.requests_topic)
    parser.add_argument("--group", default=s.consumer_group or f"seller-support.{service}")
    parser.add_argument(
        "--no-consumer",
        action="store_true",
        default=not s.consumer_enabled,
        help="serve the API only (SUPPORT_CONSUMER_ENABLED=0)",
    )
    parser.add_argument("--log-level", default=s.log_level)
    return parser


def add_create_topics(
    parser: argparse.ArgumentParser, what: str, settings: ProcessSettings | None = None
) -> None:
    """`--create-topics` (SUPPORT_KAFKA_CREATE_TOPICS=1): create `what` and their .dlq at start."""
    parser.add_argument(
        "--create-topics",
        action="store_true",
        default=(settings or ProcessSettings()).kafka_create_topics,
        help=f"create {what} and their .dlq (3 partitions) when missing",
    )


def stream_options(args: argparse.Namespace, service: str) -> StreamOptions | None:
    """Where the service consumes the request stream, or None with `--no-consumer`."""
    if args.no_consumer:
        return None
    return StreamOptions(
        bootstrap_servers=args.bootstrap,
        group_id=args.group,
        topic=args.topic,
        client_id=f"seller-support-{service}",
    )


def token_codec_from_settings(settings: ProcessSettings | None = None) -> TokenCodec:
    """The bearer-token codec of a projection service process, from the same `SUPPORT_JWT_*`
    variables as the requests service (so its tokens verify here too)."""
    s = settings or ProcessSettings()
    return TokenCodec(
        algorithm=s.jwt_algorithm,
        secret=s.jwt_secret or DEV_SECRET,
        public_key=s.jwt_public_key,
        private_key=s.jwt_private_key,
    )


def projection_service_app(
    service: str,
    lifespan: Any,
    router: Any,
    engine_of: Callable[[Any], Any],
    kafka: StreamOptions | None,
    alive: Callable[[Any], str | None],
) -> FastAPI:
    """The FastAPI app of a projection service: its router, problem+json errors, metrics, and
    `/readyz` checking its database (`engine_of(request)`) and, when it consumes, the broker."""
    app = FastAPI(title=f"Seller Support — {service}", version="1.0.0", lifespan=lifespan)
    # `/readyz` answers "degraded" with the count while events are parked (issue 18).
    app.state.degraded_notes = [degraded_note(lambda r: [engine_of(r)], parked_events)]
    install_problem_handlers(app, {})
    install_problem_openapi(app)
    app.include_router(router)
    checks = {"database": database_check(engine_of)}
    if kafka is not None:
        checks["broker"] = broker_check(kafka.bootstrap_servers)
    instrument(app, service, checks, alive=alive)
    return app


def serve_projection_service(
    app: Any, args: argparse.Namespace, consumers: Sequence[str] = ("consumer",)
) -> int:
    """Serve `app` until it is shut down; 2 when one of its consumer threads (`app.state.<name>`)
    stopped on an error (its supervisor restarts it and the record is redelivered), else 0."""
    import uvicorn

    from shared.http_server import PROBLEM_HTTP, proxy_headers

    uvicorn.run(
        app,
        host=args.host,
        port=args.port,
        log_config=None,
        access_log=False,
        http=PROBLEM_HTTP,
        # X-Forwarded-For only from SUPPORT_TRUSTED_PROXIES (the gateway), else nobody (issue 26)
        **proxy_headers(ProcessSettings().trusted_proxies),
    )
    failed = any(
        getattr(getattr(app.state, name, None), "failure", None) is not None for name in consumers
    )
    return 2 if failed else 0


AppBuilder = Callable[[argparse.Namespace, StreamOptions | None, TokenCodec], FastAPI]


def run_projection_service(
    service: str,
    default_port: int,
    build_app: AppBuilder,
    argv: Sequence[str] | None = None,
    *,
    add_arguments: Callable[[argparse.ArgumentParser], None] | None = None,
    topics_to_create: tuple[str, Callable[[argparse.Namespace], Sequence[str]]] | None = None,
    consumers: Sequence[str] = ("consumer",),
) -> int:
    """The `main()` of a projection service process: parse its command line (the shared flags,
    then `add_arguments`), configure logging, create `topics_to_create` (what, args -> topics) with
    their .dlq when `--create-topics` and it consumes, build the app
    (`build_app(args, stream options, token codec)`) and serve it."""
    settings = ProcessSettings()
    parser = projection_service_parser(service, default_port, settings)
    if add_arguments is not None:
        add_arguments(parser)
    if topics_to_create is not None:
        add_create_topics(parser, topics_to_create[0], settings)
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    kafka = stream_options(args, service)
    if kafka is not None and topics_to_create is not None and args.create_topics:
        create_topics_with_dlq(args.bootstrap, topics_to_create[1](args))
    app = build_app(args, kafka, token_codec_from_settings(settings))
    return serve_projection_service(app, args, consumers)
