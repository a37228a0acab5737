"""Operations for every HTTP process: request middleware, `/metrics`, `/healthz`, `/readyz`.

The web-framework half of shared/observability.py (which holds the logging, metrics and trace
context every process uses, the transport layer included, with no web framework):

- `ObservabilityMiddleware`: reads the W3C `traceparent` header (or starts a trace), makes it the
  current trace context (`shared.tracing`) for the request, binds `request_id` and `trace_id` to
  the log context, counts and times the request, and echoes `traceparent` and `X-Request-Id`.
- `metrics_router()` serves the Prometheus metrics at `/metrics`.
- `health_router(checks)`: `/healthz` (the process is alive) and `/readyz` (every check passes:
  the database, the broker, ...). `instrument(app, service, checks)` installs all of the above.
- `ops_app` / `BackgroundServer`: the operations endpoints of a process with no API of its own.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared import tracing
from shared.observability import (
    HTTP_DURATION,
    HTTP_REQUESTS,
    broker_reachable,
    get_logger,
    trace_context,
)
from shared.problems import problem_response, problem_responses

__all__ = [
    "BackgroundServer",
    "Check",
    "ObservabilityMiddleware",
    "broker_check",
    "consumer_alive",
    "database_check",
    "health_router",
    "instrument",
    "metrics_router",
    "ops_app",
]

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
