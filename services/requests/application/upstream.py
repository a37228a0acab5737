"""Upstream facts (R60): what the order, shipping and fraud services tell us. Each is applied in its
own transaction and is idempotent: True when it changed something, False for a fact already known.

One table maps a fact type to its handler: `UPSTREAM_FACTS`, this service's own handlers, into which
a component that owns other facts contributes its own when the application is made or later
(`RequestsApplication(..., fact_handlers=...)`, `register_fact_handlers()`: the embedded composition
gives the ledger's `claim_paid`). The HTTP ingest route and the Kafka consumer both go through
`apply_upstream_fact()`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from services.requests.application.core import RequestsCore, _aware, _deadline_rows, _same_time
from services.requests.application.errors import (
    FactNotHandled,
    OrderNotFound,
    UnknownTrackingNumber,
    UpstreamConflict,
)
from services.requests.application.programme import Programme
from services.requests.domain import SupportRequest
from services.requests.domain.delivery import check_delivery_time
from services.requests.persistence.receipts import KeyClaim, claim_key, record_fact_answer
from shared.contracts.upstream import (
    FraudSuspected,
    OrderDelivered,
    OrderPlaced,
    OrderShipped,
    ReturnLabelCreated,
    ShipmentScanned,
)

# A handler of one fact: True when the fact changed something.
FactHandler = Callable[[Any], bool]
# This service's own handlers also take the `Idempotency-Key` claim of the fact's transaction.
OwnFactHandler = Callable[[Any, KeyClaim | None], bool]


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

    def __init__(self, session: Any) -> None:
        self.session = session
        self.changed: bool | None = None

    def done(self, changed: bool) -> bool:
        self.changed = changed
        return changed


class UpstreamFacts(RequestsCore):
    # fact type -> handler: `UPSTREAM_FACTS` bound to this application, plus contributed ones
    fact_handlers: dict[str, OwnFactHandler]

    def _init_fact_handlers(self, contributed: Mapping[str, FactHandler] | None) -> None:
        self.fact_handlers = {
            fact_type: getattr(self, handler.__name__)
            for fact_type, handler in UPSTREAM_FACTS.items()
        }
        self.register_fact_handlers(contributed or {})

    def register_fact_handlers(self, handlers: Mapping[str, FactHandler]) -> None:
        """Add the handlers of facts another component owns (e.g. the ledger's `claim_paid` in
        the embedded process). A fact type has one handler: registering a known one is an error."""
        taken = sorted(set(handlers) & set(self.fact_handlers))
        if taken:
            raise ValueError(f"upstream fact types already handled: {', '.join(taken)}")
        for fact_type, handler in handlers.items():
            # Another component's fact commits in that component's store: the claim is not its.
            self.fact_handlers[fact_type] = lambda fact, _claim, handler=handler: handler(fact)

    def apply_upstream_fact(self, fact: Any, claim: KeyClaim | None = None) -> bool:
        """Apply one upstream fact with its handler; True when it changed something. A type no
        handler is registered for raises `FactNotHandled`. `claim`: the `Idempotency-Key` of the
        HTTP ingest, recorded in the fact's own transaction (issue 18, class 9)."""
        handler = self.fact_handlers.get(fact.type)
        if handler is None:
            raise FactNotHandled(f"no handler for upstream fact type {fact.type!r}")
        return bool(handler(fact, claim))

    # --- the handlers ------------------------------------------------------------------------------

    def record_order_placed(self, fact: OrderPlaced, claim: KeyClaim | None = None) -> bool:
        """Returns False when the same order was already recorded identically."""
        row = {
            "order_id": fact.order_id,
            "buyer_id": fact.buyer_id,
            "seller_id": fact.seller_id,
            "currency": fact.currency,
            "marketplace": fact.marketplace,
            # in UTC: SQLite keeps a time's digits without its offset, and the order list pages
            # by placed_at (R64)
            "placed_at": fact.placed_at.astimezone(UTC),
            "fraud_suspected": fact.fraud_suspected,
            # the optional R64 fields only when sent: an order recorded before them compares equal
            "items": [item.model_dump(mode="json", exclude_none=True) for item in fact.items],
        }
        with self._fact_transaction(claim=claim) as tx:
            session = tx.session
            existing = self._order_row(session, fact.order_id)
            if existing is None:
                self.side_tables.insert_order(session, row)
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
                self.side_tables.update_order(session, fact.order_id, {"fraud_suspected": True})
                return tx.done(True)
            return tx.done(False)

    def record_order_shipped(self, fact: OrderShipped, claim: KeyClaim | None = None) -> bool:
        shipment = fact.model_dump(mode="json", exclude={"type", "order_id"})
        return self._update_order(fact.order_id, "shipment", shipment, once=True, claim=claim)

    def record_order_delivered(self, fact: OrderDelivered, claim: KeyClaim | None = None) -> bool:
        return self._update_order(
            fact.order_id,
            "delivered_at",
            fact.delivered_at,
            once=True,
            claim=claim,
            check=_delivered_at(fact.order_id, fact.delivered_at),
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
        check: Callable[[Mapping[str, Any]], None] | None = None,
    ) -> bool:
        """`once`: the column is a fact recorded once (issue 18): another value contradicts it.
        `check(order row)`: raises when the value cannot be true of this order."""
        with self._fact_transaction(claim=claim) as tx:
            session = tx.session
            existing = self._order_row(session, order_id)
            if existing is None:
                raise OrderNotFound(f"no order {order_id}")
            if check is not None:
                check(existing)
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
            self.side_tables.update_order(session, order_id, {column: value})
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
        with self.side_tables.transaction() as session:
            link = self.side_tables.tracking_link(session, fact.tracking_number)
            if link is None:
                order_id = self.side_tables.order_shipped_with(session, fact.tracking_number)
        if link is None:
            if order_id is None:
                raise UnknownTrackingNumber(
                    f"no shipment with tracking number {fact.tracking_number}"
                )
            if fact.status == "delivered":  # not before placed or shipped, before anything is kept
                with self.side_tables.transaction(commit=False) as session:
                    order = self._order_row(session, order_id)
                if order is not None:
                    _delivered_at(order_id, fact.at)(order)
            # R64: the order view shows the original shipment's last scan.
            with self.side_tables.transaction() as session:
                self.side_tables.record_order_scan(
                    session, order_id, str(fact.status), fact.at.astimezone(UTC)
                )
            if fact.status == "delivered":
                return self._update_order(order_id, "delivered_at", fact.at, claim=claim)
            return False

        def change(request: SupportRequest) -> bool:
            if link.purpose == "return":
                return request.record_return_scan(at=fact.at, actor="carrier", scan=fact.status)
            return request.record_replacement_scan(at=fact.at, actor="carrier", scan=fact.status)

        return self._apply_fact(link.request_id, change, claim)

    # --- plumbing ----------------------------------------------------------------------------------

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
            self._read_order_record(tx.session, request)  # R63, should a fact ever refund
            changed = tx.done(change(request))
            self._save_with_side_tables(tx.session, request, stored)
        return changed

    @contextmanager
    def _fact_transaction(
        self,
        transaction: Callable[[], AbstractContextManager[Any]] | None = None,
        claim: KeyClaim | None = None,
    ) -> Iterator[_FactTransaction]:
        """The transaction of an upstream fact. With an `Idempotency-Key` (issue 18, class 9) the
        key is its first statement and the answer (`tx.done(changed)`) its last: the key commits
        with the fact's effect or not at all, as a support-request command's does."""
        if claim is not None and claim.answer is None:
            claim = None  # a support-request command's claim: not this transaction's to record
        with (transaction or self.side_tables.transaction)() as session:
            if claim is not None:
                claim_key(session, claim)
            tx = _FactTransaction(session)
            yield tx
            if claim is not None and tx.changed is not None:
                claim.recorded = record_fact_answer(session, claim, tx.changed)
                claim.answer = None  # consumed: one fact, one key


# The one table from an upstream fact type to this service's handler of it.
UPSTREAM_FACTS: dict[str, Callable[[UpstreamFacts, Any], bool]] = {
    "order_placed": UpstreamFacts.record_order_placed,
    "order_shipped": UpstreamFacts.record_order_shipped,
    "order_delivered": UpstreamFacts.record_order_delivered,
    "shipment_scanned": UpstreamFacts.record_shipment_scan,
    "return_label_created": UpstreamFacts.record_return_label,
    "fraud_suspected": UpstreamFacts.flag_fraud,
    # R66 (issue 28): the programme's handler (application/programme.py), bound by its name
    "seller_registered": Programme.record_seller_registered,  # type: ignore[dict-item]
}


def _delivered_at(order_id: str, delivered_at: datetime) -> Callable[[Mapping[str, Any]], None]:
    """A check of an order row: delivered not before it was placed or shipped (issue 26)."""

    def check(order: Mapping[str, Any]) -> None:
        shipped = (order.get("shipment") or {}).get("shipped_at")
        check_delivery_time(
            order_id,
            placed_at=_aware(order["placed_at"]),
            shipped_at=None if shipped is None else datetime.fromisoformat(shipped),
            delivered_at=delivered_at,
        )

    return check
