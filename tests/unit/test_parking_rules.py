"""Issue 18: which errors are waited out (the database or the network) and which park an event (the
event itself), and that a parked message is kept whole to be applied again. No I/O."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import exc as sa_exc

from shared.envelope import PoisonMessage
from shared.transport.messages import EventMessage
from shared.transport.parking import (
    ParkedSummary,
    is_transient,
    message_from_json,
    message_to_json,
    readiness_note,
)


def _dbapi(cls: type[sa_exc.DBAPIError], invalidated: bool = False) -> sa_exc.DBAPIError:
    return cls("SELECT 1", {}, Exception("server said no"), connection_invalidated=invalidated)


def test_database_and_network_errors_are_transient_and_waited_out() -> None:
    for error in (
        _dbapi(sa_exc.OperationalError),  # connection refused, server shut down
        _dbapi(sa_exc.InterfaceError),
        sa_exc.DisconnectionError("gone"),
        sa_exc.TimeoutError("pool exhausted"),
        ConnectionRefusedError("refused"),
        TimeoutError("timed out"),
        _dbapi(sa_exc.ProgrammingError, invalidated=True),  # its connection broke under it
    ):
        assert is_transient(error), error


def test_errors_the_event_causes_are_not_transient_and_park_it() -> None:
    overflow = sa_exc.StatementError("x", "INSERT", {}, OverflowError("int too large"))
    for error in (
        OverflowError("Python int too large to convert to SQLite INTEGER"),
        _dbapi(sa_exc.DataError),  # PostgreSQL: bigint out of range
        _dbapi(sa_exc.IntegrityError),
        overflow,
        KeyError("items"),
        LookupError("an event for a request the ledger never saw"),
        PoisonMessage("rejected"),
    ):
        assert not is_transient(error), error


def test_an_error_caused_by_a_lost_connection_is_transient() -> None:
    try:
        try:
            raise ConnectionResetError("reset by peer")
        except ConnectionResetError as cause:
            raise RuntimeError("the handler's query failed") from cause
    except RuntimeError as error:
        assert is_transient(error)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)


@given(
    data=st.dictionaries(st.text(min_size=1, max_size=10), json_values, max_size=6),
    offset_minutes=st.integers(-12 * 60, 14 * 60),
    traceparent=st.none() | st.just("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
)
def test_a_parked_message_is_kept_whole_to_be_applied_again(
    data: dict, offset_minutes: int, traceparent: str | None
) -> None:
    from datetime import timezone

    moment = datetime(2026, 12, 7, 14, 0, tzinfo=timezone(timedelta(minutes=offset_minutes)))
    message = EventMessage(
        id="r1:3",
        name="full_refund_offered",
        subject="r1",
        time=moment,
        data=data,
        chain_hash="abc",
        traceparent=traceparent,
    )
    again = message_from_json(message_to_json(message))
    assert again == message
    assert again.time.astimezone(UTC) == moment.astimezone(UTC)


def test_readiness_says_degraded_only_while_something_is_parked() -> None:
    assert readiness_note([("ledger", ParkedSummary(0, 0))]) is None
    note = readiness_note([("ledger", ParkedSummary(2, 2)), ("ratings", ParkedSummary(1, 0))])
    assert note is not None
    assert note["parked_events"] == {"ledger": 2, "ratings": 1}
    assert note["parked_money_events"] == 2


def test_a_process_starting_while_its_database_is_down_waits_for_it_but_not_for_a_bug() -> None:
    from shared.transport.parking import open_patiently

    attempts = {"n": 0}

    def database_back_at_the_third_try() -> str:
        attempts["n"] += 1
        if attempts["n"] < 3:
            raise _dbapi(sa_exc.OperationalError)
        return "opened"

    assert open_patiently(database_back_at_the_third_try, "db", initial_s=0.0) == "opened"
    assert attempts["n"] == 3

    def a_bug() -> str:
        attempts["n"] += 1
        raise ValueError("bad setting")

    attempts["n"] = 0
    with pytest.raises(ValueError, match="bad setting"):
        open_patiently(a_bug, "db", initial_s=0.0)
    assert attempts["n"] == 1
