"""RFC 9457 problem details (`application/problem+json`) for every service's HTTP API.

One place decides how an error looks on the wire: `install_problem_handlers(app, mapping)` turns
framework errors (unknown path, wrong method, invalid body, malformed JSON) and the exception classes a
service maps to status codes into problem documents with a `detail` a person can act on. Nothing here
knows any service: each passes its own error-class -> status mapping.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Mapping, Sequence
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.utils import get_openapi
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:seller-support:problem:"

log = logging.getLogger("seller_support.problems")


class Problem(BaseModel):
    """An RFC 9457 problem document; `type` is a stable URN clients may branch on."""

    model_config = ConfigDict(
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "type": "urn:seller-support:problem:response-not-due",
                    "title": "Conflict",
                    "status": 409,
                    "detail": "no seller response is due: the request is resolved",
                }
            ]
        },
    )

    type: str = Field(description="URN naming the kind of problem")
    title: str = Field(description="short, human-readable summary of the kind of problem")
    status: int = Field(description="the HTTP status code")
    detail: str = Field(description="what went wrong in this occurrence, and what to do about it")
    errors: list[dict[str, Any]] | None = Field(
        default=None, description="for invalid input: one entry per offending field"
    )


class ProblemError(Exception):
    """Raise from a route or dependency to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        slug: str | None = None,
        headers: Mapping[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.slug = slug or _slug_for_status(status)
        self.headers = dict(headers or {})
        self.extensions = extensions


def _slug_for_status(status: int) -> str:
    try:
        return HTTPStatus(status).phrase.lower().replace(" ", "-")
    except ValueError:
        return "error"


def _slug_for_class(cls: type) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "-", cls.__name__).lower()


def problem_response(
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    headers: Mapping[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    try:
        title = HTTPStatus(status).phrase
    except ValueError:
        title = "Error"
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + (slug or _slug_for_status(status)),
        "title": title,
        "status": status,
        "detail": detail,
    }
    body.update({k: v for k, v in extensions.items() if v is not None})
    return JSONResponse(
        jsonable_encoder(body), status_code=status, headers=headers, media_type=PROBLEM_JSON
    )


def _describe_validation_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, Any]]]:
    """One readable sentence per offending field, plus the structured list."""
    parts: list[str] = []
    structured: list[dict[str, Any]] = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ())]
        kind = error.get("type", "")
        message = str(error.get("msg", "invalid"))
        if kind == "json_invalid":
            position = error.get("ctx", {}).get("error", "")
            sentence = f"the body is not valid JSON ({position or message}); send a JSON document"
            location = ["body"]
        elif location[:1] == ["body"] and len(location) == 1 and kind == "missing":
            sentence = "the request needs a JSON body"
        else:
            where = ".".join(location[1:] if location[:1] == ["body"] else location) or "body"
            if location[:1] in (["query"], ["path"], ["header"]):
                where = f"{location[0]} parameter {'.'.join(location[1:])}"
            sentence = f"{where}: {message}"
        parts.append(sentence)
        structured.append({"location": location, "type": kind, "message": message})
    return "; ".join(parts) or "the request is invalid", structured


def install_problem_handlers(app: FastAPI, mapping: Mapping[type[BaseException], int]) -> None:
    """Answer every error with a problem document.

    `mapping` maps exception classes to status codes; the most specific class of a raised error wins
    (looked up along its MRO), so one entry covers a whole family (e.g. `LookupError: 404`)."""
    ordered = dict(mapping)

    async def on_problem(request: Request, exc: ProblemError) -> JSONResponse:
        return problem_response(
            exc.status, exc.detail, slug=exc.slug, headers=exc.headers, **exc.extensions
        )

    async def on_http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}; see /docs for the API"
        elif exc.status_code == 400 and detail == "There was an error parsing the body":
            return problem_response(
                422,
                "the body is not valid JSON (it could not be decoded); send UTF-8 encoded JSON",
                slug="invalid-input",
            )
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(exc.status_code, detail, headers=getattr(exc, "headers", None))

    async def on_validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        raw = exc.errors()
        content_type = request.headers.get("content-type", "")
        body_not_object = [e for e in raw if list(e.get("loc", ())) == ["body"]]
        if body_not_object and body_not_object[0].get("type") == "model_attributes_type":
            if "json" not in content_type.split(";")[0].lower():
                return problem_response(
                    415,
                    "send the body as JSON with `Content-Type: application/json` "
                    f"(got {content_type or 'no Content-Type'})",
                    slug="unsupported-media-type",
                )
            return problem_response(422, "the body must be a JSON object", slug="invalid-input")
        detail, errors = _describe_validation_errors(raw)
        return problem_response(422, detail, slug="invalid-input", errors=errors)

    async def on_mapped(request: Request, exc: Exception) -> JSONResponse:
        for cls in type(exc).__mro__:
            if cls in ordered:
                status = ordered[cls]
                slug = _slug_for_class(type(exc))
                return problem_response(status, str(exc) or HTTPStatus(status).phrase, slug=slug)
        return await on_unexpected(request, exc)

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if isinstance(exc, dependency_outage_errors()):
            return await on_outage(request, exc)
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(
            500,
            "the server failed to handle this request; it was logged. Retry later, or report it.",
        )

    async def on_outage(request: Request, exc: Exception) -> JSONResponse:
        log.warning(
            "database unavailable on %s %s: %s",
            request.method,
            request.url.path,
            str(exc).splitlines()[0] if str(exc) else type(exc).__name__,
        )
        return outage_response()

    app.add_exception_handler(ProblemError, on_problem)  # type: ignore[arg-type]
    for cls in dependency_outage_errors():
        app.add_exception_handler(cls, on_outage)
    app.add_exception_handler(StarletteHTTPException, on_http)  # type: ignore[arg-type]
    app.add_exception_handler(RequestValidationError, on_validation)  # type: ignore[arg-type]
    for cls in ordered:
        app.add_exception_handler(cls, on_mapped)
    app.add_exception_handler(Exception, on_unexpected)


RETRY_AFTER_SECONDS = 5
"""What a 503 for a dependency outage asks a client to wait before retrying (docs/operations.md)."""


def dependency_outage_errors() -> tuple[type[BaseException], ...]:
    """The errors meaning the database could not be reached or dropped the connection (issue 18,
    class 11): SQLAlchemy's and eventsourcing's OperationalError/InterfaceError (which wrap the
    driver's), and psycopg's own when raised unwrapped. Not IntegrityError and the like: those are
    answers about the data, not outages. psycopg's own only when something loaded psycopg: a
    process on SQLite never imports it (issue 30), so none of its errors can be raised there."""
    from eventsourcing import persistence as es
    from sqlalchemy import exc as sa

    errors: tuple[type[BaseException], ...] = (
        sa.OperationalError,
        sa.InterfaceError,
        sa.TimeoutError,
        es.OperationalError,
        es.InterfaceError,
        es.ConnectionUnavailableError,
    )
    psycopg = sys.modules.get("psycopg")
    if psycopg is not None:
        errors += (psycopg.OperationalError, psycopg.InterfaceError)
    return errors


def outage_response() -> JSONResponse:
    return problem_response(
        503,
        f"the database is unavailable right now; retry in {RETRY_AFTER_SECONDS} seconds (with "
        "the same Idempotency-Key, so that a command runs at most once)",
        slug="dependency-unavailable",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` entries for the error statuses a route can answer."""
    descriptions = {
        400: "Bad request",
        401: "No, invalid or expired bearer token",
        403: "The caller's role may not do this",
        404: "Unknown, or not visible to the caller (the two answer the same)",
        409: "Conflicts with the current state",
        413: "Body larger than the limit",
        415: "Body is not JSON",
        422: "Invalid body or parameters",
        503: "Not ready",
    }
    return {
        status: {"model": Problem, "description": descriptions.get(status, "Error")}
        for status in statuses
    }


def install_problem_openapi(app: FastAPI) -> None:
    """Document error responses under `application/problem+json` instead of `application/json`."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
        )
        for path_item in schema.get("paths", {}).values():
            for operation in path_item.values():
                if not isinstance(operation, dict):
                    continue
                for code, response in operation.get("responses", {}).items():
                    content = response.get("content")
                    if (
                        code.isdigit()
                        and int(code) >= 400
                        and content
                        and "application/json" in content
                    ):
                        content[PROBLEM_JSON] = content.pop("application/json")
        for name in ("HTTPValidationError", "ValidationError"):
            schema.get("components", {}).get("schemas", {}).pop(name, None)
        _complete(schema)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    from shared.api_docs import install_offline_docs

    install_offline_docs(app)


IDEMPOTENCY_KEY_PARAMETER: dict[str, Any] = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "makes the POST safe to retry: the same key with the same request answers the "
    "first response again (`Idempotent-Replayed: true`); with another request, 422",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
_PROBLEM_REF = "#/components/schemas/Problem"


def _complete(schema: dict[str, Any]) -> None:
    """Issue 18, class 7: every `$ref` resolves (FastAPI's own 422 entries point at the
    HTTPValidationError dropped above: they become Problem), every POST declares
    `Idempotency-Key`, and every operation of the API documents the 503 of a dependency outage."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.setdefault(
        "Problem", Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    )
    problem = {PROBLEM_JSON: {"schema": {"$ref": _PROBLEM_REF}}}
    for path, path_item in schema.get("paths", {}).items():
        for method, operation in path_item.items():
            if not isinstance(operation, dict) or "responses" not in operation:
                continue
            responses = operation["responses"]
            for response in responses.values():
                content = response.get("content", {})
                for media in content.values():
                    if media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError"):
                        response["content"] = problem
                        break
            if path.startswith("/v1/"):
                responses.setdefault(
                    "503",
                    {
                        "description": "A dependency (the database) is unavailable",
                        "content": problem,
                    },
                )
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                if not any(p.get("name", "").lower() == "idempotency-key" for p in parameters):
                    parameters.append(IDEMPOTENCY_KEY_PARAMETER)
