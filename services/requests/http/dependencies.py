"""What a route of the requests API needs, as FastAPI dependencies: the application and clock of
the process (`app.state`), the caller's role (403 for any other role), and the `Idempotency-Key`
claim the middleware made for this request, passed on to the use case explicitly.

`async def` although they do no I/O: FastAPI runs a plain `def` dependency in the thread pool, a
thread hop per dependency per request.
"""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request

from services.requests.application import Actor, RequestsApplication
from services.requests.http.idempotency import CLAIM_SCOPE_KEY
from services.requests.persistence.receipts import KeyClaim
from shared.auth import Principal, require_roles
from shared.clock import AdjustableClock


async def _application(request: Request) -> RequestsApplication:
    return request.app.state.requests


async def _clock(request: Request) -> AdjustableClock:
    return request.app.state.clock


async def _timer_lock(request: Request) -> threading.Lock:
    return request.app.state.timer_lock


async def _claim(request: Request) -> KeyClaim | None:
    """The key claim of an idempotent command (None without an `Idempotency-Key`): the use case
    records it, with its answer, in the command's own transaction (`receipts`)."""
    return request.scope.get(CLAIM_SCOPE_KEY)


Requests = Annotated[RequestsApplication, Depends(_application)]
Clock = Annotated[AdjustableClock, Depends(_clock)]
TimerLock = Annotated[threading.Lock, Depends(_timer_lock)]
Claim = Annotated[KeyClaim | None, Depends(_claim)]
Buyer = Annotated[Principal, Depends(require_roles("buyer"))]
Seller = Annotated[Principal, Depends(require_roles("seller"))]
Party = Annotated[Principal, Depends(require_roles("buyer", "seller"))]
Support = Annotated[Principal, Depends(require_roles("support"))]
Reader = Annotated[Principal, Depends(require_roles("buyer", "seller", "support", "auditor"))]
Platform = Annotated[Principal, Depends(require_roles("platform"))]
Admin = Annotated[Principal, Depends(require_roles("admin"))]
AnyRole = Annotated[
    Principal,
    Depends(require_roles("buyer", "seller", "support", "auditor", "admin", "platform")),
]


def actor(principal: Principal) -> Actor:
    return Actor(principal.role, principal.sub)
