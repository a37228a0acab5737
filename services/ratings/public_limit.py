"""The rate limit of anonymous support-rating reads (issue 19), per client address.

The public rating (`GET /v1/sellers/{seller_id}/support-rating` without a token) is readable by
anyone, so its anonymous reads are limited per client address with the `limits` library (a moving
window in process memory: each API process counts its own callers). The limit is
`SUPPORT_RATINGS_ANONYMOUS_RATE_LIMIT` (default `60/minute`, the `limits` notation, e.g.
`10/second`, `1000/hour`). Callers with a token are not limited here. The client address is the
connection's, or X-Forwarded-For's only from `SUPPORT_TRUSTED_PROXIES` (shared/http_server.py).
"""

from __future__ import annotations

import math
import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter


def parse_limit(text: str) -> RateLimitItem:
    """`60/minute` -> the limit; ValueError when `limits` cannot read it."""
    try:
        return parse(text)
    except ValueError as error:
        raise ValueError(f"not a rate limit: {text!r} (e.g. 60/minute): {error}") from None


class AnonymousReadLimit:
    """Counts anonymous reads per client address; `check` returns the seconds to wait, or 0."""

    def __init__(self, limit: str) -> None:
        self.item = parse_limit(limit)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> int:
        if self.limiter.hit(self.item, "support-rating", client):
            return 0
        reset_at, _remaining = self.limiter.get_window_stats(self.item, "support-rating", client)
        return max(1, math.ceil(reset_at - time.time()))
