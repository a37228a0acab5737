"""R62 deterministic rebuild: after a workload of commands and timer firings, every projection
rebuilt from history into fresh stores (from the event store, and from Kafka offset 0) equals the
live one table by table; a live projection changed behind its back is reported."""

from __future__ import annotations

import tempfile
from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from services.auditing import rebuild_and_compare
from services.requests.application import open_application
from services.requests.relay import OutboxRelay
from shared.clock import AdjustableClock
from tests.conftest import START
from tests.integration.audit_harness import ACTIONS, LiveSystem, Workload, live_urls

pytest_plugins = ["tests.integration.kafka_fixtures"]

step = st.one_of(
    st.tuples(st.just("advance"), st.just(0), st.sampled_from([1, 13, 25, 49, 73, 24 * 8])),
    st.tuples(
        st.sampled_from(ACTIONS),
        st.integers(min_value=0, max_value=2),
        st.integers(min_value=1, max_value=20_000),
    ),
)

FIXED_WALK = [
    ("request_info", 0, 1),
    ("buyer_message", 0, 1),
    ("partial", 0, 900),
    ("decline", 0, 1),
    ("ship_return", 0, 1),
    ("confirm", 0, 1),
    ("feedback", 0, 1),
    ("full_refund_with_return", 1, 1),
    ("advance", 0, 13),
    ("advance", 0, 24 * 8),
    ("replacement", 2, 1),
    ("advance", 0, 73),
    ("return_for_refund", 2, 1),
    ("escalate", 2, 1),
    ("decide_refund", 2, 1),
    ("seller_message", 1, 1),
    ("advance", 0, 49),
]


def _run(system: LiveSystem, steps: list[tuple]) -> None:
    workload = Workload(system, 3)
    for name, index, amount in steps:
        workload.step(name, index, amount)
    system.tick()


def _assert_identical(comparison) -> None:
    assert comparison.identical, "\n".join(str(d) for d in comparison.differences[:30])


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(steps=st.lists(step, min_size=1, max_size=25))
def test_rebuild_of_a_random_workload_is_identical_to_the_live_projections(steps) -> None:
    with tempfile.TemporaryDirectory() as folder:
        clock = AdjustableClock(START.astimezone(UTC), frozen=True)
        app = open_application(f"sqlite:///{folder}/events.db", clock)
        system = LiveSystem(app, live_urls("sqlite", folder), clock)
        try:
            _run(system, steps)
            comparison, applied = rebuild_and_compare(app, system.urls, now=clock.now())
            assert applied == app.recorder.max_notification_id()
            _assert_identical(comparison)
        finally:
            system.close()
            app.close()
            app.recorder.datastore.engine.dispose()


@pytest.fixture
def system(app, clock, database_url, tmp_path):
    live = LiveSystem(app, live_urls(database_url, tmp_path), clock)
    try:
        yield live
    finally:
        live.close()


def test_r62_rebuild_in_two_processes_equals_the_live_projections(system, clock) -> None:
    # given a walk through many kinds of requests
    _run(system, FIXED_WALK)
    # when the ledger and ratings are rebuilt in a forked process beside notifications
    comparison, applied = rebuild_and_compare(system.app, system.urls, now=clock.now(), workers=2)
    # then every table equals the live one, and each half replayed every event
    _assert_identical(comparison)
    assert applied == system.app.recorder.max_notification_id()


def test_rebuild_compare_is_identical_then_reports_a_tampered_projection(system, clock) -> None:
    _run(system, FIXED_WALK)
    app = system.app
    comparison, applied = rebuild_and_compare(app, system.urls, now=clock.now())
    _assert_identical(comparison)
    assert applied >= 15
    tables = {(s, t): (a, b) for s, t, a, b in comparison.tables}
    assert tables[("ledger", "ledger_entries")][0] >= 1
    assert tables[("notifications", "notif_inbox")][0] >= 6
    with system.ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET amount = amount - 1"))
    with system.notifications.engine.begin() as conn:
        conn.execute(text("DELETE FROM notif_request_facts"))
    comparison, _ = rebuild_and_compare(app, system.urls, now=clock.now())
    assert not comparison.identical
    found = {(d.store, d.table) for d in comparison.differences}
    assert ("ledger", "ledger_entries") in found
    assert ("notifications", "notif_request_facts") in found
    assert any("amount: live" in d.what for d in comparison.differences)


def test_cli_rebuild_compare_exit_codes(system, clock, database_url, monkeypatch, capsys) -> None:
    from services.cli import main

    _run(system, FIXED_WALK[:8])
    monkeypatch.setenv("SUPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("SUPPORT_LEDGER_DATABASE_URL", system.urls.ledger)
    monkeypatch.setenv("SUPPORT_RATINGS_DATABASE_URL", system.urls.ratings)
    monkeypatch.setenv("SUPPORT_NOTIFICATIONS_DATABASE_URL", system.urls.notifications)
    now = clock.now().isoformat()
    assert main(["audit", "rebuild", "--compare", "--now", now]) == 0
    assert "identical" in capsys.readouterr().out
    with system.ratings.engine.begin() as conn:
        conn.execute(text("DELETE FROM ratings_reasons"))
    assert main(["audit", "rebuild", "--compare", "--now", now, "--quiet"]) == 1
    assert "DIFFERENT ratings.ratings_reasons" in capsys.readouterr().out
    with pytest.raises(SystemExit) as usage:
        main(["audit", "rebuild", "--compare", "--now", "yesterday"])
    assert usage.value.code == 2


def test_rebuild_from_kafka_offset_0_is_identical(kafka_bootstrap, topics, system, clock) -> None:
    _run(system, FIXED_WALK)
    app = system.app
    topic = topics("audit-requests")
    relay = OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=topic)
    try:
        published = relay.drain()
    finally:
        relay.close()
    assert published == app.recorder.max_notification_id()
    comparison, applied = rebuild_and_compare(
        app,
        system.urls,
        now=clock.now(),
        source="kafka",
        kafka_bootstrap=kafka_bootstrap,
        topic=topic,
    )
    assert applied == published
    assert not comparison.notes, comparison.notes
    _assert_identical(comparison)
