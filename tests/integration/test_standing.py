"""R69: a seller's account standing from the search projection, checked against a direct count of
random histories made through the requests application (Hypothesis), and the list URL of every
figure returning exactly the requests behind it. SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.requests.application import Actor, RequestsApplication
from services.search.application import ListQuery, Viewer
from services.search.standing import months_before
from tests.factories import item_fact, order_placed, unique
from tests.integration.search_harness import SearchSystem, search_url

SUPPORT = Actor("support", "agent-1")
AUDITOR = Viewer("auditor", "auditor-1")

SCRIPTS = (
    "in_time",  # the seller answers within the hour
    "late",  # the deadline passes, then the seller answers
    "silent",  # the deadline passes with no answer
    "escalated_refund",  # no answer, the buyer escalates, support refunds (seller liable)
    "escalated_upheld",  # no answer, the buyer escalates, support upholds the seller
    "escalated_platform",  # no answer, the buyer escalates, the platform funds the refund
    "no_refund_overturned",  # no-refund explanation in time, escalated, support refunds
    "info_then_silent",  # information asked in time, the buyer answers, the new deadline passes
    "open",  # nothing yet (pending while inside its deadline)
    "routed",  # a consumable's missing item: support's from the start (R6)
    "satisfied",  # answered in time, resolved, the buyer gives thumbs down (R46: no effect)
)


@pytest.fixture
def system(app: RequestsApplication, database_url: str, tmp_path: Path, clock) -> Iterator:
    live = SearchSystem(app, search_url(database_url, tmp_path), clock)
    try:
        yield live
    finally:
        live.close()


def _open(system: SearchSystem, seller: str, routed: bool) -> tuple[Any, Actor, Actor]:
    order = order_placed(seller_id=seller, items=[item_fact(consumable=routed)])
    system.app.record_order_placed(order)
    buyer, seller_actor = Actor("buyer", order.buyer_id), Actor("seller", seller)
    request = system.app.open_request(
        buyer,
        order_id=order.order_id,
        item_ids=[order.items[0].item_id],
        reason="missing_item" if routed else "defective",
        description="It does not work.",
        photos=[],
    )
    return request, buyer, seller_actor


def _past_deadline(system: SearchSystem) -> None:
    system.clock.advance(timedelta(days=7))  # past 48 business hours whatever the weekday
    system.app.fire_due()


def _play(system: SearchSystem, script: str, seller: str) -> dict[str, Any]:
    """Runs one request's script; returns what a direct count needs to know about it."""
    app = system.app
    request, buyer, me = _open(system, seller, routed=script == "routed")
    rid = request.id
    facts = {"id": str(rid), "opened_at": request.opened_at, "script": script}
    facts["due"] = request.deadlines.get("seller_response")
    if script in ("in_time", "satisfied"):
        system.clock.advance(timedelta(hours=1))
        app.respond(rid, me, _response("full_refund"))
        if script == "satisfied":
            app.give_feedback(rid, buyer, thumbs="down")
    elif script == "late":
        _past_deadline(system)
        app.respond(rid, me, _response("full_refund"))
    elif script == "silent":
        _past_deadline(system)
    elif script.startswith("escalated_"):
        _past_deadline(system)
        app.escalate(rid, buyer, reason="No answer.")
        outcome = {"refund": "refund", "upheld": "uphold_seller", "platform": "platform_refund"}
        app.decide(rid, SUPPORT, outcome=outcome[script.removeprefix("escalated_")])
    elif script == "no_refund_overturned":
        system.clock.advance(timedelta(hours=1))
        app.respond(rid, me, _response("no_refund", message="Outside policy.", evidence=("e1",)))
        app.escalate(rid, buyer, reason="I disagree.")
        app.decide(rid, SUPPORT, outcome="refund")
    elif script == "info_then_silent":
        system.clock.advance(timedelta(hours=1))
        app.respond(rid, me, _response("request_info", message="Photos please."))
        app.post_message(rid, buyer, body="Here.", attachments=[])
        _past_deadline(system)
    return facts


def _response(kind: str, **fields: Any):
    from services.requests.application import SellerResponse

    return SellerResponse(type=kind, **fields)


def direct_count(played: list[dict[str, Any]], now: datetime) -> dict[str, Any]:
    """The figures counted straight from the scripts (no SQL, no search rows)."""
    since = months_before(now, 3)
    inside = [p for p in played if since <= p["opened_at"] < now and p["script"] != "routed"]
    missed_scripts = {"late", "silent", "info_then_silent"} | {
        s for s in SCRIPTS if s.startswith("escalated_")
    }
    in_time = {p["id"] for p in inside if p["script"] in ("in_time", "satisfied")}
    in_time |= {p["id"] for p in inside if p["script"] == "no_refund_overturned"}
    missed = {p["id"] for p in inside if p["script"] in missed_scripts}
    # an open request counts only once its deadline passed with no answer
    missed |= {p["id"] for p in inside if p["script"] == "open" and p["due"] <= now}
    pending = {p["id"] for p in inside if p["script"] == "open" and p["due"] > now}
    unanswered = {p["id"] for p in inside if p["script"].startswith("escalated_")}
    overturned = {
        p["id"] for p in inside if p["script"] in ("escalated_refund", "no_refund_overturned")
    }
    return {
        "in_time": in_time,
        "missed": missed,
        "pending": pending,
        "escalated_unanswered": unanswered,
        "overturned": overturned,
    }


def _listed(system: SearchSystem, url: str) -> set[str]:
    """The ids the figure's list URL returns, through the search service's own list query."""
    params = parse_qs(urlparse(url).query)
    flags = {k: v[0] == "true" for k, v in params.items() if v[0] in ("true", "false")}
    query = ListQuery(
        seller_id=params["seller_id"][0],
        opened_after=datetime.fromisoformat(params["opened_after"][0]),
        opened_before=datetime.fromisoformat(params["opened_before"][0]),
        answer=tuple(params.get("answer", ())),
        limit=200,
        **flags,
    )
    return {item["id"] for item in system.search.list_requests(AUDITOR, query)["items"]}


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    st.lists(
        st.tuples(st.sampled_from(SCRIPTS), st.integers(min_value=0, max_value=50)),
        min_size=1,
        max_size=7,
    )
)
def test_r69_standing_figures_equal_a_direct_count_of_random_histories(
    system: SearchSystem, steps: list[tuple[str, int]]
) -> None:
    # given a seller whose requests open days apart and each follow a random script
    seller = unique("seller")
    played = []
    for script, gap_days in steps:
        system.clock.advance(timedelta(days=gap_days))
        system.app.fire_due()  # as the timer loop does
        played.append(_play(system, script, seller))
    system.app.fire_due()
    system.tick()
    now = system.clock.now().astimezone(UTC)
    # when the standing is evaluated today
    standing = system.search.standing(seller, AUDITOR, now=now)
    # then each figure equals the direct count, over the last 3 months by opening date
    expected = direct_count(played, now)
    figures = {f["name"]: f for f in standing["figures"]}
    answered = figures["answered_in_time"]
    settled = len(expected["in_time"]) + len(expected["missed"])
    assert (answered["count"], answered["of"]) == (len(expected["in_time"]), settled)
    assert answered["value"] == (
        None if settled == 0 else round(len(expected["in_time"]) / settled, 4)
    )
    assert figures["escalated_unanswered"]["value"] == len(expected["escalated_unanswered"])
    assert figures["overturned"]["value"] == len(expected["overturned"])
    # and each list URL returns exactly the requests behind its figure
    assert _listed(system, answered["requests"]) == expected["in_time"] | expected["missed"]
    assert _listed(system, answered["missed_requests"]) == expected["missed"]
    assert _listed(system, answered["pending_requests"]) == expected["pending"]
    for name in ("escalated_unanswered", "overturned"):
        assert _listed(system, figures[name]["requests"]) == expected[name]
    assert standing["window"]["from"] == months_before(now, 3).isoformat()
    assert standing["evaluated_at"] == now.isoformat()
