"""The notifications page: short summaries, unread marks, paging, and the unread count in the
navigation (finding B21: the feed rendered whole e-mails, with no unread state, badge or paging).

Each entry is the notification's subject and when it came, linked to its request; opening it
marks it read (`POST /v1/users/{id}/notifications/{nid}/read`). Pages of 20 follow the API's
`X-Next-Before` position. The navigation's count is a fragment loaded after the page, so no page
waits for it.
"""

from __future__ import annotations

from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.webapp.client import ApiError
from services.webapp.http import redirect
from services.webapp.pages.deps import User, api_of, call, page, path, soft

router = APIRouter()

PAGE = 20
COUNTED = 100  # the badge counts unread among the newest this many (then "99+")


def _feed(user_id: str) -> str:
    return path("/v1/users", user_id) + "/notifications"


@router.get("/notifications", response_class=HTMLResponse)
async def notifications(request: Request, user: User, before: int | None = None) -> Response:
    try:
        response = await call(
            request,
            api_of(request).call,
            "GET",
            _feed(user["sub"]),
            params={"channel": "in_app", "limit": PAGE, "before": before},
        )
        items, after = response.json(), response.headers.get("X-Next-Before")
    except ApiError as error:
        items, after = error, None
    return page(
        request,
        "notifications.html",
        "_notifications_feed.html",
        notifications=items,
        next_before=after,
        paged=before is not None,
    )


@router.get("/notifications/unread-count", response_class=HTMLResponse)
async def unread_count(request: Request, user: User) -> Response:
    items = await soft(
        request, api_of(request).get, _feed(user["sub"]), channel="in_app", limit=COUNTED
    )
    count = sum(1 for n in items if not n.get("read")) if isinstance(items, list) else 0
    return page(request, "_unread_count.html", count=count, more=count >= COUNTED)


@router.get("/notifications/{notification_id}/open")
async def open_notification(
    request: Request, notification_id: str, user: User, request_id: str = ""
) -> Response:
    """Marks the notification read and goes to its request (or back to the feed). Reading one's
    own notification changes nothing anyone else sees, so a link does it."""
    await soft(
        request,
        api_of(request).post,
        f"{_feed(user['sub'])}/{quote(notification_id, safe='')}/read",
    )
    if request_id:
        return redirect(request, f"/requests/{quote(request_id, safe='')}")
    return redirect(request, "/notifications")


@router.get("/inbox/csat", response_class=HTMLResponse)
async def csat(request: Request, user: User) -> Response:
    """The seller's customer-satisfaction score for the Customer Service tab (the help article
    puts it there), loaded after the inbox; from the seller's own support rating."""
    rating = None
    if user["role"] == "seller":
        rating = await soft(
            request,
            api_of(request).get,
            path("/v1/sellers", user["sub"]) + "/support-rating",
        )
    found = rating.get("csat") if isinstance(rating, dict) else None
    return page(request, "_csat.html", csat=found if isinstance(found, dict) else None)
