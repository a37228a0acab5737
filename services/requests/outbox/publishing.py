"""How the requests service's internal events become published messages (`seller-support.requests.v1`).

The published data is the event's own attributes plus `request_id`, `version`, `at` and `actor`,
as JSON. The contract models in shared/contracts describe exactly this shape. Beside the data, each
message carries the event's chain hash and the traceparent of the command that stored it
(`ss_event_meta`, see services/requests/application/audit.py); the envelope puts them in the Kafka headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any, Protocol
from uuid import UUID

import orjson
from eventsourcing.persistence import StoredEvent
from sqlalchemy import select

from services.requests.domain.events import event_data, event_name, event_name_of_class
from services.requests.persistence.chain import meta_for
from shared.transport.messages import EventMessage


class EventLog(Protocol):
    """What the outbox reads: the requests application's event store (its engine, its recorder and
    its mapper). The outbox sits below the application, so it names only what it uses."""

    @property
    def engine(self) -> Any: ...

    @property
    def recorder(self) -> Any: ...

    @property
    def mapper(self) -> Any: ...


def to_message(
    domain_event: Any, chain_hash: str | None = None, traceparent: str | None = None
) -> EventMessage:
    request_id = str(domain_event.originator_id)
    version = domain_event.originator_version
    data = {
        "request_id": request_id,
        "version": version,
        "at": domain_event.at,
        "actor": domain_event.actor,
        **event_data(domain_event),
    }
    return EventMessage(
        id=f"{request_id}:{version}",
        name=event_name(domain_event),
        subject=request_id,
        time=domain_event.at,
        data=_json_ready(data),
        chain_hash=chain_hash,
        traceparent=traceparent,
    )


def stored_rows(app: EventLog, start: int, limit: int) -> Sequence[Any]:
    """Up to `limit` stored events (id, originator id and version, topic, state) from notification
    id `start` on, in the log's order, with one Core select."""
    table = app.recorder.events_record_cls.__table__
    with app.engine.connect() as conn:
        return conn.execute(
            select(
                table.c.id,
                table.c.originator_id,
                table.c.originator_version,
                table.c.topic,
                table.c.state,
            )
            .where(table.c.id >= start)
            .order_by(table.c.id)
            .limit(limit)
        ).all()


def read_messages(app: EventLog, start: int, limit: int) -> Sequence[tuple[int, EventMessage]]:
    """Messages from the notification log, `start` inclusive, in the log's total order.

    Stored rows are decoded straight into the published shape (`message_from_stored`): building
    ORM rows, domain event objects and then JSON again cost ~100 µs an event, which capped the relay
    and every replay. A row the shortcut cannot read as it is (an upcast event class, a cipher or
    compressor configured) goes through the mapper and `to_message`."""
    rows = stored_rows(app, start, limit)
    meta = meta_for(app, [(str(r.originator_id), r.originator_version) for r in rows])
    plain = app.mapper.cipher is None and app.mapper.compressor is None
    messages = []
    for row in rows:
        request_id = str(row.originator_id)
        chain, traceparent = meta.get((request_id, row.originator_version), (None, None))
        message = (
            message_from_stored(
                request_id, row.originator_version, row.topic, row.state, chain, traceparent
            )
            if plain
            else None
        )
        if message is None:
            stored = StoredEvent(row.originator_id, row.originator_version, row.topic, row.state)
            message = to_message(app.mapper.to_domain_event(stored), chain, traceparent)
        messages.append((row.id, message))
    return messages


def message_from_stored(
    request_id: str,
    version: int,
    topic: str,
    state: bytes,
    chain_hash: str | None = None,
    traceparent: str | None = None,
) -> EventMessage | None:
    """The message of one stored event, decoded without building the domain event: the same
    shape as `to_message` (checked against it in tests); None when the event needs upcasting."""
    decoded = _plain(orjson.loads(state))
    if "class_version" in decoded:
        return None
    at = decoded["at"]
    data = {"request_id": request_id, "version": version, "at": at, "actor": decoded["actor"]}
    data.update((k, v) for k, v in decoded.items() if k not in _NOT_DATA)
    return EventMessage(
        id=f"{request_id}:{version}",
        name=_name_of(topic),
        subject=request_id,
        time=datetime.fromisoformat(at),
        data=data,
        chain_hash=chain_hash,
        traceparent=traceparent,
    )


_NOT_DATA = frozenset({"timestamp", "originator_topic", "at", "actor"})
# The transcodings our events' state uses, as the published JSON renders them
_PLAIN = {"datetime_iso": lambda v: v, "uuid_hex": lambda v: str(UUID(v))}


def _plain(value: Any) -> Any:
    """The decoded state with each transcoded value (`{"_type_": …, "_data_": …}`) in its JSON
    form. A walk after orjson: the standard library's decoder with this as its `object_hook` cost
    twice as much (docs/benchmarks.md, hot spot 32)."""
    if type(value) is dict:
        if len(value) == 2 and "_type_" in value and "_data_" in value:
            return _PLAIN[value["_type_"]](value["_data_"])
        return {key: _plain(item) for key, item in value.items()}
    if type(value) is list:
        return [_plain(item) for item in value]
    return value


@cache
def _name_of(topic: str) -> str:
    """`services.requests.domain:SupportRequest.FullRefundOffered` -> `full_refund_offered`."""
    return event_name_of_class(topic.rsplit(".", 1)[-1])


def _json_ready(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_ready(v) for v in value]
    return value
