"""What a page offers, from the API's state alone (pure: no I/O).

`actions_for` lists exactly the commands the API would accept now from this person, following the
state checks of the requests service (R10-R22, R46): a button the API would refuse is not shown. The
API stays the judge: a command refused anyway (a race, a deadline that just passed) shows its
`detail`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from typing import Any


class Action(StrEnum):
    FULL_REFUND = "full_refund"
    REFUND_WITH_RETURN = "full_refund_with_return"
    PARTIAL_REFUND = "partial_refund"
    REPLACEMENT = "replacement"
    NO_REFUND = "no_refund"
    REQUEST_INFO = "request_info"
    CONFIRM_RETURN = "confirm_return"
    DISPUTE_RETURN = "dispute_return"
    ACCEPT_OFFER = "accept_offer"
    DECLINE_OFFER = "decline_offer"
    ESCALATE = "escalate"
    RETURN_FOR_REFUND = "return_for_refund"
    THUMBS_UP = "thumbs_up"
    THUMBS_DOWN = "thumbs_down"
    DECIDE_REFUND = "decide_refund"
    DECIDE_REFUND_WITH_RETURN = "decide_refund_with_return"
    DECIDE_UPHOLD_SELLER = "decide_uphold_seller"
    DECIDE_PLATFORM_REFUND = "decide_platform_refund"


SELLER_RESPONSES = (
    Action.FULL_REFUND,
    Action.REFUND_WITH_RETURN,
    Action.PARTIAL_REFUND,
    Action.REPLACEMENT,
    Action.NO_REFUND,
    Action.REQUEST_INFO,
)
DECISIONS = (
    Action.DECIDE_REFUND,
    Action.DECIDE_REFUND_WITH_RETURN,
    Action.DECIDE_UPHOLD_SELLER,
    Action.DECIDE_PLATFORM_REFUND,
)
CLOSED = frozenset({"resolved", "cancelled"})

# Who must act next, by status (the inbox's "waiting on you" count).
WAITING_ON: Mapping[str, str] = {
    "awaiting_seller": "seller",
    "awaiting_buyer": "buyer",
    "offer_pending": "buyer",
    "awaiting_return": "buyer",
    "return_in_transit": "carrier",
    "awaiting_inspection": "seller",
    "replacement_pending": "seller",
    "escalated": "support",
}


@dataclass(frozen=True)
class Command:
    """How an action becomes an API call: a POST on the request's path with a JSON body."""

    suffix: str
    body: dict[str, Any] | None = None


def side_of(state: Mapping[str, Any], role: str, user_id: str) -> str | None:
    if role == "buyer" and state.get("buyer_id") == user_id:
        return "buyer"
    if role == "seller" and state.get("seller_id") == user_id:
        return "seller"
    return None


def return_window_open(history: Iterable[Mapping[str, Any]], now: datetime) -> bool:
    """R16: after a replacement went overdue the buyer may return the original until then."""
    until = None
    for entry in history:
        if entry.get("type") == "replacement_overdue":
            until = (entry.get("data") or {}).get("return_until")
    return until is not None and now < datetime.fromisoformat(str(until))


def actions_for(
    state: Mapping[str, Any],
    role: str,
    user_id: str,
    history: Iterable[Mapping[str, Any]],
    now: datetime,
) -> list[Action]:
    status = state.get("status")
    side = side_of(state, role, user_id)
    actions: list[Action] = []
    if side == "seller":
        if status in ("awaiting_seller", "awaiting_buyer"):
            actions.extend(SELLER_RESPONSES)
        if status == "awaiting_inspection":
            actions.extend((Action.CONFIRM_RETURN, Action.DISPUTE_RETURN))
    elif side == "buyer":
        if status == "offer_pending":
            actions.extend((Action.ACCEPT_OFFER, Action.DECLINE_OFFER))
        if state.get("may_escalate"):
            actions.append(Action.ESCALATE)
        if status == "replacement_pending" and return_window_open(history, now):
            actions.append(Action.RETURN_FOR_REFUND)
        if status in CLOSED and state.get("feedback") is None:
            actions.extend((Action.THUMBS_UP, Action.THUMBS_DOWN))
    elif role == "support" and status == "escalated":
        actions.extend(DECISIONS)
    return actions


def may_message(state: Mapping[str, Any], role: str, user_id: str) -> bool:
    """R21: the parties talk until the request is escalated."""
    return side_of(state, role, user_id) is not None and not state.get("escalated")


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
        return Command("responses", {"type": "full_refund"})
    if action is Action.REFUND_WITH_RETURN:
        return Command("responses", {"type": "full_refund_with_return"})
    if action is Action.PARTIAL_REFUND:
        amount = to_minor(form.get("amount") or "", currency_digits)
        return Command("responses", {"type": "partial_refund", "amount": amount})
    if action is Action.REPLACEMENT:
        carrier = (form.get("carrier") or "").strip()
        tracking = (form.get("tracking_number") or "").strip()
        return Command(
            "responses", {"type": "replacement", "carrier": carrier, "tracking_number": tracking}
        )
    if action is Action.NO_REFUND:
        evidence = _lines(form.get("evidence") or "")
        return Command("responses", {"type": "no_refund", "message": message, "evidence": evidence})
    if action is Action.REQUEST_INFO:
        return Command("responses", {"type": "request_info", "message": message})
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
    if action in (Action.THUMBS_UP, Action.THUMBS_DOWN):
        return Command("feedback", {"thumbs": "up" if action is Action.THUMBS_UP else "down"})
    outcome = action.value.removeprefix("decide_")
    return Command("decision", {"outcome": outcome})
