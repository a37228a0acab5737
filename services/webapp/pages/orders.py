"""Orders (issue 29, over issue 25's API): the buyer starts here — **Orders** → the order page →
**Get help** → the new request's page — and asks for a cancellation; the seller answers one.

Everything shown comes from `GET /v1/orders` and `GET /v1/orders/{id}` with the user's token: each
item's refunded amount, whether help can be asked now and why not (`can_open_request`, `why_not`),
the shipment, the requests on the order. The API decides what may be done; a refusal shows its
words.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from starlette.datastructures import UploadFile

from services.webapp.client import ApiError
from services.webapp.http import flash, read_form, read_upload_form, redirect
from services.webapp.i18n import REASON_WORDS
from services.webapp.pages.deps import User, api_of, call, page, path, soft, webapp_of, words

router = APIRouter()

PAGE = 20


def _order_path(order_id: str) -> str:
    return path("/v1/orders", order_id)


def _back(order_id: str) -> str:
    return f"/orders/{quote(order_id, safe='')}"


@router.get("/orders", response_class=HTMLResponse)
async def orders(request: Request, user: User, cursor: str | None = None) -> Response:
    found = await soft(request, api_of(request).get, "/v1/orders", limit=PAGE, cursor=cursor)
    return page(request, "orders.html", orders=found)


@router.get("/orders/{order_id}", response_class=HTMLResponse)
async def order(request: Request, order_id: str, user: User) -> Response:
    found = await call(request, api_of(request).get, _order_path(order_id))
    return page(request, "order.html", order=found, REASONS=list(REASON_WORDS))


@router.get("/orders/{order_id}/shipment", response_class=HTMLResponse)
async def shipment(request: Request, order_id: str, user: User) -> Response:
    """The original shipment, for the request page (loaded in place)."""
    found = await soft(request, api_of(request).get, _order_path(order_id))
    return page(request, "_shipment.html", order=found if isinstance(found, dict) else None)


async def _upload(request: Request, files: list[UploadFile]) -> list[str]:
    ids = []
    try:
        for file in files:
            stored = await call(
                request,
                api_of(request).upload,
                file.filename or "photo",
                file.file,
                file.content_type or "application/octet-stream",
            )
            ids.append(stored["id"])
    finally:
        for file in files:
            await file.close()
    return ids


@router.post("/orders/{order_id}/help")
async def get_help(request: Request, order_id: str, user: User) -> Response:
    """Get help: the chosen items, the reason, the description and photos become a support request
    (`POST /v1/support-requests`); the buyer lands on its page."""
    webapp = webapp_of(request)
    _ = words(request)
    form, files = await read_upload_form(request, webapp.upload_max_bytes, webapp.upload_max_files)
    item_ids = [v for k, v in form.items() if k.startswith("item:")]
    try:
        photos = await _upload(request, files)
        opened = await call(
            request,
            api_of(request).post,
            "/v1/support-requests",
            {
                "order_id": order_id,
                "item_ids": item_ids,
                "reason": form.get("reason", ""),
                "description": form.get("description", ""),
                "photos": photos,
            },
            idempotency_key=form.get("idem") or None,
        )
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
        return redirect(request, _back(order_id) + "#get-help")
    flash(request, _("Your request was sent."), "success")
    return redirect(request, f"/requests/{quote(opened['id'], safe='')}")


@router.post("/orders/{order_id}/cancellation")
async def request_cancellation(request: Request, order_id: str, user: User) -> Response:
    form = await read_form(request)
    _ = words(request)
    try:
        await call(
            request,
            api_of(request).post,
            _order_path(order_id) + "/cancellation-request",
            {"reason": form.get("reason", "")},
            idempotency_key=form.get("idem") or None,
        )
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
    else:
        flash(request, _("Your cancellation request was sent to the seller."), "success")
    return redirect(request, _back(order_id))


@router.post("/orders/{order_id}/cancellation/{answer}")
async def answer_cancellation(request: Request, order_id: str, answer: str, user: User) -> Response:
    form = await read_form(request)
    _ = words(request)
    if answer not in ("accept", "decline"):
        return redirect(request, _back(order_id))
    try:
        await call(
            request,
            api_of(request).post,
            _order_path(order_id) + f"/cancellation-request/{answer}",
            None,
            idempotency_key=form.get("idem") or None,
        )
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
    else:
        flash(request, _("Done."), "success")
    return redirect(request, _safe(form.get("next"), _back(order_id)))


def _safe(target: str | None, fallback: str) -> str:
    if target and target.startswith("/requests/") and "//" not in target:
        return target
    return fallback


def item_help(item: dict[str, Any]) -> bool:
    """Whether the API says help can be asked for this item now."""
    return bool(item.get("can_open_request"))
