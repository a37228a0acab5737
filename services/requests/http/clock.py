"""`/v1/admin/clock`: read and move the demo business clock (non-production only: not mounted in
production). Moving it fires every timer that became due, under the timer lock."""

from __future__ import annotations

from datetime import timedelta

from fastapi import APIRouter, Request

from services.requests.http.dependencies import Admin, AnyRole, Clock, Requests, TimerLock
from services.requests.http.routes import AUTH_ERRORS
from services.requests.http.schemas import MAX_CLOCK, ClockMove, ClockState
from services.requests.persistence import dev_clock
from shared.problems import ProblemError, problem_responses

admin_router = APIRouter(prefix="/v1/admin", tags=["admin"])


@admin_router.get("/clock", responses=problem_responses(401, 403), summary="The business clock")
def read_clock(caller: AnyRole, clock: Clock) -> ClockState:
    return ClockState(now=clock.now(), fired=0)


@admin_router.post(
    "/clock",
    responses=problem_responses(*AUTH_ERRORS, 409, 413, 415, 422),
    summary="Move the demo clock forward and fire every timer that became due (admin)",
)
def move_clock(
    body: ClockMove,
    admin: Admin,
    clock: Clock,
    requests: Requests,
    lock: TimerLock,
    request: Request,
) -> ClockState:
    with lock:
        target = body.set if body.set is not None else clock.now() + (body.advance or timedelta(0))
        if target >= MAX_CLOCK:
            raise ProblemError(422, f"the clock cannot move beyond {MAX_CLOCK.isoformat()}")
        try:
            now = clock.set(target) if body.set is not None else clock.advance(body.advance)
        except ValueError as error:
            raise ProblemError(409, str(error), slug="clock-moves-forward-only") from None
        if getattr(request.app.state, "durable_clock", False):
            dev_clock.save(requests.engine, clock)  # issue 18: a restart resumes here
        fired = requests.fire_due(now)
    return ClockState(now=now, fired=fired)
