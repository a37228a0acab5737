"""Business time (SPEC R1, R2): worked examples first, then properties over US and NL calendars."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from shared.business_time import (
    BusinessCalendar,
    NaiveDatetimeError,
    UnknownMarketplaceError,
    calendar_for,
)

NEW_YORK = ZoneInfo("America/New_York")
AMSTERDAM = ZoneInfo("Europe/Amsterdam")
US = calendar_for("US")
NL = calendar_for("NL")


def ny(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=NEW_YORK)


def ams(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=AMSTERDAM)


def real_hours(start: datetime, end: datetime) -> float:
    # Subtracting aware datetimes that share a tzinfo gives wall-clock time, not elapsed time.
    return (end.astimezone(UTC) - start.astimezone(UTC)) / timedelta(hours=1)


# --- marketplaces -------------------------------------------------------------------------------


def test_r2_us_marketplace_uses_new_york_and_us_holidays():
    assert calendar_for("US") == BusinessCalendar("US", "America/New_York")


def test_r2_nl_marketplace_uses_amsterdam_and_dutch_holidays():
    assert calendar_for("NL") == BusinessCalendar("NL", "Europe/Amsterdam")


def test_r2_unknown_marketplace_is_rejected_naming_the_supported_ones():
    with pytest.raises(UnknownMarketplaceError, match=r"'FR'.*NL, US"):
        calendar_for("FR")


def test_a_calendar_with_an_unknown_zone_or_country_cannot_be_built():
    with pytest.raises(ZoneInfoNotFoundError):
        BusinessCalendar("US", "Mars/Olympus_Mons")
    with pytest.raises(ValueError, match="XX"):
        BusinessCalendar("XX", "America/New_York")


# --- business days ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("calendar", "day", "expected"),
    [
        (US, date(2026, 9, 4), True),  # an ordinary Friday
        (US, date(2026, 9, 5), False),  # Saturday
        (US, date(2026, 9, 6), False),  # Sunday
        (US, date(2026, 9, 7), False),  # Labor Day
        (US, date(2026, 7, 3), False),  # Independence Day observed on the Friday
        (US, date(2027, 4, 27), True),  # Koningsdag is not a US holiday
        (NL, date(2027, 4, 27), False),  # Koningsdag
        (NL, date(2026, 9, 7), True),  # Labor Day is not a Dutch holiday
        (NL, date(2026, 12, 25), False),  # Christmas
        (NL, date(2026, 12, 26), False),  # Boxing Day
    ],
)
def test_r2_business_day_is_a_weekday_that_is_not_a_public_holiday(calendar, day, expected):
    assert calendar.is_business_day(day) is expected


def test_is_business_day_refuses_a_datetime_whose_day_depends_on_the_zone():
    with pytest.raises(TypeError):
        US.is_business_day(ny(2026, 9, 4, 12))


# --- the SPEC's worked examples -----------------------------------------------------------------


def test_r2_opened_friday_afternoon_48_business_hours_end_tuesday_same_time():
    # Given a request opened Fri 15:00 (New York), when 48 business hours are added,
    # then the weekend does not count and the deadline is Tue 15:00.
    assert US.add_business_hours(ny(2026, 3, 20, 15), 48) == ny(2026, 3, 24, 15)


def test_r2_opened_on_saturday_the_clock_starts_monday_midnight_and_ends_wednesday_midnight():
    assert US.add_business_hours(ny(2026, 3, 21, 10), 48) == ny(2026, 3, 25, 0)


def test_r2_a_period_using_up_friday_ends_at_saturday_midnight_not_monday():
    # Thu 00:00 + 48h consumes Thursday and Friday; the earliest such instant is Sat 00:00.
    assert US.add_business_hours(ny(2026, 3, 19, 0), 48) == ny(2026, 3, 21, 0)


def test_r2_a_holiday_monday_pushes_the_friday_deadline_by_one_day():
    # Given Labor Day on Mon 2026-09-07, Fri 15:00 + 48h skips it and ends Wed 15:00.
    assert US.add_business_hours(ny(2026, 9, 4, 15), 48) == ny(2026, 9, 9, 15)


def test_r2_a_holiday_monday_pushes_the_saturday_deadline_by_one_day():
    # Given MLK day on Mon 2027-01-18, a Saturday opening starts the clock on Tuesday.
    assert US.add_business_hours(ny(2027, 1, 16, 10), 48) == ny(2027, 1, 21, 0)


def test_r1_five_business_days_skip_a_weekend_and_a_friday_holiday():
    # Juneteenth 2026 is a Friday, so Wed + 5 business days lands on the next Thursday.
    assert US.add_business_days(ny(2026, 6, 17, 9, 30), 5) == ny(2026, 6, 25, 9, 30)


def test_r1_business_days_are_24_business_hours():
    start = ny(2026, 6, 10, 9, 30)
    assert US.add_business_days(start, 2) == US.add_business_hours(start, 48)


def test_r2_koningsdag_is_skipped_on_the_nl_calendar_only():
    # Given Mon 2027-04-26 12:00 and Koningsdag on Tue 2027-04-27:
    # the Dutch deadline skips Tuesday, the US one does not.
    assert NL.add_business_hours(ams(2027, 4, 26, 12), 48) == ams(2027, 4, 29, 12)
    assert US.add_business_hours(ny(2027, 4, 26, 12), 48) == ny(2027, 4, 28, 12)


def test_r2_dutch_christmas_and_boxing_day_are_skipped():
    # Thu 2026-12-24 12:00: Christmas (Fri) and Boxing Day (Sat) plus Sunday are not business days.
    assert NL.add_business_hours(ams(2026, 12, 24, 12), 48) == ams(2026, 12, 29, 12)


def test_r2_across_the_us_dst_end_the_wall_clock_deadline_is_kept():
    # Given Fri 2026-10-30 15:00 EDT and DST ending Sun 2026-11-01,
    # the deadline is Tue 15:00 EST, which is 97 real hours later.
    start = ny(2026, 10, 30, 15)
    deadline = US.add_business_hours(start, 48)
    assert deadline == ny(2026, 11, 3, 15)
    assert deadline.utcoffset() == timedelta(hours=-5)
    assert real_hours(start, deadline) == 97


def test_r2_across_the_us_dst_start_the_wall_clock_deadline_is_kept():
    # DST starts Sun 2026-03-08: a week on the wall clock is one real hour short of 7 * 24.
    start = ny(2026, 3, 2, 10)
    deadline = US.add_business_days(start, 5)
    assert deadline == ny(2026, 3, 9, 10)
    assert real_hours(start, deadline) == 7 * 24 - 1


def test_r2_across_the_nl_dst_end_the_wall_clock_deadline_is_kept():
    # Dutch DST ends Sun 2026-10-25.
    start = ams(2026, 10, 23, 15)
    deadline = NL.add_business_hours(start, 48)
    assert deadline == ams(2026, 10, 27, 15)
    assert real_hours(start, deadline) == 97


# --- zones and argument checks ------------------------------------------------------------------


def test_the_result_is_in_the_calendar_zone_whatever_zone_the_start_is_in():
    # Fri 19:00 UTC is Fri 15:00 in New York.
    deadline = US.add_business_hours(datetime(2026, 3, 20, 19, tzinfo=UTC), 48)
    assert deadline.tzinfo == NEW_YORK
    assert (deadline.date(), deadline.time()) == (date(2026, 3, 24), time(15))


def test_the_business_day_is_judged_in_the_calendar_zone_not_the_start_zone():
    # Sat 02:00 UTC is still Fri 22:00 in New York, so two business hours remain on Friday.
    start = datetime(2026, 3, 21, 2, tzinfo=UTC)
    assert US.add_business_hours(start, 2) == ny(2026, 3, 21, 0)


def test_adding_zero_hours_returns_the_same_instant_even_on_a_weekend():
    start = datetime(2026, 3, 21, 15, tzinfo=UTC)
    assert US.add_business_hours(start, 0) == start


def test_a_naive_start_is_rejected():
    with pytest.raises(NaiveDatetimeError):
        US.add_business_hours(datetime(2026, 3, 20, 15), 48)
    with pytest.raises(NaiveDatetimeError):
        US.add_business_days(datetime(2026, 3, 20, 15), 2)


def test_naive_bounds_are_rejected_when_measuring():
    with pytest.raises(NaiveDatetimeError):
        US.business_hours_between(datetime(2026, 3, 20, 15), ny(2026, 3, 24, 15))
    with pytest.raises(NaiveDatetimeError):
        US.business_hours_between(ny(2026, 3, 20, 15), datetime(2026, 3, 24, 15))


def test_negative_or_non_integer_periods_are_rejected():
    start = ny(2026, 3, 20, 15)
    with pytest.raises(ValueError):
        US.add_business_hours(start, -1)
    with pytest.raises(ValueError):
        US.add_business_days(start, -1)
    with pytest.raises(TypeError):
        US.add_business_hours(start, 1.5)
    with pytest.raises(TypeError):
        US.add_business_hours(start, True)


# --- measuring elapsed business time ------------------------------------------------------------


def test_r1_business_hours_between_friday_and_tuesday_afternoon_is_48():
    assert US.business_hours_between(ny(2026, 3, 20, 15), ny(2026, 3, 24, 15)) == 48


def test_r1_a_weekend_contains_no_business_hours():
    assert US.business_hours_between(ny(2026, 3, 21, 0), ny(2026, 3, 23, 0)) == 0


def test_r1_business_hours_between_counts_fractions_of_an_hour():
    assert US.business_hours_between(ny(2026, 3, 20, 15), ny(2026, 3, 20, 16, 30)) == 1.5


def test_business_hours_between_is_zero_when_end_is_not_after_start():
    start = ny(2026, 3, 20, 15)
    assert US.business_hours_between(start, start) == 0
    assert US.business_hours_between(start, ny(2026, 3, 19, 15)) == 0


# --- zones whose clocks change on a weekday ----------------------------------------------------
# US and NL switch on Sundays; Cairo switches at midnight on weekdays, which exercises the
# wall-clock edge cases the two real marketplaces never reach.

CAIRO = ZoneInfo("Africa/Cairo")
CAIRO_CALENDAR = BusinessCalendar("US", "Africa/Cairo")


def test_a_deadline_at_a_midnight_skipped_by_dst_is_the_first_real_instant_after_it():
    # Given Cairo skipping Fri 2024-04-26 00:00-01:00, a period ending with Thursday ends at 01:00.
    deadline = CAIRO_CALENDAR.add_business_hours(datetime(2024, 4, 25, 0, tzinfo=CAIRO), 24)
    assert deadline == datetime(2024, 4, 26, 1, tzinfo=CAIRO)
    assert deadline.utcoffset() == timedelta(hours=3)


def test_measuring_inside_a_repeated_hour_never_gives_negative_business_time():
    # Given Thu 2024-10-31 23:00-24:00 happening twice in Cairo, a later instant can read an
    # earlier wall clock; business time, counted on the wall clock, does not run backwards.
    first_pass = datetime(2024, 10, 31, 23, 50, tzinfo=CAIRO)
    second_pass = datetime(2024, 10, 31, 23, 30, fold=1, tzinfo=CAIRO)
    assert second_pass.astimezone(UTC) > first_pass.astimezone(UTC)
    assert CAIRO_CALENDAR.business_hours_between(first_pass, second_pass) == 0


def test_an_end_before_the_start_gives_zero_even_when_its_wall_clock_reads_later():
    # Same-zone datetimes compare by wall clock; here the earlier instant reads the later 23:40.
    start = datetime(2024, 10, 31, 23, 10, fold=1, tzinfo=CAIRO)
    end = datetime(2024, 10, 31, 23, 40, tzinfo=CAIRO)
    assert end.astimezone(UTC) < start.astimezone(UTC)
    assert CAIRO_CALENDAR.business_hours_between(start, end) == 0


# --- properties ---------------------------------------------------------------------------------

calendars = st.sampled_from([US, NL])
start_zones = st.sampled_from([UTC, NEW_YORK, AMSTERDAM, ZoneInfo("Asia/Tokyo")])
instants = st.datetimes(
    min_value=datetime(2024, 1, 1),
    max_value=datetime(2030, 12, 31),
    timezones=start_zones,
    allow_imaginary=False,
)
hours = st.integers(min_value=0, max_value=24 * 40)


def local(calendar: BusinessCalendar, moment: datetime) -> datetime:
    return moment.astimezone(ZoneInfo(calendar.zone))


@given(calendars, instants, hours, hours)
def test_r1_adding_business_hours_is_monotonic_in_n(calendar, start, n, m):
    shorter, longer = sorted((n, m))
    assert calendar.add_business_hours(start, shorter) <= calendar.add_business_hours(start, longer)


@given(calendars, instants, hours, hours)
def test_r1_adding_business_hours_in_two_steps_equals_adding_them_at_once(calendar, start, n, m):
    in_two_steps = calendar.add_business_hours(calendar.add_business_hours(start, n), m)
    assert in_two_steps == calendar.add_business_hours(start, n + m)


@given(calendars, instants, st.integers(min_value=1, max_value=24 * 40))
def test_r2_a_deadline_never_falls_strictly_inside_a_non_business_day(calendar, start, n):
    # Zero hours is excluded: it returns the start itself, which may be on a weekend.
    deadline = local(calendar, calendar.add_business_hours(start, n))
    ends_a_business_day = deadline.time() == time(0) and calendar.is_business_day(
        deadline.date() - timedelta(days=1)
    )
    assert calendar.is_business_day(deadline.date()) or ends_a_business_day


@given(calendars, instants, hours)
def test_r1_business_hours_between_start_and_deadline_is_the_period(calendar, start, n):
    assert calendar.business_hours_between(start, calendar.add_business_hours(start, n)) == n


@given(calendars, instants, hours)
def test_r2_deadlines_are_valid_aware_datetimes_in_the_calendar_zone(calendar, start, n):
    deadline = calendar.add_business_hours(start, n)
    zone = ZoneInfo(calendar.zone)
    assert deadline.tzinfo == zone
    # A wall time in a DST gap or with a stale offset would not survive a round trip via UTC.
    round_trip = deadline.astimezone(UTC).astimezone(zone)
    assert (round_trip.replace(tzinfo=None), round_trip.utcoffset()) == (
        deadline.replace(tzinfo=None),
        deadline.utcoffset(),
    )


@given(calendars, instants, st.integers(min_value=0, max_value=30))
def test_r2_whole_business_days_keep_the_local_time_of_day_across_dst(calendar, start, days):
    local_start = local(calendar, start)
    assume(calendar.is_business_day(local_start.date()))
    deadline = local(calendar, calendar.add_business_days(start, days))
    assert deadline.time() == local_start.time()
    assert calendar.is_business_day(deadline.date()) or (deadline.time() == time(0) and days > 0)


def test_issue27_skipped_days_name_the_weekend_and_juneteenth() -> None:
    # Given 48 business hours from Thursday 15 June 2023 10:00 in New York (R8)
    us = calendar_for("US")
    zone = ZoneInfo("America/New_York")
    opened = datetime(2023, 6, 15, 10, tzinfo=zone)
    due = us.add_business_hours(opened, 48)
    # Then they end Tuesday, skipping Sat-Sun together and Mon 19 June (Juneteenth) by name
    assert due.astimezone(zone) == datetime(2023, 6, 20, 10, tzinfo=zone)
    runs = us.skipped_days(opened, due)
    assert [(s.first, s.last) for s in runs] == [
        (date(2023, 6, 17), date(2023, 6, 18)),
        (date(2023, 6, 19), date(2023, 6, 19)),
    ]
    assert runs[0].holiday is None and "Juneteenth" in (runs[1].holiday or "")


@given(
    start=st.datetimes(
        min_value=datetime(2024, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
    ),
    hours=st.integers(min_value=1, max_value=24 * 15),
)
def test_issue27_skipped_days_and_business_days_cover_the_calendar_exactly(
    start: datetime, hours: int
) -> None:
    # Every calendar day between start and due is either a business day or named as skipped.
    us = calendar_for("US")
    due = us.add_business_hours(start, hours)
    zone = ZoneInfo(us.zone)
    first, last = start.astimezone(zone).date(), due.astimezone(zone).date()
    skipped = {
        s.first + timedelta(days=i)
        for s in us.skipped_days(start, due)
        for i in range((s.last - s.first).days + 1)
    }
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    assert skipped == {d for d in days if not us.is_business_day(d)}
