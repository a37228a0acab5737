"""Every page of the web app with realistic data, for the accessibility test and `make screenshots`.

`seed(api)` makes one seller with requests in several states (one waiting, one with an offer, one
escalated, one resolved with a ledger entry); `every_page(...)` signs in as each person and yields
`(name, page)` on each page in turn.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from tests.browser.conftest import Api, new_user, sign_in


@dataclass
class Seeded:
    buyer: str
    seller: str
    waiting: str
    offer: str
    escalated: str
    resolved: str
    order_of: dict[str, str]
    fresh_order: str = ""  # delivered, no request yet: the buyer's Get help page


def seed(api: Api) -> Seeded:
    buyer, seller = new_user("buyer"), new_user("seller")
    ids: dict[str, str] = {}
    order_of: dict[str, str] = {}
    for name in ("escalated", "resolved", "offer", "waiting"):
        order_id = api.order(buyer, seller)
        ids[name] = api.open(buyer, order_id)["id"]
        order_of[ids[name]] = order_id
        if name == "escalated":
            api.advance("P7D")
            api.call(
                "buyer",
                buyer,
                "POST",
                f"/v1/support-requests/{ids[name]}/escalate",
                {"reason": "No answer."},
            )
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{ids['resolved']}/responses",
        {"type": "full_refund"},
    )
    api.call(
        "seller",
        seller,
        "POST",
        f"/v1/support-requests/{ids['offer']}/responses",
        {"type": "partial_refund", "amount": 1250},
    )
    api.call(
        "buyer",
        buyer,
        "POST",
        f"/v1/support-requests/{ids['waiting']}/messages",
        {"body": "Photo attached.", "attachments": ["https://photos.example/back.jpg"]},
    )
    return Seeded(
        buyer,
        seller,
        ids["waiting"],
        ids["offer"],
        ids["escalated"],
        ids["resolved"],
        order_of,
        fresh_order=api.order(buyer, seller),
    )


def every_page(page: Any, base: str, data: Seeded) -> Iterator[tuple[str, Any]]:
    page.goto(f"{base}/app/")
    yield "sign-in", page
    sign_in(page, base, "seller", data.seller)
    page.wait_for_selector("#inbox-rows")
    yield "inbox", page
    page.goto(f"{base}/app/requests/{data.waiting}")
    yield "request-seller", page
    page.goto(f"{base}/app/requests/{data.waiting}/confirm?action=full_refund")
    yield "confirm-full-refund", page
    for name in ("ledger", "rating", "performance", "notifications", "standing", "settings"):
        page.goto(f"{base}/app/{name}")
        yield name, page
    page.goto(f"{base}/app/requests/{data.waiting}/nope")
    yield "not-found", page
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "buyer", data.buyer)
    page.goto(f"{base}/app/requests/{data.offer}")
    yield "request-buyer", page
    page.goto(f"{base}/app/orders")
    yield "orders", page
    page.goto(f"{base}/app/orders/{data.fresh_order}")
    yield "get-help", page
    page.goto(f"{base}/app/inbox?tab=all")
    page.get_by_label("Language").select_option("nl")
    page.get_by_role("button", name="Change").click()
    page.wait_for_selector("html[lang=nl]")
    yield "inbox-nl", page
    page.goto(f"{base}/app/orders/{data.fresh_order}")
    yield "get-help-nl", page
    page.goto(f"{base}/app/notifications")
    yield "notifications-nl", page
    page.get_by_label("Taal").select_option("en")
    page.get_by_role("button", name="Wijzig").click()
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "support", new_user("agent"))
    yield "queue", page
    page.goto(f"{base}/app/requests/{data.escalated}")
    yield "request-support", page
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, base, "auditor", new_user("auditor"))
    page.goto(f"{base}/app/search?q={data.order_of[data.resolved]}")
    yield "search", page
    page.goto(f"{base}/app/requests/{data.escalated}")
    page.wait_for_selector("#evidence-list ol, #evidence-list p")
    yield "request-auditor", page
    page.goto(f"{base}/app/requests/{data.escalated}/as-of?at=2020-01-01T00:00")
    yield "request-as-of", page
