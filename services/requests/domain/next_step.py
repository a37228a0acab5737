"""What happens next on a request, decided once (API.md "What happens next"; DESIGN.md "One truth,
read everywhere"): who it waits on, which steps the caller may take now, the bounds of those that
take an amount, which deadlines have passed, and why each deadline falls where it does.

`actions` lists a step exactly when `check_action` accepts it, and the application checks every
command through `check_action` (services/requests/application/core.py `_command`) before the
aggregate runs it: a listed step is accepted, any other refused, by construction. Each step's rule
is the aggregate's own `check_*` invariant, the one its command method runs.

Pure: no clock (the moment is passed in), no I/O.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from services.requests.domain.errors import DomainError, IllegalTransition
from services.requests.domain.request import SupportRequest
from services.requests.domain.vocabulary import (
    RETURN_FOR_REFUND_WINDOW,
    Action,
    Deadline,
    Role,
    WaitingOn,
    waiting_on,
)
from shared.vocabulary import overdue_kinds


class ActionNotYours(IllegalTransition):
    """The caller's role does not take this step (the application answers 403)."""


# Which role takes which step. A party's steps are for that request's buyer or seller only; the
# application shows a request to its parties, support and auditors alone, so a buyer or seller who
# can load it is its party.
ROLE_ACTIONS: Mapping[Role, tuple[Action, ...]] = {
    Role.SELLER: (
        Action.FULL_REFUND,
        Action.FULL_REFUND_WITH_RETURN,
        Action.PARTIAL_REFUND,
        Action.REPLACEMENT,
        Action.NO_REFUND,
        Action.REQUEST_INFO,
        Action.MESSAGE,
        Action.CONFIRM_RETURN,
        Action.DISPUTE_RETURN,
    ),
    Role.BUYER: (
        Action.MESSAGE,
        Action.ACCEPT_OFFER,
        Action.DECLINE_OFFER,
        Action.RETURN_FOR_REFUND,
        Action.ESCALATE,
        Action.FEEDBACK,
    ),
    Role.SUPPORT: (Action.DECIDE, Action.ASSIGN),
}


def roles_for(action: Action) -> tuple[str, ...]:
    """The roles that take `action` (for the application's 403)."""
    return tuple(str(role) for role, steps in ROLE_ACTIONS.items() if action in steps)


def _response_due(request: SupportRequest, at: datetime) -> None:
    request.check_response_due()


def _partial_refund(request: SupportRequest, at: datetime) -> None:
    request.check_response_due()
    request.check_partial_refund_possible()


def _full_refund(request: SupportRequest, at: datetime) -> None:
    request.check_response_due()
    request.check_refund_possible()


# The state rule of each step: the aggregate's invariant its command runs.
STATE_CHECKS: Mapping[Action, Callable[[SupportRequest, datetime], None]] = {
    Action.FULL_REFUND: _full_refund,
    Action.FULL_REFUND_WITH_RETURN: _full_refund,
    Action.PARTIAL_REFUND: _partial_refund,
    Action.REPLACEMENT: _response_due,
    Action.NO_REFUND: _response_due,
    Action.REQUEST_INFO: _response_due,
    Action.MESSAGE: lambda r, at: r.check_conversation_open(),
    Action.ACCEPT_OFFER: lambda r, at: r.check_offer_acceptable(),
    Action.DECLINE_OFFER: lambda r, at: r.check_offer_pending(),
    Action.CONFIRM_RETURN: lambda r, at: r.check_awaiting_inspection(),
    Action.DISPUTE_RETURN: lambda r, at: r.check_awaiting_inspection(),
    Action.RETURN_FOR_REFUND: lambda r, at: r.check_return_for_refund_open(at),
    Action.ESCALATE: lambda r, at: r.check_may_escalate(),
    Action.FEEDBACK: lambda r, at: r.check_feedback_open(),
    Action.DECIDE: lambda r, at: r.check_decision_due(),
    Action.ASSIGN: lambda r, at: r.check_waiting_on_support(),
}


def check_action(request: SupportRequest, role: str, action: Action, at: datetime) -> None:
    """Raises unless a caller of `role` may take `action` on `request` at `at`: `ActionNotYours`
    for the wrong role, else the aggregate's own domain error for the wrong moment."""
    if role not in roles_for(action):
        raise ActionNotYours(f"a {role} may not {action.value.replace('_', ' ')} on a request")
    STATE_CHECKS[action](request, at)


def current(request: SupportRequest, at: datetime) -> SupportRequest:
    """The request as it will be once its deadlines due by `at` applied (a copy when any is):
    a command applies them first (`fire_deadlines_due_by`), so the steps listed are those it will
    accept even while the timer that applies them has not run yet."""
    if not any(due <= at for due in request.deadlines.values()):
        return request
    request = copy.deepcopy(request)
    request.fire_deadlines_due_by(at)
    return request


def actions(request: SupportRequest, role: str, at: datetime) -> list[Action]:
    """The steps a caller of `role` may take at `at`, in a stable order: exactly those
    `check_action` accepts then."""
    return _actions(current(request, at), role, at)


def _actions(request: SupportRequest, role: str, at: datetime) -> list[Action]:
    allowed = []
    for action in ROLE_ACTIONS.get(role, ()):  # type: ignore[call-overload]
        try:
            STATE_CHECKS[action](request, at)
        except DomainError:
            continue
        allowed.append(action)
    return allowed


def limits(listed: list[Action], request: SupportRequest) -> dict[str, dict[str, int]]:
    """The bounds of the listed steps that take an amount (R13, R63)."""
    if Action.PARTIAL_REFUND in listed:
        return {Action.PARTIAL_REFUND.value: {"max_amount": request.largest_partial_refund}}
    return {}


def deadlines_in_view(request: SupportRequest) -> dict[str, datetime]:
    """The open deadlines, those passed whose step may still happen, and the buyer's window to
    return the original of an overdue replacement (R16)."""
    shown: dict[str, datetime] = {**request.passed_deadlines, **request.deadlines}
    until = (request.replacement or {}).get("return_until")
    if until is not None and not request.is_closed and request.return_ is None:
        shown[RETURN_FOR_REFUND_WINDOW] = until
    return shown


def overdue(request: SupportRequest, at: datetime) -> list[str]:
    """The kinds of the deadlines in view that have passed by `at`, in API order."""
    return overdue_kinds(deadlines_in_view(request), at)


@dataclass(frozen=True)
class Explanation:
    """Why a deadline falls where it does: set at, how many business hours it gave, how many are
    left at the moment asked, and the days in between that did not count."""

    kind: str
    due: datetime
    set_at: datetime | None
    business_hours_given: float | None
    business_hours_left: float
    skipped: list[dict[str, Any]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "set_at": self.set_at,
            "business_hours_given": self.business_hours_given,
            "business_hours_left": self.business_hours_left,
            "skipped": self.skipped,
        }


def explain(request: SupportRequest, at: datetime) -> dict[str, Explanation]:
    """An explanation of every deadline in view, by kind."""
    calendar = request.calendar
    set_at = dict(request.deadline_set_at)
    overdue_at = (request.replacement or {}).get("overdue_at")
    if overdue_at is not None:
        set_at[RETURN_FOR_REFUND_WINDOW] = overdue_at
    found = {}
    for kind, due in deadlines_in_view(request).items():
        start = set_at.get(kind)
        found[kind] = Explanation(
            kind=kind,
            due=due,
            set_at=start,
            business_hours_given=None
            if start is None
            else calendar.business_hours_between(start, due),
            business_hours_left=calendar.business_hours_between(at, due),
            skipped=[
                {
                    "first": run.first.isoformat(),
                    "last": run.last.isoformat(),
                    "holiday": run.holiday,
                }
                for run in calendar.skipped_days(start or at, due)
            ],
        )
    return found


@dataclass(frozen=True)
class NextStep:
    """What the request state shows of what happens next, for one caller at one moment."""

    waiting_on: WaitingOn | None
    actions: list[Action]
    limits: dict[str, dict[str, int]]
    deadlines: dict[str, datetime]
    overdue: list[str]
    explanations: dict[str, Explanation]


def next_step(request: SupportRequest, role: str, at: datetime) -> NextStep:
    """What happens next for a caller of `role`, as of `at` (deadlines due by then applied)."""
    at = at.astimezone(UTC)
    request = current(request, at)
    listed = _actions(request, role, at)
    return NextStep(
        waiting_on=waiting_on(request.status),
        actions=listed,
        limits=limits(listed, request),
        deadlines=deadlines_in_view(request),
        overdue=overdue(request, at),
        explanations=explain(request, at),
    )


__all__ = [
    "ROLE_ACTIONS",
    "STATE_CHECKS",
    "ActionNotYours",
    "Deadline",
    "Explanation",
    "NextStep",
    "actions",
    "check_action",
    "current",
    "deadlines_in_view",
    "explain",
    "limits",
    "next_step",
    "overdue",
    "roles_for",
]
