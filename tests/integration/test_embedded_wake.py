"""Issue 30: in embedded mode the projection pump is woken when a command's events commit, instead
of finding them at its next timed round (every 0.5 s): with the timed round pushed out to an hour,
a command's events still reach the ledger, ratings and search projections."""

from __future__ import annotations

import time

import pytest

import services.embedded as embedded
from tests.integration.conftest_http import Api

pytest_plugins = ["tests.integration.conftest_http"]


def _caught_up(api: Api) -> bool:
    state = api.client.app.state
    last = state.requests.recorder.max_notification_id() or 0
    return all(
        projection.position() >= last
        for projection in (state.ledger.projection, state.ratings.projection)
    )


def assert_caught_up_eventually(api: Api, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not _caught_up(api):
        assert time.monotonic() < deadline, "the projections did not apply the command's events"
        time.sleep(0.02)


def test_a_committed_command_wakes_the_embedded_projection_pump(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    # given the pump's timed round an hour apart, and a first command applied (by a timed round
    # already under way, or by its wake): from here on the pump waits an hour or for a wake
    monkeypatch.setattr(embedded, "PROJECTION_INTERVAL_SECONDS", 3600.0)
    api.open_request()
    assert_caught_up_eventually(api)
    # when a seller answers a request (a command whose events commit)
    state = api.open_request()
    answered = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
    assert answered.status_code == 200, answered.text
    # then its events reach the projections well before the timed round
    assert_caught_up_eventually(api)
