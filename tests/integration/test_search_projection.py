"""The search projection (services/search) mirrors the requests service's state, on SQLite and
PostgreSQL: after every command of a mixed workload each request's list item carries the same state
fields as `GET /v1/support-requests/{id}`, and who it waits on follows its status."""

from __future__ import annotations

import csv
import io
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.requests.application import RequestsApplication
from services.search.application import ListQuery, _csv_value
from services.search.domain import ITEM_FIELDS, waiting_on
from tests.integration.audit_harness import ACTIONS, Workload
from tests.integration.search_harness import (
    AUDITOR,
    SearchSystem,
    item_state,
    search_url,
    state_of,
)


@pytest.fixture
def system(app: RequestsApplication, database_url: str, tmp_path: Path, clock) -> Iterator:
    live = SearchSystem(app, search_url(database_url, tmp_path), clock)
    try:
        yield live
    finally:
        live.close()


def _all_items(system: SearchSystem) -> dict[str, dict]:
    items, cursor = {}, None
    while True:
        page = system.search.list_requests(AUDITOR, ListQuery(limit=200, cursor=cursor))
        items.update({item["id"]: item for item in page["items"]})
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_projection_items_equal_the_request_state_after_every_command(system) -> None:
    # given a few requests and a seeded random walk over every kind of command and timer
    workload = Workload(system, n_requests=6)
    steps = random.Random(19)
    actions = [*ACTIONS, "advance"]
    seen: set[str] = set()
    for _ in range(120):
        name = steps.choice(actions)
        workload.step(name, steps.randrange(6), amount=steps.choice([1, 5, 30, 60, 1000]))
        # when the projection has caught up
        system.tick()
        items = _all_items(system)
        # then every request's item has exactly the aggregate's state fields
        for opened in workload.requests:
            item = items[str(opened.id)]
            assert item_state(item) == state_of(system.app, opened.id), name
            assert item["waiting_on"] == waiting_on(item["status"])
            seen.add(item["status"])
    # and the walk went through most of the states (the comparison covered them)
    assert len(seen) >= 6, seen
    # and the CSV export has the very same values as the list items, field by field
    lines = list(csv.reader(io.StringIO("".join(system.search.export_csv(AUDITOR, ListQuery())))))
    assert lines[0] == list(ITEM_FIELDS)
    items = _all_items(system)
    assert len(lines) == len(items) + 1
    for line in lines[1:]:
        item = items[line[0]]
        assert line == [str(_csv_value(item[name])) for name in ITEM_FIELDS]
