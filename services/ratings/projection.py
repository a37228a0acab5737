"""The ratings projection's handler: one published request event -> the request's stored facts.

A plain `(EventMessage, Connection) -> None` function, fed by either transport adapter through
`shared.transport.Projection` (which records the event id in the same transaction). It reads only
`message.name` and `message.data`, and is idempotent on its own too: a reason is stored at most once
per request and code, and an `opened` seen twice changes nothing.
"""

from __future__ import annotations

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from services.ratings import store
from services.ratings.domain import evolve
from shared.transport.messages import EventMessage
from shared.transport.projection import Projection

CONSUMER = "ratings"


def handle(message: EventMessage, conn: Connection) -> None:
    request_id = str(message.data.get("request_id") or message.subject)
    before = store.load_request(conn, request_id)
    after = evolve(before, message.name, message.data, message.id)
    store.save_request(conn, before, after)


def ratings_projection(engine: Engine) -> Projection:
    """The projection over the ratings database (creates its tables when missing)."""
    store.metadata.create_all(engine)
    return Projection(engine, CONSUMER, handle)
