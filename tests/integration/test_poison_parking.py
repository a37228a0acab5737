"""Issue 18, defect class "a poison event stalls a projection": an event a projection cannot apply is
parked with its origin after bounded retries, the projection goes on with the next, `/readyz` says
degraded, a metric counts it, and `seller-support dlq list|retry|discard` acts on it — embedded
(notification-log feed, SQLite and PostgreSQL) and on Kafka alike.

The poison events are crafted into the feed (not sent through the HTTP door, which bounds amounts):
the projection must hold whatever reaches it."""

from __future__ import annotations

import dataclasses
import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from services.cli import main as cli_main
from services.ledger.application import LedgerApplication
from services.requests.application import RequestsApplication
from shared.transport.messages import EventMessage
from shared.transport.notification_log import NotificationLogFeed
from shared.transport.parking import ParkedStatus, list_parked, parked_summaries
from shared.transport.projection import parked_events
from shared.transport.stream_consumers import StreamOptions
from tests.factories import unique
from tests.integration.ledger_harness import (
    AUDITOR,
    R30_PER_ITEM,
    all_messages,
    open_request,
    respond,
)

pytest_plugins = ["tests.integration.ledger_harness", "tests.integration.kafka_fixtures"]

OVERFLOWING_PAYOUT = 2**63  # the example: a full refund of it cannot be stored


def with_payout(message: EventMessage, payout: int) -> EventMessage:
    items = [{**item, "seller_payout": payout} for item in message.data["items"]]
    return dataclasses.replace(message, data={**message.data, "items": items})


def with_charge(message: EventMessage, charge: int) -> EventMessage:
    """Since R63 a refunding event carries the seller's charge, computed from the payout when the
    step happened: a poisoned history carries the overflowing amount there too."""
    if "seller_charge" not in message.data:
        return message
    return dataclasses.replace(message, data={**message.data, "seller_charge": charge})


def poisoned(message: EventMessage) -> EventMessage:
    if message.name == "opened":
        return with_payout(message, OVERFLOWING_PAYOUT)
    # R30's charge of that payout (payout + buyer shipping 500 + fee 103): past any 64-bit integer
    # even negated (-2^63 alone would still fit)
    return with_charge(message, OVERFLOWING_PAYOUT + 603)


def orphan_charge(request_id: str) -> EventMessage:
    """A full refund of a request whose opening the ledger never saw: fails in the handler."""
    at = "2026-12-07T19:00:00+00:00"
    from datetime import datetime

    return EventMessage(
        id=f"{request_id}:2",
        name="full_refund_offered",
        subject=request_id,
        time=datetime.fromisoformat(at),
        data={
            "request_id": request_id,
            "version": 2,
            "at": at,
            "actor": "seller:ghost",
            "amount": 3000,
            "auto_claim": None,
        },
    )


def balance(ledger: LedgerApplication, seller: str) -> int:
    page = ledger.ledger(seller, AUDITOR)
    return sum(int(b["amount"]) for b in page["balances"]) if page["balances"] else 0


def parked_metric(projection: str, money: str) -> float:
    value = REGISTRY.get_sample_value(
        "seller_support_events_parked_total", {"projection": projection, "money": money}
    )
    return value or 0.0


def test_r30_a_full_refund_of_an_overflowing_payout_is_parked_and_other_sellers_keep_being_charged(
    app: RequestsApplication, ledger: LedgerApplication
) -> None:
    # given a request whose order's payout is 2^63 (crafted into the log), fully refunded, and
    # after it another seller's full refund
    poisoned_request = open_request(app, seller_id=unique("seller-poison"))
    respond(poisoned_request, "full_refund")
    healthy = open_request(app, seller_id=unique("seller-ok"))
    respond(healthy, "full_refund")
    log = [
        (p, poisoned(m) if m.subject == str(poisoned_request.id) else m)
        for p, m in all_messages(app)
    ]
    before = parked_metric("ledger", "true")

    # when the embedded feed pumps the log into the ledger
    feed = NotificationLogFeed(
        lambda start, limit: [x for x in log if x[0] >= start][:limit], [ledger.projection]
    )
    feed.pump()

    # then the other seller is charged exactly R30, and the feed is at the end of the log
    assert balance(ledger, healthy.order.seller_id) == -R30_PER_ITEM
    assert ledger.projection.position() == log[-1][0]
    # and the poisoned request's charge is parked, flagged as money, with its origin and error
    parked = list_parked(ledger.engine, parked_events)
    assert parked, "nothing was parked"
    assert {p.subject for p in parked} == {str(poisoned_request.id)}
    charge = next(p for p in parked if p.event_type == "full_refund_offered")
    assert charge.money is True
    assert charge.status == ParkedStatus.PARKED
    assert charge.origin.startswith("notification log position ")
    assert charge.error
    assert parked_metric("ledger", "true") - before == len(parked)
    # and pumping again neither re-parks nor stalls
    feed.pump()
    assert len(list_parked(ledger.engine, parked_events)) == len(parked)


def test_a_handler_failure_is_retried_then_parked_and_dlq_retry_and_discard_act_on_it(
    app: RequestsApplication, ledger: LedgerApplication
) -> None:
    # given an orphan charge (its request's opening never reached the ledger) between real events
    healthy = open_request(app, seller_id=unique("seller-ok"))
    respond(healthy, "full_refund")
    real = all_messages(app)
    ghost = str(uuid.uuid4())
    log = [(1, orphan_charge(ghost))] + [(p + 1, m) for p, m in real]
    feed = NotificationLogFeed(
        lambda start, limit: [x for x in log if x[0] >= start][:limit], [ledger.projection]
    )
    # when pumped
    feed.pump()
    # then the real charge is applied and the orphan parked with its error
    assert balance(ledger, healthy.order.seller_id) == -R30_PER_ITEM
    (orphan,) = list_parked(ledger.engine, parked_events)
    assert orphan.event_id == f"{ghost}:2"
    assert orphan.origin == "notification log position 1"
    assert "never saw" in orphan.error
    assert orphan.attempts == ledger.projection.poison_attempts
    assert parked_summaries(ledger.engine, parked_events)[0][1].money == 1
    # when the operator retries it while it still fails: it stays parked, one attempt more
    with pytest.raises(Exception, match="never saw"):
        ledger.projection.retry_parked(orphan.event_id)
    (again,) = list_parked(ledger.engine, parked_events)
    assert again.status == ParkedStatus.PARKED and again.attempts == orphan.attempts + 1
    # when discarded: its record stays, marked, and nothing waits any more
    ledger.projection.discard_parked(orphan.event_id)
    (discarded,) = list_parked(ledger.engine, parked_events)
    assert discarded.status == ParkedStatus.DISCARDED and discarded.resolved_at is not None
    assert parked_summaries(ledger.engine, parked_events) == []
    with pytest.raises(LookupError):
        ledger.projection.discard_parked(orphan.event_id)


def test_dlq_retry_applies_a_parked_event_once_the_cause_is_gone(
    app: RequestsApplication, ledger: LedgerApplication
) -> None:
    # given a charge parked because its opening had not reached the ledger yet
    request = open_request(app, seller_id=unique("seller-late"))
    respond(request, "full_refund")
    opened, charge = all_messages(app)[-2:]
    feed_log = [(1, charge[1])]
    NotificationLogFeed(lambda s, n: [x for x in feed_log if x[0] >= s], [ledger.projection]).pump()
    assert [p.event_id for p in list_parked(ledger.engine, parked_events)] == [charge[1].id]
    # when the opening arrives and the operator retries the charge
    ledger.projection.apply(opened[1])
    ledger.projection.retry_parked(charge[1].id)
    # then the seller is charged R30 once and the record says retried
    assert balance(ledger, request.order.seller_id) == -R30_PER_ITEM
    (record,) = list_parked(ledger.engine, parked_events)
    assert record.status == ParkedStatus.RETRIED


def test_dlq_cli_lists_money_events_loudly_and_discards(
    ledger_url: str, ledger: LedgerApplication, capsys: pytest.CaptureFixture[str]
) -> None:
    # given a parked orphan charge in the ledger's database
    ghost = str(uuid.uuid4())
    NotificationLogFeed(
        lambda s, n: [(1, orphan_charge(ghost))] if s <= 1 else [], [ledger.projection]
    ).pump()
    # when the operator lists the ledger's parked events
    code = cli_main(["dlq", "list", "--service", "ledger", "--database-url", ledger_url])
    out, err = capsys.readouterr()
    # then it exits 1, prints the event as a JSON line flagged as money, and says so on stderr
    assert code == 1
    (line,) = [json.loads(x) for x in out.splitlines()]
    assert (
        line["event_id"] == f"{ghost}:2" and line["money"] is True and line["service"] == "ledger"
    )
    assert "MONEY EVENT PARKED" in err
    # when discarded through the CLI, the list is empty again (exit 0) but --all still shows it
    assert (
        cli_main(
            ["dlq", "discard", f"{ghost}:2", "--service", "ledger", "--database-url", ledger_url]
        )
        == 0
    )
    assert cli_main(["dlq", "list", "--service", "ledger", "--database-url", ledger_url]) == 0
    capsys.readouterr()
    assert (
        cli_main(["dlq", "list", "--all", "--service", "ledger", "--database-url", ledger_url]) == 0
    )
    (line,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert line["status"] == "discarded"
    # and an unknown event is a usage error
    assert (
        cli_main(["dlq", "retry", "nope:1", "--service", "ledger", "--database-url", ledger_url])
        == 2
    )


@pytest.mark.kafka
def test_on_kafka_a_poison_event_is_parked_copied_to_the_dlq_and_the_partition_moves_on(
    app: RequestsApplication, ledger: LedgerApplication, kafka_bootstrap: str, topics: Any
) -> None:
    from shared.envelope import to_kafka
    from tests.integration.kafka_fixtures import plain_producer, read_topic, wait_for

    # given on one partition: an orphan charge, then a real request's events
    topic = topics("requests", partitions=1)
    healthy = open_request(app, seller_id=unique("seller-ok"))
    respond(healthy, "full_refund")
    ghost = str(uuid.uuid4())
    real = [m for _, m in all_messages(app)]
    producer = plain_producer(kafka_bootstrap)
    for message in [orphan_charge(ghost), *real]:
        record = to_kafka(message)
        producer.send(topic, key=record.key, value=record.value, headers=record.headers)
    producer.flush(30)
    producer.close()
    # when the ledger's consumer (what `python -m services.ledger.main` runs) consumes them
    runtime = StreamOptions(
        bootstrap_servers=kafka_bootstrap, group_id=unique("it-ledger"), topic=topic
    ).runtime(ledger.projection)
    try:
        wait_for(
            lambda: runtime.poll_once() >= 0 and runtime.stats.processed >= 1 + len(real),
            60,
            "every record",
        )
    finally:
        runtime.close()
    # then the real charge is applied, the orphan parked with its Kafka origin
    assert balance(ledger, healthy.order.seller_id) == -R30_PER_ITEM
    (orphan,) = list_parked(ledger.engine, parked_events)
    assert orphan.origin.startswith(f"{topic}[0]@0 ")
    # and its record copied to <topic>.dlq with the error
    (dead,) = read_topic(kafka_bootstrap, f"{topic}.dlq", expect=1)
    headers = dict(dead.headers)
    assert headers["original_offset"] == b"0"
    assert b"parked by the projection" in headers["error"]


@pytest.fixture
def readyz_app(tmp_path: Path):
    """The embedded app on a fresh data folder (its ledger is SQLite under it)."""
    from fastapi.testclient import TestClient

    from services.embedded import create_embedded_app
    from services.requests.settings import Settings

    settings = Settings(data_dir=tmp_path)
    with TestClient(create_embedded_app(settings)) as client:
        yield client


def test_readyz_reports_degraded_with_the_count_while_events_are_parked(readyz_app: Any) -> None:
    # given a running embedded system, ready
    assert readyz_app.get("/readyz").json() == {"status": "ready"}
    # when an event is parked in its ledger
    ledger = readyz_app.app.state.ledger
    ghost = str(uuid.uuid4())
    ledger.projection.apply_batch([(None, orphan_charge(ghost))])
    # then /readyz still answers 200 but says degraded, with the count and the money count
    response = readyz_app.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "degraded"
    assert body["parked_events"] == {"ledger": 1}
    assert body["parked_money_events"] == 1
    # and once discarded it is ready again
    ledger.projection.discard_parked(f"{ghost}:2")
    assert readyz_app.get("/readyz").json() == {"status": "ready"}
