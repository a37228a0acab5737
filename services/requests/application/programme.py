"""The seller programme's use cases (R66-R68): enrolment (one seller, a wave, on registration), the
waitlist, the return address, and reading a seller's record and history.

Each command runs in one transaction of the requests database: the seller's record is loaded, the
domain answers the events (services/requests/domain/programme.py), and the events and the new record
are written together (services/requests/persistence/programme_store.py). A concurrent writer of the
same seller loses on the events' primary key; the command is retried from a fresh read.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from services.requests.application.core import RequestsCore
from services.requests.application.errors import ConcurrentUpdate
from services.requests.domain.programme import (
    EnrolmentRule,
    ProgrammeEvent,
    SellerProgramme,
)
from services.requests.persistence import programme_store
from services.requests.persistence.receipts import KeyClaim
from shared.contracts.upstream import SellerRegistered

_ATTEMPTS = 3


@dataclass(frozen=True)
class WaveResult:
    """What a wave of enrolments did (or, in a dry run, would do)."""

    listed: int  # distinct seller ids in the wave
    already_enrolled: int
    enrolled: int  # newly enrolled (a dry run: would be)
    dry_run: bool


class Programme(RequestsCore):
    def _change_programme(
        self,
        seller_id: str,
        change: Callable[[SellerProgramme], list[ProgrammeEvent]],
        before_commit: Callable[[Any, SellerProgramme, list[ProgrammeEvent]], None] | None = None,
    ) -> tuple[SellerProgramme, list[ProgrammeEvent]]:
        """Load, change, append; retried when another writer of this seller won the race."""
        for attempt in range(_ATTEMPTS):
            try:
                with self._transaction() as session:
                    state = programme_store.load(session, seller_id)
                    events = change(state)
                    programme_store.append(session, [(state, events)])
                    if before_commit is not None:
                        before_commit(session, state, events)
                after = state
                for event in events:
                    after = after.apply(event)
                return after, events
            except ConcurrentUpdate:
                if attempt == _ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    # --- reads -------------------------------------------------------------------------------------

    def programme(self, seller_id: str) -> SellerProgramme:
        with self.side_tables.transaction(commit=False) as session:
            return programme_store.load(session, seller_id)

    def programme_history(self, seller_id: str) -> list[ProgrammeEvent]:
        with self.side_tables.transaction(commit=False) as session:
            return programme_store.history(session, seller_id)

    # --- commands ----------------------------------------------------------------------------------

    def enrol_seller(self, seller_id: str, actor: str) -> tuple[SellerProgramme, bool]:
        """R66: the platform enrols a seller; True when this call enrolled them."""
        at = self.clock.now()
        state, events = self._change_programme(
            seller_id, lambda s: s.enrol(at=at, actor=actor, rule=EnrolmentRule.PLATFORM)
        )
        return state, bool(events)

    def join_waitlist(self, seller_id: str, actor: str) -> tuple[SellerProgramme, bool]:
        """R67: the seller joins the waitlist; True when this call added them."""
        at = self.clock.now()
        rules = self.programme_rules
        state, events = self._change_programme(
            seller_id, lambda s: s.join_waitlist(at=at, actor=actor, rules=rules)
        )
        return state, bool(events)

    def set_return_address(
        self, seller_id: str, actor: str, address: dict[str, Any]
    ) -> tuple[SellerProgramme, bool]:
        """R68: the seller's return address from now on (open returns keep theirs)."""
        at = self.clock.now()
        state, events = self._change_programme(
            seller_id, lambda s: s.set_return_address(at=at, actor=actor, address=address)
        )
        return state, bool(events)

    def record_seller_registered(
        self, fact: SellerRegistered, claim: KeyClaim | None = None
    ) -> bool:
        """Upstream fact `seller_registered` (R66): recorded, and in a gradual rollout the seller
        is enrolled when they joined on or after the marketplace's start date."""
        rules = self.programme_rules
        at = self.clock.now()

        def change(state: SellerProgramme) -> list[ProgrammeEvent]:
            return state.register(
                at=at,
                actor="platform",
                marketplace=fact.marketplace,
                registered_at=fact.registered_at,
                rules=rules,
            )

        with self._fact_transaction(self._transaction, claim) as tx:
            state = programme_store.load(tx.session, fact.seller_id)
            events = change(state)
            programme_store.append(tx.session, [(state, events)])
            return tx.done(bool(events))

    def enrol_wave(
        self,
        seller_ids: Sequence[str],
        *,
        wave: str,
        actor: str,
        dry_run: bool = False,
        batch: int = 1000,
    ) -> WaveResult:
        """R66: enrol many sellers at once (the CLI's CSV wave), `batch` per transaction, so a
        wave interrupted half-way is simply run again (enrolled sellers are skipped). A dry run
        writes nothing and says how many would be enrolled."""
        ids = list(dict.fromkeys(seller_ids))
        at = self.clock.now()
        already = enrolled = 0
        for start in range(0, len(ids), batch):
            chunk = ids[start : start + batch]
            with self._transaction() as session:
                known = programme_store.load_many(session, chunk)
                changes = []
                for seller_id in chunk:
                    state = known.get(seller_id) or SellerProgramme(seller_id)
                    events = state.enrol(at=at, actor=actor, rule=EnrolmentRule.WAVE, wave=wave)
                    if events:
                        enrolled += 1
                        changes.append((state, events))
                    else:
                        already += 1
                if not dry_run:
                    programme_store.append(session, changes)
        return WaveResult(len(ids), already, enrolled, dry_run)
