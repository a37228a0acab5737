"""What a page offers, from the API's state alone (pure: no I/O).

The requests service decides what happens next (services/requests/domain/next_step.py) and says
it in the state: `actions` (the steps this caller may take now, each of which the API accepts),
`waiting_on`, `limits`, `overdue` and `deadline_explanations`. The page turns those into buttons
and words; it keeps no copy of the rules. The API stays the judge: a command refused anyway (a
race) shows its `detail`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any

from shared.vocabulary import (
    RETURN_FOR_REFUND_WINDOW,
    Deadline,
    Outcome,
    ResponseType,
    Status,
    Thumbs,
)
from shared.vocabulary import Action as Step


def _buttons() -> dict[str, str]:
    """The form buttons: each step of the API, except that feedback is one button per thumb and
    a decision one per outcome; messages and assignment have forms of their own."""
    buttons = {s.name: s.value for s in Step if s not in _OWN_FORMS}
    buttons.update({f"THUMBS_{t.name}": f"thumbs_{t.value}" for t in Thumbs})
    buttons.update({f"DECIDE_{o.name}": f"decide_{o.value}" for o in Outcome})
    # the name the pages used before the buttons were derived (an alias: the same member)
    buttons["REFUND_WITH_RETURN"] = Step.FULL_REFUND_WITH_RETURN.value
    return buttons


_OWN_FORMS = frozenset({Step.FEEDBACK, Step.DECIDE, Step.MESSAGE, Step.ASSIGN})
Action = StrEnum("Action", _buttons())  # type: ignore[misc]

# The buttons of an API step (a step not here is its own button).
BUTTONS: Mapping[Step, tuple[Any, ...]] = {
    Step.FEEDBACK: tuple(Action[f"THUMBS_{t.name}"] for t in Thumbs),
    Step.DECIDE: tuple(Action[f"DECIDE_{o.name}"] for o in Outcome),
    Step.MESSAGE: (),
    Step.ASSIGN: (),
}


@dataclass(frozen=True)
class Command:
    """How an action becomes an API call: a POST on the request's path with a JSON body."""

    suffix: str
    body: dict[str, Any] | None = None


def actions_for(state: Mapping[str, Any]) -> list[Any]:
    """The buttons of the steps the API lists for this caller now."""
    buttons: list[Any] = []
    for name in state.get("actions") or ():
        try:
            step = Step(name)
        except ValueError:
            continue  # a step this web app does not know yet: not offered
        buttons.extend(BUTTONS[step] if step in BUTTONS else (Action(step.value),))
    return buttons


def may_message(state: Mapping[str, Any]) -> bool:
    """R21: the API lists `message` while the parties may talk."""
    return Step.MESSAGE.value in (state.get("actions") or ())


def waits_on(state: Mapping[str, Any] | None) -> str | None:
    """Who the request waits on, as the API says (`nobody` in a search row: closed)."""
    if not state:
        return None
    on = state.get("waiting_on")
    return None if on in (None, "nobody") else str(on)


def status_key(state: Mapping[str, Any]) -> str:
    """The key of the status words: the status, told apart where one status means two things to
    a person (B4: a no-refund explanation is not a request for information; B7/B8: a replacement
    not yet handed to the carrier, or late)."""
    status = str(state.get("status"))
    deadlines = state.get("deadlines") or {}
    if status == Status.AWAITING_BUYER and deadlines.get(Deadline.NO_REFUND_CLOSE):
        return f"{Status.AWAITING_BUYER}:no_refund"
    if status == Status.REPLACEMENT_PENDING and deadlines.get(RETURN_FOR_REFUND_WINDOW):
        return f"{Status.REPLACEMENT_PENDING}:late"
    return status


@dataclass(frozen=True)
class Skipped:
    first: date
    last: date
    holiday: str | None = None


@dataclass(frozen=True)
class DeadlineExplanation:
    """The API's explanation of one deadline, as the page shows it."""

    kind: str
    due: datetime
    business_hours_given: float | None
    business_hours_left: float
    passed: bool
    skipped: list[Skipped] = field(default_factory=list)


def next_deadline(state: Mapping[str, Any]) -> DeadlineExplanation | None:
    """The deadline to show first: the earliest overdue one, else the earliest open one; with
    the API's explanation of it."""
    explanations = state.get("deadline_explanations") or {}
    overdue = set(state.get("overdue") or ())
    shown = [
        (kind not in overdue, datetime.fromisoformat(str(e["due"])), kind)
        for kind, e in explanations.items()
    ]
    if not shown:
        return None
    _, due, kind = min(shown)
    e = explanations[kind]
    return DeadlineExplanation(
        kind=kind,
        due=due,
        business_hours_given=e.get("business_hours_given"),
        business_hours_left=float(e.get("business_hours_left") or 0),
        passed=kind in overdue,
        skipped=[
            Skipped(date.fromisoformat(s["first"]), date.fromisoformat(s["last"]), s.get("holiday"))
            for s in e.get("skipped") or ()
        ],
    )


class InvalidInput(ValueError):
    """A form field the app cannot turn into an API body (said to the person, nothing sent)."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()][:50]


def to_minor(text: str, digits: int) -> int:
    """An amount typed in major units (`10.00`, `10,50`, `1,234.5`, `1.234,50`) in minor units.

    The last `.` or `,` followed by at most `digits` digits is the decimal separator; any other
    is a thousands separator."""
    raw = text.strip().replace(" ", "").replace("\u00a0", "")
    if not raw or len(raw) > 20:
        raise InvalidInput("amount", "type an amount such as 10.00")
    whole, fraction = raw, ""
    cut = max(raw.rfind("."), raw.rfind(","))
    if cut >= 0 and 0 < len(raw) - cut - 1 <= max(digits, 0) and raw[cut + 1 :].isdigit():
        whole, fraction = raw[:cut], raw[cut + 1 :]
    whole = whole.replace(",", "").replace(".", "")
    if not whole:
        whole = "0"
    if not whole.isdigit() or (fraction and not fraction.isdigit()):
        raise InvalidInput("amount", "type an amount such as 10.00")
    try:
        value = Decimal(f"{whole}.{fraction or '0'}")
    except InvalidOperation:
        raise InvalidInput("amount", "type an amount such as 10.00") from None
    minor = int(value.scaleb(digits))
    if minor <= 0:
        raise InvalidInput("amount", "the amount must be more than 0")
    return minor


def command_for(action: Action, form: Mapping[str, str], currency_digits: int) -> Command:
    """The API call of an action with the form's fields; `InvalidInput` when a field is unusable."""
    message = (form.get("message") or "").strip()
    if action is Action.FULL_REFUND:
        return Command("responses", {"type": ResponseType.FULL_REFUND.value})
    if action is Action.FULL_REFUND_WITH_RETURN:
        return Command("responses", {"type": ResponseType.FULL_REFUND_WITH_RETURN.value})
    if action is Action.PARTIAL_REFUND:
        amount = to_minor(form.get("amount") or "", currency_digits)
        return Command("responses", {"type": ResponseType.PARTIAL_REFUND.value, "amount": amount})
    if action is Action.REPLACEMENT:
        carrier = (form.get("carrier") or "").strip()
        tracking = (form.get("tracking_number") or "").strip()
        return Command(
            "responses",
            {
                "type": ResponseType.REPLACEMENT.value,
                "carrier": carrier,
                "tracking_number": tracking,
            },
        )
    if action is Action.NO_REFUND:
        evidence = _lines(form.get("evidence") or "")
        return Command(
            "responses",
            {"type": ResponseType.NO_REFUND.value, "message": message, "evidence": evidence},
        )
    if action is Action.REQUEST_INFO:
        return Command("responses", {"type": ResponseType.REQUEST_INFO.value, "message": message})
    if action is Action.CONFIRM_RETURN:
        return Command("return/confirm")
    if action is Action.DISPUTE_RETURN:
        evidence = _lines(form.get("evidence") or "")
        return Command("return/dispute", {"reason": message, "evidence": evidence})
    if action is Action.ACCEPT_OFFER:
        return Command("offer/accept")
    if action is Action.DECLINE_OFFER:
        return Command("offer/decline")
    if action is Action.ESCALATE:
        return Command("escalate", {"reason": message})
    if action is Action.RETURN_FOR_REFUND:
        return Command("return-for-refund")
    if action.value.startswith("thumbs_"):
        return Command("feedback", {"thumbs": action.value.removeprefix("thumbs_")})
    return Command("decision", {"outcome": action.value.removeprefix("decide_")})
