"""Operations for every process: JSON logs, Prometheus metrics, trace context (no web framework).

- `configure_logging()`: structlog renders every log line — structlog's and the standard library's
  (uvicorn, kafka, every `logging.getLogger(...)`) — as one JSON object per line on stderr, with the
  context bound for the current request or message (`request_id`, `trace_id`, `traceparent`, ...);
  or, in development's console (`SUPPORT_LOG_FORMAT=console`, `seller-support serve`'s default),
  one short human line per event.
- Metrics (prometheus-client, default registry; every name starts with `seller_support_`): HTTP
  requests and latency by route template, events applied per projection, consumer lag, timers due
  and fired, DLQ count (the relay's lag lives in services/requests/outbox/relay.py).
- `trace_context(traceparent, **fields)`: the current trace context and log fields of a block (an
  HTTP request, a consumed record).
- `broker_reachable(bootstrap)`: the broker check of `/readyz`.

The HTTP half (middleware, `/metrics`, `/healthz`, `/readyz`) is shared/http_observability.py, so
that the transport layer, which logs and counts here, never pulls in a web framework.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any

import structlog
from prometheus_client import Counter, Gauge, Histogram

from shared import tracing

__all__ = [
    "CONSUMER_LAG",
    "DLQ_MESSAGES",
    "EVENTS_APPLIED",
    "HTTP_DURATION",
    "HTTP_REQUESTS",
    "TIMERS_DUE",
    "TIMERS_FIRED",
    "broker_reachable",
    "configure_logging",
    "get_logger",
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


# Context every JSON line carries for machines, left out of the console's short lines.
_CONSOLE_HIDDEN = ("traceparent", "trace_id", "request_id", "logger", "ts")


def _short_console_event(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
    """One short human line: the local time, and for a request `POST /v1/... 201 12 ms`."""
    stamp = event.get("ts")
    for key in _CONSOLE_HIDDEN:
        event.pop(key, None)
    if isinstance(stamp, str):
        with contextlib.suppress(ValueError):
            stamp = datetime.fromisoformat(stamp).astimezone().strftime("%H:%M:%S")
        event["timestamp"] = stamp
    if event.get("event") == "http request":
        method, path = event.pop("method", "?"), event.pop("path", "?")
        status, duration = event.pop("status", "?"), event.pop("duration_ms", None)
        event.pop("route", None)
        took = f" {duration:.0f} ms" if isinstance(duration, int | float) else ""
        event["event"] = f"{method} {path} {status}{took}"
    return event


def _not_console_noise(record: logging.LogRecord) -> bool:
    """The console leaves out the projections' "events applied" batch lines (and their DEBUG
    "event applied" per event): the request line and the notable events say what happened; JSON
    keeps them."""
    return not (
        isinstance(record.msg, dict)
        and record.msg.get("event") in ("events applied", "event applied")
    )


def console_formatter(colors: bool) -> logging.Formatter:
    """Development's console: one short line per event, coloured when `colors` (a terminal)."""
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _short_console_event,
            structlog.dev.ConsoleRenderer(
                colors=colors,
                pad_event_to=0,
                exception_formatter=structlog.dev.plain_traceback,
            ),
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
    level: str | int | None = None,
    *,
    stream: IO[str] | None = None,
    force: bool = False,
    log_format: str | None = None,
) -> None:
    """JSON lines on `stream` (stderr) for structlog and the standard library alike, or with
    `log_format="console"` one short human line per event (coloured when the stream is a terminal).

    `level` and `log_format` default to SUPPORT_LOG_LEVEL and SUPPORT_LOG_FORMAT (JSON when unset).
    Idempotent: once configured, later calls change nothing unless `force` (tests pass their own
    stream with force=True before the app starts). Takes over uvicorn's loggers so its lines are
    rendered the same way; uvicorn's access log is silenced (the middleware logs one line per
    request)."""
    if not level or not log_format:
        from shared.settings import LoggingSettings  # read when a process configures, not on import

        settings = LoggingSettings()
        level = level or settings.log_level
        log_format = log_format or settings.log_format or "json"
    if isinstance(level, str):
        level = logging.getLevelName(level.upper())
    with _configure_lock:
        root = logging.getLogger()
        configured = any(getattr(h, _HANDLER_MARK, False) for h in root.handlers)
        if configured and not force:
            return
        _configure_structlog()
        output = stream or sys.stderr
        handler = logging.StreamHandler(output)
        if log_format == "console":
            handler.setFormatter(console_formatter(colors=_is_terminal(output)))
            handler.addFilter(_not_console_noise)
            # Alembic's two lines per store and start ("Context impl SQLiteImpl.") tell a person
            # nothing; JSON keeps them for the record.
            logging.getLogger("alembic").setLevel(logging.WARNING)
        else:
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
            # an earlier logging.config (Alembic's fileConfig disables existing loggers) must not
            # leave uvicorn's start-up and error lines silenced
            logger.disabled = False
            logger.setLevel(logging.NOTSET)
        logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
        logging.getLogger("kafka").setLevel(max(logging.WARNING, int(level)))


def _is_terminal(stream: IO[str]) -> bool:
    with contextlib.suppress(AttributeError, ValueError):
        return stream.isatty()
    return False


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


# --- the broker -------------------------------------------------------------------------------------


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
