"""R62 tamper evidence: rows altered, deleted or reordered directly in the database (the
eventsourcing-sqlalchemy events table and `ss_event_meta`) make `audit verify` fail, naming the
request and the version; untouched history verifies. SQLite and PostgreSQL (`database_url`)."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import text

from services.requests.application import SellerResponse, audit
from shared.tracing import reset_traceparent, set_traceparent
from tests.factories import open_on_fresh_order


def _walk(app) -> tuple[Any, Any]:
    """Two requests: the first with 4 events, the second with 1."""
    first = open_on_fresh_order(app)
    app.respond(first.id, first.seller, SellerResponse(type="request_info", message="photo?"))
    app.post_message(first.id, first.buyer, body="here", attachments=["p.jpg"])
    app.respond(first.id, first.seller, SellerResponse(type="partial_refund", amount=700))
    second = open_on_fresh_order(app)
    return first, second


def _sql(app, statement: str, **params: Any) -> None:
    with app.engine.begin() as conn:
        conn.execute(text(statement), params)


def _events(app) -> str:
    return app.recorder.events_table_name


def _oid(app, request_id) -> Any:
    # the events table stores UUIDs natively on PostgreSQL, as 16-byte blobs on SQLite
    return str(request_id) if app.engine.dialect.name == "postgresql" else request_id.bytes


def _problems(app) -> list[tuple[str, int, str]]:
    report = audit.verify(app)
    return [(p.request_id, p.version, p.what) for p in report.problems]


def _versions_named(app, request_id) -> set[int]:
    report = audit.verify(app)
    assert not report.intact
    return {p.version for p in report.problems if p.request_id == str(request_id)}


def test_untouched_history_verifies_and_every_event_has_a_chained_meta_row(app) -> None:
    first, _ = _walk(app)
    report = audit.verify(app)
    assert report.intact, report.problems
    assert (report.requests, report.events) == (2, 5)
    heads = audit.meta_for(app, [(str(first.id), v) for v in range(1, 5)])
    assert len(heads) == 4 and len({h for h, _ in heads.values()}) == 4


def test_traceparent_of_the_command_is_stored_with_its_events(app) -> None:
    given = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    token = set_traceparent(given)
    try:
        opened = open_on_fresh_order(app)
    finally:
        reset_traceparent(token)
    ((_chain, traceparent),) = audit.meta_for(app, [(str(opened.id), 1)]).values()
    assert traceparent == given


def test_altered_event_state_with_its_meta_row_intact_fails_naming_request_and_version(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        f"UPDATE {_events(app)} SET state = :state "
        "WHERE originator_id = :oid AND originator_version = 4",
        state=b'{"amount": 1, "at": "2026-12-07T19:00:00+00:00"}',
        oid=_oid(app, first.id),
    )
    assert _problems(app) == [(str(first.id), 4, audit.MISMATCH)]


def test_altered_topic_fails(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        f"UPDATE {_events(app)} SET topic = :topic "
        "WHERE originator_id = :oid AND originator_version = 2",
        topic="services.requests.domain:SupportRequest.FullRefundOffered",
        oid=_oid(app, first.id),
    )
    assert _versions_named(app, first.id) == {2}


def test_deleted_last_event_fails(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        f"DELETE FROM {_events(app)} WHERE originator_id = :oid AND originator_version = 4",
        oid=_oid(app, first.id),
    )
    problems = _problems(app)
    assert problems == [
        (str(first.id), 4, "event removed: its chain hash is stored, the event is not")
    ]


def test_deleted_middle_event_fails(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        f"DELETE FROM {_events(app)} WHERE originator_id = :oid AND originator_version = 2",
        oid=_oid(app, first.id),
    )
    assert 2 in _versions_named(app, first.id)


def test_swapped_versions_fail_at_both(app) -> None:
    first, _ = _walk(app)
    oid = _oid(app, first.id)
    table = _events(app)
    for old, new in ((2, 1000), (3, 2), (1000, 3)):
        _sql(
            app,
            f"UPDATE {table} SET originator_version = :new "
            "WHERE originator_id = :oid AND originator_version = :old",
            new=new,
            old=old,
            oid=oid,
        )
    assert _versions_named(app, first.id) == {2, 3}


def test_reordered_log_rows_with_swapped_state_fail(app) -> None:
    first, _ = _walk(app)
    oid = _oid(app, first.id)
    table = _events(app)
    with app.engine.begin() as conn:
        rows = conn.execute(
            text(
                f"SELECT originator_version, state FROM {table} "
                "WHERE originator_id = :oid AND originator_version IN (3, 4)"
            ),
            {"oid": oid},
        ).all()
        states = {r.originator_version: bytes(r.state) for r in rows}
        for version, other in ((3, 4), (4, 3)):
            conn.execute(
                text(
                    f"UPDATE {table} SET state = :state "
                    "WHERE originator_id = :oid AND originator_version = :v"
                ),
                {"state": states[other], "oid": oid, "v": version},
            )
    assert _versions_named(app, first.id) == {3, 4}


def test_altered_meta_hash_fails(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        "UPDATE ss_event_meta SET chain_hash = :h WHERE request_id = :rid AND version = 3",
        h="0" * 64,
        rid=str(first.id),
    )
    assert _versions_named(app, first.id) == {3}


def test_deleted_meta_row_fails(app) -> None:
    first, _ = _walk(app)
    _sql(
        app,
        "DELETE FROM ss_event_meta WHERE request_id = :rid AND version = 1",
        rid=str(first.id),
    )
    assert _problems(app) == [(str(first.id), 1, "no chain hash stored for this event")]


def test_swapped_meta_rows_fail(app) -> None:
    first, _ = _walk(app)
    rid = str(first.id)
    for old, new in ((1, 1000), (2, 1), (1000, 2)):
        _sql(
            app,
            "UPDATE ss_event_meta SET version = :new WHERE request_id = :rid AND version = :old",
            new=new,
            old=old,
            rid=rid,
        )
    assert _versions_named(app, first.id) == {1, 2}


def test_removing_the_last_event_and_its_meta_row_is_caught_by_an_export_anchor(
    app, tmp_path
) -> None:
    first, _ = _walk(app)
    anchor = tmp_path / "export.jsonl"
    with anchor.open("w") as out:
        audit.export(app, out)
    oid = _oid(app, first.id)
    _sql(
        app,
        f"DELETE FROM {_events(app)} WHERE originator_id = :oid AND originator_version = 4",
        oid=oid,
    )
    _sql(
        app, "DELETE FROM ss_event_meta WHERE request_id = :rid AND version = 4", rid=str(first.id)
    )
    assert audit.verify(app).intact  # the chain alone is consistent: a truncated tail
    import json

    anchors = [json.loads(line) for line in anchor.read_text().splitlines()]
    problems = audit.verify_against_anchors(app, anchors)
    assert [(p.request_id, p.version) for p in problems] == [(str(first.id), 4)]


@pytest.mark.parametrize("tamper", ["state", "delete"])
def test_cli_verify_exits_1_naming_request_and_version(
    app, monkeypatch, capsys, database_url, tamper
) -> None:
    from services.cli import main

    first, _ = _walk(app)
    monkeypatch.setenv("SUPPORT_DATABASE_URL", database_url)
    assert main(["audit", "verify", "--quiet"]) == 0
    assert "intact" in capsys.readouterr().out
    oid = _oid(app, first.id)
    if tamper == "state":
        _sql(
            app,
            f"UPDATE {_events(app)} SET state = :s WHERE originator_id = :oid AND originator_version = 2",
            s=b"{}",
            oid=oid,
        )
    else:
        _sql(
            app,
            f"DELETE FROM {_events(app)} WHERE originator_id = :oid AND originator_version = 4",
            oid=oid,
        )
    assert main(["audit", "verify", "--quiet"]) == 1
    out = capsys.readouterr().out
    version = 2 if tamper == "state" else 4
    assert f"TAMPERED request {first.id} version {version}:" in out
