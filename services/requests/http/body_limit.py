"""Request-body limit, as ASGI middleware in front of every route.

`BodyLimitMiddleware` buffers each request body up to the limit (checking the declared
Content-Length first and then the bytes actually streamed) and answers 413 beyond it. The buffered
body is kept in the scope (`BODY_SCOPE_KEY`) for the `Idempotency-Key` fingerprint.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.problems import problem_response

BODY_SCOPE_KEY = "seller_support.body"


class BodyLimitMiddleware:
    def __init__(
        self, app: ASGIApp, max_bytes: int, streamed: Callable[[Scope], bool] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.streamed = streamed  # routes that read their own body as it streams (uploads)

    def _too_large(self) -> Any:
        return problem_response(
            413,
            f"the request body is larger than {self.max_bytes} bytes; send a smaller body",
            slug="body-too-large",
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or (self.streamed is not None and self.streamed(scope)):
            await self.app(scope, receive, send)
            return
        declared = header(scope, b"content-length")
        if declared is not None:
            if not declared.isdigit():
                await problem_response(
                    400, "the Content-Length header is not a number", slug="bad-content-length"
                )(scope, receive, send)
                return
            if int(declared) > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                await self._too_large()(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        scope[BODY_SCOPE_KEY] = body
        await self.app(scope, replaying(body, receive), send)


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return value.decode("latin-1")
    return None


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that gives the buffered body (again), then the client's further messages."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
