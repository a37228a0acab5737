"""The search projection's pure rules (services/search/domain.py), no I/O: its vocabulary is the
requests service's, who a request waits on, the opaque cursor bound to its query, the words of a `q`
search, the SLA breach cutoff in business time (a property test) and the percentiles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.requests import domain as requests_domain
from services.search.domain import (
    DEFAULT_SORT,
    SORTS,
    InvalidQuery,
    Reason,
    Resolution,
    Status,
    WaitingOn,
    breach_cutoff,
    decode_cursor,
    encode_cursor,
    evolve,
    percentile,
    query_fingerprint,
    query_words,
    waiting_on,
)
from shared.business_time import calendar_for

AT = datetime(2026, 12, 7, 19, 0, tzinfo=UTC)


def test_the_vocabulary_is_the_requests_services() -> None:
    assert {str(s) for s in Status} == {str(s) for s in requests_domain.Status}
    assert {str(r) for r in Resolution} == {str(r) for r in requests_domain.Resolution}
    assert {str(r) for r in Reason} == {str(r) for r in requests_domain.Reason}
    assert DEFAULT_SORT in SORTS and len(SORTS) == 6


def test_every_status_waits_on_someone_and_only_closed_ones_on_nobody() -> None:
    for status in Status:
        expected_nobody = status in requests_domain.CLOSED_STATUSES
        assert (waiting_on(status) == WaitingOn.NOBODY) == expected_nobody, status
    assert waiting_on("escalated") == WaitingOn.SUPPORT
    assert waiting_on("return_in_transit") == WaitingOn.CARRIER


def test_a_cursor_round_trips_and_is_refused_by_another_query() -> None:
    mine, other = query_fingerprint({"sort": "due_at"}), query_fingerprint({"sort": "opened_at"})
    cursor = encode_cursor(mine, AT, "request-1")
    assert decode_cursor(cursor, mine) == (AT, "request-1")
    with pytest.raises(InvalidQuery, match="another query") as refused:
        decode_cursor(cursor, other)
    assert refused.value.parameter == "cursor"
    for broken in ("", "%%%", cursor[:-3], encode_cursor(mine, AT, "x")[:5] + "AAAA"):
        with pytest.raises(InvalidQuery) as error:
            decode_cursor(broken, mine)
        assert error.value.parameter == "cursor"


def test_query_words_are_lowercased_unique_words_of_letters_and_digits() -> None:
    assert query_words("Cracked  SCREEN, cracked! 4k") == ["cracked", "screen", "4k"]
    for empty in ("", "?!", "  --  "):
        with pytest.raises(InvalidQuery) as error:
            query_words(empty)
        assert error.value.parameter == "q"
    with pytest.raises(InvalidQuery, match="at most"):
        query_words(" ".join(f"w{i}" for i in range(21)))


def test_an_older_event_again_changes_nothing() -> None:
    opened = {
        "request_id": "r1",
        "version": 1,
        "at": AT.isoformat(),
        "order_id": "o1",
        "buyer_id": "b1",
        "seller_id": "s1",
        "marketplace": "US",
        "currency": "USD",
        "items": [{"item_id": "i1"}],
        "reason": "defective",
        "description": "broken",
        "routed_to_support": None,
        "seller_response_due": (AT + timedelta(days=2)).isoformat(),
    }
    row = evolve(None, "opened", opened)
    assert row is not None and row.waiting_on == "seller"
    row = evolve(row, "full_refund_offered", {"version": 2, "at": AT.isoformat(), "amount": 1})
    assert row is not None and (row.status, row.version) == ("resolved", 2)
    replayed = evolve(row, "offer_lapsed", {"version": 2, "at": AT.isoformat()})
    assert replayed is not None and replayed.status == "resolved"
    assert evolve(None, "escalated", {"version": 2}) is None  # never saw it opened


instants = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=60, deadline=None)
@given(
    now=instants,
    target=st.integers(min_value=1, max_value=200),
    market=st.sampled_from(["US", "NL"]),
)
def test_breach_cutoff_splits_waits_at_exactly_the_target_in_business_hours(
    now: datetime, target: int, market: str
) -> None:
    # given the cutoff for a target at `now`
    cutoff = breach_cutoff(market, now, target)
    calendar = calendar_for(market)
    # then a wait that began at it has lasted the target, and one a millisecond later has not
    # (unless that millisecond was not business time)
    assert calendar.business_hours_between(cutoff, now) >= target
    later = cutoff + timedelta(milliseconds=1)
    assert calendar.business_hours_between(later, now) <= target
    assert cutoff <= now


def test_percentiles_interpolate_and_handle_one_value() -> None:
    assert percentile([], 0.5) is None
    assert percentile([7.0], 0.9) == 7.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert percentile([float(i) for i in range(1, 11)], 0.9) == pytest.approx(9.1)
