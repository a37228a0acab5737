"""The plumbing every use case of the requests service shares: plain values in, plain values out.

Every command runs in one database transaction that holds the new events and every side table they
touch (item locks, tracking links, deadlines), so a crash never leaves a deadline without its event or
an event without its deadline. Persistence is eventsourcing-sqlalchemy: one transaction for events and
our own rows, on SQLite or PostgreSQL alike. The side tables are behind the `SideTables` port
(ports.py); the use cases are in commands.py, upstream.py, timers.py and queries.py, put together in
app.py.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from services.requests.application.actors import Actor
from services.requests.application.errors import (
    ConcurrentUpdate,
    Forbidden,
    RemedyRaceLost,
    RequestNotFound,
    TrackingNumberInUse,
)
from services.requests.application.ports import SideTables
from services.requests.domain import Action, SupportRequest
from services.requests.domain.next_step import check_action, roles_for
from services.requests.domain.programme import ProgrammeRules, Rollout
from services.requests.domain.remedy import ItemRecord, records_for
from services.requests.persistence import programme_store
from services.requests.persistence.receipts import KeyClaim, claim_key, record_answer
from services.requests.persistence.side_tables import SqlSideTables
from shared.clock import Clock

# Builds the side tables from the application's event-store recorder, once that exists.
SideTablesFactory = Callable[[Any], SideTables]


class RequestsCore(Application):
    """The state and plumbing the use cases share; `RequestsApplication` (app.py) is the whole."""

    # The attachments port (services/requests/attachments): resolves attachment ids a command
    # names and claims them in its transaction; None: references are kept as given.
    attachments: Any = None
    # R66: the programme's rollout (services/requests/domain/programme.py); the composition root
    # sets it from the settings. The default, a complete rollout, enrols every seller.
    programme_rules: ProgrammeRules = ProgrammeRules()

    def __init__(
        self,
        clock: Clock,
        env: dict[str, str] | None = None,
        *,
        side_tables: SideTablesFactory | None = None,
    ) -> None:
        super().__init__(env=env)
        self.clock = clock
        self.side_tables: SideTables = (side_tables or SqlSideTables.open)(self.recorder)

    @property
    def engine(self) -> Any:
        return self.recorder.datastore.engine

    # --- plumbing --------------------------------------------------------------------------------

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        try:
            with self.side_tables.transaction() as session:
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
        action: Action,
        change: Callable[[SupportRequest], Any],
        at: datetime | None = None,
        claim: KeyClaim | None = None,
    ) -> SupportRequest:
        """Load, check the caller may take `action` now, change, save with side tables, in one go.

        Deadlines that came due by `at` apply first, as the timer loop would have applied them:
        a rule bounded by a deadline holds by the clock, not by when the loop last ran.

        An `Idempotency-Key` claimed for this command (`claim`, passed by the route; `receipts`) is
        its transaction's first statement and its answer the last before the events: all commit
        together."""
        with self._transaction() as session:
            if claim is not None:
                claim_key(session, claim)
            request = self._load_for(request_id, actor)
            roles = roles_for(action)
            if actor.role not in roles:
                raise Forbidden(f"a {actor.role} may not do this; it is for: {', '.join(roles)}")
            stored = _deadline_rows(request)
            self._read_order_record(session, request)
            at = self.clock.now() if at is None else at
            request.fire_deadlines_due_by(at)
            # the one rule that also lists the caller's steps in the state (domain/next_step.py)
            check_action(request, actor.role, action, at)
            change(request)
            receipt = (
                None if claim is None else record_answer(session, claim, request, actor.role, at)
            )
            self._save_with_side_tables(session, request, stored)
        if claim is not None:
            claim.recorded = receipt
        self._read_order_record_later(request)
        return request

    def _save_with_side_tables(
        self, session: Any, request: SupportRequest, stored: DeadlineRows | None = None
    ) -> None:
        """Save the new events and bring the side tables in line. `stored`: the deadline rows as
        they were when the request was loaded (`_deadline_rows`), or None when not known (always
        rewrite); the deadline rows are rewritten only when they changed - most commands leave
        them alone, and the delete + inserts were a third of a command's statements.

        The side tables are written before the events: on PostgreSQL saving the events locks the
        events table until the commit (the relay's order), so every statement after `save` is one
        that all other commands wait for."""
        tables = self.side_tables
        rid = str(request.id)
        wanted = _deadline_rows(request)
        if wanted != stored:
            if stored is None or stored[1]:
                tables.delete_deadlines(session, rid)
            if wanted[1]:
                tables.insert_deadlines(session, rid, wanted[0], wanted[1])
        if request.is_closed:
            tables.release_item_locks(session, rid)
        for purpose, tracking in (
            ("replacement", (request.replacement or {}).get("tracking_number")),
            ("return", (request.return_ or {}).get("tracking_number")),
        ):
            if tracking:
                self._link_tracking(session, tracking, rid, purpose)
        if self.attachments is not None:
            self.attachments.bind(session, request)
        self._record_remedies(session, request)
        self.save(request)

    # --- R63: the order's per-item remedy record -------------------------------------------------

    def _read_order_record(self, session: Any, request: SupportRequest) -> None:
        """Give an open request what its order has left to refund on its items (R63), read in the
        command's transaction when a refunding step first asks (most commands refund nothing and
        read nothing); a closed request refunds nothing more."""
        if request.is_closed:
            request.order_record = None
            return
        request.order_record = _RecordsOnDemand(
            lambda: self.side_tables.item_records(session, request.order_id, request.item_ids)
        )

    def _read_order_record_later(self, request: SupportRequest) -> None:
        """After a command's transaction: the records as they are now, read in a transaction of
        their own if the answer's next steps ask (domain/next_step.py); the command's session is
        gone."""
        if request.is_closed:
            request.order_record = None
            return

        def load() -> dict[str, ItemRecord]:
            with self.side_tables.transaction(commit=False) as session:
                return self.side_tables.item_records(session, request.order_id, request.item_ids)

        request.order_record = _RecordsOnDemand(load)

    def _record_remedies(self, session: Any, request: SupportRequest) -> None:
        """Add the refunds and charges of the request's new events to its items' records, in the
        transaction that saves those events (R63). The database refuses a sum past an item's caps
        (a step racing another one on the same item, which committed first): the whole command is
        then rolled back with a 409 that says what is left."""
        for new_event in request.pending_events:
            shares = getattr(new_event, "remedy", None)
            if not shares:
                continue
            records = {r.item_id: r for r in records_for(request.order_items, request.order_record)}
            refused = self.side_tables.add_remedy(
                session,
                request.order_id,
                request.currency,
                [(records[s["item_id"]], s["refund"], s["charge"]) for s in shares],
                str(request.id),
                new_event.at,
            )
            if refused:
                now = self.side_tables.item_records(session, request.order_id, refused)
                left = ", ".join(
                    f"item {r.item_id}: {r.refundable} left to refund, {r.chargeable} left to "
                    "charge"
                    + (f" (last refunded by {r.last_request_id})" if r.last_request_id else "")
                    for r in records_for(
                        [i for i in request.order_items if i.item_id in refused], now
                    )
                )
                raise RemedyRaceLost(
                    "another step refunded these items while this one ran; what is left now: "
                    f"{left} (R63). Reload and try again"
                )

    def _link_tracking(self, session: Any, tracking: str, rid: str, purpose: str) -> None:
        link = self.side_tables.tracking_link(session, tracking)
        if link is None:
            self.side_tables.link_tracking(session, tracking, rid, purpose)
        elif link.request_id != rid:
            raise TrackingNumberInUse(f"tracking number {tracking} belongs to another shipment")

    def _seller_enrolled(self, session: Any, seller_id: str) -> bool:
        """R66: whether a request on this seller's order goes to the seller (a complete rollout:
        everyone, without a read; a gradual one: those with an enrolment on record)."""
        if self.programme_rules.rollout == Rollout.COMPLETE:
            return True
        return programme_store.is_recorded_enrolled(session, seller_id)

    def _return_address_in_force(self, request: SupportRequest) -> dict[str, Any]:
        """R68: where a return required now goes: the seller's return address, or the platform's
        returns address of the marketplace when they set none (docs/programme.md). Read in the
        command's own transaction (a nested transaction joins it)."""
        with self.side_tables.transaction(commit=False) as session:
            seller_address = programme_store.load(session, request.seller_id).return_address
        return self.programme_rules.return_address(seller_address, request.marketplace)

    def _order_row(self, session: Any, order_id: str) -> dict[str, Any] | None:
        return self.side_tables.order(session, order_id)

    def order(self, order_id: str) -> dict[str, Any] | None:
        with self.side_tables.transaction(commit=False) as session:
            return self._order_row(session, order_id)


class _RecordsOnDemand(Mapping[str, ItemRecord]):
    """The item records of a request, read on first use (in the command's transaction)."""

    def __init__(self, load: Callable[[], dict[str, ItemRecord]]) -> None:
        self._load = load
        self._records: dict[str, ItemRecord] | None = None

    def _all(self) -> dict[str, ItemRecord]:
        if self._records is None:
            self._records = self._load()
        return self._records

    def __getitem__(self, item_id: str) -> ItemRecord:
        return self._all()[item_id]

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def __len__(self) -> int:
        return len(self._all())


# (policy version, ((kind, due at), ...) sorted): what the deadlines side table holds for a request.
DeadlineRows = tuple[Any, tuple[tuple[str, datetime], ...]]


def _deadline_rows(request: SupportRequest) -> DeadlineRows:
    return (
        request.policy_version,
        tuple(sorted((str(kind), due_at) for kind, due_at in request.deadlines.items())),
    )


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
