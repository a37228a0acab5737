"""What must hold once the faulted system has drained (issue 18): every stored event on Kafka exactly
once in effect, every ledger balance as the cost table says, no duplicate e-mail beyond one per
mailer crash, every timer fired once, the audit clean."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import httpx
from kafka import KafkaConsumer, TopicPartition
from sqlalchemy import create_engine, text

from shared.clock import SystemClock
from tests.chaos.load import Load
from tests.chaos.system import REPO, ChaosSystem

REQUESTS_TOPIC = "seller-support.requests.v1"
TIMER_EVENTS = frozenset(
    {
        "seller_response_overdue",
        "offer_lapsed",
        "return_window_expired",
        "return_auto_confirmed",
        "replacement_overdue",
    }
)
CONSUMERS = {
    "ledger": "ledger",
    "ratings": "ratings",
    "notifications": "notifications",
    "search": "search",
}


@dataclass
class Findings:
    stored_events: int = 0
    on_kafka: int = 0
    lost: int = 0
    wire_duplicates: int = 0
    ledger_checked: int = 0
    ledger_missing: int = 0
    ledger_double: int = 0
    ledger_wrong: list[str] = field(default_factory=list)
    ledger_uncertain: int = 0
    emails: int = 0
    email_duplicates: int = 0
    outbox: dict[str, int] = field(default_factory=dict)
    timers_fired: int = 0
    timer_duplicates: int = 0
    parked: int = 0
    audit_verify: int | None = None
    audit_rebuild: int | None = None
    audit_output: str = ""
    drain_s: float | None = None


def stored_event_ids(system: ChaosSystem) -> dict[str, str]:
    """Every event in the requests event store: id -> name."""
    from services.requests.application import open_application
    from services.requests.outbox.publishing import read_messages

    app = open_application(system.config.database_url("requests"), SystemClock())
    try:
        found: dict[str, str] = {}
        start = 1
        while True:
            batch = read_messages(app, start, 1000)
            for position, message in batch:
                found[message.id] = message.name
                start = position + 1
            if len(batch) < 1000:
                return found
    finally:
        app.close()
        app.recorder.datastore.engine.dispose()


def kafka_event_ids(bootstrap: str, topic: str = REQUESTS_TOPIC) -> Counter[str]:
    """How many records of each `ce_id` the topic holds (no consumer group: nothing committed)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        partitions = [TopicPartition(topic, p) for p in consumer.partitions_for_topic(topic) or []]
        consumer.assign(partitions)
        consumer.seek_to_beginning(*partitions)
        ends = consumer.end_offsets(partitions)
        seen: Counter[str] = Counter()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if all(consumer.position(tp) >= ends[tp] for tp in partitions):
                break
            for records in consumer.poll(timeout_ms=500).values():
                for record in records:
                    ce_id = dict(record.headers or ()).get("ce_id")
                    if ce_id is not None:
                        seen[ce_id.decode()] += 1
        return seen
    finally:
        consumer.close()


def applied_counts(system: ChaosSystem) -> dict[str, int]:
    counts = {}
    for service, consumer in CONSUMERS.items():
        engine = create_engine(system.config.database_url(service))
        try:
            with engine.connect() as conn:
                counts[service] = conn.execute(
                    text("select count(*) from applied_events where consumer = :c"), {"c": consumer}
                ).scalar_one()
        except Exception:
            counts[service] = -1
        finally:
            engine.dispose()
    return counts


def outbox_counts(system: ChaosSystem) -> dict[str, int]:
    engine = create_engine(system.config.database_url("notifications"))
    try:
        with engine.connect() as conn:
            rows = conn.execute(text("select status, count(*) from notif_outbox group by status"))
            return {status: count for status, count in rows}
    finally:
        engine.dispose()


def parked_count(system: ChaosSystem) -> int:
    total = 0
    for service in CONSUMERS:
        engine = create_engine(system.config.database_url(service))
        try:
            with engine.connect() as conn:
                total += conn.execute(
                    text("select count(*) from parked_events where status = 'parked'")
                ).scalar_one()
        finally:
            engine.dispose()
    return total


def drain(system: ChaosSystem, timeout_s: float) -> float | None:
    """Wait until Kafka holds every stored event and every projection applied all of them and no
    e-mail waits; returns how long that took (None: not within `timeout_s`)."""
    started = time.monotonic()
    deadline = started + timeout_s
    while time.monotonic() < deadline:
        try:
            stored = stored_event_ids(system)
            on_kafka = kafka_event_ids(system.config.bootstrap)
            applied = applied_counts(system)
            outbox = outbox_counts(system)
        except Exception:
            time.sleep(2)
            continue
        if (
            set(stored) <= set(on_kafka)
            and all(n >= len(stored) for n in applied.values())
            and not outbox.get("pending")
            and not outbox.get("sending")
        ):
            return time.monotonic() - started
        time.sleep(2)
    return None


def mail_ids(system: ChaosSystem) -> Counter[str]:
    mail_dir = system.config.up_dir / "mail"
    ids: Counter[str] = Counter()
    for path in sorted(Path(mail_dir).glob("*.eml")):
        message = message_from_bytes(path.read_bytes(), policy=policy.default)
        ids[str(message["Message-ID"])] += 1
    return ids


def check(system: ChaosSystem, load: Load, findings: Findings) -> Findings:
    stored = stored_event_ids(system)
    on_kafka = kafka_event_ids(system.config.bootstrap)
    findings.stored_events = len(stored)
    findings.on_kafka = len(set(on_kafka) & set(stored))
    findings.lost = len(set(stored) - set(on_kafka))
    findings.wire_duplicates = sum(n - 1 for n in on_kafka.values() if n > 1)

    # timers: at most one event of each timer kind per request
    per_request: Counter[tuple[str, str]] = Counter(
        (event_id.rsplit(":", 1)[0], name)
        for event_id, name in stored.items()
        if name in TIMER_EVENTS
    )
    findings.timers_fired = sum(per_request.values())
    findings.timer_duplicates = sum(n - 1 for n in per_request.values() if n > 1)

    # the ledger: each journey's seller's balance as the cost table says
    port = system.config.ports["ledger"]
    token = load.token("support", "agent-1")
    with httpx.Client(timeout=15) as client:
        for journey in load.journeys:
            expected = journey.expected_balance
            if expected is None or (journey.request_id is None and journey.kind != "silent"):
                findings.ledger_uncertain += 1
                continue
            answer = client.get(
                f"http://127.0.0.1:{port}/v1/sellers/{journey.seller}/ledger",
                headers={"Authorization": f"Bearer {token}"},
            )
            body: dict[str, Any] = answer.json() if answer.status_code == 200 else {}
            balance = int((body.get("balance") or {}).get("amount") or 0)
            findings.ledger_checked += 1
            if balance == expected:
                continue
            if abs(balance) < abs(expected):
                findings.ledger_missing += 1
            else:
                findings.ledger_double += 1
            findings.ledger_wrong.append(f"{journey.kind} #{journey.n}: {balance} != {expected}")

    mails = mail_ids(system)
    findings.emails = len(mails)
    findings.email_duplicates = sum(n - 1 for n in mails.values() if n > 1)
    findings.outbox = outbox_counts(system)
    findings.parked = parked_count(system)

    env = system.config.system_env()
    env["SUPPORT_DATABASE_URL"] = system.config.database_url("requests")
    cli = str(REPO / ".venv" / "bin" / "seller-support")
    verify = subprocess.run(
        [cli, "audit", "verify", "--quiet"], env=env, capture_output=True, text=True, timeout=600
    )
    rebuild = subprocess.run(
        [cli, "audit", "rebuild", "--compare", "--quiet", "--workers", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )
    findings.audit_verify = verify.returncode
    findings.audit_rebuild = rebuild.returncode
    findings.audit_output = (verify.stdout + verify.stderr + rebuild.stdout + rebuild.stderr)[
        -3000:
    ]
    return findings
