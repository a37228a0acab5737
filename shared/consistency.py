"""Reading your own writes (API.md "What happens next, and reading your own writes"; DESIGN.md
"Projections are eventually consistent, people are not").

Every command answer carries a `Consistency-Token` header: the id of the last event the command
wrote (`<request id>:<version>`, the published message id). A projection read given that token
answers once the projection has applied that event (each projection records the ids it applied,
`applied_events`, in both modes: fed from the notification log in process, or from Kafka), or after
a bounded wait with 503 and `Retry-After`. Events of one request reach a projection in order (one
Kafka key, one log), so the last event of a command covers the ones before it.

`RememberOwnWrites` (the embedded process only) remembers the last token each caller's commands got
and adds it to that caller's later reads that carry none: in embedded mode a caller's reads reflect
their own commands without the token.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import re
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Header, Request

from shared.problems import ProblemError

HEADER = "Consistency-Token"
_HEADER_KEY = HEADER.lower().encode()
_TOKEN = re.compile(r"^[A-Za-z0-9._-]{1,100}:[0-9]{1,12}$")
WAIT_SECONDS = 5.0  # the bounded wait of a projection read
POLL_SECONDS = 0.02

TokenHeader = Annotated[
    str | None,
    Header(
        alias=HEADER,
        max_length=120,
        description="the `Consistency-Token` of a command's answer: this read answers only once "
        "it reflects that command (503 with Retry-After past a bounded wait)",
    ),
]


def token_for(request_id: Any, version: int) -> str:
    """The token of a request's state at `version`: the id of that event."""
    return f"{request_id}:{version}"


def check_token(token: str) -> str:
    if not _TOKEN.match(token):
        raise ProblemError(
            422,
            f"{HEADER} must be the header of a command's answer as it was sent; got {token[:120]!r}",
        )
    return token


async def await_reflected(
    token: str | None,
    reflected: Callable[[str], bool],
    *,
    wait_seconds: float = WAIT_SECONDS,
    poll_seconds: float = POLL_SECONDS,
) -> None:
    """Returns once `reflected(token)` (the projection applied that event); 503 with Retry-After
    past `wait_seconds`. No token: returns at once."""
    if token is None:
        return
    check_token(token)
    deadline = time.monotonic() + wait_seconds
    while not await asyncio.to_thread(reflected, token):
        if time.monotonic() >= deadline:
            raise ProblemError(
                503,
                f"this read does not reflect the command of {HEADER} {token} yet; retry shortly",
                headers={"Retry-After": "1"},
            )
        await asyncio.sleep(poll_seconds)


def reflecting(
    reflected_by: Callable[[Any], Callable[[str], bool] | None],
) -> Callable[..., Awaitable[None]]:
    """A FastAPI dependency for a projection read: waits for the caller's `Consistency-Token`.
    `reflected_by(request)` gives the projection's "has it applied this event id" (None: the
    projection is not there yet, which the route's own dependency reports)."""

    async def dependency(request: Request, token: TokenHeader = None) -> None:
        reflected = reflected_by(request)
        if reflected is not None:
            await await_reflected(token, reflected)

    return dependency


def reflecting_projection_of(state_attribute: str) -> Any:
    """`Depends(...)` for a read of the projection of the application on
    `app.state.<state_attribute>` (its `projection.has_applied`)."""

    def reflected_by(request: Any) -> Callable[[str], bool] | None:
        application = getattr(request.app.state, state_attribute, None)
        projection = getattr(application, "projection", None)
        return None if projection is None else projection.has_applied

    return Depends(reflecting(reflected_by))


def caller_key(authorization: bytes) -> bytes:
    """Who calls: the role and subject of a bearer JWT (a person gets a new token now and then;
    it is still them), else the header itself, hashed. Read without checking the signature: the
    memory is written only from the answers of commands, which the API authenticated, and a read
    with a forged token is refused by the API anyway (401) - the token added to it changes nothing."""
    raw = authorization.partition(b" ")[2].strip()
    parts = raw.split(b".")
    if len(parts) == 3:
        with contextlib.suppress(ValueError, TypeError, binascii.Error):
            claims = json.loads(base64.urlsafe_b64decode(parts[1] + b"=" * (-len(parts[1]) % 4)))
            if isinstance(claims, dict) and "sub" in claims and "role" in claims:
                return hashlib.sha256(f"{claims['role']}\n{claims['sub']}".encode()).digest()
    return hashlib.sha256(authorization).digest()


class RememberOwnWrites:
    """ASGI middleware (embedded mode): a caller's reads carry the token of that caller's last
    command when they carry none. Callers are told apart by their role and subject (`caller_key`);
    the memory keeps the `capacity` most recent callers."""

    def __init__(self, app: Any, capacity: int = 10_000) -> None:
        self.app = app
        self.capacity = capacity
        self.last: OrderedDict[bytes, bytes] = OrderedDict()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = scope.get("headers") or []
        caller = next((v for k, v in headers if k == b"authorization"), None)
        if caller is None:
            await self.app(scope, receive, send)
            return
        key = caller_key(caller)
        if scope["method"] in ("GET", "HEAD"):
            known = self.last.get(key)
            if known is not None and not any(k == _HEADER_KEY for k, _ in headers):
                scope = {**scope, "headers": [*headers, (_HEADER_KEY, known)]}
            await self.app(scope, receive, send)
            return

        async def remember(message: Any) -> None:
            if message["type"] == "http.response.start":
                for name, value in message.get("headers") or []:
                    if name.lower() == _HEADER_KEY:
                        self.last[key] = value
                        self.last.move_to_end(key)
                        while len(self.last) > self.capacity:
                            self.last.popitem(last=False)
            await send(message)

        await self.app(scope, receive, remember)
