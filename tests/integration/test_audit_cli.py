"""The auditor's CLI on SQLite and PostgreSQL: export (JSON Lines of CloudEvents, whole history),
history, state as of a moment, and usage errors (exit 2)."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.cli import main
from services.requests.application import SellerResponse, audit
from tests.factories import open_on_fresh_order


@pytest.fixture
def walked(app, clock, database_url, monkeypatch):
    monkeypatch.setenv("SUPPORT_DATABASE_URL", database_url)
    first = open_on_fresh_order(app)
    opened_at = clock.now()
    clock.advance(timedelta(hours=2))
    app.respond(first.id, first.seller, SellerResponse(type="partial_refund", amount=700))
    clock.advance(timedelta(hours=2))
    app.accept_offer(first.id, first.buyer)
    second = open_on_fresh_order(app)
    return first, second, opened_at


def test_export_writes_every_event_as_a_structured_cloudevent_with_its_chain_hash(
    walked, app, tmp_path, capsys
) -> None:
    first, _, _ = walked
    out = tmp_path / "history.jsonl"
    assert main(["audit", "export", "--out", str(out), "--quiet"]) == 0
    assert "exported 4 event(s)" in capsys.readouterr().err
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert len(lines) == 4 == app.recorder.max_notification_id()
    required = {"specversion", "id", "type", "source", "subject", "time", "datacontenttype", "data"}
    for event in lines:
        assert required <= set(event)
        assert event["specversion"] == "1.0"
        assert event["source"] == "/seller-support/requests"
        assert event["datacontenttype"] == "application/json"
        assert event["type"].startswith("seller_support.request.")
        assert event["id"] == f"{event['subject']}:{event['data']['version']}"
        assert len(event["chainhash"]) == 64
    mine = [e for e in lines if e["subject"] == str(first.id)]
    assert [e["type"] for e in mine] == [
        "seller_support.request.opened.v1",
        "seller_support.request.partial_refund_offered.v1",
        "seller_support.request.offer_accepted.v1",
    ]
    stored = audit.meta_for(app, [(str(first.id), 3)])
    assert mine[-1]["chainhash"] == stored[(str(first.id), 3)][0]
    # the export is an anchor: verify against it
    assert main(["audit", "verify", "--anchors", str(out), "--quiet"]) == 0
    assert "intact" in capsys.readouterr().out
    # to stdout too
    assert main(["audit", "export", "--quiet"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 4


def test_history_and_state_as_of(walked, capsys) -> None:
    first, _, opened_at = walked
    assert main(["audit", "history", str(first.id)]) == 0
    history = json.loads(capsys.readouterr().out)
    assert [e["type"] for e in history] == ["opened", "partial_refund_offered", "offer_accepted"]
    assert [e["version"] for e in history] == [1, 2, 3]
    assert all(len(e["chainhash"]) == 64 for e in history)

    moment = (opened_at + timedelta(hours=3)).isoformat()
    assert main(["audit", "state", str(first.id), "--as-of", moment]) == 0
    state = json.loads(capsys.readouterr().out)
    assert state["status"] == "offer_pending"
    assert state["offer"] == {"amount": 700, "state": "pending"}
    assert state["version"] == 2
    assert main(["audit", "history", str(first.id), "--as-of", moment]) == 0
    assert json.loads(capsys.readouterr().out) == state
    assert main(["audit", "state", str(first.id), "--as-of", opened_at.isoformat()]) == 0
    assert json.loads(capsys.readouterr().out)["version"] == 1


def test_usage_errors_exit_2(walked, capsys) -> None:
    first, _, opened_at = walked
    unknown = "00000000-0000-4000-8000-000000000000"
    assert main(["audit", "history", unknown]) == 2
    assert "no support request" in capsys.readouterr().err
    before = (opened_at - timedelta(days=1)).isoformat()
    assert main(["audit", "state", str(first.id), "--as-of", before]) == 2
    assert "did not exist" in capsys.readouterr().err
    for argv in (
        ["audit", "state", str(first.id)],  # --as-of is required
        ["audit", "state", str(first.id), "--as-of", "2026-12-07T14:00:00"],  # no offset
        ["audit"],
    ):
        with pytest.raises(SystemExit) as exited:
            main(argv)
        assert exited.value.code == 2


def test_missing_sqlite_store_is_a_usage_error(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.setenv("SUPPORT_DATABASE_URL", f"sqlite:///{tmp_path}/nothing.db")
    assert main(["audit", "verify"]) == 2
    assert "no event store" in capsys.readouterr().err


def test_r63_audit_verify_reports_a_remedy_record_that_history_does_not_give(
    walked, app, capsys
) -> None:
    # given a store whose per-item remedy record agrees with history
    from sqlalchemy import update

    from services.requests.persistence import store

    assert main(["audit", "verify", "--quiet"]) == 0
    capsys.readouterr()
    # when someone lowers what an item was refunded, outside any command
    with app.engine.begin() as connection:
        connection.execute(update(store.item_remedies).values(refunded=0))
    # then `audit verify` names the item and fails
    assert main(["audit", "verify", "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "REMEDY item" in out and "history (700," in out
