"""`make bench` in miniature: the driver runs every section with tiny sizes and writes a complete
results file. No thresholds on speed: only that every section is there with sane, non-zero figures.

Uses the real PostgreSQL and Kafka of the deploy scripts and `make up`'s processes (started and
stopped by the driver unless they were already running)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.kafka, pytest.mark.postgres]


def _positive(value: float) -> bool:
    return isinstance(value, int | float) and value > 0


def test_bench_driver_writes_every_section(tmp_path: Path) -> None:
    env = dict(os.environ)
    completed = subprocess.run(
        [sys.executable, str(REPO / "bench/run.py"), "--quick", "--out", str(tmp_path)],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert completed.returncode == 0, completed.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())

    pages = results["webapp"]  # issue 20: web-app page times beside a static file
    for key in ("inbox", "request_page", "static_file"):
        assert _positive(pages[key]["ttfb_ms"]["p50"]) and _positive(
            pages[key]["full_load_ms"]["p95"]
        )
    machine = results["machine"]
    assert machine["cores"] >= 1 and machine["memory_gib"] > 0
    assert results["parameters"]["quick"] is True

    for key in ("http_embedded", "http_requests_api", "http_distributed"):
        section = results[key]
        assert section["runs"], key
        for run in section["runs"]:
            assert run["commands"] > 0 and not run["failures"], run
            assert _positive(run["commands_per_s"]) and _positive(run["latency_ms"]["p50"])
        assert _positive(section["raw_save"]["commands_per_s"])
        assert _positive(section["ratio"])

    attachments = results["attachments"]
    assert _positive(attachments["upload"]["mb_per_s"]) and _positive(attachments["ratio"])
    assert _positive(attachments["raw_write"]["mb_per_s"])
    assert _positive(attachments["video"]["peak_rss_mb_during"])
    memory = results["file_memory"]  # issue 26: peak RSS beside the same run's baseline
    for key in ("downloads_webapp", "downloads_api", "uploads_zeros_png", "uploads_small_photo"):
        assert _positive(memory[key]["peak_rss_mb"]), key
    search = results["search"]
    for name in ("support_queue", "seller_open_by_deadline", "q_search"):
        assert _positive(search[name]["system_ms"]["p50"]), name
        assert _positive(search[name]["raw_sql_ms"]["p50"]), name
    assert search["csv_export"]["system"]["rows"] == search["requests"]

    rows = results["e2e_latency"]["rows"]
    assert [r["rate_per_s"] for r in rows] == results["parameters"]["rates"]
    for row in rows:
        system = row["system"]
        assert system["visible"] == system["commands"] > 0, system
        assert _positive(system["latency_ms"]["p99"])
        assert row["raw_kafka"]["received"] == row["raw_kafka"]["messages"] > 0
        assert _positive(row["raw_kafka"]["p50"])
        assert system["latency_ms"]["p50"] <= system["latency_ms"]["p99"]
        assert len(row["runs"]) == results["parameters"]["e2e_repeats"] == 2
        low, kept, high = row["p99_min_kept_max_ms"]
        assert low <= kept <= high
        assert kept in [run["latency_ms"]["p99"] for run in row["runs"]]

    relay = results["relay"]
    assert relay["events"] == results["parameters"]["relay_events"]
    assert _positive(relay["events_per_s"]) and _positive(relay["raw_producer"]["messages_per_s"])
    assert relay["value_bytes"] > 0 and relay["headers"] > 0

    rebuild = results["rebuild"]
    assert rebuild["events"] >= results["parameters"]["rebuild_events"]
    assert _positive(rebuild["events_per_s"]) and _positive(rebuild["raw_read"]["events_per_s"])
    assert _positive(rebuild["generation"]["generation_s"])

    rss = results["peak_rss_mb"]
    for name in ("embedded-server", "requests-api", "requests-relay", "ledger", "bench-driver"):
        assert _positive(rss[name]), name

    # deploy/up.sh's CPU tiers (when the driver found `make up` running, they are its own)
    tiers = results["cpu_nice"]
    if not results.get("preexisting_processes"):
        expected = {"requests-api": 0, "requests-relay": 5, "ledger": 5, "ratings": 10}
        for name, nice in expected.items():
            assert tiers[name]["nice"] == nice, (name, tiers[name])
            assert tiers[name]["autogroup_nice"] in (None, nice), (name, tiers[name])
    for row in rows:
        assert len(row["drained_before_s"]) == len(row["runs"])
        assert all(seconds >= 0 for seconds in row["drained_before_s"])

    assert {t["target"] for t in results["targets"]} and all(
        isinstance(t["met"], bool) for t in results["targets"]
    )
    markdown = (tmp_path / "results.md").read_text()
    assert "| figure |" in markdown and "Peak RSS" in markdown and "CPU tiers" in markdown
    assert (tmp_path / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
