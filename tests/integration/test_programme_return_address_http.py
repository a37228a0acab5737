"""R68 over HTTP: the seller's return address (bounded, validated per country), recorded with the step
that requires a return and shown in the state, the history and the dossier; a later change moves no
open return; with none set the platform's returns address is used. Embedded, SQLite and PostgreSQL,
complete rollout (the default)."""

from __future__ import annotations

import io

import pytest

from tests.integration.conftest_http import Api, assert_problem

pytest_plugins = ["tests.integration.conftest_http"]
pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")

AUSTIN = {
    "name": "Card Shop",
    "line1": "1 Main St",
    "line2": "Suite 5",
    "city": "Austin",
    "region": "TX",
    "postal_code": "78701",
    "country": "US",
}
DALLAS = {**AUSTIN, "line1": "9 Elm St", "line2": "", "city": "Dallas", "postal_code": "75201"}


def _put(api: Api, seller: str, body: dict, sub: str | None = None):
    return api.call(
        "seller", "PUT", f"/v1/sellers/{seller}/return-address", body, sub=sub or seller
    )


def _with_return(api: Api, state: dict) -> dict:
    response = api.as_party(
        state, "seller", "POST", "/responses", {"type": "full_refund_with_return"}
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_r68_the_seller_sets_a_return_address_and_reads_it_back(api: Api) -> None:
    seller = api.place_order()["seller_id"]
    response = _put(api, seller, AUSTIN)
    assert response.status_code == 200, response.text
    assert response.json()["return_address"] == AUSTIN
    got = api.call("seller", "GET", f"/v1/sellers/{seller}/programme", sub=seller).json()
    assert got["return_address"] == AUSTIN and got["enrolled"] is True  # complete rollout
    history = api.call("auditor", "GET", f"/v1/sellers/{seller}/programme/history").json()
    assert [(e["type"], e["actor"]) for e in history] == [
        ("return_address_set", f"seller:{seller}")
    ]
    # the same address again records nothing
    assert _put(api, seller, AUSTIN).status_code == 200
    assert len(api.call("auditor", "GET", f"/v1/sellers/{seller}/programme/history").json()) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"postal_code": "ABCDE"}, "postal_code"),
        ({"postal_code": "9021"}, "postal_code"),
        ({"region": "TX", "postal_code": "10001"}, "postal_code"),  # a New York code in Texas
        ({"country": "us"}, "country"),
        ({"country": "XX"}, "country"),
        ({"country": "NL", "region": "", "postal_code": "1234"}, "postal_code"),
        ({"city": ""}, "city"),
        ({"line1": "x" * 201}, "line1"),
        ({"name": ""}, "name"),
        ({"postal_code": "7" * 21}, "postal_code"),
        ({"phone": "555"}, "phone"),
    ],
)
def test_r68_an_invalid_return_address_is_a_422_naming_the_field(
    api: Api, change: dict, field: str
) -> None:
    seller = api.place_order()["seller_id"]
    problem = assert_problem(_put(api, seller, {**AUSTIN, **change}), 422)
    assert field in problem["detail"], problem
    got = api.call("seller", "GET", f"/v1/sellers/{seller}/programme", sub=seller).json()
    assert got["return_address"] is None


def test_r68_a_dutch_address_with_a_dutch_postal_code_is_accepted(api: Api) -> None:
    seller = api.place_order()["seller_id"]
    dutch = {"name": "Kaartwinkel", "line1": "Damrak 1", "city": "Amsterdam",
             "postal_code": "1012 LG", "country": "NL"}  # fmt: skip
    assert _put(api, seller, dutch).status_code == 200
    # and it is stored as given: the seller's programme reads it back
    got = api.call("seller", "GET", f"/v1/sellers/{seller}/programme", sub=seller).json()
    assert got["return_address"]["postal_code"] == "1012 LG"
    assert got["return_address"]["country"] == "NL"


def test_r68_only_that_seller_sets_their_return_address(api: Api) -> None:
    seller = api.place_order()["seller_id"]
    assert_problem(_put(api, seller, AUSTIN, sub="another-seller"), 403)
    for role in ("buyer", "support", "platform"):
        response = api.call(role, "PUT", f"/v1/sellers/{seller}/return-address", AUSTIN)
        assert_problem(response, 403)


def test_r68_the_address_in_force_is_recorded_with_the_return_and_a_change_moves_no_open_return(
    api: Api,
) -> None:
    # given a seller with a return address and a request
    state = api.open_request()
    seller = state["seller_id"]
    _put(api, seller, AUSTIN)
    # when they offer a full refund with return
    required = _with_return(api, state)
    # then the return carries the address in force, in the state and the history
    assert required["return"]["address"] == {**AUSTIN, "source": "seller"}
    history = api.as_party(state, "support", "GET", "/history").json()
    (event,) = [e for e in history if e["type"] == "return_required"]
    assert event["data"]["return_address"] == {**AUSTIN, "source": "seller"}
    # when the seller moves, the open return keeps its address; a new return gets the new one
    _put(api, seller, DALLAS)
    again = api.as_party(state, "buyer", "GET").json()
    assert again["return"]["address"]["city"] == "Austin"
    second = _with_return(api, api.open_request(_order_of(api, seller)))
    assert second["return"]["address"]["city"] == "Dallas"


def _order_of(api: Api, seller: str) -> dict:
    """A new order of the same seller (place_order makes a new seller each time)."""
    order = {**api.place_order(), "type": "order_placed"}
    order["order_id"] += "-2"
    order["seller_id"] = seller
    api.fact(order)
    return order


def test_r68_with_no_address_set_the_return_goes_to_the_platform_returns_address(
    api: Api,
) -> None:
    state = _with_return(api, api.open_request())
    address = state["return"]["address"]
    assert address["source"] == "platform" and address["country"] == "US"
    assert address["line1"]


def test_r68_a_declined_offer_and_a_support_decision_record_the_address_too(api: Api) -> None:
    # a partial refund declined (R14)
    state = api.open_request()
    _put(api, state["seller_id"], AUSTIN)
    offered = api.as_party(
        state, "seller", "POST", "/responses", {"type": "partial_refund", "amount": 100}
    )
    assert offered.status_code == 200, offered.text
    declined = api.as_party(state, "buyer", "POST", "/offer/decline")
    assert declined.status_code == 200, declined.text
    assert declined.json()["return"]["address"]["city"] == "Austin"
    # support requiring a return (R22) of a request routed at opening
    routed = api.open_request(api.place_order(consumable=True), reason="missing_item")
    assert routed["status"] == "escalated"
    decided = api.as_party(
        routed, "support", "POST", "/decision", {"outcome": "refund_with_return"}
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["return"]["address"]["source"] == "platform"


def test_r68_the_dossier_shows_the_return_address(api: Api) -> None:
    from pypdf import PdfReader

    state = api.open_request()
    _put(api, state["seller_id"], AUSTIN)
    _with_return(api, state)
    pdf = api.as_party(state, "support", "GET", "/dossier")
    assert pdf.status_code == 200, pdf.text
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.content)).pages)
    assert "Return address (the seller's)" in text and "1 Main St" in text
