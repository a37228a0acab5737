"""tests/chaos/publish.py: a chaos report reaches docs/ only by `make chaos-publish`, and only
with its seed (issue 31)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.chaos.publish import publish

REPORT = "# Reliability under faults\n\n- run: profile `full`, seed 4242, 2026-12-07 14:00 UTC\n"


def test_a_report_with_its_seed_is_copied_and_the_seed_returned(tmp_path: Path) -> None:
    report, target = tmp_path / "reliability-full.md", tmp_path / "reliability.md"
    report.write_text(REPORT)
    assert publish(report, target) == "4242"
    assert target.read_text() == REPORT


def test_a_report_without_a_seed_is_not_published(tmp_path: Path) -> None:
    report, target = tmp_path / "reliability-full.md", tmp_path / "reliability.md"
    report.write_text("# Reliability under faults\n\n- run: profile `full`\n")
    with pytest.raises(ValueError, match="names no seed"):
        publish(report, target)
    assert not target.exists()
