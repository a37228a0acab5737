"""The query-only indexes a rebuild builds after its load are named once, and a name that matches
no index is refused (a renamed index must not silently stay in place during every rebuild)."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, Index, Integer, MetaData, Table

from services.ledger import store as ledger_store
from services.notifications import store as notifications_store
from services.ratings import store as ratings_store
from shared.database import indexes_named


def test_every_projection_store_names_existing_query_indexes():
    for store in (ledger_store, ratings_store, notifications_store):
        names = [index.name for index in store.QUERY_INDEXES]
        assert names and len(names) == len(set(names)), store.__name__


def test_a_name_that_matches_no_index_is_refused():
    table = Table("t", MetaData(), Column("a", Integer), Column("b", Integer))
    Index("ix_t_a", table.c.a)
    assert [i.name for i in indexes_named((table,), "ix_t_a")] == ["ix_t_a"]
    with pytest.raises(ValueError, match="ix_t_b"):
        indexes_named((table,), "ix_t_a", "ix_t_b")
