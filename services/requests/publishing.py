"""How the requests service's internal events become published messages (`seller-support.requests.v1`).

The published data is the event's own attributes plus `request_id`, `version`, `at` and `actor`,
as JSON. The contract models in shared/contracts describe exactly this shape. Beside the data, each
message carries the event's chain hash and the traceparent of the command that stored it
(`ss_event_meta`, see services/requests/audit.py); the envelope puts them in the Kafka headers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from services.requests import audit
from services.requests.application import RequestsApplication, event_data, event_name
from shared.transport.messages import EventMessage


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


def read_messages(
    app: RequestsApplication, start: int, limit: int
) -> Sequence[tuple[int, EventMessage]]:
    """Messages from the notification log, `start` inclusive, in the log's total order."""
    # The recorder, not the notification log: the log caps a read at its section size (10).
    notifications = app.recorder.select_notifications(start=start, limit=limit)
    meta = audit.meta_for(
        app, [(str(n.originator_id), n.originator_version) for n in notifications]
    )
    messages = []
    for n in notifications:
        chain, traceparent = meta.get((str(n.originator_id), n.originator_version), (None, None))
        messages.append((n.id, to_message(app.mapper.to_domain_event(n), chain, traceparent)))
    return messages


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
