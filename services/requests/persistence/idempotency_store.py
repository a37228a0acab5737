"""Rows of `ss_idempotency_keys` for the `Idempotency-Key` middleware (http/idempotency.py): a
request's claim of its key, the first answer, and their expiry (`RETENTION`, `LEASE`).

Support-request commands and upstream facts write their key and answer in their own transaction
instead (`receipts`); this store serves every other POST, reads what is stored for a retry, and
records the answer of a command that rolled back.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from eventsourcing.persistence import IntegrityError as PersistenceIntegrityError
from sqlalchemy import bindparam, delete, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.requests.persistence.receipts import PENDING
from services.requests.persistence.store import idempotency_keys

RETENTION = timedelta(hours=24)
LEASE = timedelta(seconds=60)
"""How long a claim of a request still running holds its key (issue 18, class 9): a claim older than
this was left by a process that died between claiming and answering, and is released, so a retry
runs the request instead of answering 409 for 24 hours. Longer than any request runs."""


@dataclass(frozen=True)
class Stored:
    fingerprint: str
    status_code: int
    body: dict[str, Any] | None
    created_at: datetime


class IdempotencyStore:
    """Rows of `ss_idempotency_keys`: key -> request fingerprint and first response.

    `transaction` is the requests application's (`recorder.transaction`): on SQLite it holds the
    process's write lock, so a claim queues behind a running command instead of meeting SQLite's
    busy handler, whose sleeps (up to 100 ms each) were the top cost of an idempotent command."""

    def __init__(self, transaction: Callable[[], AbstractContextManager[Session]]) -> None:
        self.transaction = transaction

    def claim(self, key: str, fingerprint: str) -> Stored | None:
        """Reserve the key for a new request; None when reserved, else what is already stored."""
        now = datetime.now(UTC)
        for _ in range(3):
            try:
                with self.transaction() as session:
                    if session.get_bind().dialect.name == "postgresql":
                        # No wait for the WAL flush: a claim matters only once the command it
                        # guards commits, and that (synchronous) commit flushes the log up to and
                        # including the claim. A claim lost with the server guarded nothing.
                        session.execute(_ASYNC_COMMIT)
                    session.execute(_CLAIM, _row(key, fingerprint, PENDING, None, now))
                return None
            except (IntegrityError, PersistenceIntegrityError):
                stored = self.read(key, now)
                if stored is not None:
                    return stored
        raise RuntimeError("could not claim an idempotency key")  # pragma: no cover

    def read(self, key: str, now: datetime) -> Stored | None:
        """What is stored for the key; None when nothing is, or only an expired entry or a claim
        whose lease ran out (dropped)."""
        with self.transaction() as session:
            row = session.execute(_READ, {"b_key": key}).first()
            if row is None:
                return None
            created = row.created_at
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            abandoned = row.status_code == PENDING and created < now - LEASE
            if created < now - RETENTION or abandoned:
                session.execute(_RELEASE, {"b_key": key})
                return None
            return Stored(row.fingerprint, row.status_code, row.body, created)

    def record(self, key: str, fingerprint: str, status_code: int, body: dict[str, Any]) -> None:
        """Store the answer of a command that rolled back (an error); a copy that got there first
        keeps its own."""
        now = datetime.now(UTC)
        # IntegrityError: the same request's answer, stored by a concurrent copy.
        with (
            contextlib.suppress(IntegrityError, PersistenceIntegrityError),
            self.transaction() as session,
        ):
            session.execute(_CLAIM, _row(key, fingerprint, status_code, body, now))

    def complete(self, key: str, status_code: int, body: dict[str, Any]) -> None:
        with self.transaction() as session:
            session.execute(_COMPLETE, {"b_key": key, "status_code": status_code, "body": body})

    def release(self, key: str) -> None:
        with self.transaction() as session:
            session.execute(_RELEASE, {"b_key": key})


# Built once: the statements are the same for every request.
_ASYNC_COMMIT = text("SET LOCAL synchronous_commit TO OFF")
_CLAIM = insert(idempotency_keys)
_READ = select(idempotency_keys).where(idempotency_keys.c.key == bindparam("b_key"))
_COMPLETE = update(idempotency_keys).where(idempotency_keys.c.key == bindparam("b_key"))
_RELEASE = delete(idempotency_keys).where(idempotency_keys.c.key == bindparam("b_key"))


def _row(
    key: str, fingerprint: str, status_code: int, body: dict[str, Any] | None, now: datetime
) -> dict[str, Any]:
    return {
        "key": key,
        "fingerprint": fingerprint,
        "status_code": status_code,
        "body": body,
        "created_at": now,
    }
