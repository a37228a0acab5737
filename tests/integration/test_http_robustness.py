"""Idempotency keys, the 1 MiB body cap, malformed input, concurrent commands, production mode."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import event, select, update

from services.embedded import create_embedded_app
from services.requests.http.idempotency import scoped_key
from services.requests.persistence.store import idempotency_keys
from services.requests.settings import Settings
from shared.auth import TokenCodec
from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

MIB = 1024 * 1024


# --- Idempotency-Key ------------------------------------------------------------------------------


def _open_body(order: dict[str, Any]) -> dict[str, Any]:
    return {
        "order_id": order["order_id"],
        "item_ids": ["i1"],
        "reason": "defective",
        "description": "broken",
    }


def test_idempotent_retry_returns_the_first_response_and_opens_once(api: Api) -> None:
    order = api.place_order()
    call = lambda: api.call(  # noqa: E731
        "buyer",
        "POST",
        "/v1/support-requests",
        _open_body(order),
        sub=order["buyer_id"],
        **{"Idempotency-Key": "open-1"},
    )
    first, retry = call(), call()
    assert first.status_code == retry.status_code == 201
    assert retry.content == first.content
    assert retry.headers["location"] == first.headers["location"]
    assert retry.headers["idempotent-replayed"] == "true"
    lookup = api.call(
        "buyer", "GET", f"/v1/orders/{order['order_id']}/support-request", sub=order["buyer_id"]
    )
    assert len(lookup.json()) == 1


def test_simultaneous_retries_of_one_idempotent_open_open_exactly_once(api: Api) -> None:
    # given an order, when four copies of one idempotent open arrive at the same moment
    order = api.place_order()
    results: list[Any] = [None] * 4
    barrier = threading.Barrier(len(results))

    def open_once(index: int) -> None:
        barrier.wait()
        results[index] = api.call(
            "buyer",
            "POST",
            "/v1/support-requests",
            _open_body(order),
            sub=order["buyer_id"],
            **{"Idempotency-Key": "open-simultaneous"},
        )

    threads = [threading.Thread(target=open_once, args=(i,)) for i in range(len(results))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # then one ran and every other copy waited for it and got its answer: one request exists
    assert [r.status_code for r in results] == [201] * 4, [r.text for r in results]
    assert len({r.content for r in results}) == 1
    assert sorted(r.headers.get("idempotent-replayed", "") for r in results) == [""] + ["true"] * 3
    lookup = api.call(
        "buyer", "GET", f"/v1/orders/{order['order_id']}/support-request", sub=order["buyer_id"]
    )
    assert len(lookup.json()) == 1


def test_an_idempotent_command_commits_once_with_its_key_and_answer(api: Api) -> None:
    # given an open request, and a count of the requests database's commits
    state = api.open_request()
    engine = api.client.app.state.requests.engine
    commits: list[object] = []
    listener = lambda conn: commits.append(conn)  # noqa: E731
    event.listen(engine, "commit", listener)
    try:
        # when the seller answers with an Idempotency-Key
        answer = api.call(
            "seller",
            "POST",
            f"/v1/support-requests/{state['id']}/responses",
            {"type": "partial_refund", "amount": 500},
            sub=state["seller_id"],
            **{"Idempotency-Key": "respond-once"},
        )
    finally:
        event.remove(engine, "commit", listener)
    # then the key, its answer and the events were one commit, and the stored answer is the response
    assert answer.status_code == 200
    assert len(commits) == 1
    with engine.connect() as conn:
        stored = conn.execute(select(idempotency_keys.c.status_code, idempotency_keys.c.body)).all()
    assert (200, answer.text) in [(status, body["content"]) for status, body in stored]


def test_a_command_that_fails_keeps_no_claim_and_stores_its_error(api: Api) -> None:
    # given a request whose offer cannot be accepted (there is none)
    state = api.open_request()
    accept = f"/v1/support-requests/{state['id']}/offer/accept"
    key = {"Idempotency-Key": "accept-nothing"}
    # when the buyer accepts with a key, then the seller offers, and the buyer retries the same key
    first = api.call("buyer", "POST", accept, sub=state["buyer_id"], **key)
    api.as_party(state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 500})
    retry = api.call("buyer", "POST", accept, sub=state["buyer_id"], **key)
    # then the retry is the first answer (the error), not a second run that would now succeed
    assert first.status_code == 409
    assert retry.status_code == 409
    assert retry.content == first.content
    assert retry.headers["idempotent-replayed"] == "true"
    assert api.as_party(state, "buyer", "GET", "").json()["status"] == "offer_pending"


def test_idempotent_retry_of_an_error_returns_the_same_error(api: Api) -> None:
    state = api.open_request()
    key = {"Idempotency-Key": "accept-1"}
    first = api.call(
        "buyer",
        "POST",
        f"/v1/support-requests/{state['id']}/offer/accept",
        sub=state["buyer_id"],
        **key,
    )
    retry = api.call(
        "buyer",
        "POST",
        f"/v1/support-requests/{state['id']}/offer/accept",
        sub=state["buyer_id"],
        **key,
    )
    assert first.status_code == retry.status_code == 409
    assert first.content == retry.content
    assert retry.headers["content-type"] == "application/problem+json"


def test_a_key_older_than_its_retention_runs_the_command_again(api: Api) -> None:
    # given a message posted with a key whose record is 25 hours old
    state = api.open_request()
    path = f"/v1/support-requests/{state['id']}/messages"
    post = lambda: api.call(  # noqa: E731
        "buyer", "POST", path, {"body": "again?"}, sub=state["buyer_id"], **{"Idempotency-Key": "m"}
    )
    assert post().status_code == 200
    engine = api.client.app.state.requests.engine
    with engine.begin() as conn:
        conn.execute(
            update(idempotency_keys)
            .where(idempotency_keys.c.key == scoped_key("buyer", state["buyer_id"], "m"))
            .values(created_at=datetime.now(UTC) - timedelta(hours=25))
        )
    # when the same request is sent with the same key
    retry = post()
    # then it ran as a new request: two messages, and no replay
    assert retry.status_code == 200
    assert "idempotent-replayed" not in retry.headers
    history = api.as_party(state, "auditor", "GET", "/history").json()
    assert [e["type"] for e in history].count("message_posted") == 2


def test_same_key_with_a_different_body_is_422(api: Api) -> None:
    state = api.open_request()
    path = f"/v1/support-requests/{state['id']}/messages"
    key = {"Idempotency-Key": "msg-1"}
    first = api.call("buyer", "POST", path, {"body": "one"}, sub=state["buyer_id"], **key)
    other = api.call("buyer", "POST", path, {"body": "two"}, sub=state["buyer_id"], **key)
    assert first.status_code == 200
    assert_problem(other, 422, detail_contains="different request")
    history = api.as_party(state, "auditor", "GET", "/history").json()
    assert [e["type"] for e in history].count("message_posted") == 1


def test_same_body_with_reordered_keys_is_the_same_request(api: Api) -> None:
    state = api.open_request()
    path = f"/v1/support-requests/{state['id']}/messages"
    headers = {
        **api.headers("buyer", state["buyer_id"]),
        "Idempotency-Key": "msg-order",
        "Content-Type": "application/json",
    }
    first = api.client.post(path, content=b'{"body": "x", "attachments": []}', headers=headers)
    retry = api.client.post(path, content=b'{"attachments":[],"body":"x"}', headers=headers)
    assert first.status_code == retry.status_code == 200
    assert retry.headers.get("idempotent-replayed") == "true"


def test_keys_are_scoped_to_the_caller(api: Api) -> None:
    a, b = api.place_order(), api.place_order()
    key = {"Idempotency-Key": "shared-key"}
    first = api.call(
        "buyer", "POST", "/v1/support-requests", _open_body(a), sub=a["buyer_id"], **key
    )
    second = api.call(
        "buyer", "POST", "/v1/support-requests", _open_body(b), sub=b["buyer_id"], **key
    )
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] != second.json()["id"]


def test_an_overlong_idempotency_key_is_422(api: Api) -> None:
    response = api.call(
        "admin", "POST", "/v1/admin/clock", {"advance": "PT0S"}, **{"Idempotency-Key": "k" * 300}
    )
    assert_problem(response, 422, detail_contains="Idempotency-Key")


# --- body size cap ----------------------------------------------------------------------------------


def test_body_over_1_mib_by_content_length_is_413(api: Api) -> None:
    state = api.open_request()
    body = b'{"body": "' + b"x" * MIB + b'"}'
    response = api.client.post(
        f"/v1/support-requests/{state['id']}/messages",
        content=body,
        headers={**api.headers("buyer", state["buyer_id"]), "Content-Type": "application/json"},
    )
    assert_problem(response, 413, detail_contains="1048576 bytes")


def test_body_over_1_mib_streamed_without_content_length_is_413(api: Api) -> None:
    state = api.open_request()

    def chunks():
        yield b'{"body": "'
        for _ in range(17):
            yield b"x" * 65536
        yield b'"}'

    response = api.client.post(
        f"/v1/support-requests/{state['id']}/messages",
        content=chunks(),
        headers={**api.headers("buyer", state["buyer_id"]), "Content-Type": "application/json"},
    )
    assert "content-length" not in {k.lower() for k in response.request.headers}
    assert_problem(response, 413)


def test_body_just_under_the_cap_is_processed(api: Api) -> None:
    state = api.open_request()
    response = api.as_party(state, "buyer", "POST", "/messages", {"body": "x" * 9_000})
    assert response.status_code == 200, response.text
    # and the whole message is stored: it reads back from the request's history, not truncated
    history = api.as_party(state, "support", "GET", "/history").json()
    assert [e["data"]["body"] for e in history if e["type"] == "message_posted"] == ["x" * 9_000]


# --- malformed input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "content_type", "status", "needle"),
    [
        (b'{"type": "full_refund"', "application/json", 422, "not valid JSON"),
        (b"", "application/json", 422, "JSON body"),
        (b"[1, 2]", "application/json", 422, "JSON object"),
        (b'"full_refund"', "application/json", 422, "JSON object"),
        (b'{"type": "full_refund"}', "text/plain", 415, "Content-Type: application/json"),
        (b"type=full_refund", "application/x-www-form-urlencoded", 415, "JSON"),
        (b'{"type": "decline"}', "application/json", 422, "full_refund"),
        (b'{"type": "partial_refund", "amount": "10"}', "application/json", 422, "integer"),
        (b'{"type": "partial_refund", "amount": 10.5}', "application/json", 422, "integer"),
        (b'{"type": "partial_refund"}', "application/json", 422, "amount"),
        (b'{"type": "full_refund", "auto_claim": "yes"}', "application/json", 422, "auto_claim"),
        (b'{"type": "full_refund", "surprise": 1}', "application/json", 422, "surprise"),
        (
            b'{"type": "no_refund", "message": "x", "evidence": []}',
            "application/json",
            422,
            "evidence",
        ),
        (b"\xff\xfe", "application/json", 422, "JSON"),
    ],
)
def test_malformed_input_is_a_4xx_problem_never_500(
    api: Api, content: bytes, content_type: str, status: int, needle: str
) -> None:
    state = api.open_request()
    response = api.client.post(
        f"/v1/support-requests/{state['id']}/responses",
        content=content,
        headers={**api.headers("seller", state["seller_id"]), "Content-Type": content_type},
    )
    assert_problem(response, status, detail_contains=needle)


def test_invalid_content_length_is_400(api: Api) -> None:
    # httpx would correct a wrong Content-Length, so speak ASGI directly through the client's app.
    response = api.client.post("/v1/admin/clock", content=b"{}", headers={"Content-Length": "lots"})
    assert_problem(response, 400)


# --- concurrency ------------------------------------------------------------------------------------


@pytest.mark.parametrize("attempt", range(3))
def test_two_conflicting_commands_one_wins_the_other_gets_409(api: Api, attempt: int) -> None:
    state = api.open_request()
    bodies = [{"type": "partial_refund", "amount": 1000}, {"type": "full_refund"}]
    results: list[Any] = [None, None]
    barrier = threading.Barrier(2)

    def respond(index: int) -> None:
        barrier.wait()
        results[index] = api.as_party(state, "seller", "POST", "/responses", bodies[index])

    threads = [threading.Thread(target=respond, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(r.status_code for r in results)
    assert statuses == [200, 409], [r.text for r in results]
    loser = next(r for r in results if r.status_code == 409)
    assert_problem(loser, 409)
    history = api.as_party(state, "auditor", "GET", "/history").json()
    assert len(history) == 2  # opened + exactly one response: no lost update, no double apply


# --- production mode and key options ----------------------------------------------------------------


def test_production_refuses_the_default_jwt_secret(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="default JWT secret"):
        Settings(production=True, data_dir=tmp_path)


def test_production_has_no_admin_clock_it_answers_404(tmp_path: Path) -> None:
    secret = "a-production-secret-of-at-least-32-chars"
    settings = Settings(production=True, jwt_secret=secret, data_dir=tmp_path)
    with TestClient(create_embedded_app(settings)) as client:
        token = settings.token_codec().encode(sub="ops", role="admin")
        response = client.post(
            "/v1/admin/clock",
            json={"advance": "PT1H"},
            headers={"Authorization": f"Bearer {token}"},
        )
        assert_problem(response, 404)
        assert "/v1/admin/clock" not in client.get("/openapi.json").json()["paths"]


def test_rs256_tokens_verify_with_the_public_key(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    settings = Settings(
        production=True, jwt_algorithm="RS256", jwt_public_key=public, data_dir=tmp_path
    )
    minted = TokenCodec(algorithm="RS256", private_key=private).encode(sub="a1", role="auditor")
    forged = TokenCodec(secret="x" * 40).encode(sub="a1", role="auditor")
    with TestClient(create_embedded_app(settings)) as client:
        ok = client.get("/v1/sellers/s1/ledger", headers={"Authorization": f"Bearer {minted}"})
        bad = client.get("/v1/sellers/s1/ledger", headers={"Authorization": f"Bearer {forged}"})
    assert ok.status_code == 200, ok.text
    assert_problem(bad, 401)
