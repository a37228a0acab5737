"""W3C trace context for the current unit of work, so one trace id follows a command from the HTTP
call through its stored events to Kafka headers and the consumers' log lines.

Adapters set it (the HTTP middleware from the `traceparent` header, a consumer from the message);
the requests application reads it when it stores events.
"""

from __future__ import annotations

import re
import secrets
from contextvars import ContextVar, Token

_TRACEPARENT = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")
_current: ContextVar[str | None] = ContextVar("traceparent", default=None)


def new_traceparent() -> str:
    return f"00-{secrets.token_hex(16)}-{secrets.token_hex(8)}-01"


def is_valid(traceparent: str) -> bool:
    match = _TRACEPARENT.match(traceparent)
    return bool(match) and set(match.group(1)) != {"0"} and set(match.group(2)) != {"0"}


def trace_id(traceparent: str) -> str:
    """The 32-hex trace id of a valid traceparent."""
    match = _TRACEPARENT.match(traceparent)
    if match is None:
        raise ValueError(f"not a W3C traceparent: {traceparent!r}")
    return match.group(1)


def current_traceparent() -> str | None:
    return _current.get()


def set_traceparent(traceparent: str | None) -> Token[str | None]:
    return _current.set(traceparent)


def reset_traceparent(token: Token[str | None]) -> None:
    _current.reset(token)
