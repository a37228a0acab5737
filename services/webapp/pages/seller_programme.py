"""The seller programme (issue 29 over issue 28's API): **Settings** — the return address (**Name**,
**Address line 1**, **City**, **Postal code**, **Country**, **Save**) and **Join the waitlist** while
not enrolled — and **Standing**: each figure, its standard, and the requests behind it.

`GET /v1/sellers/{id}/programme`, `PUT …/return-address`, `POST …/waitlist`,
`GET …/standing`, all with the seller's own token; a refusal shows the API's words (a 422 names the
field).
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from services.webapp.client import ApiError
from services.webapp.http import flash, read_form, redirect
from services.webapp.pages.deps import Seller, api_of, call, page, path, soft, words

router = APIRouter()

ADDRESS_FIELDS = ("name", "line1", "line2", "city", "region", "postal_code", "country")


def _seller_path(user: dict, suffix: str) -> str:
    return path("/v1/sellers", user["sub"]) + suffix


@router.get("/settings", response_class=HTMLResponse)
async def settings(request: Request, user: Seller) -> Response:
    programme = await soft(request, api_of(request).get, _seller_path(user, "/programme"))
    typed = request.state.session.pop("typed_address", None)
    return page(request, "settings.html", programme=programme, typed=typed)


@router.post("/settings/return-address")
async def save_return_address(request: Request, user: Seller) -> Response:
    form = await read_form(request)
    _ = words(request)
    address = {k: form.get(k, "").strip() for k in ADDRESS_FIELDS}
    # The API takes every field as a string ("" when left out: null is refused with a 422 on
    # line2) and the country as an upper-case ISO code, so "nl" typed by hand is "NL".
    body = {**address, "country": address["country"].upper()}
    try:
        await call(request, api_of(request).put, _seller_path(user, "/return-address"), body)
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
        request.state.session["typed_address"] = address  # shown again beside the API's words
    else:
        flash(request, _("Your return address is saved."), "success")
    return redirect(request, "/settings")


@router.post("/settings/waitlist")
async def join_waitlist(request: Request, user: Seller) -> Response:
    form = await read_form(request)
    _ = words(request)
    try:
        await call(
            request,
            api_of(request).post,
            _seller_path(user, "/waitlist"),
            None,
            idempotency_key=form.get("idem") or None,
        )
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
    else:
        flash(request, _("You are on the waitlist."), "success")
    return redirect(request, "/settings")


@router.get("/standing", response_class=HTMLResponse)
async def standing(request: Request, user: Seller) -> Response:
    found = await soft(request, api_of(request).get, _seller_path(user, "/standing"))
    return page(request, "standing.html", standing=found)
