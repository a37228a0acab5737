"""Operations, end to end: `/metrics` series move after a request flow, JSON log lines carry the
request and trace ids, and the `traceparent` of an HTTP command reaches the log line of the
projection that applies the resulting event — in process (embedded pump) and through Kafka (outbox
relay -> consumer runtime). `/readyz` checks the database and the broker, for real.
"""

from __future__ import annotations

import io
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client.parser import text_string_to_metric_families

from services.ledger.main import create_app as create_ledger_app
from services.ledger.main import open_ledger_at
from services.requests.outbox.relay import OutboxRelay
from shared.http_observability import broker_check, database_check, ops_app
from shared.observability import configure_logging, json_formatter
from shared.transport.stream_consumers import StreamOptions
from tests.integration.conftest_http import Api
from tests.integration.kafka_fixtures import (  # noqa: F401 - fixtures
    kafka_bootstrap,
    pg_url,
    pg_url_2,
    plain_producer,
    topics,
    wait_for,
)

pytest_plugins = ["tests.integration.conftest_http"]


# --- helpers ---------------------------------------------------------------------------------------


class LogLines:
    """Every log line rendered by the production JSON formatter while the fixture is active."""

    def __init__(self) -> None:
        self.buffer = io.StringIO()

    def entries(self) -> list[dict[str, Any]]:
        lines = [line for line in self.buffer.getvalue().splitlines() if line.strip()]
        return [json.loads(line) for line in lines]  # every line is one JSON object

    def matching(self, **fields: Any) -> list[dict[str, Any]]:
        return [e for e in self.entries() if all(e.get(k) == v for k, v in fields.items())]

    def applied(self, event_id: str, **fields: Any) -> list[dict[str, Any]]:
        """The projections' `events applied` batch lines (issue 30: one per batch) that name
        `event_id`, each with that event's own `trace_id` from the line's `trace_ids`."""
        found = []
        for line in self.matching(event="events applied", **fields):
            if event_id in line["event_ids"]:
                index = line["event_ids"].index(event_id)
                found.append(
                    {
                        **line,
                        "trace_id": line["trace_ids"][index],
                        "event_type": line["event_types"][index],
                    }
                )
        return found


@pytest.fixture
def log_lines() -> Iterator[LogLines]:
    configure_logging("INFO")
    lines = LogLines()
    handler = logging.StreamHandler(lines.buffer)
    handler.setFormatter(json_formatter())
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield lines
    finally:
        root.removeHandler(handler)


def scrape(client: TestClient) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """`GET /metrics`, parsed: (sample name, labels) -> value."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    samples: dict[tuple[str, frozenset[tuple[str, str]]], float] = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            samples[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def new_traceparent() -> tuple[str, str]:
    trace_id = secrets.token_hex(16)
    return f"00-{trace_id}-{secrets.token_hex(8)}-01", trace_id


def eventually(check: Callable[[], Any], timeout_s: float = 20.0, what: str = "") -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")
        time.sleep(0.05)


# --- embedded: metrics, logs, trace ----------------------------------------------------------------


def test_a_request_flow_moves_the_metrics_and_its_trace_reaches_the_projection_log(
    api: Api, log_lines: LogLines
) -> None:
    before = scrape(api.client)
    order = api.place_order()
    traceparent, trace_id = new_traceparent()

    opened = api.client.post(
        "/v1/support-requests",
        json={
            "order_id": order["order_id"],
            "item_ids": ["i1"],
            "reason": "defective",
            "description": "It does not power on.",
            "photos": [],
        },
        headers={
            **api.headers("buyer", order["buyer_id"]),
            "traceparent": traceparent,
            "X-Request-Id": "req-observability-1",
        },
    )
    assert opened.status_code == 201, opened.text
    request_id = opened.json()["id"]

    # the response carries our span in the caller's trace, and the request id
    echoed = opened.headers["traceparent"]
    assert echoed.startswith(f"00-{trace_id}-") and echoed != traceparent
    assert opened.headers["x-request-id"] == "req-observability-1"
    untraced = api.client.get("/healthz")
    assert len(untraced.headers["traceparent"].split("-")[1]) == 32
    assert len(untraced.headers["x-request-id"]) >= 8

    # the HTTP log line: JSON with request_id and trace_id
    http_line = eventually(
        lambda: log_lines.matching(event="http request", request_id="req-observability-1"),
        what="the HTTP request's log line",
    )[0]
    assert http_line["trace_id"] == trace_id
    assert http_line["route"] == "/v1/support-requests"
    assert http_line["status"] == 201
    assert http_line["level"] == "info" and http_line["ts"]

    # the projection pump applies the "opened" event; its batch's log line names it with the
    # command's trace id
    opened_event = f"{request_id}:1"
    lines = eventually(
        lambda: log_lines.applied(opened_event, projection="ledger"),
        what="the ledger's log line for the opened event",
    )
    assert lines[0]["trace_id"] == trace_id
    assert lines[0]["event_type"] == "opened"
    every_projection = {line["projection"] for line in log_lines.applied(opened_event)}
    eventually(
        lambda: (
            {line["projection"] for line in log_lines.applied(opened_event)}
            >= {"ledger", "ratings", "notifications"}
        ),
        what=f"every projection to apply the opened event (so far {every_projection})",
    )
    assert all(line["trace_id"] == trace_id for line in log_lines.applied(opened_event))

    # timers: the seller's response deadline passes on the business clock; the timer loop fires it
    state = api.as_party({**opened.json()}, "support", "GET").json()
    due = state["deadlines"]["seller_response"]
    assert due
    from datetime import datetime

    api.clock.set(datetime.fromisoformat(due) + timedelta(minutes=1))
    eventually(
        lambda: (
            value(scrape(api.client), "seller_support_timers_fired_total")
            > value(before, "seller_support_timers_fired_total")
        ),
        what="the timer loop to fire the overdue deadline",
    )

    def applied_twice(samples: dict) -> bool:
        return all(
            value(samples, "seller_support_events_applied_total", projection=projection)
            >= value(before, "seller_support_events_applied_total", projection=projection) + 2
            for projection in ("ledger", "ratings", "notifications")
        )

    def scrape_when_applied() -> dict | None:
        samples = scrape(api.client)
        return samples if applied_twice(samples) else None

    after = eventually(scrape_when_applied, what="every projection to apply the timer's event")
    route = {"service": "embedded", "method": "POST", "route": "/v1/support-requests"}
    assert value(after, "seller_support_http_requests_total", **route, status="201") == (
        value(before, "seller_support_http_requests_total", **route, status="201") + 1
    )
    upstream = {"service": "embedded", "method": "POST", "route": "/v1/upstream/events"}
    assert value(after, "seller_support_http_requests_total", **upstream, status="202") >= (
        value(before, "seller_support_http_requests_total", **upstream, status="202") + 2
    )
    # latency by route template (never by raw path: the request id is not a label)
    detail = {"service": "embedded", "method": "GET", "route": "/v1/support-requests/{request_id}"}
    assert value(after, "seller_support_http_request_duration_seconds_count", **detail) >= 1 + (
        value(before, "seller_support_http_request_duration_seconds_count", **detail)
    )
    assert not any(
        request_id in dict(labels).get("route", "") for (_name, labels) in after if labels
    )
    assert value(after, "seller_support_timer_loop_last_run_timestamp_seconds") > 0
    assert ("seller_support_timers_due", frozenset()) in after


def test_readyz_and_metrics_answer_without_a_token(api: Api) -> None:
    assert api.client.get("/readyz").json() == {"status": "ready"}
    metrics = api.client.get("/metrics")
    assert "# TYPE seller_support_http_requests_total counter" in metrics.text
    assert "# TYPE seller_support_consumer_lag_messages gauge" in metrics.text


# --- distributed: readiness, Kafka trace, consumer lag, DLQ ----------------------------------------


def test_readyz_answers_503_naming_the_broker_when_it_is_unreachable(
    kafka_bootstrap: str,  # noqa: F811
    pg_url: str,  # noqa: F811
) -> None:
    from sqlalchemy import create_engine

    engine = create_engine(pg_url)
    try:
        up = ops_app(
            "it-ops",
            {
                "database": database_check(lambda _r: engine),
                "broker": broker_check(kafka_bootstrap),
            },
        )
        with TestClient(up) as client:
            assert client.get("/readyz").status_code == 200
            assert client.get("/healthz").status_code == 200
        closed_port = _closed_port()
        down = ops_app(
            "it-ops",
            {
                "database": database_check(lambda _r: engine),
                "broker": broker_check(f"127.0.0.1:{closed_port}", timeout_s=1.0),
            },
        )
        with TestClient(down) as client:
            response = client.get("/readyz")
            assert response.status_code == 503
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["failed"] == ["broker"]
            assert "broker" in response.json()["detail"]
            assert client.get("/healthz").status_code == 200  # alive, just not ready
        nowhere = create_engine(
            f"postgresql+psycopg://nobody:x@127.0.0.1:{closed_port}/none",
            connect_args={"connect_timeout": 2},
        )
        no_database = ops_app("it-ops", {"database": database_check(lambda _r: nowhere)})
        with TestClient(no_database) as client:
            response = client.get("/readyz")
            assert response.status_code == 503 and response.json()["failed"] == ["database"]
            assert response.json()["detail"].startswith("the database is not reachable")
        nowhere.dispose()
    finally:
        engine.dispose()


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.mark.kafka
def test_trace_crosses_kafka_and_the_consumer_metrics_move(
    kafka_bootstrap: str,  # noqa: F811
    topics: Callable[..., str],  # noqa: F811
    pg_url: str,  # noqa: F811
    pg_url_2: str,  # noqa: F811
    tmp_path: Any,
    log_lines: LogLines,
) -> None:
    """requests API (HTTP, traceparent) -> event store -> outbox relay -> Kafka -> the ledger
    service's consumer thread -> Projection.apply: its log line has the HTTP call's trace id."""
    from services.requests.main import create_app
    from services.requests.settings import Settings
    from shared.clock import AdjustableClock
    from tests.integration.conftest_http import START

    topic = topics("observability", partitions=2)
    settings = Settings(data_dir=tmp_path, database_url=pg_url, timer_interval_seconds=0.2)
    clock = AdjustableClock(START, frozen=True)
    ledger = open_ledger_at(pg_url_2)
    group = f"it-ledger-{secrets.token_hex(4)}"
    options = StreamOptions(bootstrap_servers=kafka_bootstrap, group_id=group, topic=topic)
    ledger_app = create_ledger_app(token_codec=settings.token_codec(), ledger=ledger, kafka=options)
    try:
        with (
            TestClient(create_app(settings, clock)) as requests_client,
            TestClient(ledger_app) as ledger_client,
        ):
            api = Api(requests_client, settings.token_codec(), clock)
            before = scrape(ledger_client)
            order = api.place_order()
            traceparent, trace_id = new_traceparent()
            opened = requests_client.post(
                "/v1/support-requests",
                json={
                    "order_id": order["order_id"],
                    "item_ids": ["i1"],
                    "reason": "defective",
                    "description": "It does not power on.",
                    "photos": [],
                },
                headers={**api.headers("buyer", order["buyer_id"]), "traceparent": traceparent},
            )
            assert opened.status_code == 201, opened.text
            event_id = f"{opened.json()['id']}:1"

            relay = OutboxRelay.for_bootstrap(
                requests_client.app.state.requests, kafka_bootstrap, topic=topic, name=group
            )
            try:
                assert relay.drain() >= 1
                assert relay.lag() == 0
            finally:
                relay.close()

            # a poison record: dead-lettered and counted
            producer = plain_producer(kafka_bootstrap)
            producer.send(topic, key=b"x", value=b"not json", headers=[("ce_id", b"x")]).get(30)
            producer.close()

            line = eventually(
                lambda: log_lines.applied(event_id, projection="ledger"),
                timeout_s=60,
                what="the ledger consumer's log line for the opened event",
            )[0]
            assert line["trace_id"] == trace_id
            assert line["kafka_topic"] == topic
            assert line["consumer_group"] == group

            after = eventually(
                lambda: (
                    (s := scrape(ledger_client))
                    and value(s, "seller_support_dlq_messages_total", group=group, topic=topic) >= 1
                    and s
                ),
                timeout_s=60,
                what="the DLQ counter",
            )
            assert value(after, "seller_support_events_applied_total", projection="ledger") > (
                value(before, "seller_support_events_applied_total", projection="ledger")
            )
            lags = {
                dict(labels)["partition"]: v
                for (name, labels), v in after.items()
                if name == "seller_support_consumer_lag_messages"
                and dict(labels).get("group") == group
            }
            assert set(lags) == {"0", "1"}, lags  # one gauge per assigned partition
            eventually(
                lambda: all(
                    v == 0
                    for (name, labels), v in scrape(ledger_client).items()
                    if name == "seller_support_consumer_lag_messages"
                    and dict(labels).get("group") == group
                ),
                what="the consumer lag to reach 0",
            )
            relay_samples = scrape(ledger_client)  # one registry per process: relay lag shows too
            assert value(relay_samples, "seller_support_relay_lag_events", relay=group) == 0
            assert ledger_client.get("/readyz").json() == {"status": "ready"}
    finally:
        ledger.close()
