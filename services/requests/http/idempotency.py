"""`Idempotency-Key` replay, as ASGI middleware in front of every route.

`IdempotencyMiddleware` makes every POST that carries an `Idempotency-Key` safe to retry: the key is
scoped to the caller (role and subject of the bearer token); the first response (status, body,
Location) is stored in `ss_idempotency_keys`, in the service's own database, and a retry with the same
key and the same request (method, path, JSON body) gets it back with `Idempotent-Replayed: true`. The
same key with a different request answers 422. Server errors (5xx) are not stored, so a retry runs the
command again.

Support-request commands and the upstream facts the requests application applies record their key
and answer in their own transaction (`receipts`): the middleware puts a `KeyClaim` in the request's
scope (`CLAIM_SCOPE_KEY`), the route takes it as a dependency (`dependencies.Claim`) and passes it to
the use case. A concurrent copy waits for the first and replays its answer, and a crash leaves both
or neither. Every other POST claims the key in a transaction of its own first and stores the answer
afterwards (`IdempotencyStore`); a retry while that first request is still running answers 409, and
a claim older than `LEASE` (its process died) is released. A command that answered with an error
(4xx) has its answer stored after it rolled back, so a retry gets the same error.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.requests.http.body_limit import BODY_SCOPE_KEY, header, replaying
from services.requests.persistence.idempotency_store import IdempotencyStore, Stored
from services.requests.persistence.receipts import PENDING, KeyClaim, KeyTaken, Receipt
from shared.auth import PRINCIPAL_SCOPE_KEY, InvalidToken, codec_of
from shared.problems import problem_response

HEADER = b"idempotency-key"
MAX_KEY_LENGTH = 255
CLAIM_SCOPE_KEY = "seller_support.idempotency_claim"
"""The scope entry holding the `KeyClaim` of a route that records its own key (`records_own_key`)."""


def _fingerprint(scope: Scope, body: bytes) -> str:
    try:
        canonical = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    except ValueError:
        canonical = body
    digest = hashlib.sha256()
    digest.update(scope["method"].encode() + b" " + scope["path"].encode() + b"\n")
    digest.update(scope.get("query_string", b"") + b"\n")
    digest.update(canonical)
    return digest.hexdigest()


def scoped_key(role: str, sub: str, key: str) -> str:
    return "sha256:" + hashlib.sha256(f"{role}\0{sub}\0{key}".encode()).hexdigest()


def _no_route(path: str) -> bool:
    return False


class IdempotencyMiddleware:
    """Needs `app.state.idempotency` (an IdempotencyStore) and `app.state.token_codec`.

    `records_own_key(path)`: whether the POST route at `path` is a command that writes its key and
    answer in its own transaction (`receipts`), with the answer made by `render`."""

    def __init__(
        self,
        app: ASGIApp,
        records_own_key: Callable[[str], bool] = _no_route,
        render: Callable[[Any, bool], Receipt] | None = None,
    ) -> None:
        self.app = app
        self.records_own_key = records_own_key
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = header(scope, HEADER) if scope["type"] == "http" else None
        if scope["type"] != "http" or scope["method"] != "POST" or key is None:
            await self.app(scope, receive, send)
            return
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            await problem_response(
                422,
                f"the Idempotency-Key header must be 1-{MAX_KEY_LENGTH} printable characters",
                slug="invalid-idempotency-key",
            )(scope, receive, send)
            return
        state = scope["app"].state
        authorization = header(scope, b"authorization") or ""
        scheme, _, token = authorization.partition(" ")
        try:
            principal = codec_of(scope["app"]).decode(token.strip())
            if scheme.lower() != "bearer":
                raise InvalidToken("not a bearer token")
        except InvalidToken:
            await self.app(scope, receive, send)  # the route answers 401
            return
        scope[PRINCIPAL_SCOPE_KEY] = (token.strip(), principal)
        store: IdempotencyStore = state.idempotency
        body = scope.get(BODY_SCOPE_KEY)
        if body is None:  # a streamed upload: idempotent by its content (docs/attachments.md)
            await self.app(scope, receive, send)
            return
        scoped = scoped_key(principal.role, principal.sub, key)
        fingerprint = _fingerprint(scope, body)
        if self.render is not None and self.records_own_key(scope["path"]):
            await self._run_in_transaction(
                store, scoped, fingerprint, key, body, scope, receive, send
            )
            return
        stored = await run_in_threadpool(store.claim, scoped, fingerprint)
        if stored is not None:
            await self._answer_from(stored, fingerprint, key, scope, receive, send)
            return
        await self._run_and_record(store, scoped, scope, receive, send)

    async def _run_in_transaction(
        self,
        store: IdempotencyStore,
        scoped: str,
        fingerprint: str,
        key: str,
        body: bytes,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        assert self.render is not None
        # A second round only when the key found was expired (and is dropped by `read`).
        for _ in range(2):
            claim = KeyClaim(scoped, fingerprint, datetime.now(UTC), self.render)
            answer = _Captured()
            scope[CLAIM_SCOPE_KEY] = claim  # the route passes it to the use case
            try:
                with contextlib.suppress(KeyTaken):
                    await self.app(scope, replaying(body, receive), answer.capture)
            finally:
                del scope[CLAIM_SCOPE_KEY]
            if not claim.taken:
                await answer.send_to(send)
                if claim.recorded is None and answer.status < 500:
                    await run_in_threadpool(
                        store.record, scoped, fingerprint, answer.status, answer.stored_body()
                    )
                return
            stored = await run_in_threadpool(store.read, scoped, datetime.now(UTC))
            if stored is not None:
                await self._answer_from(stored, fingerprint, key, scope, receive, send)
                return
        raise RuntimeError("could not claim an idempotency key")  # pragma: no cover

    async def _answer_from(
        self, stored: Stored, fingerprint: str, key: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        if stored.fingerprint != fingerprint:
            response = problem_response(
                422,
                f"Idempotency-Key {key!r} was already used for a different request (another "
                "path or body); use a new key for a new request",
                slug="idempotency-key-reused",
            )
        elif stored.status_code == PENDING or stored.body is None:
            response = problem_response(
                409,
                f"the first request with Idempotency-Key {key!r} is still running; retry shortly",
                slug="idempotency-key-in-progress",
                headers={"Retry-After": "1"},
            )
        else:
            await _replay(stored, scope, receive, send)
            return
        await response(scope, receive, send)

    async def _run_and_record(
        self, store: IdempotencyStore, scoped: str, scope: Scope, receive: Receive, send: Send
    ) -> None:
        answer = _Captured(forward=send)
        try:
            await self.app(scope, receive, answer.capture)
        except BaseException:
            await run_in_threadpool(store.release, scoped)
            raise
        if answer.status >= 500:
            await run_in_threadpool(store.release, scoped)
            return
        await run_in_threadpool(store.complete, scoped, answer.status, answer.stored_body())


class _Captured:
    """A response kept for the key's record: passed on as it comes (`forward`), or held back until
    it is known to be the one to give (`send_to`)."""

    def __init__(self, forward: Send | None = None) -> None:
        self.forward = forward
        self.status = 500
        self.messages: list[Message] = []

    async def capture(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
        self.messages.append(message)
        if self.forward is not None:
            await self.forward(message)

    async def send_to(self, send: Send) -> None:
        for message in self.messages:
            await send(message)

    def stored_body(self) -> dict[str, Any]:
        start = next(m for m in self.messages if m["type"] == "http.response.start")
        chunks = [m.get("body", b"") for m in self.messages if m["type"] == "http.response.body"]
        kept = {
            k.decode("latin-1"): v.decode("latin-1")
            for k, v in start.get("headers", [])
            if k.lower() in (b"content-type", b"location")
        }
        return {"headers": kept, "content": b"".join(chunks).decode("utf-8", "replace")}


async def _replay(stored: Stored, scope: Scope, receive: Receive, send: Send) -> None:
    assert stored.body is not None
    content = stored.body.get("content", "").encode()
    headers = [
        (k.encode("latin-1"), v.encode("latin-1")) for k, v in stored.body["headers"].items()
    ]
    headers += [
        (b"content-length", str(len(content)).encode()),
        (b"idempotent-replayed", b"true"),
    ]
    await send({"type": "http.response.start", "status": stored.status_code, "headers": headers})
    await send({"type": "http.response.body", "body": content})
