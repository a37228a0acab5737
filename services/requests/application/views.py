"""The state of a request as the HTTP API shows it (API.md's state fields). Kept with the application
until the HTTP layer owns its views (issue 17)."""

from __future__ import annotations

from typing import Any

from services.requests.domain import SupportRequest


def request_view(request: SupportRequest) -> dict[str, Any]:
    """The state fields of API.md."""
    deadlines = request.deadlines
    ret = request.return_
    return {
        "id": str(request.id),
        "order_id": request.order_id,
        "buyer_id": request.buyer_id,
        "seller_id": request.seller_id,
        "item_ids": request.item_ids,
        "reason": request.reason,
        "status": str(request.status),
        "resolution": None if request.resolution is None else str(request.resolution),
        "version": request.version,
        "opened_at": request.opened_at,
        "deadlines": {
            kind: deadlines.get(kind)
            for kind in (
                "seller_response",
                "offer_answer",
                "return_dropoff",
                "return_inspection",
                "replacement_ship",
                "no_refund_close",
            )
        },
        "offer": None if request.offer is None else {"amount": request.offer["amount"]},
        "return": None
        if ret is None
        else {
            "tracking_number": ret["tracking_number"],
            "label_cost": ret["label_cost"],
            "delivered_at": ret["delivered_at"],
        },
        "escalated": request.escalated,
        "refund": request.refund,
        "policy_version": request.policy_version,
        "routed_to_support": request.routed_to_support,
        "may_escalate": bool(request.escalation_grounds()),
        "feedback": request.feedback,
        "assigned_to": getattr(request, "assigned_to", None),
    }
