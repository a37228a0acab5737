"""The requests event store's lighter write and load path (services/requests/persistence/event_store.py) stores
and returns exactly what eventsourcing-sqlalchemy's own recorder does, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.persistence import InfrastructureFactory
from eventsourcing.utils import Environment

from services.requests.application import Actor, ConcurrentUpdate, SellerResponse
from services.requests.persistence.event_store import EventsRecorder
from tests.factories import open_on_fresh_order


def _stock_recorder(database_url: str) -> Any:
    env = Environment("requests", {"PERSISTENCE_MODULE": "eventsourcing_sqlalchemy"})
    env["SQLALCHEMY_URL"] = database_url
    return InfrastructureFactory.construct(env).application_recorder()


def test_loads_read_the_same_events_as_the_library_recorder(app, database_url):
    # given a request with several events (opened, a message, an offer)
    opened = open_on_fresh_order(app)
    rid = opened.request.id
    app.post_message(
        rid, Actor("buyer", opened.order.buyer_id), body="still broken", attachments=[]
    )
    app.respond(
        rid,
        Actor("seller", opened.order.seller_id),
        SellerResponse(type="partial_refund", amount=500),
    )
    assert isinstance(app.recorder, EventsRecorder)
    stock = _stock_recorder(database_url)
    try:
        # when both recorders read them, whole and in every partial form
        for options in ({}, {"gt": 1}, {"lte": 2}, {"desc": True, "limit": 1}):
            ours = app.recorder.select_events(rid, **options)
            theirs = stock.select_events(rid, **options)
            # then they read the same stored events
            assert ours == theirs, options
        assert [e.originator_version for e in app.recorder.select_events(str(rid))] == [1, 2, 3]
    finally:
        stock.datastore.engine.dispose()


def test_a_save_of_several_events_returns_their_notification_ids_in_order(app):
    # given two requests, when one save records several events of one request
    open_on_fresh_order(app)
    opened = open_on_fresh_order(app)
    request = app.repository.get(opened.request.id)
    for text in ("one", "two", "three"):
        request.post_message(
            at=app.clock.now(), actor="buyer", body=text, attachments=[], by_buyer=True
        )
    recordings = app.save(request)
    # then the ids returned are the log positions of exactly those events, in their order
    ids = [r.notification.id for r in recordings]
    log = app.recorder.select_notifications(start=ids[0], limit=10)
    assert [n.id for n in log] == ids
    assert [n.originator_version for n in log] == [2, 3, 4]
    assert ids == list(range(ids[0], ids[0] + 3))


def test_an_event_version_stored_behind_the_applications_back_makes_the_command_lose(
    app, database_url, monkeypatch
):
    # given a command working from version 1 of a request, while version 2 was stored by another
    # writer that kept no hash-chain link (so only the events' own unique index can tell)
    opened = open_on_fresh_order(app)
    stale = app.repository.get(opened.request.id)
    other = app.repository.get(opened.request.id)
    other.post_message(at=app.clock.now(), actor="buyer", body="x", attachments=[], by_buyer=True)
    stock = _stock_recorder(database_url)
    try:
        stock.insert_events([app.mapper.to_stored_event(e) for e in other.collect_events()])
    finally:
        stock.datastore.engine.dispose()
    monkeypatch.setattr(app, "_load", lambda request_id: stale)
    # when the command stores its own version 2, then it loses cleanly (409, not a 500)
    with pytest.raises(ConcurrentUpdate):
        app.post_message(
            opened.request.id, Actor("buyer", opened.order.buyer_id), body="mine", attachments=[]
        )
