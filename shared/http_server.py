"""uvicorn's own error answers as problem+json (issue 18, class 4).

uvicorn answers some requests before the application sees them: a request its HTTP parser rejects
(`Content-Length: abc`, a broken request line or header) gets `400 Invalid HTTP request received.` as
`text/plain`, and an application that fails before starting its response gets a plain
`500 Internal Server Error`. These protocol classes are uvicorn's own (httptools when installed, else
h11 for a server run with `http=ProblemH11Protocol`), with only those two answers written as RFC 9457 problem documents,
in the same shape as shared/problems.py. Pass `http=PROBLEM_HTTP` to `uvicorn.run` / `uvicorn.Config`.

Not covered (documented in docs/http.md): a connection closed before a request line arrived gets no
answer at all, and `--limit-concurrency` (unused here) would answer uvicorn's plain 503.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from shared.problems import PROBLEM_JSON, TYPE_PREFIX

_MALFORMED = "malformed-request"


def proxy_headers(trusted_proxies: str) -> dict[str, Any]:
    """uvicorn's arguments for `X-Forwarded-For` / `-Proto`: honoured only from the addresses or
    networks listed (comma-separated, `SUPPORT_TRUSTED_PROXIES`); empty trusts nobody. uvicorn's
    own default trusts 127.0.0.1, so any local process, or a naive proxy passing the header
    through, could choose its client address and slip past the per-address limits (issue 26,
    class 7). Behind the gateway list only the gateway."""
    trusted = ",".join(part.strip() for part in trusted_proxies.split(",") if part.strip())
    if not trusted:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": trusted}


def _problem_bytes(status: int, title: str, slug: str, detail: str) -> bytes:
    body = {"type": TYPE_PREFIX + slug, "title": title, "status": status, "detail": detail}
    return json.dumps(body).encode()


def _bad_request(msg: str) -> bytes:
    return _problem_bytes(
        400,
        "Bad Request",
        _MALFORMED,
        f"the HTTP request is malformed ({msg.rstrip('.')}); check the request line, the headers "
        "(e.g. Content-Length must be a number) and the body framing",
    )


_SERVER_ERROR = _problem_bytes(
    500,
    "Internal Server Error",
    "internal-server-error",
    "the server failed to handle this request; it was logged. Retry later, or report it.",
)


class ProblemH11Protocol(H11Protocol):
    def send_400_response(self, msg: str) -> None:
        import h11

        body = _bad_request(msg)
        headers = [
            (b"content-type", PROBLEM_JSON.encode()),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ]
        self.transport.write(
            self.conn.send(h11.Response(status_code=400, headers=headers, reason=b"Bad Request"))
        )
        self.transport.write(self.conn.send(h11.Data(data=body)))
        self.transport.close()

    async def send_500_response(self) -> None:
        await _send_500(self)


async def _send_500(protocol: Any) -> None:
    await protocol.send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", PROBLEM_JSON.encode()),
                (b"content-length", str(len(_SERVER_ERROR)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await protocol.send({"type": "http.response.body", "body": _SERVER_ERROR, "more_body": False})


class ProblemHttpToolsProtocol(HttpToolsProtocol):
    def send_400_response(self, msg: str) -> None:
        body = _bad_request(msg)
        content = [b"HTTP/1.1 400 Bad Request\r\n"]
        for name, value in self.server_state.default_headers:
            content.extend([name, b": ", value, b"\r\n"])
        content.extend(
            [
                b"content-type: " + PROBLEM_JSON.encode() + b"\r\n",
                b"content-length: " + str(len(body)).encode() + b"\r\n",
                b"connection: close\r\n",
                b"\r\n",
                body,
            ]
        )
        self.transport.write(b"".join(content))
        self.transport.close()

    async def send_500_response(self) -> None:
        await _send_500(self)


PROBLEM_HTTP: type[asyncio.Protocol] = ProblemHttpToolsProtocol
"""httptools is a dependency (pyproject.toml), so this is the class uvicorn's `auto` would pick."""
