"""Auditing the requests service's event store (R62): a tamper-evident hash chain per request,
verification, state as of a moment, history, and an export of the whole history as CloudEvents.

The chain. Every stored event of a request gets a row in `ss_event_meta`, written in the event's own
transaction:

    chain_hash(v) = sha256( chain_hash(v-1) | b"\\n" | str(v) | b"\\n" | topic | b"\\n" | state )

with `chain_hash(0) = genesis(request_id)` = sha256(b"seller-support/requests/chain/v1\\n" +
request_id), hex-encoded, and `state` the event's stored bytes exactly as the events table holds
them. Altering any stored event (its topic, state or version), removing one, or swapping two breaks
the recomputed chain at that request and version; altering a meta row breaks the comparison with the
recomputed hash. The chain head travels with each published event (the `chainhash` CloudEvents
attribute), so an outside copy - a consumer's log, an export - anchors history: removing the last
event *and* its meta row is caught by `verify_against_anchors`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import IO, TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy import select

from services.requests.application.actors import Actor
from services.requests.outbox.publishing import read_messages
from services.requests.persistence import store

# The chain's write path lives in services/requests/persistence/chain.py (the application writes it with every
# event, publishing reads it back); re-exported here, where verification uses it.
from services.requests.persistence.chain import GENESIS_LABEL as GENESIS_LABEL
from services.requests.persistence.chain import chain_hash as chain_hash
from services.requests.persistence.chain import chain_head as chain_head
from services.requests.persistence.chain import genesis as genesis
from services.requests.persistence.chain import meta_for as meta_for
from services.requests.persistence.chain import record_chain as record_chain
from shared.envelope import to_structured_json

if TYPE_CHECKING:
    from services.requests.application.app import RequestsApplication
    from services.requests.domain import SupportRequest

MISMATCH = "chain hash mismatch: the event or its chain hash was altered"


# --- verifying --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    request_id: str
    version: int
    what: str

    def __str__(self) -> str:
        return f"request {self.request_id} version {self.version}: {self.what}"


@dataclass
class VerifyReport:
    requests: int = 0
    events: int = 0
    problems: list[Problem] | None = None

    @property
    def intact(self) -> bool:
        return not self.problems


def _events_table(app: RequestsApplication) -> Any:
    return app.recorder.events_record_cls.__table__


def request_ids(app: RequestsApplication) -> list[str]:
    """Every request the events table or the chain table knows, sorted."""
    events = _events_table(app)
    m = store.event_meta
    with app.recorder.transaction(commit=False) as session:
        from_events = {
            str(r) for r in session.execute(select(events.c.originator_id).distinct()).scalars()
        }
        from_meta = set(session.execute(select(m.c.request_id).distinct()).scalars())
    return sorted(from_events | from_meta)


def verify_request(app: RequestsApplication, request_id: str) -> tuple[int, list[Problem]]:
    """Recompute one request's chain from its stored rows; returns (events, problems)."""
    events = _events_table(app)
    m = store.event_meta
    rid = str(request_id)
    with app.recorder.transaction(commit=False) as session:
        rows = session.execute(
            select(events.c.originator_version, events.c.topic, events.c.state)
            .where(events.c.originator_id == _as_uuid_or_str(rid))
            .order_by(events.c.originator_version)
        ).all()
        metas = {
            int(r.version): r.chain_hash
            for r in session.execute(
                select(m.c.version, m.c.chain_hash).where(m.c.request_id == rid)
            )
        }
    problems: list[Problem] = []
    # The hashes the next link may chain from: after a mismatch, both the stored hash (the event
    # was altered, its row intact) and the recomputed one (the row was altered), so one altered
    # row is reported once instead of at every later version.
    previous = {genesis(rid)}
    expected_version = 1
    seen: set[int] = set()
    for row in rows:
        version = int(row.originator_version)
        seen.add(version)
        if version != expected_version:
            problems.append(
                Problem(rid, expected_version, f"event missing (next stored is version {version})")
            )
        state = _bytes(row.state)
        computed = {chain_hash(p, version, row.topic, state) for p in sorted(previous)}
        stored = metas.get(version)
        if stored is None:
            problems.append(Problem(rid, version, "no chain hash stored for this event"))
            previous = computed
        elif stored not in computed:
            problems.append(Problem(rid, version, MISMATCH))
            previous = computed | {stored}
        else:
            previous = {stored}
        expected_version = version + 1
    for version in sorted(set(metas) - seen):
        problems.append(
            Problem(rid, version, "event removed: its chain hash is stored, the event is not")
        )
    return len(rows), problems


def verify(app: RequestsApplication, progress: Any = None) -> VerifyReport:
    report = VerifyReport(problems=[])
    ids = request_ids(app)
    for index, rid in enumerate(ids, 1):
        count, problems = verify_request(app, rid)
        report.requests += 1
        report.events += count
        report.problems.extend(problems)
        if progress is not None:
            progress(index, len(ids))
    return report


def verify_against_anchors(
    app: RequestsApplication, anchors: Iterable[dict[str, Any]]
) -> list[Problem]:
    """Check stored history against chain heads seen outside (an export, published events): every
    anchored (request, version, chainhash) must still be stored with that very hash."""
    wanted: dict[tuple[str, int], str] = {}
    for anchor in anchors:
        data = anchor.get("data") or {}
        rid = str(anchor.get("subject") or data.get("request_id"))
        version = int(data.get("version") or str(anchor.get("id", ":0")).rsplit(":", 1)[1])
        if anchor.get("chainhash"):
            wanted[(rid, version)] = anchor["chainhash"]
    stored = meta_for(app, wanted)
    problems = []
    for (rid, version), value in sorted(wanted.items()):
        if (rid, version) not in stored:
            problems.append(Problem(rid, version, "anchored event no longer stored"))
        elif stored[(rid, version)][0] != value:
            problems.append(Problem(rid, version, "stored chain hash differs from the anchor"))
    return problems


# --- reading history ---------------------------------------------------------------------------------


def iter_messages(app: RequestsApplication, batch: int = 500) -> Iterator[tuple[int, Any]]:
    """Every event in the notification log's order, as published messages (with chain hashes)."""
    start = 1
    while True:
        chunk = read_messages(app, start, batch)
        yield from chunk
        if not chunk:
            return
        start = chunk[-1][0] + 1


def export(app: RequestsApplication, out: IO[str], progress: Any = None) -> int:
    """The whole history, in the notification log's order, as JSON Lines of CloudEvents in
    structured mode (specversion, id, type, source, subject, time, datacontenttype, data, chainhash,
    and traceparent when stored); returns how many events were written."""
    written = 0
    for _position, message in iter_messages(app):
        out.write(to_structured_json(message).decode() + "\n")
        written += 1
        if progress is not None and written % 1000 == 0:
            progress(written, None)
    return written


def history(app: RequestsApplication, request_id: str) -> list[dict[str, Any]]:
    """Every event of one request, oldest first, with its chain hash and traceparent."""
    entries = app.history(request_id, Actor("auditor", "audit-cli"))
    meta = meta_for(app, [(str(request_id), e["version"]) for e in entries])
    for entry in entries:
        chain, traceparent = meta.get((str(request_id), entry["version"]), (None, None))
        entry["chainhash"] = chain
        entry["traceparent"] = traceparent
    return entries


def state_as_of(
    app: RequestsApplication, request_id: str, as_of: datetime
) -> SupportRequest | None:
    """The request as it was at `as_of` (None before it was opened); the CLI shows it as the API
    does (http/views.py `request_view`)."""
    from services.requests.application.actors import Actor

    app._load_for(request_id, Actor("auditor", "audit-cli"))  # RequestNotFound when unknown
    return app.state_as_of(UUID(str(request_id)), as_of)


def _bytes(value: Any) -> bytes:
    return bytes(value) if isinstance(value, memoryview | bytearray) else value


def _as_uuid_or_str(value: str) -> Any:
    try:
        return UUID(value)
    except ValueError:
        return value
