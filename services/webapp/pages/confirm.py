"""Money moves and support decisions are confirmed first (issue 29, UI.md v2).

**Full refund**, **Refund with return** and **Partial refund** (and support's four decisions) come
here before anything happens: the page says in the currency what the buyer gets back, what the
seller is charged and when, or who pays, with **Confirm** (the command, posted to the request's
`act` route with `confirmed=1`) and **Cancel** (back to the request). After a refusal the page comes
back with the API's words and what was typed (finding B10).

The amounts are sums of the order's own per-item figures as the history's `opened` event carries
them (R30, R37: payout + buyer shipping + processing fee), shown, never decided here: the API
judges the command, and the largest partial amount is the API's `limits` when it gives them.
"""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from services.webapp.http import redirect
from services.webapp.i18n import currency_digits
from services.webapp.pages.deps import User, api_of, call, page, path, soft
from services.webapp.views import Action, InvalidInput, to_minor

router = APIRouter()

MONEY = (Action.FULL_REFUND, Action.REFUND_WITH_RETURN, Action.PARTIAL_REFUND)
DECISIONS = (
    Action.DECIDE_REFUND,
    Action.DECIDE_REFUND_WITH_RETURN,
    Action.DECIDE_UPHOLD_SELLER,
    Action.DECIDE_PLATFORM_REFUND,
)


def sums(opened: dict[str, Any], item_ids: list[str]) -> dict[str, int]:
    """What the affected items add up to, in minor units: what the buyer paid (`paid`) and what a
    full refund charges the seller (`charge`, R30)."""
    items = [i for i in opened.get("items", []) if not item_ids or i.get("item_id") in item_ids]
    paid = sum(int(i.get("price", 0)) + int(i.get("buyer_shipping_paid", 0)) for i in items)
    charge = sum(
        int(i.get("seller_payout", 0))
        + int(i.get("buyer_shipping_paid", 0))
        + int(i.get("processing_fee", 0))
        for i in items
    )
    return {"paid": paid, "charge": charge}


@router.get("/requests/{request_id}/confirm")
async def confirm(
    request: Request, request_id: str, user: User, action: str = "", amount: str = ""
) -> Response:
    try:
        chosen = Action(action)
    except ValueError:
        return redirect(request, f"/requests/{request_id}")
    if chosen not in MONEY + DECISIONS:
        return redirect(request, f"/requests/{request_id}")
    api = api_of(request)
    base = path("/v1/support-requests", request_id)
    state, history = await asyncio.gather(
        call(request, api.get, base), call(request, api.get, base + "/history")
    )
    opened = history[0]["data"] if history and history[0]["type"] == "opened" else {}
    currency = opened.get("currency") or "USD"
    order = await soft(request, api.get, path("/v1/orders", state["order_id"]))
    shipment = (order.get("shipment") or {}) if isinstance(order, dict) else {}
    typed = amount.strip()[:40]
    minor = None
    if chosen is Action.PARTIAL_REFUND and typed:
        try:
            minor = to_minor(typed, currency_digits(currency))
        except InvalidInput:
            minor = None
    limits = (state.get("limits") or {}).get("partial_refund") or {}
    return page(
        request,
        "confirm.html",
        state=state,
        action=chosen,
        currency=currency,
        totals=sums(opened, state.get("item_ids") or []),
        minor=minor,
        typed=typed,
        max_amount=limits.get("max_amount"),
        usps=str(shipment.get("carrier", "")).upper() == "USPS",
        auto_claim=request.query_params.get("auto_claim") == "on",
        DECISION_ACTIONS=DECISIONS,
    )
