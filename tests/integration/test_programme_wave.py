"""R66: the platform enrols waves of sellers from a CSV (`seller-support programme enrol-wave`), with
a dry run that says how many would be enrolled; and the programme record rebuilt from its history.
SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest

from services.cli import main
from services.requests.application import RequestsApplication
from services.requests.domain.programme import ProgrammeRules, Rollout
from services.requests.persistence import programme_store


def _csv(path: Path, ids: list[str], header: str = "seller_id,name") -> Path:
    path.write_text(header + "\n" + "".join(f"{i},Shop {i}\n" for i in ids), encoding="utf-8")
    return path


def test_r66_a_wave_dry_run_counts_and_the_wave_enrols_each_seller_once(
    app: RequestsApplication, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    # given one seller already enrolled, and a wave of 5 listing them and one seller twice
    app.programme_rules = ProgrammeRules(rollout=Rollout.GRADUAL)
    app.enrol_seller("s-0", "platform:ops")
    wave = _csv(tmp_path / "wave.csv", ["s-0", "s-1", "s-2", "s-3", "s-3", "s-4"])
    argv = ["programme", "enrol-wave", str(wave), "--wave", "w1", "--database-url", database_url]
    # when the dry run runs
    assert main([*argv, "--dry-run"]) == 0
    # then it says how many would be enrolled, and wrote nothing
    out = capsys.readouterr().out
    assert "5 seller(s) listed, 1 already enrolled, 4 would be enrolled" in out
    assert not app.programme("s-1").recorded_enrolled
    # when the wave runs, twice (an interrupted wave is run again)
    assert main(argv) == 0
    assert "4 enrolled" in capsys.readouterr().out
    assert main(argv) == 0
    assert "5 already enrolled, 0 enrolled" in capsys.readouterr().out
    # then every listed seller is enrolled once, by the wave, and the first enrolment stands
    for seller in ("s-1", "s-2", "s-3", "s-4"):
        state = app.programme(seller)
        assert state.enrolment_rule == "wave" and state.enrolled_by == "platform:cli"
        history = app.programme_history(seller)
        assert [(e.type, e.data) for e in history] == [("enrolled", {"rule": "wave", "wave": "w1"})]
    assert app.programme("s-0").enrolment_rule == "platform"


def test_r66_a_wave_with_a_bad_row_enrols_nobody_and_names_the_row(
    app: RequestsApplication, database_url: str, tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    wave = _csv(tmp_path / "wave.csv", ["s-1", "bad/id", "", "s-2"])
    code = main(
        ["programme", "enrol-wave", str(wave), "--wave", "w", "--database-url", database_url]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "2 row(s) without a valid seller id" in err and "row 3: 'bad/id'" in err
    assert not app.programme("s-1").recorded_enrolled
    missing = _csv(tmp_path / "other.csv", ["s-1"], header="id,name")
    assert (
        main(
            ["programme", "enrol-wave", str(missing), "--wave", "w", "--database-url", database_url]
        )
        == 2
    )
    assert "needs a 'seller_id' column" in capsys.readouterr().err


def test_r66_the_programme_records_rebuilt_from_history_equal_the_live_ones(
    app: RequestsApplication,
) -> None:
    # given records made by every command
    app.programme_rules = ProgrammeRules(rollout=Rollout.GRADUAL)
    app.enrol_seller("s-1", "platform:ops")
    app.join_waitlist("s-2", "seller:s-2")
    app.set_return_address("s-2", "seller:s-2", {"name": "A", "line1": "1 Main", "country": "US"})
    app.enrol_wave(["s-2", "s-3"], wave="w", actor="platform:cli")
    with app.side_tables.transaction(commit=False) as session:
        live = programme_store.snapshot(session)
    # when they are rebuilt from the events
    with app.side_tables.transaction() as session:
        assert programme_store.rebuild_programmes(session) == 3
    with app.side_tables.transaction(commit=False) as session:
        rebuilt = programme_store.snapshot(session)
    # then they are the same
    assert rebuilt == live and len(live) == 3


def test_r66_a_large_wave_is_written_in_bulk_and_equals_its_history(
    app: RequestsApplication,
) -> None:
    # given a wave large enough for the bulk write (COPY on PostgreSQL), in batches of 100
    ids = [f"bulk-{n:04d}" for n in range(250)]
    result = app.enrol_wave(ids, wave="big", actor="platform:cli", batch=100)
    assert (result.listed, result.enrolled, result.already_enrolled) == (250, 250, 0)
    # then every record reads back as written, and equals the fold of its history
    state = app.programme("bulk-0123")
    assert state.enrolment_rule == "wave" and state.version == 1 and state.return_address is None
    with app.side_tables.transaction(commit=False) as session:
        live = programme_store.snapshot(session)
        assert programme_store.count_enrolled(session) == 250
    with app.side_tables.transaction() as session:
        programme_store.rebuild_programmes(session)
    with app.side_tables.transaction(commit=False) as session:
        assert programme_store.snapshot(session) == live
