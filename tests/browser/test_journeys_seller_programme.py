"""The seller programme in the web app (issue 29 over issue 28's API; UI.md "seller pages"):
**Settings** keeps the return address (R68) and offers **Join the waitlist** while not enrolled
(R67); **Standing** shows each figure with its standard and state, the requests behind it (R69).
Checked through the API afterwards.

The return address and the complete rollout run on the package's server (`complete`, the default:
every seller enrolled). The waitlist and the standing run on this module's own server in a
`gradual` rollout, whose clock the standing test moves without disturbing the other modules.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in, start_server, stop

SEVERE = {"serious", "critical"}
ADDRESS = {
    "Name": "Ann Seller",
    "Address line 1": "1 Main St",
    "City": "Springfield",
    "Region": "IL",
    "Postal code": "62701",
    "Country": "us",  # typed in lower case: the page sends the ISO code the API takes
}


def severe_violations(page: Any) -> list[Any]:
    result = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result.response["violations"]
        if v.get("impact") in SEVERE
    ]


@pytest.fixture(scope="module")
def gradual(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    process, base, _ = start_server(
        tmp_path_factory.mktemp("programme"), {"SUPPORT_PROGRAMME_ROLLOUT": "gradual"}
    )
    try:
        yield base
    finally:
        stop(process)


@pytest.fixture(scope="module")
def gradual_api(gradual: str) -> Api:
    return Api(gradual)


def programme(api: Api, seller: str) -> dict[str, Any]:
    return api.call("seller", seller, "GET", f"/v1/sellers/{seller}/programme")


def fill_address(page: Any, values: dict[str, str]) -> Any:
    form = page.get_by_role("form", name="Return address", exact=True)
    for label, value in values.items():
        form.get_by_label(label, exact=True).fill(value)
    return form


def test_r68_a_seller_saves_their_return_address_in_settings_and_the_api_has_it(
    page: Any, server: str, api: Api
) -> None:
    # Given a seller with no return address
    seller = new_user("seller")
    assert programme(api, seller)["return_address"] is None
    sign_in(page, server, "seller", seller)
    # When they open Settings, fill the return address and save it
    page.get_by_role("link", name="Settings", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Settings")
    assert severe_violations(page) == []
    form = fill_address(page, ADDRESS)
    form.get_by_role("button", name="Save", exact=True).click()
    # Then the page says it is saved and shows it
    expect(page.get_by_role("status")).to_contain_text("Your return address is saved.")
    form = page.get_by_role("form", name="Return address", exact=True)
    for label, value in {**ADDRESS, "Country": "US"}.items():
        expect(form.get_by_label(label, exact=True)).to_have_value(value)
    # And the API has it, as typed (the country as its ISO code)
    assert programme(api, seller)["return_address"] == {
        "name": "Ann Seller",
        "line1": "1 Main St",
        "line2": "",
        "city": "Springfield",
        "region": "IL",
        "postal_code": "62701",
        "country": "US",
    }


def test_r68_an_invalid_postal_code_shows_the_apis_words_and_keeps_what_was_typed(
    page: Any, server: str, api: Api
) -> None:
    # Given a seller on Settings
    seller = new_user("seller")
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/settings")
    # When they save an address whose postal code is not one of its country
    typed = {**ADDRESS, "Postal code": "ABC-12", "Address line 2": "Unit 4"}
    fill_address(page, typed).get_by_role("button", name="Save", exact=True).click()
    # Then the API's 422 words, naming the field, are shown
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("postal_code")
    expect(alert).to_contain_text("not valid for country US")
    # And every field keeps what was typed
    form = page.get_by_role("form", name="Return address", exact=True)
    for label, value in typed.items():
        expect(form.get_by_label(label, exact=True)).to_have_value(value)
    # And nothing was saved
    assert programme(api, seller)["return_address"] is None
    # When they correct it
    form.get_by_label("Postal code", exact=True).fill("62701")
    form.get_by_role("button", name="Save", exact=True).click()
    # Then it is saved, line 2 included
    expect(page.get_by_role("status")).to_contain_text("Your return address is saved.")
    saved = programme(api, seller)["return_address"]
    assert (saved["postal_code"], saved["line2"]) == ("62701", "Unit 4")


def test_r66_in_a_complete_rollout_settings_says_enrolled_and_offers_no_waitlist(
    page: Any, server: str, api: Api
) -> None:
    # Given a seller while the rollout is complete (the default): enrolled without a record
    seller = new_user("seller")
    assert programme(api, seller)["enrolled"] is True
    # When they open Settings
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/settings")
    # Then they read that they are enrolled, and there is nothing to join
    expect(page.get_by_role("region", name="Seller support programme")).to_contain_text(
        "You are enrolled"
    )
    expect(page.get_by_role("button", name="Join the waitlist")).to_have_count(0)


def test_r69_a_seller_with_nothing_settled_reads_so_on_standing_beside_the_standard(
    page: Any, server: str, api: Api
) -> None:
    # Given a seller with no request in the window: the API's share is null
    seller = new_user("seller")
    share = _standing(api, seller)["figures"][0]
    assert (share["name"], share["value"], share["standard"]) == ("answered_in_time", None, 0.9)
    # When they open Standing
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/standing")
    # Then the share reads in words, never "None", beside its standard and state
    row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name="Answered in time"))
    cells = row.get_by_role("cell")
    expect(cells.nth(0)).to_have_text("Nothing settled yet")
    expect(cells.nth(1)).to_have_text("at least 90 %")
    expect(cells.nth(2)).to_have_text("Meets the standard")


def test_r67_a_seller_not_enrolled_joins_the_waitlist_and_later_reads_they_are_enrolled(
    page: Any, gradual: str, gradual_api: Api
) -> None:
    # Given a seller who is not enrolled in a gradual rollout
    seller = new_user("seller")
    assert programme(gradual_api, seller)["enrolled"] is False
    sign_in(page, gradual, "seller", seller)
    page.goto(f"{gradual}/app/settings")
    section = page.get_by_role("region", name="Seller support programme")
    expect(section).to_contain_text("You are not enrolled yet")
    # When they join the waitlist
    page.get_by_role("button", name="Join the waitlist", exact=True).click()
    # Then the page says so, offers it no more, and the API has them on it
    expect(page.get_by_role("status")).to_contain_text("You are on the waitlist.")
    expect(section).to_contain_text("You are on the waitlist since")
    expect(page.get_by_role("button", name="Join the waitlist")).to_have_count(0)
    record = programme(gradual_api, seller)
    assert record["waitlisted_at"] is not None and record["enrolled"] is False
    # When the platform enrols them
    gradual_api.call("platform", "ops", "POST", f"/v1/sellers/{seller}/enrolment")
    page.reload()
    # Then Settings says they are enrolled
    expect(section).to_contain_text("You are enrolled since")


def test_r67_joining_once_enrolled_shows_the_apis_refusal_and_the_enrolment(
    page: Any, gradual: str, gradual_api: Api
) -> None:
    # Given a seller not enrolled, on Settings with Join the waitlist offered
    seller = new_user("seller")
    sign_in(page, gradual, "seller", seller)
    page.goto(f"{gradual}/app/settings")
    button = page.get_by_role("button", name="Join the waitlist", exact=True)
    expect(button).to_be_visible()
    # And the platform enrols them meanwhile
    gradual_api.call("platform", "ops", "POST", f"/v1/sellers/{seller}/enrolment")
    # When they press Join the waitlist on the page they had open
    button.click()
    # Then the API's 409 words are shown and the page says they are enrolled
    expect(page.get_by_role("alert")).to_contain_text("already enrolled")
    expect(page.get_by_role("region", name="Seller support programme")).to_contain_text(
        "You are enrolled since"
    )
    assert programme(gradual_api, seller)["waitlisted_at"] is None


def _standing(api: Api, seller: str) -> dict[str, Any]:
    return api.call("seller", seller, "GET", f"/v1/sellers/{seller}/standing")


def test_r69_standing_shows_each_figure_with_its_standard_and_state_and_the_requests_behind_it(
    page: Any, gradual: str, gradual_api: Api
) -> None:
    api = gradual_api
    # Given an enrolled seller with one request answered in time and one left unanswered past
    # its deadline, escalated by the buyer and refunded by support (overturned)
    buyer, seller = new_user("buyer"), new_user("seller")
    api.call("platform", "ops", "POST", f"/v1/sellers/{seller}/enrolment")
    answered_order, escalated_order = api.order(buyer, seller), api.order(buyer, seller)
    answered = api.open(buyer, answered_order)["id"]
    escalated = api.open(buyer, escalated_order)["id"]
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{answered}/responses",
        {"type": "full_refund"},
    )
    api.advance("P7D")  # the seller's 48 business hours pass (R8)
    api.call(
        "buyer", buyer, "POST", f"/v1/support-requests/{escalated}/escalate", {"reason": "None."}
    )
    api.call(
        "support",
        "agent-1",
        "POST",
        f"/v1/support-requests/{escalated}/decision",
        {"outcome": "refund"},
    )
    deadline = time.monotonic() + 30
    while [f["value"] for f in _standing(api, seller)["figures"]] != [0.5, 1, 1]:
        assert time.monotonic() < deadline, _standing(api, seller)
        time.sleep(0.2)
    figures = {f["name"]: f for f in _standing(api, seller)["figures"]}
    assert [figures[n]["state"] for n in figures] == ["below", "meets", "meets"]
    # When the seller opens Standing
    sign_in(page, gradual, "seller", seller)
    page.get_by_role("link", name="Standing", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Standing")
    assert severe_violations(page) == []
    # Then each figure shows its value, its standard and its state in words, as the API has them
    rows = {
        "Answered in time": ("50 % (1 of 2)", "at least 90 %", "Below the standard"),
        "Escalated without an answer": ("1", "at most 2", "Meets the standard"),
        "Overturned by support": ("1", "at most 2", "Meets the standard"),
    }
    for figure, (value, standard, state) in rows.items():
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=figure))
        cells = row.get_by_role("cell")
        expect(cells.nth(0)).to_have_text(value)
        expect(cells.nth(1)).to_have_text(standard)
        expect(cells.nth(2)).to_have_text(state)
    # And each figure's link opens the request list with the requests behind it
    behind = {
        "Answered in time": {answered_order, escalated_order},
        "Escalated without an answer": {escalated_order},
        "Overturned by support": {escalated_order},
    }
    standing_url = page.url
    for figure, orders in behind.items():
        page.goto(standing_url)
        row = page.get_by_role("row").filter(has=page.get_by_role("rowheader", name=figure))
        row.get_by_role("link", name="The requests behind it").click()
        expect(page.get_by_role("heading", level=1)).to_have_text("Requests")
        links = page.get_by_role("link", name=re.compile(r"^Order o-"))
        expect(links).to_have_count(len(orders))
        shown = {text.removeprefix("Order ") for text in links.all_inner_texts()}
        assert shown == orders, figure
