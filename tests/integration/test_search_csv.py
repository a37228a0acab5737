"""CSV export is streamed (issue 19): the rows are read through a server-side cursor a chunk at a
time and sent as they are read, so the export's memory does not grow with the size of the result
(SQLite and PostgreSQL)."""

from __future__ import annotations

import csv
import io
import tracemalloc
from datetime import timedelta
from pathlib import Path

from bench.search import START, fill
from services.search.application import ListQuery, SearchApplication
from services.search.domain import ITEM_FIELDS
from services.search.main import open_search_at
from tests.integration.search_harness import AUDITOR, search_url

ROWS = 3000


def _export(search: SearchApplication, query: ListQuery) -> tuple[int, int, int, int]:
    """(rows, characters, chunks, the export's peak traced memory); the consumer keeps only counts
    and checks every row comes once, in order."""
    for _ in search.export_csv(AUDITOR, query, chunk_rows=200):  # warm caches and lazy imports
        pass
    chunks = search.export_csv(AUDITOR, query, chunk_rows=200)
    tracemalloc.start()
    try:
        header, rows, size, count, last = None, 0, 0, 0, ""
        for chunk in chunks:
            count += 1
            size += len(chunk)
            for row in csv.reader(io.StringIO(chunk)):
                if header is None:
                    assert row == list(ITEM_FIELDS)
                    header = row
                    continue
                opened_at = row[header.index("opened_at")]
                assert opened_at > last
                last = opened_at
                rows += 1
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return rows, size, count, peak


def test_csv_export_memory_does_not_grow_with_the_result(
    database_url: str, tmp_path: Path, clock
) -> None:
    # given a search store of 3,000 requests, opened a minute apart
    search = open_search_at(search_url(database_url, tmp_path), clock)
    try:
        fill(search, ROWS)
        # when the first 600 are exported, and then all 3,000 (200 rows a chunk)
        small = _export(
            search, ListQuery(sort="opened_at", opened_before=START + timedelta(minutes=600))
        )
        large = _export(search, ListQuery(sort="opened_at"))
    finally:
        search.close()
    # then each export has every row once, in order, after the header, in chunks of 200 rows
    assert (small[0], large[0]) == (600, ROWS)
    assert (small[2], large[2]) == (3, 15)
    assert large[1] > 4 * small[1]
    # and the export of five times the rows peaked at about the same memory: a chunk's worth
    assert large[3] < 1.5 * small[3], (small, large)
