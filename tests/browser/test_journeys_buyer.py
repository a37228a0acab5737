"""The buyer starts from an order (issue 29, UI.md v2): **Orders** → the order page → **Get help**
(items, **Reason**, **Description**, **Photos**, **Send request**) → the new request's page; the
order page then links the request and says why help cannot be asked again. The seller's full
refund offers the **Automatic USPS claim** for a USPS shipment (R38), and the request page shows the
original shipment. Each step is checked through the API afterwards.
"""

from __future__ import annotations

import io
import re
from typing import Any

from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in

SEVERE = {"serious", "critical"}


def severe_violations(page: Any) -> list[Any]:
    result = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result.response["violations"]
        if v.get("impact") in SEVERE
    ]


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (80, 60), (200, 150, 40)).save(out, "JPEG")
    return out.getvalue()


def test_buyer_gets_help_from_the_order_page_r4_r64(page: Any, server: str, api: Api) -> None:
    # Given a delivered order of a holo trading card
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    sign_in(page, server, "buyer", buyer)
    # When the buyer opens Orders and the order
    page.get_by_role("link", name="Orders").first.click()
    page.get_by_role("link", name=re.compile(order_id)).click()
    # Then the order page names the item, that help can be asked, and the shipment
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    expect(page.get_by_role("heading", name="Holo trading card")).to_be_visible()
    expect(page.locator("main")).to_contain_text("You can ask for help with this item.")
    expect(page.locator("main")).to_contain_text(f"9400-{order_id}")
    assert severe_violations(page) == []
    # When they ask for help with a photo
    form = page.get_by_role("form", name="Get help")
    form.get_by_role("checkbox", name="Holo trading card").check()
    form.get_by_label("Reason").select_option("defective")
    form.get_by_label("Description").fill("The card arrived creased.")
    form.get_by_label("Photos").set_input_files(
        {"name": "crease.jpg", "mimeType": "image/jpeg", "buffer": jpeg()}
    )
    form.get_by_role("button", name="Send request").click()
    # Then they land on the new request's page, waiting on the seller, with the photo shown
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    expect(page.locator("#status-words")).to_contain_text("Waiting for the seller's response")
    expect(
        page.locator("#evidence").get_by_role("img", name=re.compile("JPEG photo 1 from You"))
    ).to_be_visible()
    rid = page.url.rsplit("/", 1)[1]
    (state,) = api.call("buyer", buyer, "GET", f"/v1/orders/{order_id}/support-request")
    assert state["id"] == rid
    assert (state["status"], state["reason"], state["item_ids"]) == (
        "awaiting_seller",
        "defective",
        ["i1"],
    )
    history = api.call("buyer", buyer, "GET", f"/v1/support-requests/{rid}/history")
    assert len(history[0]["data"]["photos"]) == 1
    # And the order page now links the request instead of offering help again
    page.goto(f"{server}/app/orders/{order_id}")
    expect(page.get_by_role("link", name="View support request").first).to_be_visible()
    expect(page.get_by_role("form", name="Get help")).to_have_count(0)
    order = api.call("buyer", buyer, "GET", f"/v1/orders/{order_id}")
    assert order["items"][0]["open_request_id"] == rid


def test_seller_turns_on_the_automatic_usps_claim_while_refunding_r38(
    page: Any, server: str, api: Api
) -> None:
    # Given a request on a USPS shipment (insured $50, no extra protection)
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/requests/{rid}")
    # Then the request page shows the original shipment's carrier and tracking number
    expect(page.locator("#shipment")).to_contain_text(f"9400-{order_id}")
    expect(page.locator("#shipment")).to_contain_text("USPS")
    # When the seller refunds in full with the automatic claim turned on
    page.get_by_role("form", name="Full refund", exact=True).get_by_role(
        "button", name="Full refund", exact=True
    ).click()
    page.get_by_role("checkbox", name="Automatic USPS claim").check()
    page.get_by_role("button", name="Confirm", exact=True).click()
    # Then the refund was given with the claim on
    expect(page.locator("#status-words")).to_contain_text("Resolved")
    history = api.call("seller", seller, "GET", f"/v1/support-requests/{rid}/history")
    (refund,) = [h["data"] for h in history if h["type"] == "full_refund_offered"]
    assert refund["auto_claim"] is not None


def test_offer_explains_itself_and_a_return_says_where_and_by_when_r3_r11_r14_b5(
    page: Any, server: str, api: Api
) -> None:
    # Given a partial refund offer of $7.50 waiting on the buyer
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{rid}/responses",
        {"type": "partial_refund", "amount": 750},
    )
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    # Then before answering, the page says what accepting and declining mean
    next_step = page.locator("#what-next")
    expect(next_step).to_contain_text("If you accept, you get $7.50 back")
    expect(next_step).to_contain_text("send the item back within 5 business days for a full refund")
    # When the buyer declines
    page.get_by_role("form", name="Decline offer", exact=True).get_by_role(
        "button", name="Decline offer", exact=True
    ).click()
    # Then the page says to send it back and by when, and that the label is coming
    expect(next_step).to_contain_text("Send the item back for a full refund.")
    expect(next_step).to_contain_text("Drop it off by")
    expect(next_step).to_contain_text("appear here as soon as the platform issues it")
    state = api.state(rid)
    assert state["status"] == "awaiting_return" and state["deadlines"]["return_dropoff"]
    # When the platform issues the return label
    api.fact(
        {
            "type": "return_label_created",
            "request_id": rid,
            "tracking_number": "RET-7788",
            "label_cost": 800,
            "at": api.now(),
        }
    )
    page.reload()
    # Then its tracking number is shown
    expect(next_step).to_contain_text("Return label tracking number: RET-7788")
    assert api.state(rid)["return"]["tracking_number"] == "RET-7788"


def test_a_resolved_refund_says_when_the_money_arrives_r3(page: Any, server: str, api: Api) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    api.call(
        "seller", seller, "POST", f"/v1/support-requests/{rid}/responses", {"type": "full_refund"}
    )
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.locator("#what-next")).to_contain_text(
        "You are refunded $30.00. It reaches your original payment method in 3 to 5 days."
    )
    assert api.state(rid)["refund"]["amount"] == 3000
