"""`GET /v1/support-requests` on the embedded app, SQLite and PostgreSQL (issue 19): every filter and
sort, role scoping (a property test: a seller never sees another seller's request), the keyset
cursor (stable while requests are opened meanwhile, bound to its query), bad input as 422 naming the
parameter, and the CSV export."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.search.domain import ITEM_FIELDS, SORTS, EscalatedBy, Reason, Status, WaitingOn
from tests.attachment_files import photo
from tests.integration.conftest_http import Api, assert_problem
from tests.integration.search_harness import caught_up

pytest_plugins = ["tests.integration.conftest_http"]

LIST = "/v1/support-requests"


def _order(tag: str, n: int, buyer: str, seller: str) -> dict[str, Any]:
    return {
        "type": "order_placed",
        "order_id": f"o-{tag}-{n}",
        "buyer_id": buyer,
        "seller_id": seller,
        "currency": "USD",
        "placed_at": "2026-12-01T10:00:00-05:00",
        "marketplace": "US",
        "items": [
            {
                "item_id": "i1",
                "title": "Holo card",
                "category": "trading_cards",
                "consumable": False,
                "price": 2500,
                "seller_payout": 2200,
                "buyer_shipping_paid": 500,
                "processing_fee": 103,
            }
        ],
    }


class World:
    """Two sellers, three buyers, six requests in different states, opened an hour apart."""

    def __init__(self, api: Api) -> None:
        self.api = api
        tag = uuid.uuid4().hex[:8]
        self.tag = tag
        self.s1, self.s2 = f"s1-{tag}", f"s2-{tag}"
        self.b1, self.b2, self.b3 = f"b1-{tag}", f"b2-{tag}", f"b3-{tag}"
        self.ids: dict[str, str] = {}
        self.opened_at: dict[str, str] = {}
        plan = [
            ("waiting", self.b1, self.s1, "defective", "The screen is cracked badly"),
            ("offer", self.b1, self.s1, "defective", "Buttons do not work"),
            ("refunded", self.b2, self.s1, "missing_item", "Nothing in the parcel"),
            ("escalated", self.b2, self.s1, "defective", "Battery swollen and hot"),
            ("other_seller", self.b3, self.s2, "significantly_delayed", "Three weeks late"),
            ("late", self.b3, self.s2, "defective", "Stopped working after a day"),
        ]
        for n, (name, buyer, seller, reason, description) in enumerate(plan):
            order = _order(tag, n, buyer, seller)
            api.fact(order)
            response = api.call(
                "buyer",
                "POST",
                LIST,
                {
                    "order_id": order["order_id"],
                    "item_ids": ["i1"],
                    "reason": reason,
                    "description": description,
                    "photos": [],
                },
                sub=buyer,
            )
            assert response.status_code == 201, response.text
            self.ids[name] = response.json()["id"]
            self.opened_at[name] = response.json()["opened_at"]
            self.order_of = {**getattr(self, "order_of", {}), name: order["order_id"]}
            api.move_clock(advance="PT1H")
        self.respond("offer", {"type": "partial_refund", "amount": 1000})
        self.message("offer", self.s1, "seller", "Would a partial refund of ten dollars help")
        self.respond("refunded", {"type": "full_refund"})
        self.respond(
            "escalated",
            {"type": "no_refund", "message": "Outside the policy", "evidence": ["e.jpg"]},
        )
        escalate = api.call(
            "buyer",
            "POST",
            f"{LIST}/{self.ids['escalated']}/escalate",
            {"reason": "The seller refuses"},
            sub=self.b2,
        )
        assert escalate.status_code == 200, escalate.text
        # the last request's seller misses the 48 business-hour deadline (and so do the two other
        # requests still waiting on a seller), then answers
        late = {"id": self.ids["late"], "buyer_id": self.b3, "seller_id": self.s2}
        api.pass_deadline(late, "seller_response")
        self.respond("late", {"type": "full_refund"})
        self.pump()

    def pump(self) -> None:
        caught_up(self.api.client.app)

    def respond(self, name: str, body: dict[str, Any]) -> None:
        seller = self.s2 if name in ("other_seller", "late") else self.s1
        response = self.api.call(
            "seller", "POST", f"{LIST}/{self.ids[name]}/responses", body, sub=seller
        )
        assert response.status_code == 200, response.text

    def message(self, name: str, who: str, role: str, body: str) -> None:
        response = self.api.call(
            role,
            "POST",
            f"{LIST}/{self.ids[name]}/messages",
            {"body": body, "attachments": []},
            sub=who,
        )
        assert response.status_code in (200, 201), response.text

    def names(self, ids: list[str]) -> set[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return {by_id[i] for i in ids if i in by_id}

    def list(self, role: str = "support", sub: str = "agent-1", **params: Any) -> Any:
        return self.api.client.get(LIST, params=params, headers=self.api.headers(role, sub))

    def all_pages(self, role: str = "support", sub: str = "agent-1", **params: Any) -> list:
        items: list[dict[str, Any]] = []
        cursor = None
        while True:
            query = dict(params)
            if cursor is not None:
                query["cursor"] = cursor
            response = self.list(role, sub, **query)
            assert response.status_code == 200, response.text
            page = response.json()
            items.extend(page["items"])
            cursor = page["next_cursor"]
            if cursor is None:
                return items

    def mine(self, **params: Any) -> set[str]:
        """The names of this world's requests a support agent finds with these filters."""
        params.setdefault("order_id", None)
        found = self.all_pages(**{k: v for k, v in params.items() if v is not None}, limit=200)
        return self.names([i["id"] for i in found])


@pytest.fixture(scope="module")
def world(api: Api) -> World:
    return World(api)


def _iso(moment: str, **delta: float) -> str:
    return (datetime.fromisoformat(moment) + timedelta(**delta)).isoformat()


ALL = {"waiting", "offer", "refunded", "escalated", "other_seller", "late"}


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": ["awaiting_seller"]}, {"waiting", "other_seller"}),
        ({"status": ["offer_pending", "escalated"]}, {"offer", "escalated"}),
        ({"reason": "missing_item"}, {"refunded"}),
        ({"resolution": "full_refund"}, {"refunded", "late"}),
        ({"escalated": "true"}, {"escalated"}),
        ({"escalated": "false"}, ALL - {"escalated"}),
        ({"escalated_by": "buyer"}, {"escalated"}),
        ({"buyer_escalated": "true"}, {"escalated"}),
        ({"waiting_on": "seller"}, {"waiting", "other_seller"}),
        ({"waiting_on": "buyer"}, {"offer"}),
        ({"waiting_on": "support"}, {"escalated"}),
        ({"waiting_on": "nobody"}, {"refunded", "late"}),
        ({"waiting_on": "carrier"}, set()),
        ({"q": "cracked"}, {"waiting"}),
        ({"q": "SCREEN cracked"}, {"waiting"}),
        ({"q": "ten dollars"}, {"offer"}),  # a seller's message
        ({"q": "refuses"}, {"escalated"}),  # the escalation's reason
        ({"q": "cracked parcel"}, set()),  # every word must match
        ({"responded": "true"}, {"offer", "refunded", "escalated", "late"}),
        ({"responded_in_time": "true"}, {"offer", "refunded", "escalated"}),
        ({"missed_deadline": "true"}, {"waiting", "other_seller", "late"}),
        ({"overturned": "false"}, ALL),
    ],
)
def test_every_filter_finds_exactly_the_matching_requests(
    world: World, params: dict[str, Any], expected: set[str]
) -> None:
    # given the world's six requests; when support lists with one filter (within these sellers)
    found = world.mine(**params, seller_id=world.s1) | world.mine(**params, seller_id=world.s2)
    # then exactly the matching requests come back
    assert found == expected


def test_b19_q_finds_item_titles_order_id_prefixes_and_short_request_ids(world: World) -> None:
    def both(q: str) -> set[str]:
        return world.mine(q=q, seller_id=world.s1) | world.mine(q=q, seller_id=world.s2)

    # a word of the items' title ("Holo card") finds every request on such an item
    assert both("holo") == ALL
    # the start of an order id finds the requests on those orders (any case)
    assert both(f"O-{world.tag}") == ALL
    assert both(world.order_of["late"]) == {"late"}
    # the 8 characters of a request id the ledger and rating pages print find that request
    assert both(world.ids["offer"][:8]) == {"offer"}
    # a prefix is matched as written: LIKE's wildcards are not wildcards here
    assert both("o-%") == set()


def test_id_filters_and_time_ranges(world: World) -> None:
    assert world.mine(seller_id=world.s2) == {"other_seller", "late"}
    assert world.mine(buyer_id=world.b1) == {"waiting", "offer"}
    assert world.mine(order_id=world.order_of["refunded"]) == {"refunded"}
    start = world.opened_at["offer"]
    # opened_after is inclusive, opened_before exclusive
    window = world.mine(seller_id=world.s1, opened_after=start, opened_before=_iso(start, hours=2))
    assert window == {"offer", "refunded"}
    # due_before: the next deadline is before the given instant
    offer = world.list(order_id=world.order_of["offer"]).json()["items"][0]
    due = offer["next_deadline"]
    assert due == offer["deadlines"]["offer_answer"]
    # (issue 27: "waiting" passed its seller deadline, which stays due until the seller answers)
    assert world.mine(seller_id=world.s1, due_before=_iso(due, seconds=1)) == {"offer", "waiting"}
    assert world.mine(seller_id=world.s1, due_before=due) == {"waiting"}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_orders_the_pages_in_either_direction(world: World, sort: str) -> None:
    # when a seller's requests are listed two at a time in this order
    items = world.all_pages("seller", world.s1, sort=sort, limit=2)
    # then every request comes once, in the order of the sort key then the id
    assert [i["id"] for i in items] == list(dict.fromkeys(i["id"] for i in items))
    assert world.names([i["id"] for i in items]) == {"waiting", "offer", "refunded", "escalated"}
    field = sort.lstrip("-")
    key = "next_deadline" if field == "due_at" else field
    far = "9999-12-31T00:00:00+00:00"
    keys = [(datetime.fromisoformat(i[key] or far), i["id"]) for i in items]
    assert keys == sorted(keys, reverse=sort.startswith("-"))
    if field == "due_at":  # requests without a deadline come after every deadline, ascending
        deadlines = [i["next_deadline"] for i in items]
        nones = [d is None for d in deadlines]
        assert nones == sorted(nones, reverse=sort.startswith("-"))


def test_items_carry_the_state_fields_and_who_the_request_waits_on(world: World) -> None:
    (item,) = world.list(order_id=world.order_of["offer"]).json()["items"]
    state = world.api.call("support", "GET", f"{LIST}/{world.ids['offer']}").json()
    for field in ("id", "order_id", "status", "version", "offer", "reason", "escalated"):
        assert item[field] == state[field], field
    assert item["waiting_on"] == "buyer"
    assert item["next_deadline"] == item["deadlines"]["offer_answer"]
    assert item["last_activity_at"] is not None
    # the CSV's columns, and what passed by now (issue 27: JSON only, it depends on the moment)
    assert set(item) == {*ITEM_FIELDS, "overdue"}
    assert item["overdue"] == []


def test_roles_see_only_their_own_requests(world: World) -> None:
    def names(role: str, sub: str, **params: Any) -> set[str]:
        return world.names([i["id"] for i in world.all_pages(role, sub, limit=200, **params)])

    assert names("buyer", world.b1) == {"waiting", "offer"}
    assert names("seller", world.s2) == {"other_seller", "late"}
    # a filter naming someone else's requests finds nothing, never theirs
    assert names("seller", world.s2, seller_id=world.s1) == set()
    assert names("buyer", world.b1, buyer_id=world.b2) == set()
    assert names("auditor", "auditor-1", seller_id=world.s1) == {
        "waiting",
        "offer",
        "refunded",
        "escalated",
    }
    for role in ("admin", "platform"):
        assert_problem(world.list(role, "x"), 403)
    assert_problem(world.api.client.get(LIST), 401)


filters = st.fixed_dictionaries(
    {},
    optional={
        "status": st.lists(st.sampled_from([str(s) for s in Status]), max_size=3),
        "reason": st.sampled_from([str(r) for r in Reason]),
        "waiting_on": st.sampled_from([str(w) for w in WaitingOn]),
        "escalated": st.sampled_from(["true", "false"]),
        "escalated_by": st.sampled_from([str(e) for e in EscalatedBy]),
        "seller_id": st.sampled_from(["s1", "s2", "other"]),
        "buyer_id": st.sampled_from(["b1", "b2", "b3"]),
        "q": st.sampled_from(["cracked", "late", "refund", "the"]),
        "sort": st.sampled_from(SORTS),
        "responded": st.sampled_from(["true", "false"]),
        "limit": st.integers(min_value=1, max_value=3),
    },
)


PARTIES = {"s1": "seller", "s2": "seller", "b1": "buyer", "b2": "buyer", "b3": "buyer"}
OWN = {  # who is party to which of the world's requests (World.__init__'s plan)
    "s1": {"waiting", "offer", "refunded", "escalated"},
    "s2": {"other_seller", "late"},
    "b1": {"waiting", "offer"},
    "b2": {"refunded", "escalated"},
    "b3": {"other_seller", "late"},
}


def test_scoping_every_party_sees_exactly_its_own_requests_unfiltered(world: World) -> None:
    # the property below is not vacuous: without filters each party's pages hold all its requests
    for who, role in PARTIES.items():
        party = getattr(world, who)
        items = world.all_pages(role, party, limit=2)
        assert world.names([i["id"] for i in items]) == OWN[who], who


def test_scoping_a_party_sees_what_support_sees_of_its_own_requests_and_nothing_else(
    world: World,
) -> None:
    seen: list[int] = []  # how many of the party's requests each example's pages held

    @settings(
        max_examples=40,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(params=filters, who=st.sampled_from(sorted(PARTIES)))
    def scoped(params: dict[str, Any], who: str) -> None:
        # given any combination of filters (ids resolved to this world's parties)
        resolved = {
            k: getattr(world, v, v) if k in ("seller_id", "buyer_id") else v
            for k, v in params.items()
        }
        party, role = getattr(world, who), PARTIES[who]
        # when that seller or buyer lists every page, and support lists the same
        items = world.all_pages(role, party, **resolved)
        everything = world.all_pages("support", "agent-1", **resolved)
        # then the party sees exactly support's results about its own sales or purchases
        field = f"{role}_id"
        assert all(item[field] == party for item in items)
        assert sorted(i["id"] for i in items) == sorted(
            i["id"] for i in everything if i[field] == party
        )
        seen.append(len(items))

    scoped()
    assert sum(1 for n in seen if n) >= 5, f"too few examples saw a non-empty page: {seen}"


@pytest.fixture(scope="module")
def cases(api: Api) -> dict[str, dict[str, Any]]:
    """Two sellers' requests, each with the buyer's photo and a full refund (a ledger charge)."""
    made = {}
    for name in ("one", "two"):
        order = api.place_order()
        upload = api.client.post(
            "/v1/attachments",
            files={"file": ("p.jpg", photo(seed=len(made) + 7), "image/jpeg")},
            headers=api.headers("buyer", order["buyer_id"]),
        )
        assert upload.status_code == 201, upload.text
        state = api.open_request(order, photos=[upload.json()["id"]])
        refunded = api.as_party(state, "seller", "POST", "/responses", {"type": "full_refund"})
        assert refunded.status_code == 200, refunded.text
        made[name] = {**state, "photo": upload.json()["id"]}
    caught_up(api.client.app)
    return made


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    reader=st.tuples(
        st.sampled_from(["one", "two", "stranger"]), st.sampled_from(["buyer", "seller"])
    ),
    target=st.sampled_from(["one", "two"]),
)
def test_scoping_attachments_and_ledgers_only_for_their_parties(
    api: Api, cases: dict[str, dict[str, Any]], reader: tuple[str, str], target: str
) -> None:
    # given a buyer or seller of one case (or a stranger) and a case
    whose, role = reader
    sub = cases[whose][f"{role}_id"] if whose in cases else f"{role}-stranger"
    case = cases[target]
    allowed = whose == target
    # when they read that case's photo, and (a seller) that case's seller's ledger
    photo_read = api.client.get(f"/v1/attachments/{case['photo']}", headers=api.headers(role, sub))
    # then the parties get it, anyone else a 404 that does not tell it exists
    if allowed:
        assert photo_read.status_code == 200 and photo_read.content
    else:
        assert_problem(photo_read, 404)
    if role == "seller":
        ledger = api.call("seller", "GET", f"/v1/sellers/{case['seller_id']}/ledger", sub=sub)
        if allowed:
            assert ledger.status_code == 200, ledger.text
            entries = ledger.json()["entries"]
            assert entries and all(e["seller_id"] == sub for e in entries)
            assert {e["request_id"] for e in entries} == {case["id"]}
        else:
            assert_problem(ledger, 404)


def test_cursor_stays_correct_while_requests_are_opened(world: World) -> None:
    # given the first page of a seller's requests, oldest first
    first = world.list("seller", world.s1, sort="opened_at", limit=2).json()
    assert len(first["items"]) == 2 and first["next_cursor"]
    # when new requests are opened for that seller meanwhile
    opened_here: list[str] = []
    for n in range(2):
        order = _order(world.tag, 100 + n, world.b1, world.s1)
        world.api.fact(order)
        response = world.api.call(
            "buyer",
            "POST",
            LIST,
            {
                "order_id": order["order_id"],
                "item_ids": ["i1"],
                "reason": "defective",
                "description": "new",
                "photos": [],
            },
            sub=world.b1,
        )
        assert response.status_code == 201
        opened_here.append(response.json()["id"])
    world.pump()
    # then the following pages continue where the first stopped: nothing twice, nothing skipped,
    # and the new requests come at the end
    rest = world.all_pages(
        "seller", world.s1, sort="opened_at", limit=2, cursor=first["next_cursor"]
    )
    ids = [i["id"] for i in first["items"] + rest]
    assert len(ids) == len(set(ids))
    # counting only this test's own data: the world's four, then the two opened here, last
    assert ids[:4] == [world.ids[n] for n in ("waiting", "offer", "refunded", "escalated")]
    assert sorted(ids[-2:]) == sorted(opened_here)  # opened at one instant: tied, by id


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"status": "open"}, "status"),
        ({"reason": "bored"}, "reason"),
        ({"waiting_on": "god"}, "waiting_on"),
        ({"resolution": "money"}, "resolution"),
        ({"escalated": "maybe"}, "escalated"),
        ({"sort": "price"}, "sort"),
        ({"limit": "0"}, "limit"),
        ({"limit": "201"}, "limit"),
        ({"opened_after": "2026-12-01T10:00:00"}, "opened_after"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"q": "?!"}, "q"),
    ],
)
def test_bad_input_is_422_naming_the_parameter(
    world: World, params: dict[str, Any], parameter: str
) -> None:
    assert_problem(world.list(**params), 422, detail_contains=parameter)


def test_a_cursor_from_another_query_is_422(world: World) -> None:
    page = world.list("seller", world.s1, sort="opened_at", limit=1).json()
    cursor = page["next_cursor"]
    # the same cursor with another filter, another sort or another caller is refused
    for role, sub, params in (
        ("seller", world.s1, {"sort": "-opened_at"}),
        ("seller", world.s1, {"sort": "opened_at", "status": "escalated"}),
        ("seller", world.s2, {"sort": "opened_at"}),
    ):
        response = world.list(role, sub, cursor=cursor, limit=1, **params)
        assert_problem(response, 422, detail_contains="another query")
    # the same query with another page size is fine
    assert world.list("seller", world.s1, sort="opened_at", limit=3, cursor=cursor).is_success


def test_csv_export_streams_the_whole_query_with_a_header_row(world: World) -> None:
    # when a seller asks for their requests as CSV
    response = world.api.client.get(
        LIST,
        params={"sort": "opened_at", "limit": 1, "status": ["awaiting_seller", "offer_pending"]},
        headers=world.api.headers("seller", world.s1, Accept="text/csv"),
    )
    # then it is CSV: a header row of the item's field names, id first, then every matching row
    # (the page size aside), the same values as the JSON list
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == list(ITEM_FIELDS) and rows[0][0] == "id"
    as_json = world.all_pages(
        "seller", world.s1, sort="opened_at", status=["awaiting_seller", "offer_pending"]
    )
    assert [r[0] for r in rows[1:]] == [i["id"] for i in as_json]
    assert world.names([r[0] for r in rows[1:]]) == {"waiting", "offer"}
    status = rows[0].index("status")
    assert [r[status] for r in rows[1:]] == [i["status"] for i in as_json]
    # and a bad filter is still a problem document, not a broken CSV
    bad = world.api.client.get(
        LIST,
        params={"status": "nope"},
        headers=world.api.headers("support", "a", Accept="text/csv"),
    )
    assert_problem(bad, 422, detail_contains="status")
