"""JSON views of the requests API: a support request as API.md shows it, and the answers (bodies,
status, headers) the routes send and an idempotent command stores with its key (`Receipt`).

`request_view` is the state fields of API.md as plain values; `RequestState` (schemas.py) validates
and serializes them. The web app's dossier (attachments/http.py) and the audit CLI use the same view.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

from fastapi import Response, status
from pydantic import TypeAdapter

from services.requests.domain import DEADLINE_KINDS, SupportRequest
from services.requests.domain.next_step import next_step
from services.requests.http.schemas import RequestState, UpstreamResult, iso
from services.requests.persistence.receipts import KeyClaim, Receipt
from shared.consistency import HEADER, token_for


def request_view(request: SupportRequest, role: str, at: datetime) -> dict[str, Any]:
    """The state fields of API.md, with what happens next for a caller of `role` at `at`
    (domain/next_step.py decides it)."""
    step = next_step(request, role, at)
    deadlines = step.deadlines
    ret = request.return_
    offer = request.offer
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
        "deadlines": {kind: deadlines.get(kind) for kind in DEADLINE_KINDS},
        "offer": None
        if offer is None
        else {"amount": offer["amount"], "state": offer.get("state")},
        "return": None
        if ret is None
        else {
            "tracking_number": ret["tracking_number"],
            "label_cost": ret["label_cost"],
            "delivered_at": ret["delivered_at"],
            "address": ret.get("address"),  # R68; None on returns required before issue 28
        },
        "escalated": request.escalated,
        "refund": request.refund,
        "policy_version": request.policy_version,
        "routed_to_support": request.routed_to_support,
        "may_escalate": bool(request.escalation_grounds()),
        "feedback": request.feedback,
        "assigned_to": getattr(request, "assigned_to", None),
        "last_response": request.last_response,
        "waiting_on": step.waiting_on,
        "actions": step.actions,
        "limits": step.limits,
        "overdue": step.overdue,
        "deadline_explanations": {k: e.as_dict() for k, e in step.explanations.items()},
    }


def request_state(request: SupportRequest, role: str, at: datetime) -> RequestState:
    return RequestState.model_validate(request_view(request, role, at))


def plain(value: Any) -> Any:
    """An event's data as JSON values (a request's history)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    return value


def location(request: SupportRequest) -> str:
    return f"/v1/support-requests/{request.id}"


def state_json(request: SupportRequest, role: str, at: datetime) -> str:
    return request_state(request, role, at).model_dump_json(by_alias=True)


STATES = TypeAdapter(list[RequestState])


def states_json(requests: list[SupportRequest], role: str, at: datetime) -> bytes:
    return STATES.dump_json([request_state(r, role, at) for r in requests], by_alias=True)


def state_response(
    request: SupportRequest,
    claim: KeyClaim | None,
    role: str,
    at: datetime,
    status_code: int = 200,
    **headers: str,
) -> Response:
    """The request's state as the response, serialized here in the route's worker thread: a returned
    model would be validated again in another thread-pool hop and serialized on the event loop. An
    idempotent command already rendered it into its receipt (`claim.recorded`)."""
    return Response(
        state_json(request, role, at)
        if claim is None or claim.recorded is None
        else claim.recorded.content,
        status_code=status_code,
        headers={**headers, HEADER: consistency_token(request)},
        media_type="application/json",
    )


def consistency_token(request: SupportRequest) -> str:
    """The answer's `Consistency-Token`: the id of the request's last event (shared/consistency.py);
    projection reads given it answer once they reflect it."""
    return token_for(request.id, request.version)


def command_receipt(request: SupportRequest, created: bool, role: str, at: datetime) -> Receipt:
    """What a support-request command answers, stored with its `Idempotency-Key`: the same bytes as
    `state_response` sends."""
    headers = {"content-type": "application/json", HEADER: consistency_token(request)}
    if created:
        headers["location"] = location(request)
    return Receipt(201 if created else 200, headers, state_json(request, role, at))


def fact_receipt(fact_type: str, changed: bool) -> Receipt:
    """What an upstream fact answers: 202 when it changed something, 200 for a duplicate."""
    content = UpstreamResult(type=fact_type, changed=changed).model_dump_json()
    status_code = status.HTTP_202_ACCEPTED if changed else status.HTTP_200_OK
    return Receipt(status_code, {"content-type": "application/json"}, content)


def receipt_response(receipt: Receipt) -> Response:
    return Response(receipt.content, status_code=receipt.status_code, media_type="application/json")
