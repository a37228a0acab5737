"""The ratings projection's handler: a batch of published request events -> the requests' stored facts.

A plain `(Sequence[EventMessage], Connection) -> None` function, fed by either transport adapter
through `shared.transport.Projection` (which records the event ids in the same transaction). It reads
only `message.name` and `message.data`.

A batch is folded in memory: the facts of every request it touches are loaded at once, each message
goes through the pure `evolve` in order, and only what differs is written back, one statement per
table. The result is the same as applying the messages one at a time: `evolve` sees each request's
facts as the previous messages left them, and the sellers' change counters grow by one per message
that changed one of their requests. It is idempotent on its own too: a reason is stored at most once
per request and code, and an `opened` seen twice changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from sqlalchemy import Engine
from sqlalchemy.engine import Connection

from services.ratings import store
from services.ratings.domain import FITTING, RETURN_REFUNDS, RequestFacts, evolve
from shared.migrations import ensure_schema
from shared.transport.messages import EventMessage
from shared.transport.projection import Projection, reacts_to

CONSUMER = "ratings"
# Every event `evolve` reacts to; the others change no request's facts.
EVENTS = frozenset(
    {
        "opened",
        *FITTING,
        *RETURN_REFUNDS,
        "no_refund_explained",
        "no_refund_closed",
        "feedback_given",
        "escalated",
        "return_disputed",
        "support_decided",
    }
)


@reacts_to(EVENTS)
def handle(messages: Sequence[EventMessage], conn: Connection) -> None:
    request_ids = [str(m.data.get("request_id") or m.subject) for m in messages]
    stored = store.load_requests(conn, request_ids)
    current: dict[str, RequestFacts] = dict(stored)
    seller_changes: Counter[str] = Counter()
    for message, request_id in zip(messages, request_ids, strict=True):
        before = current.get(request_id)
        after = evolve(before, message.name, message.data, message.id)
        if after == before:
            continue
        current[request_id] = after
        if after.counts_for_seller:
            seller_changes[after.seller_id] += 1
    store.save_requests(conn, stored, current, seller_changes)


def ratings_projection(engine: Engine) -> Projection:
    """The projection over the ratings database (creates its tables when missing)."""
    ensure_schema(engine, store.STORE)
    return Projection(engine, CONSUMER, handle)
