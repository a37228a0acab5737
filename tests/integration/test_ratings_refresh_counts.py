"""Issue 30: `RatingsApplication.refresh` decides a seller's public (visible, level) from counts
taken in SQL when the 90-day window applies, instead of reading the window's requests and reasons
into Python. It must announce exactly what `rate(...)` says (R40-R44): property-tested over random
histories (requests inside and outside the window, routed to support or not, reasons of every code
dated before and after `now`), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from services.ratings import store
from services.ratings.application import RatingsApplication
from services.ratings.domain import Code, Reason, RequestFacts, rate
from services.ratings.main import open_ratings_at
from shared.clock import AdjustableClock

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
SELLER = "seller-counts"


@pytest.fixture
def ratings(database_url: str) -> Iterator[RatingsApplication]:
    url = database_url.replace("events.db", "ratings.db")
    application = open_ratings_at(url, AdjustableClock(NOW, frozen=True))
    try:
        yield application
    finally:
        application.engine.dispose()


@st.composite
def histories(draw: st.DrawFn) -> list[RequestFacts]:
    count = draw(st.integers(min_value=0, max_value=24))
    facts = []
    for index in range(count):
        opened = NOW - timedelta(hours=draw(st.integers(min_value=-48, max_value=24 * 120)))
        codes = draw(st.lists(st.sampled_from(list(Code)), max_size=3, unique=True))
        reasons = tuple(
            Reason(
                code,
                opened + timedelta(hours=draw(st.integers(min_value=0, max_value=72))),
                "",
                f"e{index}-{code}",
            )
            for code in codes
        )
        facts.append(
            RequestFacts(
                request_id=f"r{index:03d}",
                seller_id=SELLER,
                opened_at=opened,
                routed_to_support=draw(st.sampled_from([None, None, None, "no_response"])),
                reasons=reasons,
            )
        )
    return facts


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(history=histories())
def test_r40_r44_the_refresh_announces_what_rate_says_from_counts_alone(
    ratings: RatingsApplication, history: list[RequestFacts]
) -> None:
    # given a seller's stored history
    with ratings.engine.begin() as conn:
        conn.execute(delete(store.reasons))
        conn.execute(delete(store.requests))
        store.save_requests(conn, {}, {f.request_id: f for f in history}, {})
    # when the refresh decides the seller's public rating at NOW
    with ratings.engine.connect() as conn:
        decided = ratings._public_rating(conn, SELLER, NOW)
    # then it is the rating's public face, window and size as `rate` computes them
    expected = rate(SELLER, history, NOW, ratings.formula)
    assert decided.public == expected.public
    assert (decided.window, decided.requests_considered) == (
        expected.window,
        expected.requests_considered,
    )
