"""Files from the browser (issues 20 and 21): a buyer attaches a photo to a message and a seller
attaches evidence to a no-refund answer, through the web app's file inputs; the web app stores each
file through the public API with the user's token, and the API's history then references the
attachment by id. Checked through the API: the stored photo lost its GPS location (R5's photos
must not reveal a buyer's home) and is readable by the other party.
"""

from __future__ import annotations

import io
import re
from typing import Any

import httpx
from PIL import Image
from playwright.sync_api import expect

from tests.browser.conftest import Api, new_user, sign_in

GPS_IFD = 0x8825


def photo_with_location() -> bytes:
    """A small JPEG whose EXIF carries a GPS position, as a phone's camera writes it."""
    image = Image.new("RGB", (64, 48), (200, 40, 40))
    exif = Image.Exif()
    exif[GPS_IFD] = {1: "N", 2: (52.0, 22.0, 0.0), 3: "E", 4: (4.0, 53.0, 0.0)}
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def fetch(api: Api, role: str, user: str, path: str) -> httpx.Response:
    return httpx.get(f"{api.base}{path}", headers=api.auth(role, user), timeout=30)


def test_buyer_attaches_a_photo_to_a_message_and_its_location_is_gone(
    page: Any, server: str, api: Api
) -> None:
    # Given a buyer on the page of their open request
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    # When they write a message and attach a photo that carries GPS data
    form = page.get_by_role("form", name="Messages")
    form.get_by_label("Message").fill("The crease, photographed.")
    form.get_by_label("Attach files").set_input_files(
        {"name": "crease.jpg", "mimeType": "image/jpeg", "buffer": photo_with_location()}
    )
    form.get_by_role("button", name="Send").click()
    # Then the message shows with a link to the stored file
    expect(page.locator("#messages")).to_contain_text("The crease, photographed.")
    history = api.call("seller", seller, "GET", f"/v1/support-requests/{rid}/history")
    posted = [h["data"] for h in history if h["type"] == "message_posted"]
    assert [p["body"] for p in posted] == ["The crease, photographed."]
    (attachment_id,) = posted[0]["attachments"]
    stored_id = attachment_id.split("#")[0]  # recorded as `att_…#sha256=…`
    expect(page.locator(f'#messages a[href$="/attachments/{stored_id}"]')).to_have_count(1)
    # shown by name and as a thumbnail, never as the raw reference (B16)
    expect(page.locator("#messages")).not_to_contain_text("att_")
    expect(
        page.locator("#evidence").get_by_role("img", name="JPEG photo 1 from You")
    ).to_be_visible()
    # And the seller reads the photo through the API, without its location
    stored = fetch(api, "seller", seller, f"/v1/attachments/{attachment_id}")
    assert stored.status_code == 200
    assert stored.headers["content-type"].startswith("image/")
    assert GPS_IFD not in Image.open(io.BytesIO(stored.content)).getexif()


def test_seller_attaches_evidence_to_a_no_refund_answer_r17(
    page: Any, server: str, api: Api
) -> None:
    # Given a seller on a request that waits on their answer
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "seller", seller)
    page.goto(f"{server}/app/requests/{rid}")
    # When they answer "No refund" with an explanation and a photo of the listing as evidence
    form = page.get_by_role("form", name="No refund", exact=True)
    form.get_by_label("Message", exact=True).fill("The crease shows in the listing photos.")
    form.get_by_label("Evidence files").set_input_files(
        {"name": "listing.jpg", "mimeType": "image/jpeg", "buffer": photo_with_location()}
    )
    form.get_by_role("button", name="No refund", exact=True).click()
    # Then the request waits on the buyer and the answer's evidence is the stored file
    expect(page.get_by_role("status")).to_contain_text("Done.")
    history = api.call("buyer", buyer, "GET", f"/v1/support-requests/{rid}/history")
    (explained,) = [h["data"] for h in history if h["type"] == "no_refund_explained"]
    (evidence,) = explained["evidence"]
    attachment_id = evidence["id"] if isinstance(evidence, dict) else evidence
    assert fetch(api, "buyer", buyer, f"/v1/attachments/{attachment_id}").status_code == 200
    assert api.state(rid)["status"] == "awaiting_buyer"


def test_a_form_with_too_many_files_is_refused_with_the_limit(
    page: Any, server: str, api: Api
) -> None:
    # Given a buyer on their request page
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    sign_in(page, server, "buyer", buyer)
    page.goto(f"{server}/app/requests/{rid}")
    csrf = page.locator("form[aria-label=Messages] input[name=csrf]").input_value()
    # When the message form is posted (in the signed-in session) with six files
    files = {
        f"files{i}": {"name": f"p{i}.jpg", "mimeType": "image/jpeg", "buffer": b"x"}
        for i in range(6)
    }
    answer = page.request.post(
        f"{server}/app/requests/{rid}/messages",
        multipart={"csrf": csrf, "message": "Six photos.", **files},
        max_redirects=0,
    )
    # Then the web app answers 413 with the limit in words, and nothing was posted
    assert answer.status == 413
    assert re.search(r"Attach at most 5 files", answer.text())
    history = api.call("buyer", buyer, "GET", f"/v1/support-requests/{rid}/history")
    assert [h for h in history if h["type"] == "message_posted"] == []
