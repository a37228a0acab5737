"""A list of requests with the API's own filters, and its **CSV** (issue 29: the auditor's list;
the links behind the standing and performance figures open here).

Only the list API's filter names pass through; the API scopes the list to what the person may see
and validates every value (a bad one shows its words).
"""

from __future__ import annotations

from urllib.parse import urlencode, urlsplit

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from services.webapp.client import ApiError
from services.webapp.pages.deps import User, api_of, page, soft

router = APIRouter()

FILTERS = (
    "status",
    "reason",
    "resolution",
    "seller_id",
    "buyer_id",
    "order_id",
    "escalated",
    "escalated_by",
    "buyer_escalated",
    "waiting_on",
    "assigned_to",
    "due_before",
    "opened_after",
    "opened_before",
    "responded",
    "responded_in_time",
    "missed_deadline",
    "overturned",
    # R69: the standing figures' lists (`answer` repeatable: in_time, missed, pending)
    "answer",
    "escalated_unanswered",
    "q",
    "sort",
)


def filters_of(request: Request) -> list[tuple[str, str]]:
    return [
        (k, v[:500]) for k, v in request.query_params.multi_items() if k in FILTERS and v.strip()
    ][:40]


def app_link(api_url: str) -> str:
    """An API list URL (`/v1/support-requests?…`, as the standing figures give) as this page."""
    query = urlsplit(api_url).query
    return "/list?" + urlencode([(k, v) for k, v in _pairs(query) if k in FILTERS])


def _pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query, keep_blank_values=False)


@router.get("/list", response_class=HTMLResponse)
async def request_list(request: Request, user: User, cursor: str | None = None) -> Response:
    chosen = filters_of(request)
    params: dict[str, object] = {}
    for key, value in chosen:
        params.setdefault(key, [])
        params[key].append(value)  # type: ignore[attr-defined]
    found = await soft(
        request, api_of(request).get, "/v1/support-requests", limit=50, cursor=cursor, **params
    )
    return page(
        request,
        "request_list.html",
        results=found,
        chosen=chosen,
        query=urlencode(chosen),
    )


@router.get("/list.csv")
async def request_list_csv(request: Request, user: User) -> Response:
    """The whole list as the API's CSV, streamed with the user's token."""
    api = api_of(request)
    upstream = api.http.build_request(
        "GET",
        "/v1/support-requests",
        params=filters_of(request),
        headers={"Authorization": f"Bearer {user['token']}", "Accept": "text/csv"},
    )
    response = await api.http.send(upstream, stream=True)
    if response.status_code >= 400:
        await response.aread()
        await response.aclose()
        raise ApiError(response.status_code, response.text[:300])
    return StreamingResponse(
        response.aiter_raw(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="support-requests.csv"'},
        background=BackgroundTask(response.aclose),
    )
