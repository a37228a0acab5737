"""The web app's only way to the system: the public HTTP API, called with the user's own token.

One pooled `httpx.AsyncClient` per app. In embedded mode it calls the server's own port over
loopback (docs/decisions.md, Issue 20: the same code path as distributed mode, real streaming for
the server-sent events, and every middleware of the API — authentication, limits, idempotency,
metrics — applies to the app's calls exactly as to anyone's). In distributed mode the base URL is
the gateway. A refused call raises `ApiError` carrying the problem's `detail` for the page.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, MutableMapping
from typing import Any, BinaryIO

import httpx


class ApiError(Exception):
    """The API answered with an error: `status` and the problem's `detail` in words."""

    def __init__(self, status: int, detail: str, title: str = "") -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.title = title


class ApiUnavailable(ApiError):
    """The API could not be reached at all."""


def _error_of(response: httpx.Response) -> ApiError:
    detail, title = "", ""
    try:
        body = response.json()
        if isinstance(body, Mapping):
            detail = str(body.get("detail") or "")
            title = str(body.get("title") or "")
            if not detail and isinstance(body.get("errors"), list):
                detail = "; ".join(str(e) for e in body["errors"])
    except ValueError:
        detail = response.text[:500]
    return ApiError(response.status_code, detail or response.reason_phrase, title)


CONSISTENCY_HEADER = "Consistency-Token"
# Where a person's session keeps the token of their last command (API.md "reading your own writes").
SESSION_KEY = "consistency"


class ApiClient:
    def __init__(self, base_url: str, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._http: httpx.AsyncClient | None = None

    @property
    def http(self) -> httpx.AsyncClient:
        # Created on first use, inside the running event loop.
        if self._http is None:
            self._http = httpx.AsyncClient(
                base_url=self.base_url,
                timeout=self.timeout,
                limits=httpx.Limits(max_connections=50, max_keepalive_connections=20),
            )
        return self._http

    async def close(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    @staticmethod
    def _headers(
        token: str, idempotency_key: str | None = None, consistency: str | None = None
    ) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        if consistency:
            headers[CONSISTENCY_HEADER] = consistency
        return headers

    async def call(
        self,
        method: str,
        path: str,
        *,
        token: str,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        idempotency_key: str | None = None,
        session: MutableMapping[str, Any] | None = None,
    ) -> httpx.Response:
        """`session`: the person's session. Every read sends the `Consistency-Token` of their
        last command, so it answers only once it reflects what they did; every command's answer
        leaves its token there."""
        consistency = None if session is None else session.get(SESSION_KEY)
        try:
            response = await self.http.request(
                method,
                path,
                params={k: v for k, v in (params or {}).items() if v is not None},
                json=json,
                headers=self._headers(token, idempotency_key, consistency),
            )
        except httpx.HTTPError as error:
            raise ApiUnavailable(503, f"the service could not be reached ({error})") from None
        if response.status_code >= 400:
            raise _error_of(response)
        written = response.headers.get(CONSISTENCY_HEADER)
        if session is not None and written and method != "GET":
            session[SESSION_KEY] = written
        return response

    async def get(
        self,
        path: str,
        *,
        token: str,
        session: MutableMapping[str, Any] | None = None,
        **params: Any,
    ) -> Any:
        response = await self.call("GET", path, token=token, params=params, session=session)
        return response.json()

    async def post(
        self,
        path: str,
        body: Any = None,
        *,
        token: str,
        idempotency_key: str | None = None,
        session: MutableMapping[str, Any] | None = None,
    ) -> Any:
        response = await self.call(
            "POST", path, token=token, json=body, idempotency_key=idempotency_key, session=session
        )
        return response.json() if response.content else None

    async def upload(self, filename: str, content: BinaryIO, media_type: str, *, token: str) -> Any:
        """`POST /v1/attachments` with one file (multipart, part `file`), streamed from `content`."""
        try:
            response = await self.http.post(
                "/v1/attachments",
                files={"file": (filename, content, media_type)},
                headers=self._headers(token),
            )
        except httpx.HTTPError as error:
            raise ApiUnavailable(503, f"the service could not be reached ({error})") from None
        if response.status_code >= 400:
            raise _error_of(response)
        return response.json()

    async def put(
        self,
        path: str,
        body: Any,
        *,
        token: str,
        session: MutableMapping[str, Any] | None = None,
    ) -> Any:
        return (await self.call("PUT", path, token=token, json=body, session=session)).json()

    async def stream(
        self, path: str, *, token: str, last_event_id: str | None = None
    ) -> AsyncIterator[bytes]:
        """A server-sent-event stream passed through chunk by chunk."""
        headers = self._headers(token)
        headers["Accept"] = "text/event-stream"
        if last_event_id:
            headers["Last-Event-ID"] = last_event_id
        timeout = httpx.Timeout(self.timeout, read=None)
        async with self.http.stream("GET", path, headers=headers, timeout=timeout) as response:
            if response.status_code >= 400:
                await response.aread()
                raise _error_of(response)
            async for chunk in response.aiter_raw():
                yield chunk
