"""An idempotent command's key and answer, written in the command's own transaction.

The `Idempotency-Key` middleware (http/idempotency.py) makes a `KeyClaim`; the route passes it to
the use case as a parameter (`claim=`). The command's transaction inserts the key as its first
statement, so a concurrent copy of the same request waits on that row and then finds the key taken
instead of running too, and writes the answer (status, headers, body) just before the events. The
key, the answer and the events commit together: one commit per idempotent command instead of three
(claim, command, answer), and no key is left claimed by a command that never committed.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from eventsourcing.persistence import IntegrityError as PersistenceIntegrityError
from sqlalchemy import bindparam, insert, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.requests.persistence.store import idempotency_keys

if TYPE_CHECKING:
    from services.requests.domain import SupportRequest

PENDING = 0  # status_code of a key whose first request has not answered yet


@dataclass(frozen=True)
class Receipt:
    """What a command answered: replayed byte for byte to a retry with the same key."""

    status_code: int
    headers: dict[str, str]
    content: str

    def stored_body(self) -> dict[str, Any]:
        return {"headers": self.headers, "content": self.content}


class KeyTaken(Exception):
    """The key was already recorded (by an earlier or a concurrent copy of the request): the command
    was rolled back, and the stored answer is the one to give."""


@dataclass
class KeyClaim:
    key: str
    fingerprint: str
    created_at: datetime
    # (the request after the command, created, the caller's role and the command's moment: the
    # answer lists the caller's next steps as of then)
    render: Callable[[SupportRequest, bool, str, datetime], Receipt]
    recorded: Receipt | None = None  # set once the command committed with it
    taken: bool = False
    # An upstream fact's answer, given whether the fact changed anything (issue 18, class 9): set
    # by the route, consumed by the fact's transaction, which then records the key with its effect.
    answer: Callable[[bool], Receipt] | None = None


def claim_key(session: Session, claim: KeyClaim) -> None:
    """The first statement of the command's transaction."""
    try:
        session.execute(
            _CLAIM,
            {
                "key": claim.key,
                "fingerprint": claim.fingerprint,
                "status_code": PENDING,
                "body": None,
                "created_at": claim.created_at,
            },
        )
    except (IntegrityError, PersistenceIntegrityError) as error:
        claim.taken = True
        raise KeyTaken(claim.key) from error


def record_answer(
    session: Session,
    claim: KeyClaim,
    request: SupportRequest,
    role: str,
    at: datetime,
    created: bool = False,
) -> Receipt:
    receipt = claim.render(request, created, role, at)
    session.execute(
        _ANSWER,
        {"b_key": claim.key, "status_code": receipt.status_code, "body": receipt.stored_body()},
    )
    return receipt


def record_fact_answer(session: Session, claim: KeyClaim, changed: bool) -> Receipt:
    """An upstream fact's answer, in the fact's own transaction (the key was its first statement)."""
    assert claim.answer is not None
    receipt = claim.answer(changed)
    session.execute(
        _ANSWER,
        {"b_key": claim.key, "status_code": receipt.status_code, "body": receipt.stored_body()},
    )
    return receipt


# Built once: the statements are the same for every command.
_CLAIM = insert(idempotency_keys)
_ANSWER = update(idempotency_keys).where(idempotency_keys.c.key == bindparam("b_key"))
