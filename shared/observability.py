"""Operations for every service: JSON logs, Prometheus metrics, health endpoints, trace context.

- `configure_logging()`: structlog renders every log line — structlog's and the standard library's
  (uvicorn, kafka, every `logging.getLogger(...)`) — as one JSON object per line on stderr, with the
  context bound for the current request or message (`request_id`, `trace_id`, `traceparent`, ...).
- Metrics (prometheus-client, default registry; every name starts with `seller_support_`): HTTP
  requests and latency by route template, events applied per projection, consumer lag, timers due
  and fired, DLQ count (the relay's lag lives in services/requests/outbox/relay.py). `metrics_router()`
  serves them at `/metrics`.
- `ObservabilityMiddleware`: reads the W3C `traceparent` header (or starts a trace), makes it the
  current trace context (`shared.tracing`) for the request, binds `request_id` and `trace_id` to
  the log context, counts and times the request, and echoes `traceparent` and `X-Request-Id`.
- `health_router(checks)`: `/healthz` (the process is alive) and `/readyz` (every check passes:
  the database, the broker, ...). `instrument(app, service, checks)` installs all of the above.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import sys
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any

import structlog
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.problems import problem_response, problem_responses

__all__ = [
    "CONSUMER_LAG",
    "DLQ_MESSAGES",
    "EVENTS_APPLIED",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "TIMERS_DUE",
    "TIMERS_FIRED",
    "ObservabilityMiddleware",
    "configure_logging",
    "get_logger",
    "health_router",
    "instrument",
    "metrics_router",
    "trace_context",
]

# --- metrics ---------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "seller_support_http_requests",
    "HTTP requests answered, by service, method, route template and status code",
    ["service", "method", "route", "status"],
)
HTTP_DURATION = Histogram(
    "seller_support_http_request_duration_seconds",
    "HTTP request latency (until the response started), by service, method and route template",
    ["service", "method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
EVENTS_APPLIED = Counter(
    "seller_support_events_applied",
    "Request events applied to a projection (redeliveries recognised and skipped not counted)",
    ["projection"],
)
EVENTS_SKIPPED = Counter(
    "seller_support_events_redelivered",
    "Request events a projection had applied before and skipped (harmless redeliveries)",
    ["projection"],
)
CONSUMER_LAG = Gauge(
    "seller_support_consumer_lag_messages",
    "Records on a partition not yet processed by the consumer group (high watermark - position)",
    ["group", "topic", "partition"],
)
DLQ_MESSAGES = Counter(
    "seller_support_dlq_messages",
    "Records dead-lettered to <topic>.dlq by a consumer group",
    ["group", "topic"],
)
PARKED_EVENTS = Counter(
    "seller_support_events_parked",
    "Events a projection could not apply and parked (shared/transport/parking.py), by projection "
    "and whether the ledger charges them (money)",
    ["projection", "money"],
)
TIMERS_DUE = Gauge(
    "seller_support_timers_due",
    "Deadlines due (at or before the business clock's now) when the timer loop last looked",
)
TIMERS_FIRED = Counter(
    "seller_support_timers_fired", "Events caused by deadlines the timer loop fired"
)
TIMER_LOOP_LAST_RUN = Gauge(
    "seller_support_timer_loop_last_run_timestamp_seconds",
    "Unix time of the timer loop's last successful round",
)

# --- logging ---------------------------------------------------------------------------------------

_HANDLER_MARK = "_seller_support_json"
_configure_lock = threading.Lock()


def _add_trace_context(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """Every line carries the current trace id (from shared.tracing) unless one is bound."""
    if "trace_id" not in event:
        traceparent = tracing.current_traceparent()
        if traceparent and tracing.is_valid(traceparent):
            event["trace_id"] = tracing.trace_id(traceparent)
    return event


def _drop_color_message(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    event.pop("color_message", None)  # uvicorn's ANSI-coloured duplicate of the message
    return event


def _shared_processors() -> list[Any]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.add_log_level,
        structlog.stdlib.ExtraAdder(),
        _drop_color_message,
        _add_trace_context,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="ts"),
    ]


def json_formatter() -> logging.Formatter:
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(sort_keys=False),
        ],
    )


def _configure_structlog() -> None:
    """structlog loggers hand their events to the standard library, rendered by the handler."""
    structlog.configure(
        processors=[
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )


if not structlog.is_configured():  # route structlog through logging even before configure_logging
    _configure_structlog()


def configure_logging(
    level: str | int | None = None, *, stream: IO[str] | None = None, force: bool = False
) -> None:
    """JSON lines on `stream` (stderr) for structlog and the standard library alike.

    Idempotent: once configured, later calls change nothing unless `force` (tests pass their own
    stream with force=True before the app starts). Takes over uvicorn's loggers so its lines are
    JSON too; uvicorn's access log is silenced (the middleware logs one line per request)."""
    level = level or os.environ.get("SUPPORT_LOG_LEVEL", "INFO")
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    with _configure_lock:
        root = logging.getLogger()
        configured = any(getattr(h, _HANDLER_MARK, False) for h in root.handlers)
        if configured and not force:
            return
        _configure_structlog()
        handler = logging.StreamHandler(stream or sys.stderr)
        handler.setFormatter(json_formatter())
        setattr(handler, _HANDLER_MARK, True)
        for old in list(root.handlers):
            # Plain console handlers (logging.basicConfig's) and an earlier one of ours; handlers
            # of other kinds (files, pytest's capture) stay.
            if type(old) is logging.StreamHandler:
                root.removeHandler(old)
        root.addHandler(handler)
        root.setLevel(level)
        for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
            logger = logging.getLogger(name)
            logger.handlers.clear()
            logger.propagate = True
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        logging.getLogger("kafka").setLevel(max(logging.WARNING, int(level)))


def get_logger(name: str) -> Any:
    return structlog.stdlib.get_logger(name)


@contextmanager
def trace_context(traceparent: str | None, **bound: Any) -> Iterator[None]:
    """Within the block, `traceparent` (when valid) is the current trace context and it, its trace
    id and `bound` are on every log line."""
    values = dict(bound)
    valid = bool(traceparent) and tracing.is_valid(traceparent or "")
    if valid:
        values["traceparent"] = traceparent
        values["trace_id"] = tracing.trace_id(traceparent or "")
    token = tracing.set_traceparent(traceparent) if valid else None
    try:
        with structlog.contextvars.bound_contextvars(**values):
            yield
    finally:
        if token is not None:
            tracing.reset_traceparent(token)


# --- HTTP ------------------------------------------------------------------------------------------

_request_log = get_logger("seller_support.http")
UNMATCHED = "<unmatched>"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def _child_traceparent(incoming: str | None) -> str:
    """Our span's traceparent: the caller's trace id with a new span id, or a new trace."""
    if incoming and tracing.is_valid(incoming.strip().lower()):
        trace = tracing.trace_id(incoming.strip().lower())
        return f"00-{trace}-{secrets.token_hex(8)}-{incoming.strip()[-2:].lower()}"
    return tracing.new_traceparent()


class ObservabilityMiddleware:
    """Pure ASGI (contextvars set here reach the endpoint, also in its worker thread)."""

    def __init__(self, app: ASGIApp, service: str = "seller-support") -> None:
        self.app = app
        self.service = service

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = (_header(scope, b"x-request-id") or "").strip()[:200] or secrets.token_hex(8)
        traceparent = _child_traceparent(_header(scope, b"traceparent"))
        method = scope.get("method", "GET")
        started = time.perf_counter()
        status = 500
        duration: float | None = None

        async def send_wrapper(message: Message) -> None:
            nonlocal status, duration
            if message["type"] == "http.response.start":
                status = int(message["status"])
                duration = time.perf_counter() - started
                headers = list(message.get("headers") or [])
                headers.append((b"traceparent", traceparent.encode()))
                headers.append((b"x-request-id", request_id.encode("latin-1")))
                message = {**message, "headers": headers}
            await send(message)

        with trace_context(traceparent, request_id=request_id):
            try:
                await self.app(scope, receive, send_wrapper)
            finally:
                route = scope.get("route")
                template = getattr(route, "path", None) or UNMATCHED
                elapsed = duration if duration is not None else time.perf_counter() - started
                HTTP_REQUESTS.labels(self.service, method, template, str(status)).inc()
                HTTP_DURATION.labels(self.service, method, template).observe(elapsed)
                if template not in _QUIET_ROUTES:
                    _request_log.info(
                        "http request",
                        method=method,
                        path=scope.get("path"),
                        route=template,
                        status=status,
                        duration_ms=round(elapsed * 1000, 2),
                    )


_QUIET_ROUTES = {"/healthz", "/readyz", "/metrics"}


def metrics_router() -> APIRouter:
    router = APIRouter(tags=["operations"])

    @router.get(
        "/metrics",
        summary="Prometheus metrics (text exposition format)",
        response_class=Response,
        responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
    )
    def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return router


Check = Callable[[Request], None]
_health_log = get_logger("seller_support.health")


def health_router(
    checks: Mapping[str, Check], alive: Callable[[Request], str | None] | None = None
) -> APIRouter:
    """`/healthz`: 200 while the process works (`alive` may return a reason it does not: 503);
    `/readyz`: 200 when every check returns, else 503 naming the ones that raised."""
    router = APIRouter(tags=["operations"])

    @router.get("/healthz", summary="The process is alive", responses=problem_responses(503))
    def healthz(request: Request) -> Any:
        reason = alive(request) if alive is not None else None
        if reason:
            return problem_response(503, reason)
        return JSONResponse({"status": "ok"})

    @router.get(
        "/readyz",
        summary="Its dependencies (database, broker) are reachable",
        responses=problem_responses(503),
    )
    def readyz(request: Request) -> Any:
        failed: dict[str, str] = {}
        for name, check in checks.items():
            try:
                check(request)
            except Exception as error:
                failed[name] = f"{type(error).__name__}: {error}"[:300]
        if failed:
            _health_log.warning("readiness check failed", failed=failed)
            names = " and ".join(sorted(failed))
            return problem_response(
                503, f"the {names} is not reachable; see the server log", failed=sorted(failed)
            )
        # Ready, but something needs an operator (issue 18: parked events): 200 "degraded".
        for note in getattr(request.app.state, "degraded_notes", ()):
            try:
                details = note(request)
            except Exception as error:  # the note's own database read failed: not ready
                return problem_response(503, f"readiness note failed: {error!r}"[:300])
            if details:
                return JSONResponse({"status": "degraded", **details})
        return JSONResponse({"status": "ready"})

    return router


def instrument(
    app: FastAPI,
    service: str,
    checks: Mapping[str, Check] | None = None,
    alive: Callable[[Request], str | None] | None = None,
) -> FastAPI:
    """The middleware and `/metrics` (always), `/healthz` + `/readyz` when `checks` is given."""
    app.add_middleware(ObservabilityMiddleware, service=service)
    app.include_router(metrics_router())
    if checks is not None:
        app.include_router(health_router(checks, alive))
    return app


# --- checks ----------------------------------------------------------------------------------------


def database_check(engine_of: Callable[[Request], Any]) -> Check:
    """Ready when `SELECT 1` answers on the engine `engine_of(request)` returns."""
    from sqlalchemy import text

    def check(request: Request) -> None:
        with engine_of(request).connect() as connection:
            connection.execute(text("SELECT 1"))

    return check


def broker_check(bootstrap_servers: str, timeout_s: float = 2.0) -> Check:
    """Ready when a Kafka broker of `bootstrap_servers` answers a metadata request."""

    def check(_request: Request) -> None:
        broker_reachable(bootstrap_servers, timeout_s)

    return check


def broker_reachable(bootstrap_servers: str, timeout_s: float = 2.0) -> None:
    """Raise unless one bootstrap server accepts a connection and answers a metadata request."""
    from kafka import KafkaAdminClient

    errors: list[str] = []
    for server in [s.strip() for s in bootstrap_servers.split(",") if s.strip()]:
        host, _, port = server.rpartition(":")
        try:  # fail fast (no client retries) when nothing listens
            socket.create_connection((host or "127.0.0.1", int(port or 9092)), timeout_s).close()
        except OSError as error:
            errors.append(f"{server}: {error}")
            continue
        timeout_ms = int(timeout_s * 1000)
        admin = KafkaAdminClient(
            bootstrap_servers=server,
            client_id="seller-support-readyz",
            request_timeout_ms=max(timeout_ms, 1000),
        )
        try:
            admin.describe_cluster()
            return
        finally:
            admin.close()
    raise ConnectionError("no Kafka broker reachable: " + "; ".join(errors or [bootstrap_servers]))


# --- processes without an HTTP API -----------------------------------------------------------------


def ops_app(
    service: str,
    checks: Mapping[str, Check],
    alive: Callable[[Request], str | None] | None = None,
) -> FastAPI:
    """`/healthz`, `/readyz` and `/metrics` alone, for processes with no API (relay, consumers)."""
    app = FastAPI(title=f"Seller Support — {service} (operations)", version="1.0.0")
    return instrument(app, service, checks, alive)


class BackgroundServer:
    """uvicorn serving `app` from a daemon thread (the main thread does the process's work)."""

    def __init__(self, app: FastAPI, host: str, port: int) -> None:
        import uvicorn

        config = uvicorn.Config(app, host=host, port=port, log_config=None, lifespan="off")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name=f"http-{port}", daemon=True)

    def start(self, timeout_s: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout_s
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the operations HTTP server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def consumer_alive(request: Request) -> str | None:
    """`alive` for apps with a Kafka consumer thread on `app.state.consumer`: not alive once it
    stopped on an error (the liveness probe then restarts the process)."""
    consumer = getattr(request.app.state, "consumer", None)
    failure = getattr(consumer, "failure", None)
    return f"the Kafka consumer stopped: {failure!r}" if failure is not None else None
