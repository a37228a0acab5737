"""A projection store records the schema version it was created with, and a build that needs another
version refuses to start on it with a clear message instead of failing on its first event."""

from __future__ import annotations

import pytest
from sqlalchemy import Column, MetaData, String, Table, create_engine, select

from services.notifications import store
from services.notifications.application import NotificationsApplication
from services.notifications.settings import NotificationsSettings
from shared.database import SchemaOutdated, create_projection_engine, schema_versions


def open_notifications(url: str) -> NotificationsApplication:
    settings = NotificationsSettings(database_url=url)
    return NotificationsApplication(create_projection_engine(url), settings)


def test_a_fresh_store_records_its_version_and_opens_again(database_url) -> None:
    # given an empty database, when the notifications service opens it twice
    open_notifications(database_url).close()
    notifications = open_notifications(database_url)
    # then the version it was created with is recorded once
    with notifications.engine.connect() as conn:
        rows = conn.execute(select(schema_versions)).all()
    notifications.close()
    assert [tuple(r) for r in rows] == [("notifications", store.SCHEMA_VERSION)]


def test_a_store_created_before_versions_is_refused_with_the_remedy(database_url) -> None:
    # given a notifications table created by a build that recorded no version (version 1)
    old = MetaData()
    Table("notif_notifications", old, Column("id", String(36), primary_key=True))
    engine = create_engine(database_url)
    old.create_all(engine)
    engine.dispose()
    # when this build opens it, then it refuses and names the version and the remedy
    with pytest.raises(SchemaOutdated, match=r"schema version 1, this build needs 2: rebuild it"):
        open_notifications(database_url)
