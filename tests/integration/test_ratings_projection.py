"""The ratings service through the whole path, embedded adapter: requests application -> notification
log -> `NotificationLogFeed` -> ratings projection -> ratings query, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from services.ratings import store
from services.ratings.api import router
from services.ratings.application import RatingsApplication
from services.ratings.main import open_ratings_at
from services.ratings.projection import handle
from services.ratings.public_limit import AnonymousReadLimit
from services.requests.application import Actor, RequestsApplication, SellerResponse
from services.requests.outbox.publishing import read_messages
from shared.auth import TokenCodec
from shared.clock import AdjustableClock
from shared.problems import install_problem_handlers
from shared.transport.notification_log import NotificationLogFeed
from tests.factories import item_fact, order_placed, unique

AGENT = Actor("support", "agent-1")


@pytest.fixture
def ratings(database_url: str, clock: AdjustableClock) -> Iterator[RatingsApplication]:
    # its own database: a SQLite file of its own, or the test's PostgreSQL schema
    url = database_url.replace("events.db", "ratings.db")
    application = open_ratings_at(url, clock)
    try:
        yield application
    finally:
        application.engine.dispose()


def pump(app: RequestsApplication, ratings: RatingsApplication) -> int:
    section = app.notification_log.section_size
    feed = NotificationLogFeed(lambda s, n: read_messages(app, s, n), [ratings.projection])
    return feed.pump(batch_size=section)


def all_messages(app: RequestsApplication) -> list[tuple[int, Any]]:
    section, found = app.notification_log.section_size, []
    while batch := read_messages(app, len(found) + 1, section):
        found.extend(batch)
    return found


class Seller:
    """A seller with their own orders; each `open` is a fresh order by a fresh buyer."""

    def __init__(self, app: RequestsApplication) -> None:
        self.app = app
        self.id = unique("seller")
        self.actor = Actor("seller", self.id)
        self.buyers: dict[str, Actor] = {}

    def open(self, reason: str = "defective", consumable: bool = False) -> str:
        order = order_placed(seller_id=self.id, items=[item_fact(consumable=consumable)])
        self.app.record_order_placed(order)
        buyer = Actor("buyer", order.buyer_id)
        request = self.app.open_request(
            buyer,
            order_id=order.order_id,
            item_ids=[i.item_id for i in order.items],
            reason=reason,
            description="It arrived broken.",
            photos=["p.jpg"],
        )
        rid = str(request.id)
        self.buyers[rid] = buyer
        return rid

    def refund(self, rid: str) -> None:
        self.app.respond(rid, self.actor, SellerResponse(type="full_refund"))

    def explain_no_refund(self, rid: str) -> None:
        self.app.respond(
            rid,
            self.actor,
            SellerResponse(type="no_refund", message="used for weeks", evidence=("log.pdf",)),
        )

    def escalate(self, rid: str) -> None:
        self.app.escalate(rid, self.buyers[rid], reason="please help")

    def feedback(self, rid: str, thumbs: str) -> None:
        self.app.give_feedback(rid, self.buyers[rid], thumbs=thumbs)


def explained(ratings: RatingsApplication, seller: Seller) -> dict[str, set[str]]:
    rating = ratings.rating(seller.id)
    return {c.request_id: {str(r.code) for r in c.reasons} for c in rating.explanation}


def test_r40_visible_from_the_10th_request_r43_refunds_raise(app, ratings) -> None:
    seller = Seller(app)
    for _ in range(9):
        seller.refund(seller.open())
    pump(app, ratings)
    nine = ratings.view(seller.id)
    assert nine == {"visible": False, "level": None, "window": "last_10", "requests_considered": 9}

    tenth = seller.open()
    pump(app, ratings)
    public = ratings.view(seller.id)
    assert public == {
        "visible": True,
        "level": "excellent",  # 9 fitting resolutions: (9 + 1) / (9 + 2) = 0.909
        "window": "90_days",
        "requests_considered": 10,
    }
    mine = ratings.view(seller.id, viewer_id=seller.id)
    assert mine["score"] == pytest.approx(10 / 11, abs=1e-4)
    assert mine["csat"] == {"score": None, "responses": 0, "thumbs_up": 0, "thumbs_down": 0}
    effects = {e["request_id"]: e["effect"] for e in mine["explanation"]}
    assert effects.pop(tenth) == "none"
    assert set(effects.values()) == {"raised"}


def test_r40_requests_routed_to_support_do_not_count(app, ratings) -> None:
    seller = Seller(app)
    for _ in range(10):
        seller.open(reason="other")  # R6: straight to support
    seller.open(reason="missing_item", consumable=True)
    pump(app, ratings)
    assert ratings.view(seller.id)["visible"] is False
    assert ratings.rating(seller.id).requests_received == 0


def test_r44_no_response_escalation_and_overturn_lower_r47_explained(app, ratings, clock) -> None:
    seller = Seller(app)
    late = seller.open()
    overturned = seller.open()
    seller.explain_no_refund(overturned)
    clock.advance(timedelta(days=3))  # past the 48 business hours of `late`
    app.fire_due()
    seller.escalate(late)  # grounds: no_response
    seller.escalate(overturned)  # grounds: no_refund
    app.decide(overturned, AGENT, outcome="refund")
    app.decide(late, AGENT, outcome="uphold_seller")
    for _ in range(8):
        seller.refund(seller.open())
    pump(app, ratings)

    reasons = explained(ratings, seller)
    assert reasons[late] == {"escalated_after_no_response", "support_agreed_with_seller"}
    assert reasons[overturned] == {"ineligibility_explained", "overturned_by_support"}
    rating = ratings.rating(seller.id)
    assert (rating.positive_points, rating.negative_points) == (8, 4)
    assert str(rating.level) == "good"  # (8 + 1) / (12 + 2) = 0.643
    mine = ratings.view(seller.id, viewer_id=seller.id)
    lowered = {e["request_id"] for e in mine["explanation"] if e["effect"] == "lowered"}
    assert lowered == {late, overturned}


def test_r45_ineligible_uphold_and_platform_refund_change_nothing(app, ratings, clock) -> None:
    seller = Seller(app)
    for _ in range(10):
        seller.refund(seller.open())
    pump(app, ratings)
    baseline = ratings.rating(seller.id)

    upheld, platform, closed = seller.open(), seller.open(), seller.open()
    for rid in (upheld, platform, closed):
        seller.explain_no_refund(rid)
    seller.escalate(upheld)
    seller.escalate(platform)
    app.decide(upheld, AGENT, outcome="uphold_seller")
    app.decide(platform, AGENT, outcome="platform_refund")
    clock.advance(timedelta(days=8))  # 5 business days: `closed` resolves as no_refund
    app.fire_due()
    pump(app, ratings)

    rating = ratings.rating(seller.id)
    assert rating.requests_considered == baseline.requests_considered + 3
    assert (rating.score, rating.level) == (baseline.score, baseline.level)
    reasons = explained(ratings, seller)
    assert reasons[upheld] == {"ineligibility_explained", "support_agreed_with_seller"}
    assert reasons[platform] == {"ineligibility_explained", "platform_funded_refund"}
    assert reasons[closed] == {"ineligibility_explained"}


def test_r46_feedback_is_an_input_and_csat_is_private(app, ratings) -> None:
    seller = Seller(app)
    ids = [seller.open() for _ in range(10)]
    for rid in ids:
        seller.refund(rid)
    for rid, thumbs in zip(ids[:4], ["up", "up", "up", "down"], strict=True):
        seller.feedback(rid, thumbs)
    pump(app, ratings)
    rating = ratings.rating(seller.id)
    assert (rating.positive_points, rating.negative_points) == (13, 1)
    mine = ratings.view(seller.id, viewer_id=seller.id)
    assert mine["csat"] == {"score": 0.75, "responses": 4, "thumbs_up": 3, "thumbs_down": 1}
    assert "csat" not in ratings.view(seller.id, viewer_id="someone-else")


def test_r41_rating_changes_as_requests_age_out_and_the_change_is_announced(
    app, ratings, clock
) -> None:
    seller = Seller(app)
    bad = [seller.open(), seller.open()]
    clock.advance(timedelta(days=3))
    app.fire_due()
    for rid in bad:
        seller.escalate(rid)
        app.decide(rid, AGENT, outcome="refund")
    clock.advance(timedelta(days=27))
    for _ in range(10):
        seller.refund(seller.open())
    pump(app, ratings)

    assert ratings.view(seller.id)["level"] == "average"  # (10 + 1) / (18 + 2) = 0.55
    first = ratings.refresh()
    assert [(c.visible, c.level, c.previous_visible, c.sequence) for c in first] == [
        (True, "average", False, 1)
    ]
    assert ratings.refresh() == []  # nothing changed since

    clock.advance(timedelta(days=59))  # the bad ones are 89 days old: still counted
    assert pump(app, ratings) == 0
    assert ratings.refresh() == []
    clock.advance(timedelta(days=2))  # now 91 days old: aged out, without any new event
    assert pump(app, ratings) == 0
    now = ratings.view(seller.id)
    assert now == {
        "visible": True,
        "level": "excellent",
        "window": "90_days",
        "requests_considered": 10,
    }
    changes = ratings.refresh()
    assert [(c.level, c.previous_level, c.sequence) for c in changes] == [
        ("excellent", "average", 2)
    ]
    pending = ratings.pending_changes()
    assert [c.id for c in pending] == [c.id for c in first + changes]
    assert ratings.mark_published([c.id for c in pending]) == 2
    assert ratings.pending_changes() == []

    clock.advance(timedelta(days=31))  # the good ones age out too: the 10 most recent remain
    later = ratings.view(seller.id)
    assert (later["window"], later["level"]) == ("last_10", "excellent")
    assert ratings.refresh() == []


def _dump(ratings: RatingsApplication) -> dict[str, list[Any]]:
    with ratings.engine.connect() as conn:
        return {
            table.name: sorted(
                tuple(str(v) for v in row) for row in conn.execute(select(table)).all()
            )
            for table in (store.requests, store.reasons)
        }


def _history(app: RequestsApplication, ratings: RatingsApplication, clock) -> Seller:
    seller = Seller(app)
    ids = [seller.open() for _ in range(11)]
    for rid in ids[:6]:
        seller.refund(rid)
    seller.feedback(ids[0], "up")
    seller.feedback(ids[1], "down")
    seller.explain_no_refund(ids[6])
    clock.advance(timedelta(days=3))
    app.fire_due()
    seller.escalate(ids[6])
    seller.escalate(ids[7])
    app.decide(ids[6], AGENT, outcome="refund_with_return")
    app.decide(ids[7], AGENT, outcome="platform_refund")
    return seller


def test_idempotent_every_message_applied_twice_changes_nothing(app, ratings, clock) -> None:
    seller = _history(app, ratings, clock)
    messages = all_messages(app)
    for position, message in messages:
        assert ratings.projection.apply(message, position=position) is True
    once = _dump(ratings)
    rating = ratings.rating(seller.id)
    for position, message in messages:
        assert ratings.projection.apply(message, position=position) is False
    # and the handler on its own, bypassing the tracking rows (a replay into the same tables)
    with ratings.engine.begin() as conn:
        handle([message for _, message in messages], conn)
    assert _dump(ratings) == once
    assert ratings.rating(seller.id) == rating
    assert pump(app, ratings) == 0


def test_rebuild_from_history_gives_the_same_rating(
    app, ratings, clock, fresh_database_url
) -> None:
    seller = _history(app, ratings, clock)
    pump(app, ratings)
    # rebuilt into an empty database on the same backend (SQLite, PostgreSQL)
    rebuilt = open_ratings_at(fresh_database_url("rebuilt"), clock)
    try:
        pump(app, rebuilt)
        assert rebuilt.rating(seller.id) == ratings.rating(seller.id)
    finally:
        rebuilt.engine.dispose()


def test_api_public_fields_to_anyone_private_ones_to_the_seller(app, ratings) -> None:
    seller = Seller(app)
    ids = [seller.open() for _ in range(10)]
    seller.refund(ids[0])
    seller.feedback(ids[0], "up")
    pump(app, ratings)

    api = FastAPI()
    codec = TokenCodec()
    api.state.token_codec = codec
    api.state.ratings = ratings
    api.state.ratings_anonymous_limit = AnonymousReadLimit("60/minute")  # as a root makes it
    install_problem_handlers(api, {})
    api.include_router(router)
    client = TestClient(api)
    url = f"/v1/sellers/{seller.id}/support-rating"

    def get(role: str, sub: str) -> Any:
        token = codec.encode(sub=sub, role=role)
        return client.get(url, headers={"Authorization": f"Bearer {token}"})

    public = {"visible": True, "level": "great", "window": "90_days", "requests_considered": 10}
    for role, sub in (("buyer", "b-1"), ("seller", "another-seller"), ("support", "agent")):
        answer = get(role, sub)
        assert answer.status_code == 200
        assert answer.json() == public  # (2 + 1) / (2 + 2) = 0.75
    own = get("seller", seller.id).json()
    assert {k: own[k] for k in public} == public
    assert own["csat"] == {"score": 1.0, "responses": 1, "thumbs_up": 1, "thumbs_down": 0}
    assert sorted(e["request_id"] for e in own["explanation"]) == sorted(ids)
    first = next(e for e in own["explanation"] if e["request_id"] == ids[0])
    assert [r["code"] for r in first["reasons"]] == ["fitting_resolution", "positive_feedback"]
    # issue 19: without a token, the public fields only
    anonymous = client.get(url)
    assert anonymous.status_code == 200 and anonymous.json() == public
    nobody = client.get(
        "/v1/sellers/nobody/support-rating",
        headers={"Authorization": f"Bearer {codec.encode(sub='b', role='buyer')}"},
    ).json()
    assert nobody == {
        "visible": False,
        "level": None,
        "window": "last_10",
        "requests_considered": 0,
    }
