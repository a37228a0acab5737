"""The tamper-evident hash chain of each request's events (R62): written in the command's
transaction with every event (`record_chain`, wired into the event store by the application) and
read back for publishing (`meta_for`). Verification, history and export are in
services/requests/application/audit.py; the chain itself is described there.

Its own module so that the application, publishing and auditing each import it without importing
each other (that made an import cycle).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from typing import Any

from eventsourcing.application import Application
from sqlalchemy import bindparam, insert, select
from sqlalchemy.orm import Session

from services.requests.persistence import store

GENESIS_LABEL = b"seller-support/requests/chain/v1\n"


def genesis(request_id: str) -> str:
    return hashlib.sha256(GENESIS_LABEL + str(request_id).encode()).hexdigest()


def chain_hash(previous: str, version: int, topic: str, state: bytes) -> str:
    digest = hashlib.sha256()
    for part in (previous.encode(), str(version).encode(), topic.encode()):
        digest.update(part)
        digest.update(b"\n")
    digest.update(bytes(state))
    return digest.hexdigest()


# --- writing (inside the command's transaction) ----------------------------------------------------


def record_chain(session: Session, events: Sequence[Any], traceparent: str | None) -> None:
    """One `ss_event_meta` row per event about to be stored (`StoredEvent`s: originator id and
    version, topic, state), chained to the request's previous event. Runs in the transaction that
    stores the events."""
    heads: dict[str, tuple[int, str]] = {}
    rows = []
    for n in sorted(events, key=lambda n: (str(n.originator_id), n.originator_version)):
        rid = str(n.originator_id)
        version = int(n.originator_version)
        head = heads.get(rid)
        if head is None or head[0] != version - 1:
            head = chain_head(session, rid, version - 1)
        value = chain_hash(head[1], version, n.topic, n.state)
        rows.append(
            {"request_id": rid, "version": version, "chain_hash": value, "traceparent": traceparent}
        )
        heads[rid] = (version, value)
    if rows:
        session.execute(_INSERT_META, rows)


def chain_head(session: Session, request_id: str, version: int) -> tuple[int, str]:
    """`(version, chain hash)` of a request's event `version` (0: the genesis)."""
    if version <= 0:
        return version, genesis(request_id)
    stored = session.execute(
        _STORED_HASH, {"b_request_id": request_id, "b_version": version}
    ).scalar_one_or_none()
    # An event stored before chaining existed (or a broken chain): chain from its absence; verify
    # reports the gap at that version.
    return version, stored if stored is not None else "missing"


_INSERT_META = insert(store.event_meta)
_STORED_HASH = select(store.event_meta.c.chain_hash).where(
    store.event_meta.c.request_id == bindparam("b_request_id"),
    store.event_meta.c.version == bindparam("b_version"),
)


def meta_for(app: Application, keys: Iterable[tuple[str, int]]) -> dict[tuple[str, int], Any]:
    """`(request_id, version) -> (chain_hash, traceparent)` for the given events."""
    wanted = {(str(r), int(v)) for r, v in keys}
    if not wanted:
        return {}
    m = store.event_meta
    found: dict[tuple[str, int], Any] = {}
    ids = sorted({r for r, _ in wanted})
    with app.recorder.transaction(commit=False) as session:
        for start in range(0, len(ids), 500):
            rows = session.execute(
                select(m.c.request_id, m.c.version, m.c.chain_hash, m.c.traceparent).where(
                    m.c.request_id.in_(ids[start : start + 500])
                )
            ).all()
            for row in rows:
                key = (row.request_id, int(row.version))
                if key in wanted:
                    found[key] = (row.chain_hash, row.traceparent)
    return found
