"""Issue 18, class 9: an upstream fact's `Idempotency-Key` commits with its effect, and a claim left by
a process that died is released by its lease - never a 409 "still running" for 24 hours.

The crash is real: a `seller-support serve` process is killed with SIGKILL while clients send facts
with keys, then started again, and every fact is retried with its key as a client would.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from services.requests.http.idempotency import _fingerprint, scoped_key
from services.requests.persistence.idempotency_store import LEASE
from services.requests.persistence.receipts import PENDING
from services.requests.persistence.store import idempotency_keys
from shared.auth import TokenCodec
from tests.integration.conftest_http import Api, assert_problem
from tests.integration.real_processes import serve

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

FACTS = "/v1/upstream/events"


def _order(tag: str) -> dict[str, Any]:
    return {
        "type": "order_placed",
        "order_id": f"o-{tag}",
        "buyer_id": f"b-{tag}",
        "seller_id": f"s-{tag}",
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "items": [
            {
                "item_id": "i1",
                "title": "card",
                "category": "cards",
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }


def test_class9_upstream_fact_key_commits_with_its_effect_across_a_kill_9(tmp_path: Path) -> None:
    # given a real server and four clients sending facts, each with its own Idempotency-Key
    server = serve(tmp_path).start()
    platform = {"Authorization": f"Bearer {TokenCodec().encode(sub='orders', role='platform')}"}
    facts = {f"key-{n}": _order(uuid.uuid4().hex[:10]) for n in range(400)}
    keys = list(facts)
    sent: list[str] = []
    lock = threading.Lock()

    def client(share: list[str]) -> None:
        with httpx.Client(base_url=server.base, timeout=5) as http:
            for key in share:
                with lock:
                    sent.append(key)
                try:
                    http.post(FACTS, json=facts[key], headers={**platform, "Idempotency-Key": key})
                except httpx.TransportError:
                    return  # the server died under this request

    threads = [threading.Thread(target=client, args=(keys[n::4],)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        # when the server is killed while requests are in flight
        deadline = time.monotonic() + 30
        while len(sent) < 60 and time.monotonic() < deadline:
            time.sleep(0.01)
        server.kill()
        for thread in threads:
            thread.join(timeout=30)
        assert 60 <= len(sent) < len(keys), "the kill did not land mid-stream"
        server.start()
        # then every fact retried with its key is answered at once (never 409 "still running")
        answers: dict[str, httpx.Response] = {}
        with httpx.Client(base_url=server.base, timeout=10) as http:
            for key in sent:
                answers[key] = http.post(
                    FACTS, json=facts[key], headers={**platform, "Idempotency-Key": key}
                )
            statuses = {key: answer.status_code for key, answer in answers.items()}
            assert set(statuses.values()) <= {200, 202}, statuses
            # and a replayed answer always means the fact is there (both), a fresh run that it was
            # not (neither): replayed answers are the first run's 202, fresh ones 202 as well
            for key, answer in answers.items():
                if answer.headers.get("idempotent-replayed") == "true":
                    assert answer.status_code == 202 and answer.json()["changed"] is True
                else:
                    assert answer.json() == {"type": "order_placed", "changed": True}, key
                again = http.post(FACTS, json=facts[key], headers=platform)
                assert again.status_code == 200 and again.json()["changed"] is False, key
    finally:
        server.stop()


def test_class9_key_and_answer_of_a_fact_are_one_commit(api: Api) -> None:
    # given a count of the requests database's commits
    from sqlalchemy import event

    engine = api.client.app.state.requests.engine
    commits: list[object] = []
    listener = lambda conn: commits.append(conn)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        # when the platform sends an order with a key
        answer = api.call(
            "platform",
            "POST",
            FACTS,
            _order(uuid.uuid4().hex[:10]),
            sub="orders",
            **{"Idempotency-Key": "fact-once"},
        )
    finally:
        event.remove(engine, "commit", listener)
    # then the order, the key and its answer were written in one commit
    assert answer.status_code == 202
    assert len(commits) == 1
    with engine.connect() as conn:
        row = conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.key == scoped_key("platform", "orders", "fact-once")
            )
        ).one()
    assert row.status_code == 202 and row.body["content"] == answer.text


def _claim(api: Api, role: str, sub: str, key: str, age: timedelta) -> None:
    """The row a `POST /v1/admin/clock {"advance": "PT1S"}` with `key` claims before it runs."""
    scope = {"method": "POST", "path": "/v1/admin/clock", "query_string": b""}
    fingerprint = _fingerprint(scope, json.dumps({"advance": "PT1S"}).encode())
    with api.client.app.state.requests.engine.begin() as conn:
        conn.execute(
            insert(idempotency_keys).values(
                key=scoped_key(role, sub, key),
                fingerprint=fingerprint,
                status_code=PENDING,
                body=None,
                created_at=datetime.now(UTC) - age,
            )
        )


def test_class9_a_claim_older_than_its_lease_is_released_and_the_request_runs(api: Api) -> None:
    # given a claim of a key left 2 leases ago by a process that died mid-request
    _claim(api, "admin", "ops", "clock-stale", 2 * LEASE)
    # when a client retries with that key
    retry = api.call("admin", "GET", "/v1/admin/clock", sub="ops")
    moved = api.call(
        "admin",
        "POST",
        "/v1/admin/clock",
        {"advance": "PT1S"},
        sub="ops",
        **{"Idempotency-Key": "clock-stale"},
    )
    # then the request runs instead of answering 409 until the key expires
    assert retry.status_code == 200
    assert moved.status_code == 200, moved.text
    assert "idempotent-replayed" not in moved.headers


def test_class9_a_claim_within_its_lease_still_answers_409_retry_after(api: Api) -> None:
    # given a claim of a key taken a moment ago by a request still running
    _claim(api, "admin", "ops", "clock-fresh", timedelta(seconds=1))
    moved = api.call(
        "admin",
        "POST",
        "/v1/admin/clock",
        {"advance": "PT1S"},
        sub="ops",
        **{"Idempotency-Key": "clock-fresh"},
    )
    problem = assert_problem(moved, 409, detail_contains="still running")
    assert moved.headers["retry-after"] == "1" and problem["type"].endswith("in-progress")
