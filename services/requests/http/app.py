"""The requests API on a FastAPI app: error statuses, middleware and routes (`install`).

The process's composition root (services/requests/main.py) makes the app and its lifespan and calls
`install`; the embedded composition (services/embedded.py) goes through the same root.
"""

from __future__ import annotations

from fastapi import FastAPI

from services.requests.application import (
    ConcurrentUpdate,
    Forbidden,
    ItemAlreadyOpen,
    OrderNotFound,
    RequestNotFound,
    TrackingNumberInUse,
    UnknownItems,
    UnknownTrackingNumber,
    UpstreamConflict,
)
from services.requests.attachments import http as attachments_http
from services.requests.domain import IllegalTransition, InvalidCommand
from services.requests.http.assignment import router as assignment_router
from services.requests.http.body_limit import BodyLimitMiddleware
from services.requests.http.clock import admin_router
from services.requests.http.idempotency import IdempotencyMiddleware
from services.requests.http.orders import router as orders_router
from services.requests.http.programme import router as programme_router
from services.requests.http.routes import router
from services.requests.http.upstream import UPSTREAM_PATH, upstream_router
from services.requests.http.views import command_receipt
from shared.problems import install_problem_handlers, install_problem_openapi

ERROR_STATUS: dict[type[BaseException], int] = {
    RequestNotFound: 404,
    OrderNotFound: 404,
    UnknownTrackingNumber: 404,
    Forbidden: 403,
    InvalidCommand: 422,
    UnknownItems: 422,
    IllegalTransition: 409,
    ItemAlreadyOpen: 409,
    ConcurrentUpdate: 409,
    TrackingNumberInUse: 409,
    UpstreamConflict: 409,
}


def records_own_key(path: str) -> bool:
    """POSTs on support requests run one application command, which records its own key; so does
    an upstream fact the requests application applies (issue 18: the key commits with the fact)."""
    return (
        path == "/v1/support-requests"
        or path.startswith("/v1/support-requests/")
        or path == UPSTREAM_PATH
    )


def install(app: FastAPI, *, max_body_bytes: int, clock_is_movable: bool) -> None:
    """Problem+json errors, the body limit and `Idempotency-Key` middleware, and the routes (the
    demo clock's only when the clock may move)."""
    install_problem_handlers(app, ERROR_STATUS)
    install_problem_openapi(app)
    app.add_middleware(
        IdempotencyMiddleware, records_own_key=records_own_key, render=command_receipt
    )
    app.add_middleware(
        BodyLimitMiddleware,
        max_bytes=max_body_bytes,
        streamed=attachments_http.is_streamed_upload,
    )
    app.include_router(router)
    app.include_router(orders_router)
    app.include_router(assignment_router)
    app.include_router(upstream_router)
    app.include_router(programme_router)
    app.include_router(attachments_http.router)
    if clock_is_movable:
        app.include_router(admin_router)
