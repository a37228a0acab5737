"""Decoders of consumed Kafka records: bytes on a topic -> the validated value a handler takes.

Each raises `PoisonMessage` for a record that can never be processed as it is, which the consumer
runtime dead-letters (shared/transport/dead_letter.py).

- `decode_request_event`: `seller-support.requests.v1`, CloudEvents binary mode -> `EventMessage`
  (the one CloudEvents decoder, shared/envelope.py `from_kafka_record`, plus the request stream's
  contract);
- `decode_upstream_fact`: `orders.v1` / `shipments.v1`, API.md's upstream JSON -> its contract model.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from shared.contracts.upstream import UpstreamFact, upstream_fact_adapter
from shared.envelope import PoisonMessage, from_kafka
from shared.transport.messages import EventMessage

if TYPE_CHECKING:
    from kafka.consumer.fetcher import ConsumerRecord

__all__ = ["decode_request_event", "decode_upstream_fact", "record_fields"]


def decode_request_event(record: ConsumerRecord) -> EventMessage:
    """CloudEvents binary-mode record of `seller-support.requests.v1` -> validated EventMessage."""
    return from_kafka(record.key, record.value, record.headers)


def decode_upstream_fact(record: ConsumerRecord) -> UpstreamFact:
    """A record of `orders.v1` / `shipments.v1` (API.md's upstream JSON) -> its contract model;
    PoisonMessage when it is none."""
    if record.value is None:
        raise PoisonMessage("empty value (tombstone): an upstream fact was expected")
    try:
        payload = json.loads(record.value)
    except (ValueError, UnicodeDecodeError) as error:
        raise PoisonMessage(f"value is not JSON: {error}") from error
    try:
        return upstream_fact_adapter.validate_python(payload)
    except ValidationError as error:
        raise PoisonMessage(f"schema violation (upstream fact v1): {error}") from error


def record_fields(record: ConsumerRecord, group_id: str) -> dict[str, Any]:
    """Where a record came from, for its log lines."""
    return {
        "kafka_topic": record.topic,
        "kafka_partition": record.partition,
        "kafka_offset": record.offset,
        "consumer_group": group_id,
    }
