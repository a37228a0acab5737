"""Business-time arithmetic for deadlines (SPEC R1, R2).

A business day is a whole local calendar day (00:00-24:00) in the marketplace's zone that is a
Monday-Friday and not a public holiday of the marketplace's country. Business time only flows
during business days and is measured in local wall-clock hours, so every business day contributes
exactly 24 business hours whatever the UTC offset does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import holidays

_DAY = timedelta(days=1)
_HOURS_PER_DAY = 24

_MARKETPLACES: dict[str, tuple[str, str]] = {
    "US": ("US", "America/New_York"),
    "NL": ("NL", "Europe/Amsterdam"),
}


class NaiveDatetimeError(ValueError):
    """A datetime without a UTC offset: it names no instant, so no deadline can be derived."""


class UnknownMarketplaceError(ValueError):
    """A marketplace code with no business calendar."""


@cache
def _holiday_dates(country: str, year: int) -> frozenset[date]:
    # Building a holiday calendar is far slower than a set lookup, and deadlines hit the same
    # few years over and over.
    return frozenset(holidays.country_holidays(country, years=year))


@cache
def _holiday_names(country: str, year: int) -> dict[date, str]:
    # Named in English whatever the country's own language (the Dutch calendar names its days in
    # Dutch by default); the web app translates the English name for its reader (B14).
    found = holidays.country_holidays(country, years=year, language="en_US")
    return {day: str(name) for day, name in found.items()}


@dataclass(frozen=True)
class SkippedDays:
    """A run of consecutive days on which business time did not flow: a weekend (`holiday` None)
    or one public holiday, named."""

    first: date
    last: date
    holiday: str | None = None


def _require_aware(value: datetime, name: str) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise NaiveDatetimeError(f"{name} must be timezone-aware, got naive {value.isoformat()}")


def _require_whole_non_negative(value: int, name: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")


@dataclass(frozen=True)
class BusinessCalendar:
    country: str
    zone: str

    def __post_init__(self) -> None:
        # Fail at construction rather than at the first deadline computed with a bad calendar.
        if self.country not in holidays.list_supported_countries():
            raise ValueError(f"no public-holiday calendar for country {self.country!r}")
        ZoneInfo(self.zone)

    @property
    def _tz(self) -> ZoneInfo:
        return ZoneInfo(self.zone)

    def is_business_day(self, day: date) -> bool:
        # A datetime is a date too, but its calendar day depends on the zone it is read in.
        if isinstance(day, datetime):
            raise TypeError("is_business_day takes a date; convert the datetime to the zone first")
        return day.weekday() < 5 and day not in _holiday_dates(self.country, day.year)

    def _next_business_day(self, day: date) -> date:
        day += _DAY
        while not self.is_business_day(day):
            day += _DAY
        return day

    def _to_local_wall(self, moment: datetime) -> datetime:
        return moment.astimezone(self._tz).replace(tzinfo=None)

    def _from_local_wall(self, wall: datetime) -> datetime:
        # fold=0 picks the earlier of two repeated wall times (the earliest instant); the UTC
        # round trip moves a wall time that falls in a spring-forward gap onto a real reading.
        return wall.replace(tzinfo=self._tz).astimezone(UTC).astimezone(self._tz)

    def add_business_hours(self, start: datetime, hours: int) -> datetime:
        """Earliest instant at which `hours` business hours have elapsed since `start`.

        A start outside a business day starts the clock at 00:00 of the next business day; a
        period that uses up a business day exactly ends at 00:00 of the following calendar day.
        """
        _require_aware(start, "start")
        _require_whole_non_negative(hours, "hours")
        if hours == 0:
            return start.astimezone(self._tz)

        wall = self._to_local_wall(start)
        day = wall.date()
        if self.is_business_day(day):
            elapsed_today = wall - datetime.combine(day, time())
        else:
            day = self._next_business_day(day)
            elapsed_today = timedelta(0)

        remaining = timedelta(hours=hours)
        while remaining > _DAY - elapsed_today:
            remaining -= _DAY - elapsed_today
            day = self._next_business_day(day)
            elapsed_today = timedelta(0)
        return self._from_local_wall(datetime.combine(day, time()) + elapsed_today + remaining)

    def add_business_days(self, start: datetime, days: int) -> datetime:
        _require_whole_non_negative(days, "days")
        return self.add_business_hours(start, _HOURS_PER_DAY * days)

    def business_hours_between(self, start: datetime, end: datetime) -> float:
        """Business hours elapsed in [start, end); 0 when end <= start."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        # Aware datetimes sharing a tzinfo compare by wall clock, which is wrong across a
        # fall-back hour; UTC compares instants.
        if end.astimezone(UTC) <= start.astimezone(UTC):
            return 0.0

        start_wall = self._to_local_wall(start)
        end_wall = self._to_local_wall(end)
        total = timedelta(0)
        day = start_wall.date()
        while day <= end_wall.date():
            if self.is_business_day(day):
                day_start = datetime.combine(day, time())
                overlap = min(end_wall, day_start + _DAY) - max(start_wall, day_start)
                total += max(overlap, timedelta(0))
            day += _DAY
        return total / timedelta(hours=1)

    def holiday_name(self, day: date) -> str | None:
        return _holiday_names(self.country, day.year).get(day)

    def skipped_days(self, start: datetime, end: datetime) -> list[SkippedDays]:
        """The non-business days from `start`'s local day to `end`'s local day: consecutive
        weekend days as one run, each public holiday on its own, named (also on a weekend). This
        is why a deadline falls where it does; the one place that says so (the request state's
        deadline explanation and the dossier read it)."""
        _require_aware(start, "start")
        _require_aware(end, "end")
        day, last = self._to_local_wall(start).date(), self._to_local_wall(end).date()
        runs: list[SkippedDays] = []
        while day <= last:
            if not self.is_business_day(day):
                name = self.holiday_name(day)
                previous = runs[-1] if runs else None
                if (
                    name is None
                    and previous is not None
                    and previous.holiday is None
                    and previous.last == day - _DAY
                ):
                    runs[-1] = SkippedDays(previous.first, day)
                else:
                    runs.append(SkippedDays(day, day, name))
            day += _DAY
        return runs


def calendar_for(marketplace: str) -> BusinessCalendar:
    try:
        country, zone = _MARKETPLACES[marketplace]
    except KeyError:
        supported = ", ".join(sorted(_MARKETPLACES))
        raise UnknownMarketplaceError(
            f"unknown marketplace {marketplace!r}; supported marketplaces: {supported}"
        ) from None
    return BusinessCalendar(country, zone)
