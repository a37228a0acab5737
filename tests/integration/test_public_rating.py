"""The public support rating (issue 19): readable without a token, public fields only; the seller's
own token adds CSAT and the explanation; anonymous reads are rate-limited per client address with
a 429 problem document and `Retry-After` (embedded app, SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest

from services.ratings.public_limit import AnonymousReadLimit
from services.ratings.settings import RatingsSettings
from tests.integration.conftest_http import Api, assert_problem
from tests.integration.search_harness import caught_up

pytest_plugins = ["tests.integration.conftest_http"]

PUBLIC = {"visible", "level", "window", "requests_considered"}


def test_anonymous_reads_get_the_public_fields_and_are_rate_limited(api: Api) -> None:
    # given a seller with a request, and an anonymous limit of 3 reads a minute
    state = api.open_request()
    caught_up(api.client.app)
    api.client.app.state.ratings_anonymous_limit = AnonymousReadLimit("3/minute")
    url = f"/v1/sellers/{state['seller_id']}/support-rating"
    # when anyone reads it without a token, then only the public fields come back
    for _ in range(3):
        response = api.client.get(url)
        assert response.status_code == 200, response.text
        assert set(response.json()) == PUBLIC
    # and the 4th read within the minute is refused with a problem document and Retry-After
    refused = api.client.get(url)
    assert_problem(refused, 429, detail_contains="retry in")
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    # while callers with a token are not limited, and the seller sees their CSAT and explanation
    own = api.call("seller", "GET", url, sub=state["seller_id"])
    assert own.status_code == 200
    assert {"csat", "explanation"} <= set(own.json())
    other = api.call("buyer", "GET", url, sub=state["buyer_id"])
    assert other.status_code == 200 and set(other.json()) == PUBLIC
    # a token that is sent must be valid
    bad = api.client.get(url, headers={"Authorization": "Bearer nonsense"})
    assert_problem(bad, 401)


def test_the_limit_counts_each_client_address_on_its_own() -> None:
    limit = AnonymousReadLimit("2/minute")
    assert [limit.check("10.0.0.1") for _ in range(2)] == [0, 0]
    assert limit.check("10.0.0.1") >= 1
    assert limit.check("10.0.0.2") == 0


def test_the_limit_comes_from_settings_and_is_checked_at_start(monkeypatch) -> None:
    monkeypatch.setenv("SUPPORT_RATINGS_ANONYMOUS_RATE_LIMIT", "5/second")
    assert RatingsSettings().anonymous_rate_limit == "5/second"
    monkeypatch.setenv("SUPPORT_RATINGS_ANONYMOUS_RATE_LIMIT", "lots")
    with pytest.raises(ValueError, match="not a rate limit"):
        RatingsSettings()
