"""The SupportRequest aggregate: one buyer's problem with one order, and every rule that moves it.

Pure: no clock, no I/O. Every command takes the instant it happens at (`at`) and who did it (`actor`);
both are recorded on the event so history and state-as-of-a-moment need nothing else. Public command
methods check the rules and compute derived values (deadlines, amounts); the private `@event` methods
only record them, so replaying history never re-runs a rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.domain import Aggregate, event

from services.requests.domain.errors import (
    ConversationClosed,
    DecisionNotDue,
    DescriptionRequired,
    DuplicateItems,
    EscalationNotAllowed,
    EvidenceRequired,
    FeedbackNotAllowed,
    InvalidCommand,
    InvalidPartialAmount,
    MessageRequired,
    NoItemsNamed,
    NoOfferPending,
    NoReturnToInspect,
    NotWaitingOnSupport,
    PhotosRequired,
    ResponseNotDue,
    ReturnForRefundNotAllowed,
    ReturnLabelNotExpected,
    TrackingRequired,
    UnknownReason,
)
from services.requests.domain.order import (
    OrderItem,
    Shipment,
    buyer_full_refund,
    check_auto_claim_eligible,
    routing_to_support,
)
from services.requests.domain.policy import CURRENT_POLICY_VERSION, Policy, policy_for
from services.requests.domain.remedy import (
    ItemRecord,
    ItemShare,
    amount_left_to_refund,
    check_partial_within_left,
    check_something_left,
    full_refund_shares,
    partial_refund_shares,
    shares_data,
)
from services.requests.domain.vocabulary import (
    CLOSED_STATUSES,
    PHOTO_REQUIRED_REASONS,
    SYSTEM_ACTOR,
    Deadline,
    Liable,
    OfferState,
    Outcome,
    Reason,
    Resolution,
    ResponseType,
    ScanStatus,
    Status,
    Thumbs,
)
from shared.business_time import BusinessCalendar, calendar_for
from shared.money import Money

# --- the aggregate ------------------------------------------------------------------------------


class SupportRequest(Aggregate):
    """One buyer's support request about some items of one order."""

    # R63: what the order has left to refund for this request's items, as the application read it
    # (the per-item remedy table) before a command, or None (nothing known: nothing done yet). Not
    # state of the request and never in its events: the refunding steps compute their per-item
    # shares from it, and the events record those shares.
    order_record: Mapping[str, ItemRecord] | None = None

    # -- opening (R4-R9) --

    @classmethod
    def open(
        cls,
        *,
        request_id: Any,
        at: datetime,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        marketplace: str,
        currency: str,
        items: list[OrderItem],
        reason: str,
        description: str,
        photos: list[str],
        fraud_suspected: bool = False,
        policy_version: str = CURRENT_POLICY_VERSION,
        seller_enrolled: bool = True,
    ) -> SupportRequest:
        cls.check_opening(items, reason, description, photos)
        policy = policy_for(policy_version)
        routed = routing_to_support(reason, items, fraud_suspected, seller_enrolled)
        due = None
        if routed is None:
            due = calendar_for(marketplace).add_business_hours(at, policy.seller_response_hours)
            due = due.astimezone(UTC)
        return cls._create(
            cls.Opened,
            id=request_id,
            at=at,
            actor=f"buyer:{buyer_id}",
            order_id=order_id,
            buyer_id=buyer_id,
            seller_id=seller_id,
            marketplace=marketplace,
            currency=currency,
            items=[asdict(i) for i in items],
            reason=str(reason),
            description=description,
            photos=list(photos),
            policy_version=policy.version,
            routed_to_support=routed,
            seller_response_due=due,
        )

    @staticmethod
    def check_opening(
        items: list[OrderItem], reason: str, description: str, photos: list[str]
    ) -> None:
        if not items:
            raise NoItemsNamed("name at least one item of the order")
        ids = [i.item_id for i in items]
        if len(set(ids)) != len(ids):
            raise DuplicateItems("each item may be named once")
        if reason not in Reason.__members__.values():
            raise UnknownReason(f"unknown reason {reason!r}; one of: {', '.join(Reason)}")
        if not description.strip():
            raise DescriptionRequired("describe the problem")
        if reason in PHOTO_REQUIRED_REASONS and not photos:
            raise PhotosRequired(f"photos are required for reason {reason}")

    class Opened(Aggregate.Created):
        at: datetime
        actor: str
        order_id: str
        buyer_id: str
        seller_id: str
        marketplace: str
        currency: str
        items: list[dict[str, Any]]
        reason: str
        description: str
        photos: list[str]
        policy_version: str
        routed_to_support: str | None
        seller_response_due: datetime | None

    def __init__(
        self,
        at: datetime,
        actor: str,
        order_id: str,
        buyer_id: str,
        seller_id: str,
        marketplace: str,
        currency: str,
        items: list[dict[str, Any]],
        reason: str,
        description: str,
        photos: list[str],
        policy_version: str,
        routed_to_support: str | None,
        seller_response_due: datetime | None,
    ) -> None:
        self.order_id = order_id
        self.buyer_id = buyer_id
        self.seller_id = seller_id
        self.marketplace = marketplace
        self.currency = currency
        self.items = items
        self.reason = reason
        self.description = description
        self.photos = photos
        self.policy_version = policy_version
        self.opened_at = at
        self.last_activity_at = at
        self.routed_to_support = routed_to_support
        self.deadlines: dict[str, datetime] = {}  # open deadlines: each has its timer
        # deadlines that passed while the step they waited for may still happen (API.md `overdue`)
        self.passed_deadlines: dict[str, datetime] = {}
        self.deadline_set_at: dict[str, datetime] = {}  # when each deadline was set (explanations)
        self.resolution: str | None = None
        self.closed_at: datetime | None = None
        self.escalation: dict[str, Any] | None = None
        self.decision: dict[str, Any] | None = None
        self.last_response: str | None = None
        self.offer: dict[str, Any] | None = None
        self.return_: dict[str, Any] | None = None
        self.replacement: dict[str, Any] | None = None
        self.refund: dict[str, Any] | None = None
        self.auto_claim: dict[str, Any] | None = None
        self.seller_missed_deadline = False
        self.offer_lapsed = False
        self.info_requested = False
        self.info_exchanged = False
        self.feedback: str | None = None
        self.messages: list[dict[str, Any]] = []
        self.assigned_to: str | None = None
        if routed_to_support:
            self.status = Status.ESCALATED
            self.escalation = {
                "by": "routing",
                "reason": routed_to_support,
                "grounds": [],
                "at": at,
            }
        else:
            self.status = Status.AWAITING_SELLER
            self._set_deadline(Deadline.SELLER_RESPONSE, seller_response_due, at)

    # -- derived values --

    @property
    def policy(self) -> Policy:
        return policy_for(self.policy_version)

    @property
    def calendar(self) -> BusinessCalendar:
        return calendar_for(self.marketplace)

    @property
    def order_items(self) -> list[OrderItem]:
        return [OrderItem(**i) for i in self.items]

    @property
    def item_ids(self) -> list[str]:
        return [i["item_id"] for i in self.items]

    @property
    def full_refund(self) -> Money:
        return buyer_full_refund(self.order_items, self.currency)

    @property
    def escalated(self) -> bool:
        return self.escalation is not None

    @property
    def is_closed(self) -> bool:
        return self.status in CLOSED_STATUSES

    def escalation_grounds(self) -> list[str]:
        """R19/R20: why the buyer may escalate now (empty when they may not)."""
        if self.status not in (Status.AWAITING_SELLER, Status.AWAITING_BUYER):
            return []
        grounds = []
        if self.status == Status.AWAITING_SELLER and self.seller_missed_deadline:
            grounds.append("no_response")
        if self.offer_lapsed:
            grounds.append("offer_lapsed")
        if self.last_response == ResponseType.NO_REFUND:
            grounds.append("no_refund")
        if self.info_exchanged:
            grounds.append("information_exchange")
        return grounds

    # Deadlines are stored in UTC so that history and the published events read the same everywhere.
    def _business_hours_after(self, at: datetime, hours: int) -> datetime:
        return self.calendar.add_business_hours(at, hours).astimezone(UTC)

    def _business_days_after(self, at: datetime, days: int) -> datetime:
        return self.calendar.add_business_days(at, days).astimezone(UTC)

    def _set_deadline(self, kind: str, due: datetime | None, at: datetime) -> None:
        assert due is not None
        self.deadlines[kind] = due
        self.deadline_set_at[kind] = at

    def _clear_deadlines(self) -> None:
        self.deadlines.clear()
        self.passed_deadlines.clear()

    # -- invariants --

    def check_response_due(self) -> None:
        if self.status not in (Status.AWAITING_SELLER, Status.AWAITING_BUYER):
            raise ResponseNotDue(f"no seller response is due: the request is {self.status}")

    def check_offer_pending(self) -> None:
        if self.status != Status.OFFER_PENDING:
            raise NoOfferPending(f"no offer is waiting for an answer: the request is {self.status}")

    def check_awaiting_inspection(self) -> None:
        if self.status != Status.AWAITING_INSPECTION:
            raise NoReturnToInspect(f"no delivered return to inspect: the request is {self.status}")

    def check_conversation_open(self) -> None:
        if self.escalated:
            raise ConversationClosed(
                "the request was escalated to support: buyer and seller can no longer message "
                "each other in it (R21)"
            )

    def check_refund_possible(self) -> None:
        """R63: something is left to refund on the request's items."""
        check_something_left(self.order_items, self.order_record)

    def check_partial_refund_possible(self) -> None:
        self.check_refund_possible()
        if self.largest_partial_refund < 1:
            raise InvalidPartialAmount(
                "no partial refund fits between 0 and the full refund of "
                f"{self.full_refund.amount} {self.currency} minor units"
            )

    @property
    def largest_partial_refund(self) -> int:
        """The largest amount a partial refund may offer: less than the full refund (R13) and no
        more than is left to refund on the items, less one (R63)."""
        left = amount_left_to_refund(self.order_items, self.order_record)
        return min(self.full_refund.amount, left) - 1

    def check_offer_acceptable(self) -> None:
        """R14 with R63: the pending offer still fits in what is left to refund."""
        self.check_offer_pending()
        assert self.offer is not None
        partial_refund_shares(self.offer["amount"], self.order_items, self.order_record)

    def check_may_escalate(self) -> None:
        if not self.escalation_grounds():
            raise EscalationNotAllowed(
                "escalation is possible after the seller's response deadline passed, an offer "
                "lapsed, a no-refund explanation, or an information exchange; "
                f"the request is {self.status}"
            )

    def check_return_for_refund_open(self, at: datetime) -> None:
        until = (self.replacement or {}).get("return_until")
        if self.status != Status.REPLACEMENT_PENDING or until is None:
            raise ReturnForRefundNotAllowed(
                "returning the original for a refund is possible only once a replacement is "
                "overdue (R16)"
            )
        if at >= until:
            raise ReturnForRefundNotAllowed(
                f"the window to return the original for a refund closed at {until.isoformat()}"
            )

    def check_decision_due(self) -> None:
        if self.status != Status.ESCALATED:
            raise DecisionNotDue(f"only an escalated request can be decided: it is {self.status}")

    def check_waiting_on_support(self) -> None:
        if self.status != Status.ESCALATED:
            raise NotWaitingOnSupport(
                f"only a request waiting on support can be assigned: it is {self.status}"
            )

    def check_feedback_open(self) -> None:
        if not self.is_closed:
            raise FeedbackNotAllowed("feedback opens once the request is resolved or cancelled")
        if self.feedback is not None:
            raise FeedbackNotAllowed("feedback was already given for this request")

    def check_partial_amount(self, amount: int) -> None:
        full = self.full_refund.amount
        if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount < full:
            raise InvalidPartialAmount(
                f"a partial refund must be more than 0 and less than the full refund of {full} "
                f"{self.currency} minor units; got {amount!r}"
            )

    # -- seller responses (R10-R18) --

    def offer_full_refund(
        self,
        *,
        at: datetime,
        actor: str,
        shipment: Shipment | None = None,
        auto_claim: bool = False,
    ) -> None:
        self.check_response_due()
        check_something_left(self.order_items, self.order_record)
        claim = self._claim_for(shipment) if auto_claim else None
        shares = full_refund_shares(self.order_items, self.order_record)
        self._full_refund_offered(at=at, actor=actor, auto_claim=claim, **_money(shares, label=0))

    def offer_full_refund_with_return(
        self,
        *,
        at: datetime,
        actor: str,
        shipment: Shipment | None = None,
        auto_claim: bool = False,
        return_address: dict[str, Any] | None = None,
    ) -> None:
        self.check_response_due()
        check_something_left(self.order_items, self.order_record)
        claim = self._claim_for(shipment) if auto_claim else None
        due = self._business_days_after(at, self.policy.return_dropoff_days)
        self._return_required(
            at=at,
            actor=actor,
            return_dropoff_due=due,
            auto_claim=claim,
            return_address=return_address,
        )

    def offer_partial_refund(self, *, at: datetime, actor: str, amount: int) -> None:
        self.check_response_due()
        self.check_partial_refund_possible()
        self.check_partial_amount(amount)
        check_partial_within_left(amount, self.order_items, self.order_record)
        due = self._business_hours_after(at, self.policy.offer_answer_hours)
        self._partial_refund_offered(at=at, actor=actor, amount=amount, offer_answer_due=due)

    def send_replacement(
        self, *, at: datetime, actor: str, carrier: str, tracking_number: str
    ) -> None:
        self.check_response_due()
        if not carrier.strip() or not tracking_number.strip():
            raise TrackingRequired("a replacement needs the carrier and the tracking number (R16)")
        due = self._business_hours_after(at, self.policy.replacement_ship_hours)
        self._replacement_promised(
            at=at,
            actor=actor,
            carrier=carrier,
            tracking_number=tracking_number,
            replacement_ship_due=due,
        )

    def explain_no_refund(
        self, *, at: datetime, actor: str, message: str, evidence: list[str]
    ) -> None:
        self.check_response_due()
        if not message.strip():
            raise MessageRequired("explain why the case is outside the policy (R17)")
        if not evidence:
            raise EvidenceRequired("a no-refund explanation needs evidence attachments (R17)")
        due = self._business_days_after(at, self.policy.no_refund_close_days)
        self._no_refund_explained(
            at=at, actor=actor, message=message, evidence=list(evidence), no_refund_close_due=due
        )

    def request_information(self, *, at: datetime, actor: str, message: str) -> None:
        self.check_response_due()
        if not message.strip():
            raise MessageRequired("say what information you need (R18)")
        self._information_requested(at=at, actor=actor, message=message)

    def _claim_for(self, shipment: Shipment | None) -> dict[str, Any]:
        check_auto_claim_eligible(shipment, self.order_items, self.policy)
        assert shipment is not None  # checked above
        return {
            "tracking_number": shipment.tracking_number,
            "insured_value": shipment.insured_value,
            "file_at": shipment.shipped_at + timedelta(days=self.policy.claim_wait_calendar_days),
        }

    def _responded(self, at: datetime, kind: str) -> None:
        self.last_response = kind
        self.last_activity_at = at
        self.seller_missed_deadline = False
        self.offer_lapsed = False
        self.deadlines.pop(Deadline.SELLER_RESPONSE, None)
        self.deadlines.pop(Deadline.NO_REFUND_CLOSE, None)
        self.passed_deadlines.pop(Deadline.SELLER_RESPONSE, None)

    def _resolve(self, at: datetime, resolution: str, refund: int | None) -> None:
        self.status = Status.RESOLVED
        self.resolution = resolution
        self.closed_at = at
        self.last_activity_at = at
        self._clear_deadlines()
        if refund is not None:
            self.refund = {"amount": refund, "currency": self.currency}

    def _require_return(
        self,
        at: datetime,
        due: datetime,
        required_by: str,
        address: dict[str, Any] | None = None,
    ) -> None:
        """R68: `address` is where the return goes, recorded with the step that required it
        (None on events recorded before issue 28)."""
        self.status = Status.AWAITING_RETURN
        self.last_activity_at = at
        self._clear_deadlines()
        self._set_deadline(Deadline.RETURN_DROPOFF, due, at)
        self.return_ = {
            "required_by": required_by,
            "tracking_number": None,
            "label_cost": None,
            "dropped_off_at": None,
            "delivered_at": None,
            "address": address,
        }

    @event("FullRefundOffered")
    def _full_refund_offered(
        self,
        at: datetime,
        actor: str,
        amount: int,
        auto_claim: dict[str, Any] | None,
        remedy: list[dict[str, Any]] | None = None,  # R63; absent from events before it
        seller_charge: int | None = None,
    ) -> None:
        self._responded(at, ResponseType.FULL_REFUND)
        self.auto_claim = auto_claim
        self._resolve(at, Resolution.FULL_REFUND, amount)

    @event("ReturnRequired")
    def _return_required(
        self,
        at: datetime,
        actor: str,
        return_dropoff_due: datetime,
        auto_claim: dict[str, Any] | None,
        return_address: dict[str, Any] | None = None,  # issue 28; absent before it
    ) -> None:
        self._responded(at, ResponseType.FULL_REFUND_WITH_RETURN)
        self.auto_claim = auto_claim
        self._require_return(at, return_dropoff_due, "seller", return_address)

    @event("PartialRefundOffered")
    def _partial_refund_offered(
        self, at: datetime, actor: str, amount: int, offer_answer_due: datetime
    ) -> None:
        self._responded(at, ResponseType.PARTIAL_REFUND)
        self.status = Status.OFFER_PENDING
        self.offer = {
            "amount": amount,
            "currency": self.currency,
            "made_at": at,
            "state": OfferState.PENDING,
        }
        self._set_deadline(Deadline.OFFER_ANSWER, offer_answer_due, at)

    @event("ReplacementPromised")
    def _replacement_promised(
        self,
        at: datetime,
        actor: str,
        carrier: str,
        tracking_number: str,
        replacement_ship_due: datetime,
    ) -> None:
        self._responded(at, ResponseType.REPLACEMENT)
        self.status = Status.REPLACEMENT_PENDING
        self.replacement = {
            "carrier": carrier,
            "tracking_number": tracking_number,
            "overdue_at": None,
            "return_until": None,
        }
        self._set_deadline(Deadline.REPLACEMENT_SHIP, replacement_ship_due, at)

    @event("NoRefundExplained")
    def _no_refund_explained(
        self,
        at: datetime,
        actor: str,
        message: str,
        evidence: list[str],
        no_refund_close_due: datetime,
    ) -> None:
        self._responded(at, ResponseType.NO_REFUND)
        self.status = Status.AWAITING_BUYER
        self.messages.append({"author": actor, "body": message, "attachments": evidence, "at": at})
        self._set_deadline(Deadline.NO_REFUND_CLOSE, no_refund_close_due, at)

    @event("InformationRequested")
    def _information_requested(self, at: datetime, actor: str, message: str) -> None:
        self._responded(at, ResponseType.REQUEST_INFO)
        self.status = Status.AWAITING_BUYER
        self.info_requested = True
        self.messages.append({"author": actor, "body": message, "attachments": [], "at": at})

    # -- buyer answers an offer (R14) --

    def accept_offer(self, *, at: datetime, actor: str) -> None:
        self.check_offer_pending()
        assert self.offer is not None
        shares = partial_refund_shares(self.offer["amount"], self.order_items, self.order_record)
        self._offer_accepted(at=at, actor=actor, **_money(shares, label=0))

    def decline_offer(
        self, *, at: datetime, actor: str, return_address: dict[str, Any] | None = None
    ) -> None:
        self.check_offer_pending()
        due = self._business_days_after(at, self.policy.return_dropoff_days)
        self._offer_declined(
            at=at, actor=actor, return_dropoff_due=due, return_address=return_address
        )

    @event("OfferAccepted")
    def _offer_accepted(
        self,
        at: datetime,
        actor: str,
        amount: int,
        remedy: list[dict[str, Any]] | None = None,  # R63; absent from events before it
        seller_charge: int | None = None,
    ) -> None:
        self._offer_became(OfferState.ACCEPTED)
        self._resolve(at, Resolution.PARTIAL_REFUND, amount)

    @event("OfferDeclined")
    def _offer_declined(
        self,
        at: datetime,
        actor: str,
        return_dropoff_due: datetime,
        return_address: dict[str, Any] | None = None,  # issue 28; absent before it
    ) -> None:
        self._offer_became(OfferState.DECLINED)
        self._require_return(at, return_dropoff_due, "offer_declined", return_address)

    def _offer_became(self, state: OfferState) -> None:
        if self.offer is not None:
            self.offer["state"] = state

    # -- the return (R11, R12, R16, R22) --

    def record_return_label(
        self, *, at: datetime, actor: str, tracking_number: str, label_cost: int
    ) -> bool:
        """Returns False when this label is already recorded (upstream facts arrive again)."""
        if self.return_ is not None and self.return_["tracking_number"] == tracking_number:
            return False
        if self.status != Status.AWAITING_RETURN or self.return_["tracking_number"] is not None:
            raise ReturnLabelNotExpected(
                f"no return label is expected: the request is {self.status}"
            )
        if isinstance(label_cost, bool) or not isinstance(label_cost, int) or label_cost < 0:
            raise InvalidCommand(f"label_cost must be a non-negative integer, got {label_cost!r}")
        self._return_label_issued(
            at=at, actor=actor, tracking_number=tracking_number, label_cost=label_cost
        )
        return True

    def record_return_scan(self, *, at: datetime, actor: str, scan: str) -> bool:
        """Applies a carrier scan of the return; False when it changes nothing (already known)."""
        if scan in (ScanStatus.ACCEPTED, ScanStatus.IN_TRANSIT):
            if self.status != Status.AWAITING_RETURN:
                return False
            self._return_dropped_off(at=at, actor=actor)
            return True
        if scan == ScanStatus.DELIVERED:
            if self.status not in (Status.AWAITING_RETURN, Status.RETURN_IN_TRANSIT):
                return False
            due = self._business_days_after(at, self.policy.inspection_days)
            self._return_delivered(at=at, actor=actor, return_inspection_due=due)
            return True
        return False

    def confirm_return(self, *, at: datetime, actor: str) -> None:
        self.check_awaiting_inspection()
        self._return_confirmed(at=at, actor=actor, **self._refund_after_return())

    def dispute_return(self, *, at: datetime, actor: str, reason: str, evidence: list[str]) -> None:
        self.check_awaiting_inspection()
        if not reason.strip():
            raise MessageRequired("say what is wrong with the returned items (R12)")
        self._return_disputed(at=at, actor=actor, reason=reason, evidence=list(evidence))

    @event("ReturnLabelIssued")
    def _return_label_issued(
        self, at: datetime, actor: str, tracking_number: str, label_cost: int
    ) -> None:
        assert self.return_ is not None
        self.return_["tracking_number"] = tracking_number
        self.return_["label_cost"] = label_cost

    @event("ReturnDroppedOff")
    def _return_dropped_off(self, at: datetime, actor: str) -> None:
        assert self.return_ is not None
        self.status = Status.RETURN_IN_TRANSIT
        self.last_activity_at = at
        self.return_["dropped_off_at"] = at
        self.deadlines.pop(Deadline.RETURN_DROPOFF, None)

    @event("ReturnDelivered")
    def _return_delivered(self, at: datetime, actor: str, return_inspection_due: datetime) -> None:
        assert self.return_ is not None
        self.status = Status.AWAITING_INSPECTION
        self.last_activity_at = at
        self.return_["dropped_off_at"] = self.return_["dropped_off_at"] or at
        self.return_["delivered_at"] = at
        self.deadlines.pop(Deadline.RETURN_DROPOFF, None)
        self._set_deadline(Deadline.RETURN_INSPECTION, return_inspection_due, at)

    def _refund_after_return(self) -> dict[str, Any]:
        """R12/R31/R63: the returned items' refund is what is left of them; the seller pays what is
        left of their R30 amounts plus the label, unless the platform took on the return."""
        liable = self.return_liable
        shares = full_refund_shares(
            self.order_items, self.order_record, seller_liable=liable == Liable.SELLER
        )
        label = (self.return_ or {}).get("label_cost") or 0
        return _money(shares, label=label if liable == Liable.SELLER else 0)

    @property
    def return_liable(self) -> str:
        """Who pays for the return under way: the seller, unless a support decision said otherwise."""
        if (self.return_ or {}).get("required_by") == "support" and self.decision:
            return self.decision.get("liable") or Liable.SELLER
        return Liable.SELLER

    @event("ReturnConfirmed")
    def _return_confirmed(
        self,
        at: datetime,
        actor: str,
        amount: int,
        remedy: list[dict[str, Any]] | None = None,  # R63; absent from events before it
        seller_charge: int | None = None,
    ) -> None:
        self._resolve(at, Resolution.FULL_REFUND, amount)

    @event("ReturnDisputed")
    def _return_disputed(self, at: datetime, actor: str, reason: str, evidence: list[str]) -> None:
        self._escalate(at, by="seller_dispute", reason=reason, grounds=["return_disputed"])

    # -- replacement (R16) --

    def record_replacement_scan(self, *, at: datetime, actor: str, scan: str) -> bool:
        """The first carrier scan of the replacement resolves the request; later scans are no-ops."""
        if self.status != Status.REPLACEMENT_PENDING or scan == ScanStatus.RETURNED_TO_SENDER:
            return False
        self._replacement_shipped(at=at, actor=actor)
        return True

    def return_for_refund(
        self, *, at: datetime, actor: str, return_address: dict[str, Any] | None = None
    ) -> None:
        self.check_return_for_refund_open(at)
        assert self.replacement is not None
        until = self.replacement["return_until"]
        self._return_for_refund_chosen(
            at=at, actor=actor, return_dropoff_due=until, return_address=return_address
        )

    @event("ReplacementShipped")
    def _replacement_shipped(self, at: datetime, actor: str) -> None:
        self._resolve(at, Resolution.REPLACEMENT, None)

    @event("ReturnForRefundChosen")
    def _return_for_refund_chosen(
        self,
        at: datetime,
        actor: str,
        return_dropoff_due: datetime,
        return_address: dict[str, Any] | None = None,  # issue 28; absent before it
    ) -> None:
        self._require_return(at, return_dropoff_due, "replacement_overdue", return_address)

    # -- conversation (R17, R18, R21) --

    def post_message(
        self, *, at: datetime, actor: str, body: str, attachments: list[str], by_buyer: bool
    ) -> None:
        self.check_conversation_open()
        if not body.strip():
            raise MessageRequired("a message needs a body")
        new_due = None
        if by_buyer and self.status == Status.AWAITING_BUYER:
            new_due = self._business_hours_after(at, self.policy.seller_response_hours)
        self._message_posted(
            at=at,
            actor=actor,
            body=body,
            attachments=list(attachments),
            seller_response_due=new_due,
        )

    @event("MessagePosted")
    def _message_posted(
        self,
        at: datetime,
        actor: str,
        body: str,
        attachments: list[str],
        seller_response_due: datetime | None,
    ) -> None:
        self.messages.append({"author": actor, "body": body, "attachments": attachments, "at": at})
        self.last_activity_at = at
        if seller_response_due is not None:
            # R17/R18: the buyer answered; the seller owes a response again.
            self.info_exchanged = self.info_exchanged or self.info_requested
            self.status = Status.AWAITING_SELLER
            self.deadlines.pop(Deadline.NO_REFUND_CLOSE, None)
            self._set_deadline(Deadline.SELLER_RESPONSE, seller_response_due, at)

    # -- escalation and support (R19-R22) --

    def escalate(self, *, at: datetime, actor: str, reason: str) -> None:
        self.check_may_escalate()
        grounds = self.escalation_grounds()
        self._escalated(at=at, actor=actor, reason=reason, grounds=grounds)

    def decide(
        self,
        *,
        at: datetime,
        actor: str,
        outcome: str,
        evidence: list[str] | None = None,
        return_address: dict[str, Any] | None = None,
    ) -> None:
        self.check_decision_due()
        if outcome not in Outcome.__members__.values():
            raise InvalidCommand(f"unknown outcome {outcome!r}; one of: {', '.join(Outcome)}")
        liable = {
            Outcome.REFUND: Liable.SELLER,
            Outcome.REFUND_WITH_RETURN: Liable.SELLER,
            Outcome.PLATFORM_REFUND: Liable.PLATFORM,
            Outcome.UPHOLD_SELLER: None,
        }[Outcome(outcome)]
        money: dict[str, Any] = {"amount": None}
        if outcome != Outcome.UPHOLD_SELLER:
            check_something_left(self.order_items, self.order_record)
            # refund_with_return: what is left now; the refund itself is made at the return
            money["amount"] = amount_left_to_refund(self.order_items, self.order_record)
        if outcome in (Outcome.REFUND, Outcome.PLATFORM_REFUND):
            # R34 "the matching R30/R31 amount": with the label when the item already came back.
            shares = full_refund_shares(
                self.order_items, self.order_record, seller_liable=liable == Liable.SELLER
            )
            came_back = bool((self.return_ or {}).get("delivered_at"))
            label = (self.return_ or {}).get("label_cost") or 0
            money = _money(shares, label=label if came_back and liable == Liable.SELLER else 0)
        due = None
        if outcome == Outcome.REFUND_WITH_RETURN:
            due = self._business_days_after(at, self.policy.return_dropoff_days)
        self._support_decided(
            at=at,
            actor=actor,
            outcome=str(outcome),
            liable=None if liable is None else str(liable),
            return_dropoff_due=due,
            evidence=list(evidence or ()),
            **money,
            **({"return_address": return_address} if due is not None else {}),
        )

    def _escalate(self, at: datetime, by: str, reason: str, grounds: list[str]) -> None:
        self.status = Status.ESCALATED
        self.last_activity_at = at
        self._clear_deadlines()
        self.escalation = {"by": by, "reason": reason, "grounds": grounds, "at": at}
        self.assigned_to = None  # a new escalation is a new case for support

    # -- support assignment (issue 19) --

    def assign_agent(self, *, at: datetime, actor: str, agent_id: str) -> bool:
        """Puts a support agent on a request waiting on support, so that two agents do not
        decide the same case; False (no event) when that agent is already on it."""
        self.check_waiting_on_support()
        if not agent_id.strip() or len(agent_id) > 200:
            raise InvalidCommand("agent_id must be 1 to 200 characters")
        if getattr(self, "assigned_to", None) == agent_id:
            return False
        self._agent_assigned(at=at, actor=actor, agent_id=agent_id)
        return True

    @event("AgentAssigned")
    def _agent_assigned(self, at: datetime, actor: str, agent_id: str) -> None:
        self.assigned_to = agent_id

    @event("Escalated")
    def _escalated(self, at: datetime, actor: str, reason: str, grounds: list[str]) -> None:
        self._escalate(at, by="buyer", reason=reason, grounds=grounds)

    @event("SupportDecided")
    def _support_decided(
        self,
        at: datetime,
        actor: str,
        outcome: str,
        liable: str | None,
        amount: int | None,
        return_dropoff_due: datetime | None,
        evidence: list[str] | None = None,  # issue 21; absent from decisions recorded before it
        remedy: list[dict[str, Any]] | None = None,  # R63; absent from events before it
        seller_charge: int | None = None,
        return_address: dict[str, Any] | None = None,  # issue 28; only with a required return
    ) -> None:
        self.decision = {"outcome": outcome, "liable": liable, "agent": actor, "at": at}
        if outcome == Outcome.REFUND_WITH_RETURN:
            assert return_dropoff_due is not None
            self._require_return(at, return_dropoff_due, "support", return_address)
        elif outcome == Outcome.UPHOLD_SELLER:
            self._resolve(at, Resolution.NO_REFUND, None)
        else:
            self._resolve(at, Resolution.FULL_REFUND, amount)

    # -- feedback (R46) --

    def give_feedback(self, *, at: datetime, actor: str, thumbs: str) -> None:
        self.check_feedback_open()
        if thumbs not in Thumbs.__members__.values():
            raise InvalidCommand(f"thumbs must be 'up' or 'down', got {thumbs!r}")
        self._feedback_given(at=at, actor=actor, thumbs=str(thumbs))

    @event("FeedbackGiven")
    def _feedback_given(self, at: datetime, actor: str, thumbs: str) -> None:
        self.feedback = thumbs

    # -- timers --

    def fire_deadline(self, kind: str, due_at: datetime) -> bool:
        """Apply a deadline that became due; False when it no longer applies (a no-op)."""
        if self.deadlines.get(kind) != due_at:
            return False
        if kind == Deadline.SELLER_RESPONSE:
            self._seller_response_overdue(at=due_at, actor=SYSTEM_ACTOR)
        elif kind == Deadline.OFFER_ANSWER:
            self._offer_lapsed(at=due_at, actor=SYSTEM_ACTOR)
        elif kind == Deadline.RETURN_DROPOFF:
            self._return_window_expired(at=due_at, actor=SYSTEM_ACTOR)
        elif kind == Deadline.RETURN_INSPECTION:
            self._return_auto_confirmed(
                at=due_at, actor=SYSTEM_ACTOR, **self._refund_after_return()
            )
        elif kind == Deadline.REPLACEMENT_SHIP:
            until = self._business_days_after(due_at, self.policy.replacement_return_days)
            self._replacement_overdue(at=due_at, actor=SYSTEM_ACTOR, return_until=until)
        elif kind == Deadline.NO_REFUND_CLOSE:
            self._no_refund_closed(at=due_at, actor=SYSTEM_ACTOR)
        else:
            return False
        return True

    def fire_deadlines_due_by(self, at: datetime) -> None:
        """Apply the deadlines due at or before `at`, oldest first (as the timers would have)."""
        while True:
            due = sorted(
                (due_at, str(kind)) for kind, due_at in self.deadlines.items() if due_at <= at
            )
            if not due or not self.fire_deadline(due[0][1], due[0][0]):
                return

    @event("SellerResponseOverdue")
    def _seller_response_overdue(self, at: datetime, actor: str) -> None:
        self.seller_missed_deadline = True
        self.deadlines.pop(Deadline.SELLER_RESPONSE, None)
        # the seller may still respond (R19): the deadline stays in view, overdue
        self.passed_deadlines[Deadline.SELLER_RESPONSE] = at

    @event("OfferLapsed")
    def _offer_lapsed(self, at: datetime, actor: str) -> None:
        # R15 [decided]: back to awaiting the seller, with no new deadline; the buyer may escalate.
        self.status = Status.AWAITING_SELLER
        self._offer_became(OfferState.LAPSED)
        self.offer_lapsed = True
        self.last_activity_at = at
        self.deadlines.pop(Deadline.OFFER_ANSWER, None)

    @event("ReturnWindowExpired")
    def _return_window_expired(self, at: datetime, actor: str) -> None:
        self.status = Status.CANCELLED
        self.resolution = Resolution.RETURN_NOT_SHIPPED
        self.closed_at = at
        self.last_activity_at = at
        self._clear_deadlines()

    @event("ReturnAutoConfirmed")
    def _return_auto_confirmed(
        self,
        at: datetime,
        actor: str,
        amount: int,
        remedy: list[dict[str, Any]] | None = None,  # R63; absent from events before it
        seller_charge: int | None = None,
    ) -> None:
        self._resolve(at, Resolution.FULL_REFUND, amount)

    @event("ReplacementOverdue")
    def _replacement_overdue(self, at: datetime, actor: str, return_until: datetime) -> None:
        assert self.replacement is not None
        self.replacement["overdue_at"] = at
        self.replacement["return_until"] = return_until
        self.deadlines.pop(Deadline.REPLACEMENT_SHIP, None)
        # the seller may still ship it (a first scan resolves it, R16): it stays in view, overdue
        self.passed_deadlines[Deadline.REPLACEMENT_SHIP] = at

    @event("NoRefundClosed")
    def _no_refund_closed(self, at: datetime, actor: str) -> None:
        self._resolve(at, Resolution.NO_REFUND, None)


def _money(shares: list[ItemShare], *, label: int) -> dict[str, Any]:
    """A refunding event's money (R63): the buyer's refund, its per-item shares, and what the
    seller is charged for it (the shares' charges plus the return label of R31, if any)."""
    return {
        "amount": sum(s.refund for s in shares),
        "remedy": shares_data(shares),
        "seller_charge": sum(s.charge for s in shares) + label,
    }


# The topics of the aggregate and its events are stored with every event and hashed into its chain
# link (R62). They name the module the aggregate lived in before the domain became a package,
# `services.requests.domain:SupportRequest.<Event>`, explicitly (eventsourcing's `TOPIC`), so events
# are stored exactly as before; the package re-exports the class, so those topics resolve
# (docs/decisions.md, "Issue 17 — layers inside services/requests").
STORED_TOPIC_MODULE = "services.requests.domain"


def _keep_stored_topics(aggregate: type[Aggregate]) -> None:
    aggregate.TOPIC = f"{STORED_TOPIC_MODULE}:{aggregate.__qualname__}"
    for value in vars(aggregate).values():
        if isinstance(value, type) and issubclass(value, Aggregate.Event):
            value.TOPIC = f"{STORED_TOPIC_MODULE}:{value.__qualname__}"


_keep_stored_topics(SupportRequest)
