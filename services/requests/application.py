"""Use cases of the requests service: plain values in, plain values out.

Every command runs in one database transaction that holds the new events and every side table they
touch (item locks, tracking links, deadlines), so a crash never leaves a deadline without its event or
an event without its deadline. Persistence is eventsourcing-sqlalchemy: one transaction for events and
our own rows, on SQLite or PostgreSQL alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session

from services.requests import chain, store
from services.requests.domain import (
    SYSTEM_ACTOR,
    IllegalTransition,
    InvalidCommand,
    OrderItem,
    ResponseType,
    Shipment,
    SupportRequest,
)
from services.requests.event_store import EventsRecorder
from services.requests.policy import CURRENT_POLICY_VERSION
from services.requests.receipts import KeyClaim, claim_key, record_answer, record_fact_answer
from shared.clock import Clock
from shared.contracts.upstream import (
    FraudSuspected,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
    ReturnLabelCreated,
    ShipmentScanned,
)
from shared.database import tune_sqlite
from shared.migrations import ensure_schema
from shared.tracing import current_traceparent

# --- errors the application adds to the domain's ---------------------------------------------


class RequestNotFound(LookupError):
    """Unknown request, or one the caller may not see: both answer the same (no existence leak)."""


class OrderNotFound(LookupError):
    """R9: unknown order, or not the caller's."""


class Forbidden(PermissionError):
    """The caller's role may not do this at all."""


class UnknownItems(InvalidCommand):
    """R4/R9: named items that are not on the order."""


class ItemAlreadyOpen(IllegalTransition):
    """R9: one open request per order item."""


class ConcurrentUpdate(IllegalTransition):
    """Another command changed the request first; retry against the new state."""


class TrackingNumberInUse(IllegalTransition):
    """A tracking number already belongs to another return or replacement."""


class UpstreamConflict(IllegalTransition):
    """An upstream fact contradicts one already recorded (e.g. an order placed twice, differently)."""


def _contradiction(field: str, recorded: Any, sent: Any) -> str:
    """What an upstream fact contradicts, for its 409 (and the DLQ's reason on Kafka)."""
    if isinstance(recorded, datetime):
        recorded = _aware(recorded).isoformat()
    if isinstance(sent, datetime):
        sent = sent.isoformat()
    if isinstance(recorded, dict) and isinstance(sent, dict):
        keys = [k for k in sorted(set(recorded) | set(sent)) if recorded.get(k) != sent.get(k)]
        return "; ".join(
            f"{field}.{k} recorded {recorded.get(k)!r}, sent {sent.get(k)!r}" for k in keys
        )
    if isinstance(recorded, list) and isinstance(sent, list):
        old = {str(i.get("item_id")): i for i in recorded if isinstance(i, dict)}
        new = {str(i.get("item_id")): i for i in sent if isinstance(i, dict)}
        return "; ".join(
            _contradiction(f"{field}[{k}]", old.get(k), new.get(k))
            for k in sorted(set(old) | set(new))
            if old.get(k) != new.get(k)
        )
    return f"{field} recorded {recorded!r}, sent {sent!r}"


class _FactTransaction:
    """An upstream fact's session, and whether the fact changed anything once it is known."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.changed: bool | None = None

    def done(self, changed: bool) -> bool:
        self.changed = changed
        return changed


class UnknownTrackingNumber(LookupError):
    """A scan for a shipment no order or request knows."""


# --- who is acting ------------------------------------------------------------------------------


ROLES = ("buyer", "seller", "support", "auditor", "admin", "platform")


@dataclass(frozen=True)
class Actor:
    role: str
    id: str

    def __str__(self) -> str:
        return f"{self.role}:{self.id}"


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


_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_topic"}


def event_name(domain_event: Any) -> str:
    """`SupportRequest.FullRefundOffered` -> `full_refund_offered` (API.md, CloudEvents type)."""
    return event_name_of_class(type(domain_event).__name__)


def event_name_of_class(class_name: str) -> str:
    return _CAMEL.sub("_", class_name).lower()


def event_data(domain_event: Any) -> dict[str, Any]:
    data = {k: v for k, v in domain_event.__dict__.items() if k not in _ENVELOPE_FIELDS}
    data.pop("at", None)
    data.pop("actor", None)
    return data


class RequestsApplication(Application):
    """The only writer of support-request state."""

    name = "requests"
    # The attachments port (services/requests/attachments): resolves attachment ids a command
    # names and claims them in its transaction; None: references are kept as given.
    attachments: Any = None

    def __init__(self, clock: Clock, env: dict[str, str] | None = None) -> None:
        super().__init__(env=env)
        self.clock = clock
        if not isinstance(self.recorder, EventsRecorder):
            raise TypeError(f"the requests application needs PERSISTENCE_MODULE={EVENT_STORE}")
        # R62: each new event's link in its request's hash chain, and the trace it belongs to,
        # written in the command's transaction just before the events (not under their lock).
        self.recorder.before_lock = lambda session, stored: chain.record_chain(
            session, stored, current_traceparent()
        )
        ensure_schema(self.engine, store.STORE)
        if self.recorder.datastore.is_sqlite_filedb:
            # The pool holds the connection that created the tables: drop it so every connection
            # gets the pragmas (WAL; still an fsync per commit: an acknowledged command is durable).
            tune_sqlite(self.engine, durable=True)
            self.engine.dispose()

    @property
    def engine(self) -> Any:
        return self.recorder.datastore.engine

    # --- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Session]:
        try:
            with self.recorder.transaction() as session:
                yield session
        except IntegrityError as error:
            raise ConcurrentUpdate(
                "the request changed while this command ran; reload it and try again"
            ) from error

    def _references(
        self, actor: Actor, request_id: UUID | str | None, field: str, references: list[str]
    ) -> list[str]:
        """Attachment ids checked and recorded with their sha256 (plain references unchanged)."""
        if self.attachments is None or not references:
            return list(references)
        rid = None if request_id is None else str(request_id)
        return self.attachments.resolve(actor.role, actor.id, rid, field, list(references))

    def _load(self, request_id: UUID | str) -> SupportRequest:
        try:
            return self.repository.get(_as_uuid(request_id))
        except (AggregateNotFoundError, ValueError):
            raise RequestNotFound(f"no support request {request_id}") from None

    def _visible(self, request: SupportRequest, actor: Actor) -> bool:
        if actor.role in ("support", "auditor"):
            return True
        if actor.role == "buyer":
            return request.buyer_id == actor.id
        if actor.role == "seller":
            return request.seller_id == actor.id
        return False

    def _load_for(self, request_id: UUID | str, actor: Actor) -> SupportRequest:
        request = self._load(request_id)
        if not self._visible(request, actor):
            raise RequestNotFound(f"no support request {request_id}")
        return request

    def _command(
        self,
        request_id: UUID | str,
        actor: Actor,
        roles: tuple[str, ...],
        change: Callable[[SupportRequest], Any],
        at: datetime | None = None,
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        """Load, check the caller is the right party, change, save with side tables, in one go.

        Deadlines that came due by `at` apply first, as the timer loop would have applied them:
        a rule bounded by a deadline holds by the clock, not by when the loop last ran.

        An `Idempotency-Key` claimed for this command (`claim`, passed by the route; `receipts`) is
        its transaction's first statement and its answer the last before the events: all commit
        together."""
        with self._transaction() as session:
            if claim is not None:
                claim_key(session, claim)
            request = self._load_for(request_id, actor)
            if actor.role not in roles:
                raise Forbidden(f"a {actor.role} may not do this; it is for: {', '.join(roles)}")
            stored = _deadline_rows(request)
            _fire_deadlines_due_by(request, self.clock.now() if at is None else at)
            change(request)
            receipt = None if claim is None else record_answer(session, claim, request)
            self._save_with_side_tables(session, request, stored)
        if claim is not None:
            claim.recorded = receipt
        return request

    def _apply_fact(
        self,
        request_id: UUID | str,
        change: Callable[[SupportRequest], bool],
        claim: KeyClaim | None = None,
    ) -> bool:
        """Upstream facts move a request without a party acting; False when nothing changed."""
        with self._fact_transaction(self._transaction, claim) as tx:
            request = self._load(request_id)
            stored = _deadline_rows(request)
            changed = tx.done(change(request))
            self._save_with_side_tables(tx.session, request, stored)
        return changed

    @contextmanager
    def _fact_transaction(
        self,
        transaction: Callable[[], AbstractContextManager[Session]] | None = None,
        claim: KeyClaim | None = None,
    ) -> Iterator[_FactTransaction]:
        """The transaction of an upstream fact. With an `Idempotency-Key` (issue 18, class 9) the
        key is its first statement and the answer (`tx.done(changed)`) its last: the key commits
        with the fact's effect or not at all, as a support-request command's does."""
        if claim is not None and claim.answer is None:
            claim = None  # a support-request command's claim: not this transaction's to record
        with (transaction or self.recorder.transaction)() as session:
            if claim is not None:
                claim_key(session, claim)
            tx = _FactTransaction(session)
            yield tx
            if claim is not None and tx.changed is not None:
                claim.recorded = record_fact_answer(session, claim, tx.changed)
                claim.answer = None  # consumed: one fact, one key

    def _save_with_side_tables(
        self, session: Session, request: SupportRequest, stored: _DeadlineRows | None = None
    ) -> None:
        """Save the new events and bring the side tables in line. `stored`: the deadline rows as
        they were when the request was loaded (`_deadline_rows`), or None when not known (always
        rewrite); the deadline rows are rewritten only when they changed - most commands leave
        them alone, and the delete + inserts were a third of a command's statements.

        The side tables are written before the events: on PostgreSQL saving the events locks the
        events table until the commit (the relay's order), so every statement after `save` is one
        that all other commands wait for."""
        rid = str(request.id)
        wanted = _deadline_rows(request)
        if wanted != stored:
            if stored is None or stored[1]:
                session.execute(_DELETE_DEADLINES, {"b_request_id": rid})
            rows = [
                {"request_id": rid, "kind": kind, "due_at": due_at, "policy_version": wanted[0]}
                for kind, due_at in wanted[1]
            ]
            if rows:
                session.execute(_INSERT_DEADLINES, rows)
        if request.is_closed:
            session.execute(_RELEASE_ITEM_LOCKS, {"b_request_id": rid})
        for purpose, tracking in (
            ("replacement", (request.replacement or {}).get("tracking_number")),
            ("return", (request.return_ or {}).get("tracking_number")),
        ):
            if tracking:
                self._link_tracking(session, tracking, rid, purpose)
        if self.attachments is not None:
            self.attachments.bind(session, request)
        self.save(request)

    def _link_tracking(self, session: Session, tracking: str, rid: str, purpose: str) -> None:
        owner = session.execute(_TRACKING_OWNER, {"b_tracking": tracking}).scalar_one_or_none()
        if owner is None:
            session.execute(
                _INSERT_TRACKING_LINK,
                {"tracking_number": tracking, "request_id": rid, "purpose": purpose},
            )
        elif owner != rid:
            raise TrackingNumberInUse(f"tracking number {tracking} belongs to another shipment")

    # --- upstream facts (R60) --------------------------------------------------------------------

    def record_order_placed(self, fact: OrderPlaced, claim: KeyClaim | None = None) -> bool:
        """Returns False when the same order was already recorded identically."""
        row = {
            "order_id": fact.order_id,
            "buyer_id": fact.buyer_id,
            "seller_id": fact.seller_id,
            "currency": fact.currency,
            "marketplace": fact.marketplace,
            "placed_at": fact.placed_at,
            "fraud_suspected": fact.fraud_suspected,
            "items": [item.model_dump() for item in fact.items],
        }
        with self._fact_transaction(claim=claim) as tx:
            session = tx.session
            existing = self._order_row(session, fact.order_id)
            if existing is None:
                session.execute(insert(store.orders).values(**row))
                return tx.done(True)
            differing = [
                k
                for k, v in row.items()
                if k != "fraud_suspected"
                and not (_same_time(existing[k], v) if k == "placed_at" else existing[k] == v)
            ]
            if differing:
                raise UpstreamConflict(
                    f"order {fact.order_id} was already placed with other data: "
                    + "; ".join(_contradiction(k, existing[k], row[k]) for k in differing)
                )
            if fact.fraud_suspected and not existing["fraud_suspected"]:
                # A redelivered order that now carries the fraud signal flags it (R6); a flag is
                # never cleared by a redelivery without it.
                session.execute(
                    update(store.orders)
                    .where(store.orders.c.order_id == fact.order_id)
                    .values(fraud_suspected=True)
                )
                return tx.done(True)
            return tx.done(False)

    def record_order_shipped(self, fact: OrderShipped, claim: KeyClaim | None = None) -> bool:
        shipment = fact.model_dump(mode="json", exclude={"type", "order_id"})
        return self._update_order(fact.order_id, "shipment", shipment, once=True, claim=claim)

    def record_order_delivered(self, fact: OrderDelivered, claim: KeyClaim | None = None) -> bool:
        return self._update_order(
            fact.order_id, "delivered_at", fact.delivered_at, once=True, claim=claim
        )

    def flag_fraud(self, fact: FraudSuspected, claim: KeyClaim | None = None) -> bool:
        return self._update_order(fact.order_id, "fraud_suspected", True, claim=claim)

    def _update_order(
        self,
        order_id: str,
        column: str,
        value: Any,
        once: bool = False,
        claim: KeyClaim | None = None,
    ) -> bool:
        """`once`: the column is a fact recorded once (issue 18): another value contradicts it."""
        with self._fact_transaction(claim=claim) as tx:
            session = tx.session
            existing = self._order_row(session, order_id)
            if existing is None:
                raise OrderNotFound(f"no order {order_id}")
            current = existing[column]
            if isinstance(current, datetime):
                current = _aware(current)
            if current == value:
                return tx.done(False)
            if once and current is not None:
                raise UpstreamConflict(
                    f"order {order_id} already has another {column}: "
                    + _contradiction(column, current, value)
                )
            session.execute(
                update(store.orders)
                .where(store.orders.c.order_id == order_id)
                .values({column: value})
            )
            return tx.done(True)

    def record_return_label(self, fact: ReturnLabelCreated, claim: KeyClaim | None = None) -> bool:
        def change(request: SupportRequest) -> bool:
            recorded = request.return_ or {}
            if (
                recorded.get("tracking_number") == fact.tracking_number
                and recorded.get("label_cost") != fact.label_cost
            ):
                raise UpstreamConflict(
                    f"the return label {fact.tracking_number} of request {fact.request_id} was "
                    f"already created with another label_cost: "
                    + _contradiction("label_cost", recorded.get("label_cost"), fact.label_cost)
                )
            return request.record_return_label(
                at=fact.at,
                actor="platform",
                tracking_number=fact.tracking_number,
                label_cost=fact.label_cost,
            )

        return self._apply_fact(fact.request_id, change, claim)

    def record_shipment_scan(self, fact: ShipmentScanned, claim: KeyClaim | None = None) -> bool:
        """A carrier scan of a return or replacement moves its request; the original's is kept."""
        with self.recorder.transaction() as session:
            link = session.execute(
                select(store.tracking_links).where(
                    store.tracking_links.c.tracking_number == fact.tracking_number
                )
            ).first()
            if link is None:
                order_id = session.execute(
                    select(store.orders.c.order_id).where(
                        store.orders.c.shipment["tracking_number"].as_string()
                        == fact.tracking_number
                    )
                ).scalar_one_or_none()
        if link is None:
            if order_id is None:
                raise UnknownTrackingNumber(
                    f"no shipment with tracking number {fact.tracking_number}"
                )
            if fact.status == "delivered":
                return self._update_order(order_id, "delivered_at", fact.at, claim=claim)
            return False

        def change(request: SupportRequest) -> bool:
            if link.purpose == "return":
                return request.record_return_scan(at=fact.at, actor="carrier", scan=fact.status)
            return request.record_replacement_scan(at=fact.at, actor="carrier", scan=fact.status)

        return self._apply_fact(link.request_id, change, claim)

    def _order_row(self, session: Session, order_id: str) -> dict[str, Any] | None:
        row = session.execute(_ORDER, {"b_order_id": order_id}).first()
        return None if row is None else dict(row._mapping)

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.recorder.transaction(commit=False) as session:
            return self._order_row(session, order_id)

    # --- commands --------------------------------------------------------------------------------

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
        try:
            with self.recorder.transaction() as session:
                if claim is not None:
                    claim_key(session, claim)
                order = self._order_row(session, order_id)
                if order is None or order["buyer_id"] != actor.id:
                    raise OrderNotFound(f"no order {order_id} of yours")  # R9
                by_id = {item["item_id"]: item for item in order["items"]}
                unknown = [i for i in item_ids if i not in by_id]
                if unknown:
                    raise UnknownItems(f"not items of order {order_id}: {', '.join(unknown)}")
                request = SupportRequest.open(
                    request_id=request_id,
                    at=self.clock.now(),
                    order_id=order_id,
                    buyer_id=order["buyer_id"],
                    seller_id=order["seller_id"],
                    marketplace=order["marketplace"],
                    currency=order["currency"],
                    items=[OrderItem(**by_id[i]) for i in item_ids],
                    reason=reason,
                    description=description,
                    photos=photos,
                    fraud_suspected=order["fraud_suspected"],
                    policy_version=CURRENT_POLICY_VERSION,
                )
                self._lock_items(session, order_id, item_ids, str(request_id))
                session.execute(
                    _INDEX_BY_ORDER,
                    {
                        "request_id": str(request_id),
                        "order_id": order_id,
                        "opened_at": request.opened_at,
                    },
                )
                receipt = (
                    None if claim is None else record_answer(session, claim, request, created=True)
                )
                self._save_with_side_tables(session, request, (request.policy_version, ()))
        except IntegrityError as error:
            raise ItemAlreadyOpen(
                "an item of this order already has an open support request (R9)"
            ) from error
        if claim is not None:
            claim.recorded = receipt
        return request

    def _lock_items(self, session: Session, order_id: str, item_ids: list[str], rid: str) -> None:
        held = (
            session.execute(_HELD_ITEMS, {"b_order_id": order_id, "b_item_ids": item_ids})
            .scalars()
            .all()
        )
        if held:
            raise ItemAlreadyOpen(
                f"item(s) {', '.join(sorted(held))} of order {order_id} already have an open "
                "support request (R9)"
            )
        session.execute(
            _LOCK_ITEM,
            [{"order_id": order_id, "item_id": item_id, "request_id": rid} for item_id in item_ids],
        )

    def respond(
        self,
        request_id: UUID | str,
        actor: Actor,
        response: SellerResponse,
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        at = self.clock.now()
        evidence = self._references(actor, request_id, "evidence", list(response.evidence))

        def change(request: SupportRequest) -> None:
            who = str(actor)
            if response.type == ResponseType.FULL_REFUND:
                request.offer_full_refund(
                    at=at,
                    actor=who,
                    shipment=self._shipment(request),
                    auto_claim=response.auto_claim,
                )
            elif response.type == ResponseType.FULL_REFUND_WITH_RETURN:
                request.offer_full_refund_with_return(
                    at=at,
                    actor=who,
                    shipment=self._shipment(request),
                    auto_claim=response.auto_claim,
                )
            elif response.type == ResponseType.PARTIAL_REFUND:
                request.offer_partial_refund(at=at, actor=who, amount=response.amount)
            elif response.type == ResponseType.REPLACEMENT:
                request.send_replacement(
                    at=at,
                    actor=who,
                    carrier=response.carrier,
                    tracking_number=response.tracking_number,
                )
            elif response.type == ResponseType.NO_REFUND:
                request.explain_no_refund(
                    at=at, actor=who, message=response.message, evidence=evidence
                )
            elif response.type == ResponseType.REQUEST_INFO:
                request.request_information(at=at, actor=who, message=response.message)
            else:
                raise InvalidCommand(
                    f"unknown response type {response.type!r}; one of: {', '.join(ResponseType)}"
                )

        return self._command(request_id, actor, ("seller",), change, at=at, claim=claim)

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
            ("buyer",),
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
            ("buyer",),
            lambda r: r.decline_offer(at=at, actor=str(actor)),
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
            ("seller",),
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
            ("seller",),
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
            ("buyer",),
            lambda r: r.return_for_refund(at=at, actor=str(actor)),
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
            ("buyer", "seller"),
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
            ("buyer",),
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
            ("support",),
            lambda r: r.decide(at=at, actor=str(actor), outcome=outcome, evidence=evidence),
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
            ("support",),
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
            ("buyer",),
            lambda r: r.give_feedback(at=at, actor=str(actor), thumbs=thumbs),
            at=at,
            claim=claim,
        )

    # --- timers ----------------------------------------------------------------------------------

    def due_deadlines(self, now: datetime, limit: int = 500) -> list[tuple[str, str, datetime]]:
        with self.recorder.transaction(commit=False) as session:
            rows = session.execute(
                select(
                    store.deadlines.c.request_id, store.deadlines.c.kind, store.deadlines.c.due_at
                )
                .where(store.deadlines.c.due_at <= now)
                .order_by(store.deadlines.c.due_at, store.deadlines.c.request_id)
                .limit(limit)
            ).all()
        return [(r.request_id, r.kind, _aware(r.due_at)) for r in rows]

    def next_deadline(self) -> datetime | None:
        with self.recorder.transaction(commit=False) as session:
            due = session.execute(
                select(store.deadlines.c.due_at).order_by(store.deadlines.c.due_at).limit(1)
            ).scalar_one_or_none()
        return None if due is None else _aware(due)

    def fire_due(self, now: datetime | None = None) -> int:
        """Apply every deadline due at `now` (default: the clock), oldest first; returns the count
        of events it caused. Safe to run concurrently and repeatedly: a deadline that no longer
        applies is a no-op, and a conflict means another runner already handled it."""
        now = now or self.clock.now()
        fired = 0
        while True:
            due = self.due_deadlines(now)
            if not due:
                return fired
            progressed = False
            for request_id, kind, due_at in due:
                try:
                    with self._transaction() as session:
                        request = self._load(request_id)
                        stored = _deadline_rows(request)
                        if request.fire_deadline(kind, due_at):
                            fired += 1
                        progressed = True
                        self._save_with_side_tables(session, request, stored)
                        # A deadline the aggregate no longer holds would otherwise be due forever.
                        session.execute(
                            delete(store.deadlines).where(
                                store.deadlines.c.request_id == request_id,
                                store.deadlines.c.kind == kind,
                                store.deadlines.c.due_at <= due_at,
                            )
                        )
                except ConcurrentUpdate:
                    progressed = True  # another runner moved this request; re-read what is due
            if not progressed:
                return fired

    # --- queries ---------------------------------------------------------------------------------

    def get_request(
        self, request_id: UUID | str, actor: Actor, as_of: datetime | None = None
    ) -> SupportRequest:
        request = self._load_for(request_id, actor)
        if as_of is None:
            return request
        past = self.state_as_of(request.id, as_of)
        if past is None:
            raise RequestNotFound(f"support request {request_id} did not exist at {as_of}")
        return past

    def state_as_of(self, request_id: UUID, as_of: datetime) -> SupportRequest | None:
        """R62: replay the request's events that had happened by `as_of`."""
        request = None
        for domain_event in self.events.get(request_id):
            if domain_event.at > as_of:
                break
            request = domain_event.mutate(request)
        return request

    def history(self, request_id: UUID | str, actor: Actor) -> list[dict[str, Any]]:
        request = self._load_for(request_id, actor)
        return [
            {
                "version": e.originator_version,
                "type": event_name(e),
                "at": e.at,
                "actor": e.actor,
                "data": event_data(e),
            }
            for e in self.events.get(request.id)
        ]

    def requests_for_order(self, order_id: str, actor: Actor) -> list[SupportRequest]:
        with self.recorder.transaction(commit=False) as session:
            order = self._order_row(session, order_id)
            ids = (
                session.execute(
                    select(store.requests_by_order.c.request_id)
                    .where(store.requests_by_order.c.order_id == order_id)
                    .order_by(store.requests_by_order.c.opened_at)
                )
                .scalars()
                .all()
            )
        parties = () if order is None else (order["buyer_id"], order["seller_id"])
        if actor.role not in ("support", "auditor") and actor.id not in parties:
            raise OrderNotFound(f"no order {order_id}")
        if order is None:
            raise OrderNotFound(f"no order {order_id}")
        return [self._load(i) for i in ids]


# The statements of every command, built once: building and cache-keying a statement per call cost
# as much as executing it.
_ORDER = select(store.orders).where(store.orders.c.order_id == bindparam("b_order_id"))
_HELD_ITEMS = select(store.item_locks.c.item_id).where(
    store.item_locks.c.order_id == bindparam("b_order_id"),
    store.item_locks.c.item_id.in_(bindparam("b_item_ids", expanding=True)),
)
_LOCK_ITEM = insert(store.item_locks)
_RELEASE_ITEM_LOCKS = delete(store.item_locks).where(
    store.item_locks.c.request_id == bindparam("b_request_id")
)
_INDEX_BY_ORDER = insert(store.requests_by_order)
_DELETE_DEADLINES = delete(store.deadlines).where(
    store.deadlines.c.request_id == bindparam("b_request_id")
)
_INSERT_DEADLINES = insert(store.deadlines)
_TRACKING_OWNER = select(store.tracking_links.c.request_id).where(
    store.tracking_links.c.tracking_number == bindparam("b_tracking")
)
_INSERT_TRACKING_LINK = insert(store.tracking_links)

# (policy version, ((kind, due at), ...) sorted): what the deadlines side table holds for a request.
_DeadlineRows = tuple[Any, tuple[tuple[str, datetime], ...]]


def _deadline_rows(request: SupportRequest) -> _DeadlineRows:
    return (
        request.policy_version,
        tuple(sorted((str(kind), due_at) for kind, due_at in request.deadlines.items())),
    )


def _fire_deadlines_due_by(request: SupportRequest, at: datetime) -> None:
    """Apply the request's deadlines due at or before `at`, oldest first."""
    while True:
        due = sorted(
            (due_at, str(kind)) for kind, due_at in request.deadlines.items() if due_at <= at
        )
        if not due or not request.fire_deadline(due[0][1], due[0][0]):
            return


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def _same_time(stored: datetime, sent: datetime) -> bool:
    """SQLite keeps a time's wall-clock digits without its offset; PostgreSQL the instant."""
    if stored.tzinfo is None:
        return stored in (sent.replace(tzinfo=None), sent.astimezone(UTC).replace(tzinfo=None))
    return stored == sent


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes for UTC columns; PostgreSQL aware ones."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


__all__ = [
    "SYSTEM_ACTOR",
    "Actor",
    "RequestsApplication",
    "SellerResponse",
    "open_application",
]


EVENT_STORE = "services.requests.event_store:EventStoreFactory"


def open_application(database_url: str, clock: Clock) -> RequestsApplication:
    """The requests application on SQLite (`sqlite:///path`) or PostgreSQL (`postgresql+psycopg://…`)."""
    return RequestsApplication(
        clock,
        env={"PERSISTENCE_MODULE": EVENT_STORE, "SQLALCHEMY_URL": database_url},
    )
