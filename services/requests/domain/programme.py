"""The seller programme (R66-R68): who has seller-handled support, the waitlist, the return address.

Pure: no clock, no I/O. A seller's programme record is event-sourced like a request: its state is
the fold of its events (`SellerProgramme.replay`), and its history says who enrolled whom, when and
by which rule. Commands check the rules and answer the events to record (none when the command
changes nothing: every command is idempotent); `apply` only records them, so replaying history never
re-runs a rule.

Rollout (R66 [decided]): `complete` (the default) enrols every seller whatever their record says;
`gradual` enrols a seller registered on or after their marketplace's start date when the order
service reports them (`seller_registered`), and anyone the platform enrols (one by one or in waves).
There is no opting out.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from enum import StrEnum
from typing import Any
from zoneinfo import ZoneInfo

from services.requests.domain.errors import IllegalTransition, InvalidCommand
from shared.business_time import calendar_for


class Rollout(StrEnum):
    COMPLETE = "complete"  # every seller enrolled (the article's end state; the default)
    GRADUAL = "gradual"  # the article's rollout: new sellers, then waves


class EnrolmentRule(StrEnum):
    """Why a seller was enrolled: recorded with the enrolment (R66's audit trail)."""

    REGISTERED_ON_OR_AFTER_START = "registered_on_or_after_start"  # seller_registered, gradual
    PLATFORM = "platform"  # POST /v1/sellers/{id}/enrolment
    WAVE = "wave"  # the CLI's CSV wave


class ProgrammeEventType(StrEnum):
    REGISTERED = "registered"
    ENROLLED = "enrolled"
    WAITLISTED = "waitlisted"
    RETURN_ADDRESS_SET = "return_address_set"


class LeavingRefused(IllegalTransition):
    """R66: there is no opting out of seller-handled support."""


class AlreadyEnrolled(IllegalTransition):
    """R67: an enrolled seller has no waitlist to join."""


class SellerRegistrationConflict(IllegalTransition):
    """The order service reported the same seller again with other data."""


class InvalidReturnAddress(InvalidCommand):
    """R68: the return address is incomplete or not valid for its country."""


ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")

PLATFORM_RETURN_ADDRESSES: dict[str, dict[str, str]] = {
    "US": {
        "name": "Seller Support Returns",
        "line1": "100 Returns Way",
        "line2": "",
        "city": "New York",
        "region": "NY",
        "postal_code": "10001",
        "country": "US",
    },
    "NL": {
        "name": "Seller Support Retouren",
        "line1": "Retourstraat 1",
        "line2": "",
        "city": "Amsterdam",
        "region": "",
        "postal_code": "1012 AB",
        "country": "NL",
    },
}
"""R68 [decided]: where a return goes when its seller has set no return address (the platform
forwards it); each deployment sets its own (`SUPPORT_PROGRAMME_PLATFORM_RETURN_ADDRESSES`)."""


@dataclass(frozen=True)
class ProgrammeRules:
    """The rollout settings (`SUPPORT_PROGRAMME_*`): the mode, per marketplace the date from which
    a newly registered seller is enrolled on registration (None: only by the platform), and the
    platform's returns address per marketplace (R68)."""

    rollout: Rollout = Rollout.COMPLETE
    start_dates: dict[str, date | None] = field(
        default_factory=lambda: {"US": date(2025, 12, 1), "NL": None}
    )
    platform_return_addresses: dict[str, dict[str, str]] = field(
        default_factory=lambda: dict(PLATFORM_RETURN_ADDRESSES)
    )

    def return_address(self, seller_address: dict[str, Any] | None, marketplace: str) -> dict:
        """R68: the address a return required now goes to, with its source: the seller's, or,
        when they set none, the platform's returns address of the marketplace."""
        if seller_address:
            return {**seller_address, "source": "seller"}
        platform = self.platform_return_addresses.get(marketplace) or next(
            iter(self.platform_return_addresses.values()), {}
        )
        return {**{k: platform.get(k, "") for k in ADDRESS_FIELDS}, "source": "platform"}

    def enrols_on_registration(self, marketplace: str, registered_at: datetime) -> bool:
        """R66: in gradual mode, a seller who joined on or after the marketplace's start date (the
        date in the marketplace's own calendar day of `registered_at`)."""
        start = self.start_dates.get(marketplace)
        if start is None:
            return False
        zone = ZoneInfo(calendar_for(marketplace).zone)
        return registered_at.astimezone(zone).date() >= start


@dataclass(frozen=True)
class ProgrammeEvent:
    """One step of a seller's programme history."""

    seller_id: str
    version: int  # 1 for the seller's first event
    type: str
    at: datetime
    actor: str
    data: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class SellerProgramme:
    """A seller's programme record: the fold of its events."""

    seller_id: str
    version: int = 0
    marketplace: str | None = None
    registered_at: datetime | None = None
    enrolled_at: datetime | None = None
    enrolled_by: str | None = None
    enrolment_rule: str | None = None
    waitlisted_at: datetime | None = None
    return_address: dict[str, Any] | None = None

    @classmethod
    def replay(cls, seller_id: str, events: list[ProgrammeEvent]) -> SellerProgramme:
        state = cls(seller_id)
        for event in events:
            state = state.apply(event)
        return state

    @property
    def recorded_enrolled(self) -> bool:
        return self.enrolled_at is not None

    def enrolled(self, rules: ProgrammeRules) -> bool:
        """R66: complete rollout enrols everyone; gradual only those with an enrolment."""
        return rules.rollout == Rollout.COMPLETE or self.recorded_enrolled

    # -- commands: each answers the events to record (none: nothing changes) --

    def register(
        self,
        *,
        at: datetime,
        actor: str,
        marketplace: str,
        registered_at: datetime,
        rules: ProgrammeRules,
    ) -> list[ProgrammeEvent]:
        """The order service reports a seller (`seller_registered`). A repeat is a no-op; a repeat
        with another marketplace or date contradicts the first report."""
        if self.registered_at is not None:
            if self.marketplace != marketplace or self.registered_at != registered_at:
                raise SellerRegistrationConflict(
                    f"seller {self.seller_id} was already registered in {self.marketplace} at "
                    f"{self.registered_at.isoformat()}; sent {marketplace} at "
                    f"{registered_at.isoformat()}"
                )
            return []
        events = [
            self._event(
                ProgrammeEventType.REGISTERED,
                at,
                actor,
                marketplace=marketplace,
                registered_at=registered_at.isoformat(),
            )
        ]
        if (
            rules.rollout == Rollout.GRADUAL
            and not self.recorded_enrolled
            and rules.enrols_on_registration(marketplace, registered_at)
        ):
            events.append(
                self._event(
                    ProgrammeEventType.ENROLLED,
                    at,
                    actor,
                    version=self.version + 2,
                    rule=str(EnrolmentRule.REGISTERED_ON_OR_AFTER_START),
                    marketplace=marketplace,
                )
            )
        return events

    def enrol(
        self, *, at: datetime, actor: str, rule: EnrolmentRule, wave: str | None = None
    ) -> list[ProgrammeEvent]:
        """The platform enrols the seller (R66); enrolling an enrolled seller changes nothing."""
        if self.recorded_enrolled:
            return []
        data: dict[str, Any] = {"rule": str(rule)}
        if wave:
            data["wave"] = wave
        return [self._event(ProgrammeEventType.ENROLLED, at, actor, **data)]

    def leave(self) -> None:
        """R66: no opting out, ever."""
        raise LeavingRefused(
            "seller-handled support cannot be left: once enrolled it stays part of the account (R66)"
        )

    def join_waitlist(
        self, *, at: datetime, actor: str, rules: ProgrammeRules
    ) -> list[ProgrammeEvent]:
        """R67: a seller not yet enrolled joins the waitlist once; an enrolled one cannot."""
        if self.enrolled(rules):
            raise AlreadyEnrolled(
                f"seller {self.seller_id} is already enrolled in seller-handled support; "
                "there is no waitlist to join"
            )
        if self.waitlisted_at is not None:
            return []
        return [self._event(ProgrammeEventType.WAITLISTED, at, actor)]

    def set_return_address(
        self, *, at: datetime, actor: str, address: dict[str, Any]
    ) -> list[ProgrammeEvent]:
        """R68: the seller's return address from now on (the same address again: no event)."""
        if self.return_address == address:
            return []
        return [self._event(ProgrammeEventType.RETURN_ADDRESS_SET, at, actor, address=address)]

    # -- applying events --

    def apply(self, event: ProgrammeEvent) -> SellerProgramme:
        if event.version != self.version + 1:
            raise ValueError(
                f"programme event {event.version} of seller {self.seller_id} follows {self.version}"
            )
        state = replace(self, version=event.version)
        if event.type == ProgrammeEventType.REGISTERED:
            return replace(
                state,
                marketplace=event.data["marketplace"],
                registered_at=datetime.fromisoformat(event.data["registered_at"]),
            )
        if event.type == ProgrammeEventType.ENROLLED:
            return replace(
                state,
                enrolled_at=event.at,
                enrolled_by=event.actor,
                enrolment_rule=event.data.get("rule"),
            )
        if event.type == ProgrammeEventType.WAITLISTED:
            return replace(state, waitlisted_at=event.at)
        if event.type == ProgrammeEventType.RETURN_ADDRESS_SET:
            return replace(state, return_address=dict(event.data["address"]))
        raise ValueError(f"unknown programme event type {event.type!r}")

    def _event(
        self, type_: str, at: datetime, actor: str, *, version: int | None = None, **data: Any
    ) -> ProgrammeEvent:
        return ProgrammeEvent(
            seller_id=self.seller_id,
            version=self.version + 1 if version is None else version,
            type=str(type_),
            at=at,
            actor=actor,
            data=data,
        )
