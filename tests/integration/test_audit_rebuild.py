"""R62 deterministic rebuild: after a workload of commands and timer firings, every projection
rebuilt from history into fresh stores (from the event store, and from Kafka offset 0) equals the
live one table by table; a live projection changed behind its back is reported."""

from __future__ import annotations

import sqlite3
import tempfile
from dataclasses import replace
from datetime import UTC

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select, text

from services.auditing import (
    ScratchStores,
    open_rebuilt,
    read_for_rebuild,
    rebuild_and_compare,
    replay_event_store,
)
from services.ledger import projection as ledger_projection
from services.ledger import store as ledger_store
from services.notifications import store as notif_store
from services.notifications.application import NotificationsApplication
from services.notifications.mailer import Mailer
from services.notifications.main import build_engine
from services.notifications.settings import NotificationsSettings
from services.ratings import store as ratings_store
from services.requests.application import open_application
from services.requests.outbox.publishing import read_messages
from services.requests.outbox.relay import OutboxRelay
from shared.clock import AdjustableClock
from shared.transport.notification_log import NotificationLogFeed
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


@pytest.mark.parametrize("workers", [2, 3])
def test_r62_rebuild_in_several_processes_equals_the_live_projections(
    system, clock, workers
) -> None:
    # given a walk through many kinds of requests
    _run(system, FIXED_WALK)
    # when the projections are rebuilt in forked processes (2: ledger and ratings beside
    # notifications; 3: one each), each reading only the events its projections react to
    comparison, applied = rebuild_and_compare(
        system.app, system.urls, now=clock.now(), workers=workers
    )
    # then every table equals the live one, and each process replayed every event
    _assert_identical(comparison)
    assert applied == system.app.recorder.max_notification_id()


def test_a_kept_rebuild_is_live_ready_and_mails_only_what_is_new(tmp_path) -> None:
    # given a live embedded system on SQLite after a walk through many kinds of requests
    clock = AdjustableClock(START.astimezone(UTC), frozen=True)
    app = open_application(f"sqlite:///{tmp_path}/events.db", clock)
    system = LiveSystem(app, live_urls("sqlite", tmp_path), clock)
    scratch = ScratchStores(system.urls, keep=True)
    try:
        workload = Workload(system, 3)
        for name, index, amount in FIXED_WALK:
            workload.step(name, index, amount)
        system.tick()
        head = app.recorder.max_notification_id()
        # when every projection is rebuilt from the event store into stores that are kept
        rebuilt = open_rebuilt(scratch.urls, clock.now(), system.urls.notifications)
        try:
            replay_event_store(app, rebuilt, workers=2)
        finally:
            rebuilt.close()
        # then each kept store is back in WAL mode with every index, at the log's head
        for url, indexes in (
            (scratch.urls.ledger, ledger_store.QUERY_INDEXES),
            (scratch.urls.ratings, ratings_store.QUERY_INDEXES),
            (scratch.urls.notifications, notif_store.QUERY_INDEXES),
        ):
            with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
                assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)
                present = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
                assert {index.name for index in indexes} <= present
                positions = conn.execute("SELECT position FROM feed_positions").fetchall()
                assert positions == [(head,)]
        # and history's e-mails are all recorded, as rebuilt, so a mailer sends none of them
        settings = NotificationsSettings(database_url=scratch.urls.notifications)
        kept = NotificationsApplication(build_engine(settings), settings)
        try:
            assert _outbox_statuses(kept.engine) == {"rebuilt": _live_event_emails(system)}
            assert Mailer(kept.engine, settings, sender=_RefusingSender()).send_pending() == 0
            # and put live, it goes on from the head: only e-mails of new events are pending
            workload.step("buyer_message", 0)
            workload.step("seller_message", 1)
            NotificationLogFeed(
                lambda start, limit: read_messages(app, start, limit), [kept.projection]
            ).pump()
            statuses = _outbox_statuses(kept.engine)
            assert statuses["rebuilt"] == _live_event_emails(system)
            assert statuses["pending"] == 2
        finally:
            kept.close()
    finally:
        scratch.keep = False
        scratch.close()
        system.close()
        app.close()
        app.recorder.datastore.engine.dispose()


class _RefusingSender:
    def session(self):
        raise AssertionError("no e-mail of history may be sent")


def _outbox_statuses(engine) -> dict[str, int]:
    with engine.connect() as conn:
        rows = conn.execute(
            select(notif_store.outbox.c.status, func.count()).group_by(notif_store.outbox.c.status)
        ).all()
    return dict(rows)  # type: ignore[arg-type]


def _live_event_emails(system: LiveSystem) -> int:
    """The live store's e-mails of events (not of reminders, which a rebuild does not fire)."""
    kind = notif_store.notifications.c.kind
    with system.notifications.engine.connect() as conn:
        return conn.execute(
            select(func.count())
            .select_from(notif_store.notifications)
            .where(notif_store.notifications.c.channel == "email", ~kind.startswith("reminder_"))
        ).scalar_one()


def test_a_rebuild_reads_only_what_its_projections_react_to(system) -> None:
    # given a walk through many kinds of requests
    _run(system, FIXED_WALK)
    app = system.app
    head = app.recorder.max_notification_id()
    published = read_messages(app, 1, head)
    # when the log is read for a rebuild of every projection, and for the ledger alone
    every = read_for_rebuild(app, 1, head, None)
    ledger = read_for_rebuild(app, 1, head, ledger_projection.EVENTS)
    # then it is the published log without chain hashes and traceparents (nothing rebuilt reads
    # them), and the ledger's read leaves the data of the events it ignores undecoded
    assert every == [(p, replace(m, chain_hash=None, traceparent=None)) for p, m in published]
    ignored = [m for _, m in published if m.name not in ledger_projection.EVENTS]
    assert ignored
    for (position, message), (read_at, read) in zip(published, ledger, strict=True):
        assert read_at == position
        if message.name in ledger_projection.EVENTS:
            assert read == replace(message, chain_hash=None, traceparent=None)
        else:
            assert (read.id, read.name, read.subject, read.data) == (
                message.id,
                message.name,
                message.subject,
                {},
            )


def test_rebuild_compare_is_identical_then_reports_a_tampered_projection(system, clock) -> None:
    _run(system, FIXED_WALK)
    app = system.app
    comparison, applied = rebuild_and_compare(app, system.urls, now=clock.now())
    _assert_identical(comparison)
    assert applied >= 15
    tables = {(s, t): (a, b) for s, t, a, b in comparison.tables}
    assert tables[("ledger", "ledger_entries")][0] >= 1
    assert tables[("notifications", "notif_inbox")][0] >= 6
    assert tables[("search", "search_requests")] == (3, 3)
    with system.ledger.engine.begin() as conn:
        conn.execute(text("UPDATE ledger_entries SET amount = amount - 1"))
    with system.notifications.engine.begin() as conn:
        conn.execute(text("DELETE FROM notif_request_facts"))
    with system.search.engine.begin() as conn:
        conn.execute(text("UPDATE search_requests SET status = 'cancelled'"))
    comparison, _ = rebuild_and_compare(app, system.urls, now=clock.now())
    assert not comparison.identical
    found = {(d.store, d.table) for d in comparison.differences}
    assert ("ledger", "ledger_entries") in found
    assert ("notifications", "notif_request_facts") in found
    assert ("search", "search_requests") in found
    assert any("amount: live" in d.what for d in comparison.differences)


def test_cli_rebuild_compare_exit_codes(system, clock, database_url, monkeypatch, capsys) -> None:
    from services.cli import main

    _run(system, FIXED_WALK[:8])
    monkeypatch.setenv("SUPPORT_DATABASE_URL", database_url)
    monkeypatch.setenv("SUPPORT_LEDGER_DATABASE_URL", system.urls.ledger)
    monkeypatch.setenv("SUPPORT_RATINGS_DATABASE_URL", system.urls.ratings)
    monkeypatch.setenv("SUPPORT_NOTIFICATIONS_DATABASE_URL", system.urls.notifications)
    monkeypatch.setenv("SUPPORT_SEARCH_DATABASE_URL", system.urls.search)
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
