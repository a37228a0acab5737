"""Support agents and auditors read a whole case in the web app (issue 29, UI.md v2): the evidence
of every step (B2, B16), the **Case dossier** (B12), **Assign to me** on the request page, the
request **As of** a past moment, decisions confirmed first with who pays; and anyone signing in
from a link lands on the page it named (B6). Each journey is checked through the API afterwards.
"""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from axe_playwright_python.sync_playwright import Axe
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in

SEVERE = {"serious", "critical"}


def jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 120, 200)).save(out, "JPEG")
    return out.getvalue()


def upload(api: Api, role: str, user: str, name: str, content: bytes, kind: str) -> str:
    answer = httpx.post(
        f"{api.base}/v1/attachments",
        files={"file": (name, content, kind)},
        headers=api.auth(role, user),
        timeout=30,
    )
    assert answer.status_code in (200, 201), answer.text
    return answer.json()["id"]


def severe_violations(page: Any) -> list[Any]:
    result = Axe().run(page)
    return [
        (v["id"], [n["target"] for n in v["nodes"]][:3])
        for v in result.response["violations"]
        if v.get("impact") in SEVERE
    ]


def disputed_case(api: Api) -> tuple[str, str, str, str]:
    """A request the seller answered "No refund" with a photo and a link, escalated by the buyer."""
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    photo = upload(api, "seller", seller, "listing.jpg", jpeg(), "image/jpeg")
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{rid}/responses",
        {
            "type": "no_refund",
            "message": "The crease shows in the listing photos.",
            "evidence": ["https://example.com/listing/123", photo],
        },
    )
    api.call("buyer", buyer, "POST", f"/v1/support-requests/{rid}/escalate", {"reason": "No."})
    return buyer, seller, order_id, rid


def test_support_sees_every_steps_evidence_and_gets_the_case_dossier_b2_b12_b16(
    page: Any, server: str, api: Api
) -> None:
    # Given an escalated request whose seller answered with a photo and a link
    _buyer, seller, order_id, rid = disputed_case(api)
    agent = new_user("agent")
    sign_in(page, server, "support", agent)
    # When the agent opens the request page
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    evidence = page.locator("#evidence")
    # Then the seller's photo is a thumbnail named for what it is and who sent it, the link is
    # there, the buyer's photo link from the opening too, and no raw reference is printed
    thumbnail = evidence.get_by_role("img", name=re.compile(f"JPEG photo 2 from Seller {seller}"))
    expect(thumbnail).to_be_visible()
    expect(evidence).to_contain_text("https://example.com/listing/123")
    expect(evidence).to_contain_text("https://photos.example/crease.jpg")
    expect(evidence).to_contain_text("No refund: the seller explained why")
    expect(evidence).not_to_contain_text("att_")
    expect(evidence).not_to_contain_text(f"seller:{seller}")
    loaded = thumbnail.evaluate("img => img.complete && img.naturalWidth > 0")
    assert loaded
    # And the case dossier downloads as the PDF the API makes, with the agent's own token
    with page.expect_download() as download:
        page.get_by_role("link", name="Case dossier").click()
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    assert severe_violations(page) == []
    # When the agent takes the request from its page
    page.get_by_role("button", name="Assign to me").click()
    # Then the page says so and the API has the assignee
    expect(page.get_by_role("status")).to_contain_text("You are assigned to this request.")
    assert api.state(rid)["assigned_to"] == agent


def test_auditor_reads_the_request_as_of_a_past_moment_r62(
    page: Any, server: str, api: Api
) -> None:
    # Given a request opened, then answered "No refund" a day later, then escalated
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    opened_at = datetime.fromisoformat(api.now())
    api.advance("PT26H")
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{rid}/responses",
        {"type": "no_refund", "message": "As described.", "evidence": ["https://example.com/l"]},
    )
    sign_in(page, server, "auditor", new_user("auditor"))
    page.goto(f"{server}/app/requests/{rid}")
    expect(page.locator("#status-words")).to_contain_text("Waiting for the buyer")
    # When the auditor asks for the state an hour after the opening (the marketplace's time)
    local = (opened_at + timedelta(hours=1)).astimezone(ZoneInfo("America/New_York"))
    form = page.get_by_role("form", name="As of")
    form.get_by_label("As of").fill(local.strftime("%Y-%m-%dT%H:%M"))
    form.get_by_role("button", name="Show").click()
    # Then the page shows the status then and only the history until then, with its actors
    expect(page.locator("main")).to_contain_text("As it stood on")
    expect(page.locator("main")).to_contain_text("Waiting for the seller's response")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Request opened")
    expect(timeline).to_contain_text(f"Buyer {buyer}")
    expect(timeline).not_to_contain_text("No refund")
    then = api.call(
        "auditor", "a-1", "GET", f"/v1/support-requests/{rid}?as_of={local.isoformat()}"
    )
    assert then["status"] == "awaiting_seller"
    assert severe_violations(page) == []


def test_decisions_confirm_first_and_say_who_pays_r22_r34(page: Any, server: str, api: Api) -> None:
    # Given an escalated request
    _buyer, _seller, _order_id, rid = disputed_case(api)
    sign_in(page, server, "support", new_user("agent"))
    page.goto(f"{server}/app/requests/{rid}")
    # When the agent chooses Platform refund
    page.get_by_role("form", name="Platform refund", exact=True).get_by_role(
        "button", name="Platform refund", exact=True
    ).click()
    # Then a confirmation says what the buyer gets and that the platform pays, and nothing happened
    summary = page.locator("#confirm-summary")
    expect(summary).to_contain_text("The buyer gets $30.00 back. The platform pays")
    assert api.state(rid)["status"] == "escalated"
    assert severe_violations(page) == []
    # When they cancel and choose Refund instead, then confirm
    page.get_by_role("button", name="Cancel", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Request on order")
    assert api.state(rid)["status"] == "escalated"
    page.get_by_role("form", name="Refund", exact=True).get_by_role(
        "button", name="Refund", exact=True
    ).click()
    expect(summary).to_contain_text("The seller pays: $28.03")
    page.get_by_role("button", name="Confirm", exact=True).click()
    # Then the request is resolved with the seller's full refund
    expect(page.locator("#status-words")).to_contain_text("Resolved")
    state = api.state(rid)
    assert (state["status"], state["resolution"]) == ("resolved", "full_refund")


def test_signing_in_from_a_link_lands_on_that_page_b6(page: Any, server: str, api: Api) -> None:
    # Given a request and its link, as an e-mail carries it, opened while signed out
    buyer, seller = new_user("buyer"), new_user("seller")
    order_id = api.order(buyer, seller)
    rid = api.open(buyer, order_id)["id"]
    page.goto(f"{server}/app/requests/{rid}")
    # When the seller signs in on the page they were sent to
    expect(page.get_by_role("button", name="Sign in")).to_be_visible()
    page.get_by_label("Role").select_option("seller")
    page.get_by_label("User id").fill(seller)
    page.get_by_role("button", name="Sign in").click()
    # Then they land on that request, not on the inbox
    expect(page.get_by_role("heading", level=1)).to_contain_text(order_id)
    assert page.url.endswith(f"/app/requests/{rid}")
    # And a link that leaves the app is not followed
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{server}/app/?next=//evil.example/")
    page.get_by_label("Role").select_option("seller")
    page.get_by_label("User id").fill(seller)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("tab", name="Customer Service")).to_be_visible()


def test_queue_filters_mine_and_unassigned(page: Any, server: str, api: Api) -> None:
    # Given two escalated requests, one assigned to the agent
    _b1, _s1, taken_order, taken = disputed_case(api)
    _b2, _s2, free_order, free = disputed_case(api)
    agent = new_user("agent")
    api.call("support", agent, "POST", f"/v1/support-requests/{taken}/assign", {})
    api.wait_for_queue([taken], assigned_to=agent)
    api.wait_for_queue([free])
    sign_in(page, server, "support", agent)
    filters = page.get_by_role("navigation", name="Filters")
    # When the agent shows only theirs
    filters.get_by_role("link", name="Mine").click()
    # Then only the one assigned to them is listed
    expect(page.get_by_role("link", name=re.compile(taken_order))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(free_order))).to_have_count(0)
    # When they show the unassigned ones, the other is there and theirs is not
    filters.get_by_role("link", name="Unassigned").click()
    expect(page.get_by_role("link", name=re.compile(free_order))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(taken_order))).to_have_count(0)
    assert api.state(free)["assigned_to"] is None


def test_auditor_lists_requests_with_filters_and_downloads_the_csv(
    page: Any, server: str, api: Api
) -> None:
    # Given an escalated request and one waiting on its seller
    _b, _s, escalated_order, escalated = disputed_case(api)
    buyer, seller = new_user("buyer"), new_user("seller")
    waiting_order = api.order(buyer, seller)
    api.open(buyer, waiting_order)
    api.wait_for_queue([escalated])
    sign_in(page, server, "auditor", new_user("auditor"))
    # When the auditor lists the requests waiting on support
    page.get_by_role("link", name="Requests", exact=True).click()
    filters = page.get_by_role("form", name="Filters")
    filters.get_by_label("Waiting on").select_option("support")
    filters.get_by_role("button", name="Show").click()
    # Then the escalated one is listed and the waiting one is not
    expect(page.get_by_role("link", name=re.compile(escalated_order))).to_be_visible()
    expect(page.get_by_role("link", name=re.compile(waiting_order))).to_have_count(0)
    assert severe_violations(page) == []
    # And the CSV of that list is the API's, with the escalated request in it
    with page.expect_download() as download:
        page.get_by_role("link", name="CSV").click()
    csv = download.value.path().read_text()
    assert escalated in csv and escalated_order in csv
    assert waiting_order not in csv
