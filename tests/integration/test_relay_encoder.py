"""Issue 30: the relay's CloudEvents encoder writes the Kafka record directly, without the SDK. It
must be the SDK's record byte for byte (key, value, every header in order): checked over the stored
events of walks through the policy (most kinds of event the commands produce, as `read_messages`
reads them for the relay), and over arbitrary event data."""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given, settings
from hypothesis import strategies as st

from services.requests.application import open_application
from services.requests.outbox.publishing import read_messages
from shared.clock import AdjustableClock
from shared.envelope import to_kafka, to_kafka_with_sdk, traceparent_for
from shared.transport.messages import EventMessage
from tests.conftest import START
from tests.integration.audit_harness import LiveSystem, Workload, live_urls

# Walks through the policy, one per request (the audit rebuild test's walk, and more).
WALKS = (
    ("request_info", "buyer_message", "partial", "decline", "ship_return", "confirm", "feedback"),
    ("full_refund_with_return", "advance", "advance", "seller_message"),
    ("replacement", "advance", "return_for_refund", "escalate", "decide_refund"),
    ("partial", "accept", "feedback"),
    ("no_refund", "escalate", "assign", "decide_uphold_seller"),
    ("full_refund_with_return", "ship_return", "dispute", "decide_refund"),
    ("replacement", "replacement_scan", "feedback"),
    ("advance", "advance", "escalate", "decide_refund"),
)


def _walk(system: LiveSystem) -> None:
    workload = Workload(system, len(WALKS))
    for index, walk in enumerate(WALKS):
        for name in walk:
            if name == "advance":
                system.advance(49)
            else:
                workload.step(name, index, 900)
    system.advance(24 * 8)


def test_the_direct_encoder_writes_the_sdks_record_for_every_stored_event() -> None:
    with tempfile.TemporaryDirectory() as folder:
        # given the stored events of a walk through every command of the workload
        clock = AdjustableClock(START.astimezone(UTC), frozen=True)
        app = open_application(f"sqlite:///{folder}/events.db", clock)
        system = LiveSystem(app, live_urls("sqlite", folder), clock)
        try:
            _walk(system)
            messages = [m for _, m in read_messages(app, 1, 100_000)]
        finally:
            system.close()
            app.close()
            app.recorder.datastore.engine.dispose()
    kinds = {m.name for m in messages}
    assert len(kinds) >= 20, sorted(kinds)  # the walks reach 22 kinds of event
    # when each is encoded directly and through the SDK (with and without a stored traceparent,
    # and with one given by the caller), then the records are equal, header by header
    given_trace = traceparent_for("caller")
    for message in messages:
        assert to_kafka(message) == to_kafka_with_sdk(message), message.name
        assert to_kafka(message, given_trace) == to_kafka_with_sdk(message, given_trace)
        assert to_kafka(message, "not-a-traceparent") == to_kafka_with_sdk(
            message, "not-a-traceparent"
        )


_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.datetimes(timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5))])),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(
    name=st.from_regex(r"[a-z_]{1,30}", fullmatch=True),
    subject=st.text(min_size=1, max_size=40),
    time=st.datetimes(
        min_value=datetime(2000, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=2))]),
    ),
    data=st.dictionaries(st.text(max_size=12), _json, max_size=6),
    chain_hash=st.one_of(st.none(), st.just(""), st.from_regex(r"[0-9a-f]{64}", fullmatch=True)),
    stored_trace=st.one_of(st.none(), st.just(traceparent_for("stored")), st.text(max_size=10)),
)
def test_the_direct_encoder_writes_the_sdks_record_for_any_event_data(
    name, subject, time, data, chain_hash, stored_trace
) -> None:
    # given any event (any data, zone, chain hash and stored trace context)
    message = EventMessage(
        id=f"{subject}:1",
        name=name,
        subject=subject,
        time=time,
        data=data,
        chain_hash=chain_hash,
        traceparent=stored_trace,
    )
    # when it is encoded both ways, then the records are equal
    assert to_kafka(message) == to_kafka_with_sdk(message)
