"""Published contracts: generated files match the models, every aggregate event has a contract, real
events validate against both the pydantic model and the JSON Schema file, and the CloudEvents
envelope round-trips."""

from __future__ import annotations

import json
import typing
from datetime import timedelta
from pathlib import Path

import jsonschema_rs
import pytest
import yaml
from eventsourcing.domain import DomainEvent

from services.requests import domain
from services.requests.application import Actor, SellerResponse, event_name
from services.requests.domain import SupportRequest
from services.requests.outbox.publishing import read_messages, to_message
from shared.contracts import generate
from shared.contracts.requests_v1 import (
    REQUEST_EVENT_CONTRACTS,
    OpenedV1,
    RequestEventV1,
    SupportDecidedV1,
)
from shared.envelope import (
    PoisonMessage,
    from_kafka,
    is_valid_traceparent,
    to_kafka,
    traceparent_for,
)
from tests.factories import open_on_fresh_order, return_label_created, shipment_scanned

ENVELOPE_FIELDS = {"originator_id", "originator_version", "timestamp", "originator_id_type"}
ENVELOPE_FIELDS |= {"originator_topic"}
COMMON = set(RequestEventV1.model_fields)


def aggregate_event_classes() -> dict[str, type]:
    return {
        event_name(cls.__new__(cls)): cls
        for cls in vars(SupportRequest).values()
        if isinstance(cls, type)
        and issubclass(cls, DomainEvent)
        and cls.__name__ not in ("Event", "Created")
    }


def test_generated_files_in_repo_match_the_models() -> None:
    assert generate.drift() == [], "run: .venv/bin/python -m shared.contracts.generate"
    assert generate.main(["--check"]) == 0


def test_every_event_the_aggregate_can_emit_has_a_contract_with_exactly_its_fields() -> None:
    events = aggregate_event_classes()
    assert len(events) >= 26
    assert set(events) == set(REQUEST_EVENT_CONTRACTS), (
        f"without contract: {sorted(set(events) - set(REQUEST_EVENT_CONTRACTS))}; "
        f"without event: {sorted(set(REQUEST_EVENT_CONTRACTS) - set(events))}"
    )
    for name, cls in events.items():
        attributes = set(typing.get_type_hints(cls)) - ENVELOPE_FIELDS
        model = REQUEST_EVENT_CONTRACTS[name]
        assert set(model.model_fields) == attributes | COMMON, name
        schema_file = generate.SCHEMAS_DIR / generate.request_schema_file(name)
        assert schema_file.exists(), schema_file


def test_enumerated_values_agree_with_the_domain() -> None:
    reasons = typing.get_args(OpenedV1.model_fields["reason"].annotation)
    assert set(reasons) == {str(r) for r in domain.Reason}
    outcomes = typing.get_args(SupportDecidedV1.model_fields["outcome"].annotation)
    assert set(outcomes) == {str(o) for o in domain.Outcome}


def test_asyncapi_document_references_every_schema_and_topic() -> None:
    document = yaml.safe_load(generate.ASYNCAPI_PATH.read_text())
    assert document["asyncapi"].startswith("3.0")
    assert {
        "orders.v1",
        "shipments.v1",
        "seller-support.requests.v1",
        "seller-support.ledger.v1",
        "seller-support.ratings.v1",
    } <= set(document["channels"])
    referenced = {
        Path(message["payload"]["$ref"]).name
        for message in document["components"]["messages"].values()
    }
    on_disk = {p.name for p in generate.SCHEMAS_DIR.glob("*.json")}
    assert referenced == on_disk
    published = document["channels"]["seller-support.requests.v1"]["messages"]
    assert set(published) == set(REQUEST_EVENT_CONTRACTS)


def _walk_many_flows(app) -> None:
    """Drive requests through most event types with the real application (SQLite or PostgreSQL)."""
    clock = app.clock
    # partial refund -> declined -> return label -> scans -> confirmed -> feedback
    a = open_on_fresh_order(app, shipped=True)
    app.respond(a.id, a.seller, SellerResponse(type="partial_refund", amount=1000))
    app.decline_offer(a.id, a.buyer)
    app.record_return_label(return_label_created(a.id, clock.now(), tracking_number="RET-A1"))
    app.record_shipment_scan(shipment_scanned("RET-A1", "in_transit", clock.now()))
    app.record_shipment_scan(shipment_scanned("RET-A1", "delivered", clock.now()))
    app.confirm_return(a.id, a.seller)
    app.give_feedback(a.id, a.buyer, thumbs="up")
    # no refund -> message -> information -> escalation -> decision
    b = open_on_fresh_order(app)
    app.respond(
        b.id, b.seller, SellerResponse(type="no_refund", message="Used.", evidence=("p.jpg",))
    )
    app.post_message(b.id, b.buyer, body="It was new.", attachments=[])
    app.respond(b.id, b.seller, SellerResponse(type="request_info", message="Photos?"))
    app.post_message(b.id, b.buyer, body="Here.", attachments=["p2.jpg"])
    app.escalate(b.id, b.buyer, reason="No agreement")
    app.decide(b.id, Actor("support", "agent-1"), outcome="platform_refund")
    # full refund with auto claim; replacement that ships; routed to support (consumable)
    c = open_on_fresh_order(app, shipped=True)
    app.respond(c.id, c.seller, SellerResponse(type="full_refund", auto_claim=True))
    d = open_on_fresh_order(app)
    app.respond(
        d.id, d.seller, SellerResponse(type="replacement", carrier="USPS", tracking_number="REP-D1")
    )
    app.record_shipment_scan(shipment_scanned("REP-D1", "accepted", clock.now()))
    open_on_fresh_order(app, reason="missing_item", consumable=True)
    # timers: seller response overdue
    open_on_fresh_order(app)
    clock.advance(timedelta(days=10))
    app.fire_due()


@pytest.fixture
def schemas() -> dict[str, jsonschema_rs.Validator]:
    return {
        name: jsonschema_rs.validator_for(
            json.loads((generate.SCHEMAS_DIR / generate.request_schema_file(name)).read_text())
        )
        for name in REQUEST_EVENT_CONTRACTS
    }


def test_real_events_of_an_application_run_validate(app, schemas) -> None:
    _walk_many_flows(app)
    messages = []
    while chunk := read_messages(app, messages[-1][0] + 1 if messages else 1, 10):
        messages.extend(chunk)
    assert len(messages) >= 20
    seen = set()
    for _, message in messages:
        model = REQUEST_EVENT_CONTRACTS[message.name]
        model.model_validate(message.data)  # the pydantic contract
        schemas[message.name].validate(message.data)  # the published JSON Schema file
        assert message.id == f"{message.data['request_id']}:{message.data['version']}"
        # JSON round trip (what the wire carries) still validates
        model.model_validate_json(json.dumps(message.data))
        seen.add(message.name)
    assert len(seen) >= 15, sorted(seen)


def test_stored_events_decode_straight_to_the_message_the_domain_event_gives(app) -> None:
    # given a run with many kinds of events
    _walk_many_flows(app)
    # when the log is read by decoding stored rows directly
    messages = []
    while chunk := read_messages(app, messages[-1][0] + 1 if messages else 1, 7):
        messages.extend(chunk)
    # then each message equals the one built from the domain event (same data, same key order)
    notifications = app.recorder.select_notifications(start=1, limit=len(messages) + 1)
    assert [n.id for n in notifications] == [position for position, _ in messages]
    kinds = set()
    for notification, (_, message) in zip(notifications, messages, strict=True):
        expected = to_message(
            app.mapper.to_domain_event(notification), message.chain_hash, message.traceparent
        )
        assert message == expected
        assert list(message.data) == list(expected.data)
        assert message.chain_hash is not None
        kinds.add(message.name)
    assert len(kinds) >= 15, sorted(kinds)


def test_envelope_round_trips_through_the_cloudevents_sdk(app) -> None:
    opened = open_on_fresh_order(app)
    (domain_event,) = list(app.events.get(opened.id))
    message = to_message(domain_event)
    record = to_kafka(message)
    headers = dict(record.headers)
    assert record.key == str(opened.id).encode()
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_id"] == f"{opened.id}:1".encode()
    assert headers["ce_type"] == b"seller_support.request.opened.v1"
    assert headers["ce_source"] == b"/seller-support/requests"
    assert headers["ce_subject"] == str(opened.id).encode()
    assert headers["content-type"] == b"application/json"
    assert is_valid_traceparent(headers["traceparent"].decode())
    assert headers["traceparent"].decode() == traceparent_for(message.id)  # stable on re-publish
    decoded = from_kafka(record.key, record.value, record.headers)
    assert decoded.id == message.id
    assert decoded.name == "opened"
    assert decoded.data == message.data
    assert decoded.time == message.time
    # a given valid traceparent is kept
    given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    assert dict(to_kafka(message, traceparent=given).headers)["traceparent"] == given.encode()
    assert not is_valid_traceparent("00-" + "0" * 32 + "-00f067aa0ba902b7-01")


@pytest.mark.parametrize(
    ("mutate", "why"),
    [
        (lambda r: (r.key, b"{not json", r.headers), "not JSON"),
        (lambda r: (r.key, b'{"request_id": "x"}', r.headers), "schema violation"),
        (
            lambda r: (
                r.key,
                r.value,
                [
                    (k, b"seller_support.request.teleported.v1" if k == "ce_type" else v)
                    for k, v in r.headers
                ],
            ),
            "unknown type",
        ),
        (lambda r: (r.key, r.value, [h for h in r.headers if h[0] != "ce_id"]), "CloudEvents"),
    ],
)
def test_envelope_rejects_poison(app, mutate, why) -> None:
    opened = open_on_fresh_order(app)
    record = to_kafka(to_message(next(iter(app.events.get(opened.id)))))
    with pytest.raises(PoisonMessage, match=why):
        from_kafka(*mutate(record))
