"""bench/attachments.py in miniature: two real embedded servers, a few photo uploads beside the raw
store write, a video upload's peak RSS. No thresholds on speed: only sane, non-zero figures."""

from __future__ import annotations

from bench import attachments


def test_the_attachment_bench_reports_upload_raw_write_and_peak_rss() -> None:
    result = attachments.run(photos=2, photo_mb=0.5, video_mb=5)
    assert result["photos"] == 2 and result["photo_mb"] > 0.3
    for side in ("upload", "raw_write"):
        figures = result[side]
        assert figures["mb_per_s"] > 0 and 0 < figures["p50_ms"] <= figures["p95_ms"]
    assert result["ratio"] > 0
    video = result["video"]
    assert video["bytes"] > 5_000_000 - 100
    assert video["peak_rss_mb_during"] >= video["peak_rss_mb_before"] > 0
    rows = attachments.markdown_rows(result)
    assert len(rows) == 2 and all(row.startswith("| ") for row in rows)
