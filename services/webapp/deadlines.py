"""Why a deadline falls where it does: the business time it was given and the days it skipped.

Pure: a request's history tells when each deadline was set (the event that carries
`<deadline>_due`), and shared/business_time.py with the marketplace's holiday calendar tells how
many business hours lie between that moment and the deadline, how many are left now, and which
calendar days in between were not business days (weekends, named public holidays). The page says,
for example, "48 business hours; skipped Sat-Sun and Mon 19 June, Juneteenth".
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import cache
from typing import Any

import holidays

from shared.business_time import BusinessCalendar

# The order in which a request's open deadlines are shown: the first one present is "next".
DEADLINE_KINDS: tuple[str, ...] = (
    "seller_response",
    "offer_answer",
    "return_dropoff",
    "return_inspection",
    "replacement_ship",
    "no_refund_close",
)


@dataclass(frozen=True)
class SkippedDays:
    """A run of consecutive non-business days: a weekend, or one public holiday (`name`)."""

    first: date
    last: date
    holiday: str | None = None


@dataclass(frozen=True)
class DeadlineExplanation:
    kind: str
    due: datetime
    set_at: datetime | None
    business_hours_given: float | None
    business_hours_left: float
    skipped: list[SkippedDays] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return self.business_hours_left <= 0


@cache
def _holidays(country: str, year: int) -> dict[date, str]:
    # Building a country's calendar costs milliseconds; a page asks for a few days of one year.
    # Named in English whatever the country's own language (the Dutch calendar names its days in
    # Dutch by default); the page translates the English name for the reader (B14).
    found = holidays.country_holidays(country, years=year, language="en_US")
    return {d: str(n) for d, n in found.items()}


def holiday_name(calendar: BusinessCalendar, day: date) -> str | None:
    return _holidays(calendar.country, day.year).get(day)


def skipped_days(calendar: BusinessCalendar, start: datetime, end: datetime) -> list[SkippedDays]:
    """Non-business days from `start`'s local day to `end`'s local day, runs of weekend days
    together, each holiday on its own (a holiday on a weekend is named)."""
    zone = calendar._tz
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    runs: list[SkippedDays] = []
    while day <= last:
        if not calendar.is_business_day(day):
            name = holiday_name(calendar, day)
            previous = runs[-1] if runs else None
            if (
                name is None
                and previous is not None
                and previous.holiday is None
                and previous.last == day - timedelta(days=1)
            ):
                runs[-1] = SkippedDays(previous.first, day)
            else:
                runs.append(SkippedDays(day, day, name))
        day += timedelta(days=1)
    return runs


def deadline_set_at(history: Iterable[Mapping[str, Any]], kind: str) -> datetime | None:
    """When the deadline was last set: the latest event whose data carries `<kind>_due`."""
    found = None
    for entry in history:
        if (entry.get("data") or {}).get(f"{kind}_due"):
            found = entry["at"]
    if found is None:
        return None
    return found if isinstance(found, datetime) else datetime.fromisoformat(str(found))


def explain(
    kind: str,
    due: datetime,
    history: Iterable[Mapping[str, Any]],
    calendar: BusinessCalendar,
    now: datetime,
) -> DeadlineExplanation:
    set_at = deadline_set_at(history, kind)
    given = calendar.business_hours_between(set_at, due) if set_at is not None else None
    return DeadlineExplanation(
        kind=kind,
        due=due,
        set_at=set_at,
        business_hours_given=given,
        business_hours_left=calendar.business_hours_between(now, due),
        skipped=skipped_days(calendar, set_at or now, due),
    )


def next_deadline(deadlines: Mapping[str, Any]) -> tuple[str, datetime] | None:
    """The earliest open deadline of a request's state (`deadlines` of API.md)."""
    open_ = [
        (datetime.fromisoformat(str(v)), k)
        for k, v in deadlines.items()
        if v and k in DEADLINE_KINDS
    ]
    if not open_:
        return None
    due, kind = min(open_)
    return kind, due
