"""The commands of the parties: a buyer opens a request and answers, a seller responds, support
decides. Each loads the request, checks the caller, runs the aggregate's command and saves the
events with the side tables in one transaction (`RequestsCore._command`).

A seller's response (R10-R18) reaches its aggregate command through one table, `RESPONSE_COMMANDS`:
a new response type is its `ResponseType` member, its aggregate command and one row here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.persistence import IntegrityError

from services.requests.application.actors import Actor
from services.requests.application.core import RequestsCore
from services.requests.application.errors import (
    Forbidden,
    ItemAlreadyOpen,
    OrderNotFound,
    UnknownItems,
)
from services.requests.domain import (
    RESPONSE_ACTIONS,
    Action,
    InvalidCommand,
    OrderItem,
    Outcome,
    ResponseType,
    Shipment,
    SupportRequest,
)
from services.requests.domain.policy import CURRENT_POLICY_VERSION
from services.requests.domain.remedy import check_items_refundable
from services.requests.persistence.receipts import KeyClaim, claim_key, record_answer


@dataclass(frozen=True)
class SellerResponse:
    """One of R10-R18, as the seller submitted it."""

    type: str
    amount: int | None = None
    carrier: str = ""
    tracking_number: str = ""
    message: str = ""
    evidence: tuple[str, ...] = ()
    auto_claim: bool = False


@dataclass(frozen=True)
class Responding:
    """What a response command is given: the response, when, by whom, its resolved evidence, and
    the order's shipment (looked up only by the commands that use it)."""

    response: SellerResponse
    at: datetime
    actor: str
    evidence: list[str]
    shipment: Callable[[], Shipment | None]
    # R68: the return address in force now (read only by the commands that require a return)
    return_address: Callable[[], dict[str, Any]]


# The one table from a seller's response type to the aggregate's command.
RESPONSE_COMMANDS: dict[ResponseType, Callable[[SupportRequest, Responding], Any]] = {
    ResponseType.FULL_REFUND: lambda request, r: request.offer_full_refund(
        at=r.at, actor=r.actor, shipment=r.shipment(), auto_claim=r.response.auto_claim
    ),
    ResponseType.FULL_REFUND_WITH_RETURN: lambda request, r: request.offer_full_refund_with_return(
        at=r.at,
        actor=r.actor,
        shipment=r.shipment(),
        auto_claim=r.response.auto_claim,
        return_address=r.return_address(),
    ),
    ResponseType.PARTIAL_REFUND: lambda request, r: request.offer_partial_refund(
        at=r.at, actor=r.actor, amount=r.response.amount
    ),
    ResponseType.REPLACEMENT: lambda request, r: request.send_replacement(
        at=r.at,
        actor=r.actor,
        carrier=r.response.carrier,
        tracking_number=r.response.tracking_number,
    ),
    ResponseType.NO_REFUND: lambda request, r: request.explain_no_refund(
        at=r.at, actor=r.actor, message=r.response.message, evidence=r.evidence
    ),
    ResponseType.REQUEST_INFO: lambda request, r: request.request_information(
        at=r.at, actor=r.actor, message=r.response.message
    ),
}


_ITEM_FIELDS = frozenset(OrderItem.__dataclass_fields__)


def _order_item(row: dict[str, Any]) -> OrderItem:
    """The request's view of an order item: its R37 figures (not the listing links, R64)."""
    return OrderItem(**{k: v for k, v in row.items() if k in _ITEM_FIELDS})


class Commands(RequestsCore):
    def open_request(
        self,
        actor: Actor,
        *,
        order_id: str,
        item_ids: list[str],
        reason: str,
        description: str,
        photos: list[str],
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        if actor.role != "buyer":
            raise Forbidden("only the buyer of an order opens a support request on it")
        request_id = uuid4()
        photos = self._references(actor, None, "photos", photos)
        tables = self.side_tables
        try:
            with tables.transaction() as session:
                if claim is not None:
                    claim_key(session, claim)
                order = self._order_row(session, order_id)
                if order is None or order["buyer_id"] != actor.id:
                    raise OrderNotFound(f"no order {order_id} of yours")  # R9
                by_id = {item["item_id"]: item for item in order["items"]}
                unknown = [i for i in item_ids if i not in by_id]
                if unknown:
                    raise UnknownItems(f"not items of order {order_id}: {', '.join(unknown)}")
                # R63: an item refunded in full has nothing left to ask for.
                check_items_refundable(
                    [_order_item(by_id[i]) for i in item_ids if i in by_id],
                    tables.item_records(session, order_id, item_ids),
                )
                request = SupportRequest.open(
                    request_id=request_id,
                    at=self.clock.now(),
                    order_id=order_id,
                    buyer_id=order["buyer_id"],
                    seller_id=order["seller_id"],
                    marketplace=order["marketplace"],
                    currency=order["currency"],
                    items=[_order_item(by_id[i]) for i in item_ids],
                    reason=reason,
                    description=description,
                    photos=photos,
                    fraud_suspected=order["fraud_suspected"],
                    policy_version=CURRENT_POLICY_VERSION,
                    seller_enrolled=self._seller_enrolled(session, order["seller_id"]),
                )
                self._lock_items(session, order_id, item_ids, str(request_id))
                tables.index_by_order(session, str(request_id), order_id, request.opened_at)
                receipt = (
                    None
                    if claim is None
                    else record_answer(
                        session, claim, request, actor.role, request.opened_at, created=True
                    )
                )
                self._save_with_side_tables(session, request, (request.policy_version, ()))
        except IntegrityError as error:
            raise ItemAlreadyOpen(
                "an item of this order already has an open support request (R9)"
            ) from error
        if claim is not None:
            claim.recorded = receipt
        return request

    def _lock_items(self, session: Any, order_id: str, item_ids: list[str], rid: str) -> None:
        held = self.side_tables.held_items(session, order_id, item_ids)
        if held:
            raise ItemAlreadyOpen(
                f"item(s) {', '.join(sorted(held))} of order {order_id} already have an open "
                "support request (R9)"
            )
        self.side_tables.lock_items(session, order_id, item_ids, rid)

    def respond(
        self,
        request_id: UUID | str,
        actor: Actor,
        response: SellerResponse,
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        at = self.clock.now()
        evidence = self._references(actor, request_id, "evidence", list(response.evidence))

        command = RESPONSE_COMMANDS.get(response.type)  # type: ignore[call-overload]
        if command is None:
            raise InvalidCommand(
                f"unknown response type {response.type!r}; one of: {', '.join(ResponseType)}"
            )

        def change(request: SupportRequest) -> None:
            command(
                request,
                Responding(
                    response,
                    at,
                    str(actor),
                    evidence,
                    lambda: self._shipment(request),
                    lambda: self._return_address_in_force(request),
                ),
            )

        action = RESPONSE_ACTIONS[ResponseType(response.type)]
        return self._command(request_id, actor, action, change, at=at, claim=claim)

    def _shipment(self, request: SupportRequest) -> Shipment | None:
        order = self.order(request.order_id)
        if order is None or not order["shipment"]:
            return None
        data = dict(order["shipment"])
        data["shipped_at"] = datetime.fromisoformat(data["shipped_at"])
        return Shipment(**data)

    def accept_offer(
        self, request_id: UUID | str, actor: Actor, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.ACCEPT_OFFER,
            lambda r: r.accept_offer(at=at, actor=str(actor)),
            at=at,
            claim=claim,
        )

    def decline_offer(
        self, request_id: UUID | str, actor: Actor, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.DECLINE_OFFER,
            lambda r: r.decline_offer(
                at=at, actor=str(actor), return_address=self._return_address_in_force(r)
            ),
            at=at,
            claim=claim,
        )

    def confirm_return(
        self, request_id: UUID | str, actor: Actor, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.CONFIRM_RETURN,
            lambda r: r.confirm_return(at=at, actor=str(actor)),
            at=at,
            claim=claim,
        )

    def dispute_return(
        self,
        request_id: UUID | str,
        actor: Actor,
        *,
        reason: str,
        evidence: list[str],
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        at = self.clock.now()
        evidence = self._references(actor, request_id, "evidence", evidence)
        return self._command(
            request_id,
            actor,
            Action.DISPUTE_RETURN,
            lambda r: r.dispute_return(at=at, actor=str(actor), reason=reason, evidence=evidence),
            at=at,
            claim=claim,
        )

    def return_for_refund(
        self, request_id: UUID | str, actor: Actor, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.RETURN_FOR_REFUND,
            lambda r: r.return_for_refund(
                at=at, actor=str(actor), return_address=self._return_address_in_force(r)
            ),
            at=at,
            claim=claim,
        )

    def post_message(
        self,
        request_id: UUID | str,
        actor: Actor,
        *,
        body: str,
        attachments: list[str],
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        at = self.clock.now()
        attachments = self._references(actor, request_id, "attachments", attachments)
        return self._command(
            request_id,
            actor,
            Action.MESSAGE,
            lambda r: r.post_message(
                at=at,
                actor=str(actor),
                body=body,
                attachments=attachments,
                by_buyer=actor.role == "buyer",
            ),
            at=at,
            claim=claim,
        )

    def escalate(
        self, request_id: UUID | str, actor: Actor, *, reason: str, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.ESCALATE,
            lambda r: r.escalate(at=at, actor=str(actor), reason=reason),
            at=at,
            claim=claim,
        )

    def decide(
        self,
        request_id: UUID | str,
        actor: Actor,
        *,
        outcome: str,
        evidence: list[str] = (),
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        at = self.clock.now()
        evidence = self._references(actor, request_id, "evidence", list(evidence))
        return self._command(
            request_id,
            actor,
            Action.DECIDE,
            lambda r: r.decide(
                at=at,
                actor=str(actor),
                outcome=outcome,
                evidence=evidence,
                return_address=self._return_address_in_force(r)
                if outcome == Outcome.REFUND_WITH_RETURN
                else None,
            ),
            at=at,
            claim=claim,
        )

    def assign_agent(
        self,
        request_id: UUID | str,
        actor: Actor,
        *,
        agent_id: str | None = None,
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        """Issue 19: a support agent takes a request waiting on support (default: the caller)."""
        at = self.clock.now()
        agent = actor.id if agent_id is None else agent_id
        return self._command(
            request_id,
            actor,
            Action.ASSIGN,
            lambda r: r.assign_agent(at=at, actor=str(actor), agent_id=agent),
            at=at,
            claim=claim,
        )

    def give_feedback(
        self, request_id: UUID | str, actor: Actor, *, thumbs: str, claim: KeyClaim | None = None
    ) -> SupportRequest:
        at = self.clock.now()
        return self._command(
            request_id,
            actor,
            Action.FEEDBACK,
            lambda r: r.give_feedback(at=at, actor=str(actor), thumbs=thumbs),
            at=at,
            claim=claim,
        )
