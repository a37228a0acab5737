"""Use cases of the requests service: plain values in, plain values out.

- `core`: the plumbing every use case shares (one transaction for events and side tables);
- `commands`: the parties' commands, with the one table from a seller's response type to the
  aggregate's command (`RESPONSE_COMMANDS`);
- `upstream`: upstream facts, with the one table from a fact type to its handler (`UPSTREAM_FACTS`,
  plus the handlers another component contributes);
- `timers`: durable deadlines fired when due;
- `queries`: reads, state as of a moment, history;
- `audit`: hash-chain verification, history and export (R62);
- `ports`: what the use cases need from storage (`SideTables`), so they run against a fake too;
- `app`: `RequestsApplication`, all of the above, and `open_application()`.

The names other modules import are re-exported here (`from services.requests.application import
RequestsApplication, Actor, ...`). The HTTP view of a request lives in `services/requests/http/views.py`.
"""

from __future__ import annotations

from services.requests.application.actors import ROLES, Actor
from services.requests.application.app import RequestsApplication, open_application
from services.requests.application.commands import RESPONSE_COMMANDS, SellerResponse
from services.requests.application.errors import (
    ConcurrentUpdate,
    FactNotHandled,
    Forbidden,
    ItemAlreadyOpen,
    OrderNotFound,
    RequestNotFound,
    TrackingNumberInUse,
    UnknownItems,
    UnknownTrackingNumber,
    UpstreamConflict,
)
from services.requests.application.ports import SideTables, TrackingLink
from services.requests.application.upstream import UPSTREAM_FACTS
from services.requests.domain import SYSTEM_ACTOR, event_data, event_name, event_name_of_class
from services.requests.persistence.event_store import EVENT_STORE

__all__ = [
    "EVENT_STORE",
    "RESPONSE_COMMANDS",
    "ROLES",
    "SYSTEM_ACTOR",
    "UPSTREAM_FACTS",
    "Actor",
    "ConcurrentUpdate",
    "FactNotHandled",
    "Forbidden",
    "ItemAlreadyOpen",
    "OrderNotFound",
    "RequestNotFound",
    "RequestsApplication",
    "SellerResponse",
    "SideTables",
    "TrackingLink",
    "TrackingNumberInUse",
    "UnknownItems",
    "UnknownTrackingNumber",
    "UpstreamConflict",
    "event_data",
    "event_name",
    "event_name_of_class",
    "open_application",
]
