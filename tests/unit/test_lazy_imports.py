"""Issue 30: Alembic is imported only when a store must be migrated. Its usual cases (a store at
head, an empty database) are decided from the revision files' `revision` / `down_revision`
assignments (`shared.migrations.light_head`), which must name the head Alembic names."""

from __future__ import annotations

import pytest

from services.migrate import STORES
from shared.migrations import head, light_head


@pytest.mark.parametrize("name", sorted(STORES))
def test_the_head_read_without_alembic_is_alembics_head(name: str) -> None:
    # given a store's migration scripts; when both read its head, then they agree
    assert light_head(STORES[name]) == head(STORES[name])
