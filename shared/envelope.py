"""The envelope of published request events: CloudEvents 1.0, Kafka protocol binding, binary mode.

Built with the CloudEvents SDK (`cloudevents.core.bindings.kafka`), never with hand-rolled `ce_*`
headers. One Kafka record per event:

- key: the request id (all of one request's events land on one partition, in order);
- value: the event's JSON data (the `shared.contracts.requests_v1` model of its type);
- headers: `ce_specversion` 1.0, `ce_id` = `<request id>:<version>` (stable across re-publication,
  so consumers dedupe by it), `ce_source` `/seller-support/requests`, `ce_type`
  `seller_support.request.<name>.v1`, `ce_subject` = request id, `ce_time`, `content-type`
  `application/json`, the W3C Trace Context `traceparent` header (the one stored with the event
  when the command that caused it had one, else one derived from `ce_id`), and `ce_chainhash`: the
  request's tamper-evident hash-chain head at this event (a CloudEvents extension attribute, R62,
  see services/requests/application/audit.py), when known.

Decoding is strict (`from_kafka_record` is the one CloudEvents decoder of every stream, `from_kafka`
adds the request stream's contract): anything that is not a well-formed v1 request event raises `PoisonMessage`, which
the consumer runtime sends to the dead-letter topic.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cloudevents.core.bindings import kafka as ce_kafka
from cloudevents.core.formats.json import JSONFormat, _JSONEncoderWithDatetime
from cloudevents.core.v1.event import CloudEvent
from pydantic import ValidationError

from shared.contracts.requests_v1 import UnknownEventType, validate_event_data
from shared.transport.messages import EventMessage

SOURCE = "/seller-support/requests"
CONTENT_TYPE = "application/json"
TRACEPARENT = "traceparent"
CHAINHASH = "chainhash"  # CloudEvents extension attribute: the request's hash-chain head
SPECVERSION = "1.0"

_FORMAT = JSONFormat()
_TRACEPARENT_RE = re.compile(r"^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$")


class PoisonMessage(Exception):
    """A message that can never be processed as it is (bad JSON, schema violation, unknown type,
    or a fact the application rejects). It goes to `<topic>.dlq`; it is never silently skipped."""


@dataclass(frozen=True)
class KafkaRecord:
    """What a producer sends: kafka-python's `send(topic, key=, value=, headers=)`."""

    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]] = field(default_factory=list)

    def header(self, name: str) -> bytes | None:
        return dict(self.headers).get(name)


# --- W3C trace context -----------------------------------------------------------------------------


def is_valid_traceparent(value: str) -> bool:
    """Version 00 of https://www.w3.org/TR/trace-context/#traceparent-header."""
    match = _TRACEPARENT_RE.match(value)
    if match is None:
        return False
    trace_id, parent_id, _ = match.groups()
    return trace_id != "0" * 32 and parent_id != "0" * 16


def traceparent_for(event_id: str) -> str:
    """A valid traceparent derived from the event id: re-publications carry the same one."""
    digest = hashlib.sha256(event_id.encode()).hexdigest()
    trace_id, parent_id = digest[:32], digest[32:48]
    if trace_id == "0" * 32:  # pragma: no cover - astronomically unlikely
        trace_id = "0" * 31 + "1"
    if parent_id == "0" * 16:  # pragma: no cover
        parent_id = "0" * 15 + "1"
    return f"00-{trace_id}-{parent_id}-01"


# --- encode --------------------------------------------------------------------------------------


def to_cloudevent(message: EventMessage) -> CloudEvent:
    attributes: dict[str, Any] = {
        "specversion": SPECVERSION,
        "id": message.id,
        "source": SOURCE,
        "type": message.type,
        "subject": message.subject,
        "time": message.time,
        "datacontenttype": CONTENT_TYPE,
    }
    if message.chain_hash:
        attributes[CHAINHASH] = message.chain_hash
    return CloudEvent(attributes=attributes, data=message.data)


def to_structured_json(message: EventMessage) -> bytes:
    """The event in CloudEvents structured mode (JSON), with `chainhash` and, when stored, the
    `traceparent` extension: one line of `seller-support audit export`."""
    event = to_cloudevent(message)
    if message.traceparent and is_valid_traceparent(message.traceparent):
        event = CloudEvent(
            attributes={**event.get_attributes(), TRACEPARENT: message.traceparent},
            data=event.get_data(),
        )
    return _FORMAT.write(event)


def to_kafka(message: EventMessage, traceparent: str | None = None) -> KafkaRecord:
    """The Kafka record of one event (binary mode). The `traceparent` header is the given one when
    valid, else the one stored with the event (`message.traceparent`) when valid, else one derived
    from the event id.

    Written directly (issue 30): the SDK's `to_binary` re-validated attributes we set ourselves
    and was most of the relay's own CPU. The bytes are the SDK's (`to_kafka_with_sdk`), header
    for header in order, checked over stored events of every type
    (tests/integration/test_relay_encoder.py)."""
    if traceparent is None or not is_valid_traceparent(traceparent):
        traceparent = message.traceparent
    if traceparent is None or not is_valid_traceparent(traceparent):
        traceparent = traceparent_for(message.id)
    time = message.time.isoformat()
    if time.endswith("+00:00"):
        time = time[:-6] + "Z"
    subject = message.subject.encode()
    headers = [
        ("ce_specversion", _SPECVERSION_BYTES),
        ("ce_id", message.id.encode()),
        ("ce_source", _SOURCE_BYTES),
        ("ce_type", message.type.encode()),
        ("ce_subject", subject),
        ("ce_time", time.encode()),
        ("content-type", _CONTENT_TYPE_BYTES),
    ]
    if message.chain_hash:
        headers.append((f"ce_{CHAINHASH}", str(message.chain_hash).encode()))
    headers.append((TRACEPARENT, traceparent.encode()))
    return KafkaRecord(
        key=subject, value=_DATA_ENCODER.encode(message.data).encode(), headers=headers
    )


_SPECVERSION_BYTES = SPECVERSION.encode()
_SOURCE_BYTES = SOURCE.encode()
_CONTENT_TYPE_BYTES = CONTENT_TYPE.encode()
# The SDK's JSON encoder class (stdlib `json`, default separators, datetimes as RFC 3339 with `Z`),
# one instance reused: the value bytes are the SDK's `write_data` output.
_DATA_ENCODER = _JSONEncoderWithDatetime()


def to_kafka_with_sdk(message: EventMessage, traceparent: str | None = None) -> KafkaRecord:
    """`to_kafka` through the CloudEvents SDK: the reference the direct encoder is checked
    against."""
    encoded = ce_kafka.to_binary(
        to_cloudevent(message), _FORMAT, key_mapper=lambda event: event.get_subject()
    )
    if traceparent is None or not is_valid_traceparent(traceparent):
        traceparent = message.traceparent
    if traceparent is None or not is_valid_traceparent(traceparent):
        traceparent = traceparent_for(message.id)
    headers = [(name, value) for name, value in encoded.headers.items()]
    headers.append((TRACEPARENT, traceparent.encode()))
    key = encoded.key
    return KafkaRecord(
        key=key.encode() if isinstance(key, str) else (key or b""),
        value=encoded.value,
        headers=headers,
    )


# --- decode --------------------------------------------------------------------------------------


def _headers_dict(headers: Any) -> dict[str, bytes]:
    result: dict[str, bytes] = {}
    for name, value in headers or ():
        result[name] = value if isinstance(value, bytes) else str(value).encode()
    return result


@dataclass(frozen=True)
class Received:
    """One decoded CloudEvents binary-mode record: its attributes, key, JSON object data and (when
    valid) its `traceparent` header."""

    id: str
    type: str
    source: str
    subject: str
    time: datetime
    key: str
    data: dict[str, Any]
    traceparent: str | None
    extensions: dict[str, Any] = field(default_factory=dict)


_CORE_ATTRIBUTES = frozenset(
    {"specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema"}
)


def from_kafka_record(
    key: bytes | str | None, value: bytes | None, headers: Any, *, expected_type: str | None = None
) -> Received:
    """THE CloudEvents decoder: one binary-mode record (of type `expected_type`, when given) whose
    data is a JSON object; raises PoisonMessage. Every stream's consumer decodes through it (the
    request stream with its contract on top: `from_kafka`)."""
    header_map = _headers_dict(headers)
    if "ce_id" not in header_map or "ce_type" not in header_map:
        raise PoisonMessage("not a CloudEvents binary-mode record (no ce_id / ce_type header)")
    if value is None:
        raise PoisonMessage("empty value (tombstone) on an event stream")
    try:
        event = ce_kafka.from_binary(
            ce_kafka.KafkaMessage(headers=header_map, key=key, value=value), _FORMAT
        )
    except Exception as error:  # the SDK's validation errors have no common base
        raise PoisonMessage(f"invalid CloudEvent: {error}") from error
    if event.get_specversion() != SPECVERSION:
        raise PoisonMessage(f"unsupported CloudEvents specversion {event.get_specversion()!r}")
    content_type = event.get_datacontenttype() or CONTENT_TYPE
    if not content_type.startswith(CONTENT_TYPE):
        raise PoisonMessage(f"unsupported content type {content_type!r}")
    if expected_type is not None and event.get_type() != expected_type:
        raise PoisonMessage(f"unexpected type {event.get_type()!r}")
    data = event.get_data()
    if not isinstance(data, dict):
        # The SDK falls back to text when the value is not JSON.
        try:
            json.loads(value)
        except ValueError as error:
            raise PoisonMessage(f"value is not JSON: {error}") from error
        raise PoisonMessage("value is JSON but not an object")
    time = event.get_time()
    if not isinstance(time, datetime):
        raise PoisonMessage("ce_time missing")
    traceparent = header_map.get(TRACEPARENT, b"").decode(errors="replace")
    return Received(
        id=event.get_id(),
        type=event.get_type(),
        source=event.get_source(),
        subject=event.get_subject() or "",
        time=datetime.fromisoformat(time.isoformat()),  # plain fixed-offset tzinfo, not dateutil's
        key=key.decode() if isinstance(key, bytes) else str(key or ""),
        data=data,
        traceparent=traceparent if is_valid_traceparent(traceparent) else None,
        extensions={
            name: value
            for name, value in event.get_attributes().items()
            if name not in _CORE_ATTRIBUTES
        },
    )


def from_kafka(key: bytes | str | None, value: bytes | None, headers: Any) -> EventMessage:
    """Decode and validate one record of the request stream (`from_kafka_record`, then the
    `requests_v1` contract of its type); raises PoisonMessage."""
    received = from_kafka_record(key, value, headers)
    data = received.data
    try:
        name = EventMessage.name_from_type(received.type)
        validate_event_data(name, data)
    except (ValueError, UnknownEventType) as error:
        # pydantic's ValidationError is a ValueError
        kind = "schema violation" if isinstance(error, ValidationError) else "unknown type"
        raise PoisonMessage(f"{kind} for {received.type}: {error}") from error
    subject = received.subject
    if not subject or subject != str(data.get("request_id")):
        raise PoisonMessage("ce_subject does not name the event's request_id")
    chain = received.extensions.get(CHAINHASH)
    return EventMessage(
        id=received.id,
        name=name,
        subject=subject,
        time=received.time,
        data=data,
        chain_hash=None if chain is None else str(chain),
        traceparent=received.traceparent,
    )


def headers_of(record_headers: Any) -> dict[str, bytes]:
    """Kafka record headers (a list of pairs) as a dict, for tests and tools."""
    return _headers_dict(record_headers)
