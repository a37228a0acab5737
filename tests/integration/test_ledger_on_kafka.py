"""The ledger on the Kafka adapter (real broker): R39's `claim_paid` on `shipments.v1`, the whole
`python -m services.ledger.main` composition (both consumers, the outbox publisher, the HTTP API),
and scale-out of the real ledger projection over two consumers in one group."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from services.ledger import store
from services.ledger.application import LedgerApplication
from services.ledger.main import create_app, open_ledger_at
from services.ledger.streams import claims_runtime
from services.requests.application import RequestsApplication, open_application
from services.requests.outbox.relay import OutboxRelay
from shared.auth import TokenCodec
from shared.clock import AdjustableClock
from shared.contracts.ledger_v1 import LEDGER_ENTRY_RECORDED_TYPE
from shared.envelope import from_kafka_record, headers_of
from shared.transport.projection import applied_events
from shared.transport.stream_consumers import StreamOptions
from tests.conftest import START, close_application
from tests.factories import ny, shipment_scanned
from tests.integration.kafka_fixtures import (
    plain_producer,
    read_topic,
    running,
    unique,
    wait_for,
)
from tests.integration.ledger_harness import (
    R30_PER_ITEM,
    KafkaLedgerPath,
    escalate_after_no_refund,
    open_request,
    pump,
    respond,
    ship_return,
    shipment_tracking,
)

pytest_plugins = ["tests.integration.kafka_fixtures", "tests.integration.ledger_harness"]

pytestmark = pytest.mark.kafka
# The requests app (and the ledger fixture) on SQLite: the Kafka path is what is under test here.
on_sqlite = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)

CODEC = TokenCodec()


def claim_paid(tracking: str, amount: int, at: datetime) -> dict[str, Any]:
    return {
        "type": "claim_paid",
        "tracking_number": tracking,
        "amount": amount,
        "at": at.isoformat(),
    }


def produce(bootstrap: str, topic: str, records: list[tuple[str, bytes]]) -> None:
    producer = plain_producer(bootstrap)
    for key, value in records:
        producer.send(topic, key=key.encode(), value=value)
    producer.flush(30)
    producer.close()


def as_json(fact: Any) -> bytes:
    if isinstance(fact, dict):
        return json.dumps(fact).encode()
    return fact.model_dump_json().encode()


@on_sqlite
def test_r39_claim_paid_on_shipments_credits_once_and_rejections_go_to_the_dlq(
    kafka_bootstrap: str,
    topics: Any,
    app: RequestsApplication,
    ledger: LedgerApplication,
    clock: AdjustableClock,
) -> None:
    requests_topic, shipments = topics("requests"), topics("shipments")
    a = open_request(app, insured_value=2500)  # shipped Nov 23: claimable from Dec 7 09:00
    respond(a, "full_refund", auto_claim=True)
    b = open_request(app, shipped_at=ny(2026, 12, 1, 9, 0), insured_value=5000)  # from Dec 15
    respond(b, "full_refund_with_return", auto_claim=True)
    path = KafkaLedgerPath(kafka_bootstrap, requests_topic)
    try:
        path(app, ledger)  # the response events schedule both claims
    finally:
        path.close()
    ta, tb = shipment_tracking(app, a), shipment_tracking(app, b)
    now = clock.now()
    facts: list[tuple[str, bytes]] = [
        (ta, as_json(claim_paid(ta, 4000, now))),  # credited: min(4000, 2500)
        (ta, as_json(claim_paid(ta, 4000, now))),  # the same report again: a no-op
        (ta, as_json(shipment_scanned(ta, "delivered", now))),  # the requests service's fact
        ("NOPE-1", as_json(claim_paid("NOPE-1", 100, now))),  # no such claim -> DLQ
        (tb, as_json(claim_paid(tb, 900, now))),  # before the filing date -> DLQ
        (ta, as_json(claim_paid(ta, 100, now))),  # conflicting report -> DLQ
        (tb, b"{not json"),  # poison -> DLQ
        (tb, as_json(claim_paid(tb, 900, ny(2026, 12, 15, 9, 0)))),  # on time: credited
    ]
    produce(kafka_bootstrap, shipments, facts)
    runtime = claims_runtime(
        ledger, kafka_bootstrap, topic=shipments, group_id=unique("claims"), poll_timeout_ms=100
    )
    try:
        wait_for(
            lambda: (
                runtime.poll_once() >= 0
                and runtime.stats.processed + runtime.stats.dead_lettered >= len(facts)
            ),
            15,
            "every shipments.v1 record processed or dead-lettered",
        )
    finally:
        runtime.close()
    assert (runtime.stats.processed, runtime.stats.dead_lettered) == (4, 4)

    def entries(opened: Any) -> list[tuple[str, int]]:
        return sorted((e["kind"], e["amount"]) for e in ledger.entries_for_request(str(opened.id)))

    assert entries(a) == [("claim_credit", 2500), ("refund_no_return", -R30_PER_ITEM)]
    assert entries(b) == [("claim_credit", 900)]  # the return is not confirmed: no charge yet
    assert ledger.claim(tb)["paid_at"] == ny(2026, 12, 15, 9, 0).astimezone(UTC)

    dead = read_topic(kafka_bootstrap, f"{shipments}.dlq", expect=4, timeout_s=10)
    reasons = sorted(headers_of(r.headers)["error"].decode() for r in dead)
    assert len(reasons) == 4
    for slug in ("claim-not-scheduled", "claim-paid-too-early", "claim-paid-conflict", "not JSON"):
        assert sum(slug in r for r in reasons) == 1, (slug, reasons)
    for record in dead:
        headers = headers_of(record.headers)
        assert headers["original_topic"] == shipments.encode()
        assert headers["consumer_group"].startswith(b"it-claims-")


@on_sqlite
def test_the_ledger_process_consumes_both_topics_serves_its_api_and_publishes_its_entries(
    kafka_bootstrap: str, topics: Any, app: RequestsApplication, ledger_url: str
) -> None:
    """`python -m services.ledger.main`'s composition (create_app with Kafka): request events and a
    claim payment in, the seller's ledger over HTTP and `seller-support.ledger.v1` out."""
    requests_topic, shipments, ledger_topic = (
        topics("requests"),
        topics("shipments"),
        topics("ledger"),
    )
    opened = open_request(app, insured_value=2500)
    respond(opened, "full_refund", auto_claim=True)
    tracking = shipment_tracking(app, opened)
    seller = opened.order.seller_id
    OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=requests_topic).drain()
    ledger = open_ledger_at(ledger_url)
    service = create_app(
        token_codec=CODEC,
        ledger=ledger,
        kafka=StreamOptions(kafka_bootstrap, unique("ledger"), requests_topic),
        shipments_topic=shipments,
        claims_group=unique("ledger-claims"),
        ledger_topic=ledger_topic,
    )
    headers = {"Authorization": f"Bearer {CODEC.encode(sub=seller, role='seller')}"}
    try:
        with TestClient(service) as client:
            wait_for(lambda: ledger.claim(tracking) is not None, 15, "the claim to be scheduled")
            paid = claim_paid(tracking, 4000, START + timedelta(days=1))
            produce(kafka_bootstrap, shipments, [(tracking, as_json(paid))])

            def body() -> dict[str, Any]:
                response = client.get(f"/v1/sellers/{seller}/ledger", headers=headers)
                assert response.status_code == 200, response.text
                return response.json()

            wait_for(lambda: body()["total_entries"] == 2, 15, "the charge and the credit")
            view = body()
            assert view["balance"] == {"amount": -R30_PER_ITEM + 2500, "currency": "USD"}
            records = read_topic(kafka_bootstrap, ledger_topic, expect=2, timeout_s=15)
            wait_for(lambda: ledger.unpublished_count() == 0, 10, "the outbox marked published")
            assert client.get("/readyz").status_code == 200
    finally:
        ledger.close()
    received = [
        from_kafka_record(r.key, r.value, r.headers, expected_type=LEDGER_ENTRY_RECORDED_TYPE)
        for r in records
    ]
    assert [(m.data["kind"], m.data["amount"]) for m in received] == [
        ("refund_no_return", -R30_PER_ITEM),
        ("claim_credit", 2500),
    ]
    assert {m.key for m in received} == {m.subject for m in received} == {seller}
    assert [m.id for m in received] == [e["id"] for e in view["entries"]]  # ce_id = entry id


# --- scale-out ---------------------------------------------------------------------------------


def busy_history(app: RequestsApplication, clock: AdjustableClock, n_sellers: int = 4) -> None:
    """Every charging path, for several sellers, so the requests spread over the partitions."""
    for s in range(n_sellers):
        seller = f"seller-scale-{s}-{uuid.uuid4().hex[:6]}"
        a = open_request(app, seller_id=seller)
        respond(a, "full_refund", auto_claim=True)
        b = open_request(app, seller_id=seller)
        respond(b, "partial_refund", amount=700 + s)
        app.accept_offer(b.id, b.buyer)
        c = open_request(app, seller_id=seller)
        respond(c, "full_refund_with_return")
        ship_return(c, clock.now(), label_cost=555)
        app.confirm_return(c.id, c.seller)
        d = open_request(app, seller_id=seller)
        escalate_after_no_refund(d)
        app.decide(d.id, d.agent, outcome="refund")
        e = open_request(app, seller_id=seller)
        respond(e, "replacement", carrier="USPS", tracking_number=f"REPL-{uuid.uuid4().hex[:8]}")


@pytest.fixture
def ledger_pair(pg_url_2: str) -> Iterator[tuple[LedgerApplication, LedgerApplication]]:
    """Two ledger processes' applications on one ledger database (PostgreSQL)."""
    first, second = open_ledger_at(pg_url_2), open_ledger_at(pg_url_2)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def test_two_ledger_consumers_in_one_group_split_the_partitions_and_match_a_single_consumer(
    kafka_bootstrap: str,
    topics: Any,
    database_url: str,
    fresh_database_url: Any,
    ledger_pair: tuple[LedgerApplication, LedgerApplication],
) -> None:
    # the requests app and the single-consumer reference on SQLite or PostgreSQL (database_url)
    clock = AdjustableClock(START.astimezone(UTC), frozen=True)
    app = open_application(database_url, clock)
    single = open_ledger_at(fresh_database_url("single"))
    try:
        topic = topics("requests", partitions=4)
        group = unique("ledger")
        runtimes = {
            tag: StreamOptions(kafka_bootstrap, group, topic, client_id=f"it-ledger-{tag}").runtime(
                lg.projection
            )
            for tag, lg in zip("ab", ledger_pair, strict=True)
        }
        busy_history(app, clock)
        clock.advance(timedelta(days=8))
        app.fire_due()  # timer events too (the replacement becomes overdue: no charge)
        with running(runtimes["a"]), running(runtimes["b"]):

            def split() -> bool:
                owned = [{tp.partition for tp in rt.assignment()} for rt in runtimes.values()]
                return all(owned) and owned[0] | owned[1] == {0, 1, 2, 3}

            wait_for(split, 20, "both ledger consumers to own partitions")
            published = OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=topic).drain()
            # a second relay re-publishes everything: every event arrives twice
            OutboxRelay.for_bootstrap(app, kafka_bootstrap, topic=topic, name="again").drain()
            wait_for(
                lambda: sum(rt.stats.processed for rt in runtimes.values()) >= 2 * published,
                30,
                "every record (and its duplicate) processed",
            )
        assert all(rt.stats.dead_lettered == 0 for rt in runtimes.values())
        assert runtimes["a"].stats.partitions_seen.isdisjoint(runtimes["b"].stats.partitions_seen)
        assert runtimes["a"].stats.processed > 0 and runtimes["b"].stats.processed > 0

        pump(app, single)  # the reference: one consumer, in log order
        shared = ledger_pair[0]
        assert shared.all_entries() == single.all_entries()
        assert len(single.all_entries()) == 4 * 4  # a, b, c, d per seller; e is a replacement
        with shared.engine.connect() as conn:
            applied = conn.execute(
                select(applied_events.c.event_id).where(applied_events.c.consumer == "ledger")
            ).scalars()
            assert set(Counter(applied).values()) == {1}
            outbox = conn.execute(select(func.count()).select_from(store.outbox)).scalar_one()
        assert outbox == len(single.all_entries())  # one message per entry, not per delivery
        assert shared.claim(shipment_tracking_of(app, single)) is not None
    finally:
        single.close()
        close_application(app)


def shipment_tracking_of(app: RequestsApplication, ledger: LedgerApplication) -> str:
    """A tracking number with a claim in the reference ledger."""
    with ledger.engine.connect() as conn:
        return conn.execute(select(store.claims.c.tracking_number)).scalars().first()
