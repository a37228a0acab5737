"""Fixtures and helpers for the Kafka integration tests (real broker, real PostgreSQL).

Import the fixtures into a test module (`from tests.integration.kafka_fixtures import ...`).
The broker is started with deploy/kafka/start.sh (idempotent); when it cannot be started the tests
FAIL, they are never skipped. Every test uses topics and consumer groups of its own (unique names),
so tests never see each other's records.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer
from kafka.consumer.fetcher import ConsumerRecord
from sqlalchemy import text

from services.requests.application import RequestsApplication, open_application
from shared.clock import AdjustableClock
from tests.conftest import START
from tests.waiting import wait_for  # noqa: F401 - re-exported: the kafka tests import it from here

REPO = Path(__file__).resolve().parents[2]
KAFKA_START = REPO / "deploy" / "kafka" / "start.sh"
KAFKA_STOP = REPO / "deploy" / "kafka" / "stop.sh"


def start_broker(env: dict[str, str] | None = None) -> str:
    """deploy/kafka/start.sh: the shared broker, or with `env` (KAFKA_PORT, KAFKA_CONTROLLER_PORT,
    KAFKA_DATA_DIR) a broker of the caller's own."""
    result = subprocess.run(
        ["bash", str(KAFKA_START)],
        cwd=REPO,
        env={**os.environ, **env} if env else None,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        pytest.fail(
            f"deploy/kafka/start.sh exited {result.returncode}; its output:\n{result.stderr}",
            pytrace=False,
        )
    sys.stderr.write(result.stderr)
    return result.stdout.strip().splitlines()[-1]


def stop_broker(env: dict[str, str]) -> None:
    """deploy/kafka/stop.sh for a broker of the caller's own (`env` as for start_broker). There is
    no way to stop the shared broker from a test: no test may (issue 31)."""
    assert env.get("KAFKA_DATA_DIR"), "stop_broker stops only a broker of the test's own"
    subprocess.run(
        ["bash", str(KAFKA_STOP)], cwd=REPO, env={**os.environ, **env}, check=True, timeout=120
    )


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    """Bootstrap servers of the local broker (started when needed, left running)."""
    return start_broker()


def unique(prefix: str) -> str:
    return f"it-{prefix}-{uuid.uuid4().hex[:10]}"


def create_topics(bootstrap: str, *names: str, partitions: int = 3) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="it-admin")
    try:
        admin.create_topics(
            {n: {"num_partitions": partitions, "replication_factor": 1} for n in names},
            timeout_ms=30_000,
            wait_for_metadata=True,
        )
    finally:
        admin.close()


def delete_topics(bootstrap: str, *names: str) -> None:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="it-admin")
    try:
        existing = set(admin.list_topics())
        doomed = [n for n in names if n in existing]
        if doomed:
            admin.delete_topics(doomed, timeout_ms=30_000, raise_errors=False)
    finally:
        admin.close()


@pytest.fixture
def topics(kafka_bootstrap: str) -> Iterator[Callable[..., str]]:
    """`topics("requests", partitions=3)` -> a fresh topic (and its .dlq name is free); all deleted
    after the test."""
    made: list[str] = []

    def make(prefix: str, partitions: int = 3) -> str:
        name = unique(prefix)
        create_topics(kafka_bootstrap, name, partitions=partitions)
        made.append(name)
        return name

    yield make
    try:
        delete_topics(kafka_bootstrap, *made, *(f"{n}.dlq" for n in made))
    except Exception as error:  # cleanup must not mask the test's own result
        sys.stderr.write(f"topic cleanup failed: {error!r}\n")


def plain_producer(bootstrap: str) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=0)


def read_topic(
    bootstrap: str,
    topic: str,
    *,
    expect: int | Callable[[list[ConsumerRecord]], bool],
    timeout_s: float = 30.0,
) -> list[ConsumerRecord]:
    """Every record of `topic` from the beginning, waiting until `expect` records (or the
    predicate holds). No consumer group: nothing is committed."""
    consumer = KafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    done = expect if callable(expect) else (lambda records: len(records) >= expect)
    records: list[ConsumerRecord] = []
    try:
        deadline = time.monotonic() + timeout_s
        while not done(records) and time.monotonic() < deadline:
            for batch in consumer.poll(timeout_ms=300).values():
                records.extend(batch)
        # a short grace period to catch unexpected extra records
        for batch in consumer.poll(timeout_ms=300).values():
            records.extend(batch)
    finally:
        consumer.close()
    return records


def committed_offsets(bootstrap: str, group: str) -> dict[Any, int]:
    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="it-admin")
    try:
        offsets = admin.list_group_offsets({group: None})[group]
        return {tp: meta.offset for tp, meta in offsets.items()}
    finally:
        admin.close()


# --- PostgreSQL: a schema of its own per test ------------------------------------------------------


def _with_search_path(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture
def pg_url(postgres_url: str, postgres_admin_engine: Any) -> Iterator[str]:
    """A fresh PostgreSQL schema for this test (the requests database)."""
    yield from _schema_url(postgres_url, postgres_admin_engine)


@pytest.fixture
def pg_url_2(postgres_url: str, postgres_admin_engine: Any) -> Iterator[str]:
    """A second fresh schema (a projection's own database)."""
    yield from _schema_url(postgres_url, postgres_admin_engine)


def _schema_url(url: str, admin: Any) -> Iterator[str]:
    schema = f"t_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def pg_app(pg_url: str) -> Iterator[RequestsApplication]:
    app = open_application(pg_url, AdjustableClock(START, frozen=True))
    try:
        yield app
    finally:
        app.close()
        app.engine.dispose()


# --- running a consumer runtime or a relay in a thread ---------------------------------------------


@contextmanager
def running(runtime: Any) -> Iterator[Any]:
    """Run a ConsumerRuntime in a background thread for the block; re-raise its failure."""
    errors: list[BaseException] = []

    def target() -> None:
        try:
            runtime.run(handle_signals=False)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=target, daemon=True, name="it-consumer")
    thread.start()
    try:
        yield runtime
    finally:
        runtime.request_stop()
        thread.join(30)
        assert not thread.is_alive(), "the consumer did not stop within 30 s"
    if errors:
        raise errors[0]


@contextmanager
def relay_running(relay: Any) -> Iterator[Any]:
    thread = threading.Thread(
        target=lambda: relay.run(idle_sleep_s=0.02), daemon=True, name="it-relay"
    )
    thread.start()
    try:
        yield relay
    finally:
        relay.stop()
        thread.join(30)
        assert not thread.is_alive(), "the relay did not stop within 30 s"
