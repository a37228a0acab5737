"""What the request page adds for everyone who reads a case: the evidence of every step, the case
dossier (support, auditors), the request as it stood at a past moment (**As of**), and assigning
the request to oneself from the page (support).

Every read goes to the public API with the user's own token, so a person sees exactly what the API
shows them; the page holds no rule of its own about who may read what.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import httpx
from fastapi import APIRouter, Request
from fastapi.responses import Response, StreamingResponse
from starlette.background import BackgroundTask

from services.webapp.client import ApiClient, ApiError
from services.webapp.http import flash, read_form, redirect
from services.webapp.pages import evidence as rules
from services.webapp.pages.deps import User, api_of, call, page, path, soft, words
from shared.business_time import calendar_for

router = APIRouter()


async def _file_facts(api: ApiClient, token: str, attachment_id: str) -> dict[str, Any]:
    """A stored file's type and size, from the headers of its download (the body is not read)."""
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with api.http.stream(
            "GET", path("/v1/attachments", attachment_id), headers=headers
        ) as response:
            if response.status_code >= 400:
                return {"id": attachment_id, "readable": False}
            media_type = response.headers.get("content-type", "application/octet-stream")
            size = response.headers.get("content-length")
            return {
                "id": attachment_id,
                "readable": True,
                "media_type": media_type,
                "image": media_type.startswith("image/"),
                "bytes": int(size) if size and size.isdigit() else None,
            }
    except httpx.HTTPError:
        return {"id": attachment_id, "readable": False}


def _size(request: Request, size: int | None) -> str:
    _ = words(request)
    if size is None:
        return ""
    if size < 1024:
        return _("{n} bytes", n=size)
    if size < 1024 * 1024:
        return _("{n} KB", n=_.number(size / 1024, 0))
    return _("{n} MB", n=_.number(size / (1024 * 1024), 1))


@router.get("/requests/{request_id}/evidence")
async def evidence(request: Request, request_id: str, user: User) -> Response:
    """Every step's files and links; the request page loads it in place (a page of its own
    without JavaScript)."""
    base = path("/v1/support-requests", request_id)
    state, history = await asyncio.gather(
        call(request, api_of(request).get, base),
        call(request, api_of(request).get, base + "/history"),
    )
    steps = rules.steps_with_evidence(history)
    ids = rules.attachment_ids(steps)
    facts = await asyncio.gather(*(_file_facts(api_of(request), user["token"], i) for i in ids))
    files = {f["id"]: f for f in facts}
    for f in facts:
        f["kind"] = rules.file_kind(f.get("media_type", ""))
        f["size"] = _size(request, f.get("bytes"))
    return page(
        request,
        "evidence.html",
        "_evidence.html",
        state=state,
        steps=steps,
        files=files,
        zone=_zone_of(history),
        actor_parts=rules.actor_parts,
    )


def _zone_of(history: list[dict[str, Any]]) -> ZoneInfo:
    opened = history[0]["data"] if history and history[0]["type"] == "opened" else {}
    return ZoneInfo(calendar_for(opened.get("marketplace") or "US").zone)


@router.get("/requests/{request_id}/dossier")
async def dossier(request: Request, request_id: str, user: User) -> Response:
    """The case dossier PDF, streamed from the API with the user's token (support, auditors; the
    API refuses anyone else and the page shows its words)."""
    api = api_of(request)
    upstream = api.http.build_request(
        "GET",
        path("/v1/support-requests", request_id) + "/dossier",
        headers={"Authorization": f"Bearer {user['token']}", "Accept": "application/pdf"},
    )
    try:
        response = await api.http.send(upstream, stream=True)
    except httpx.HTTPError as error:
        raise ApiError(503, f"the service could not be reached ({error})") from None
    if response.status_code >= 400:
        await response.aread()
        await response.aclose()
        detail = ""
        try:
            detail = str(response.json().get("detail") or "")
        except ValueError:
            detail = response.text[:300]
        raise ApiError(response.status_code, detail or response.reason_phrase)
    headers = {
        "Content-Disposition": response.headers.get(
            "content-disposition", f'attachment; filename="dossier-{request_id}.pdf"'
        ),
        "Cache-Control": "private, no-store",
        "X-Content-Type-Options": "nosniff",
    }
    return StreamingResponse(
        response.aiter_raw(),
        media_type="application/pdf",
        headers=headers,
        background=BackgroundTask(response.aclose),
    )


@router.get("/requests/{request_id}/as-of")
async def as_of(request: Request, request_id: str, user: User, at: str = "") -> Response:
    """The request as it stood at `at` (a local date and time in the request's marketplace zone):
    the API's state `?as_of=` and the history up to that moment."""
    _ = words(request)
    base = path("/v1/support-requests", request_id)
    history = await call(request, api_of(request).get, base + "/history")
    zone = _zone_of(history)
    try:
        moment = datetime.fromisoformat(at.strip()[:32])
    except ValueError:
        flash(request, _("As of: type a date and time such as 2027-01-05 14:30."))
        return redirect(request, f"/requests/{request_id}")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    state = await soft(request, api_of(request).get, base, as_of=moment.isoformat())
    if isinstance(state, ApiError):
        flash(request, _("That was refused: {detail}", detail=state.detail))
        return redirect(request, f"/requests/{request_id}")
    then = [h for h in history if datetime.fromisoformat(h["at"]) <= moment]
    return page(
        request,
        "as_of.html",
        state=state,
        history=then,
        moment=moment,
        zone=zone,
        typed=at,
    )


@router.post("/requests/{request_id}/assign")
async def assign(request: Request, request_id: str, user: User) -> Response:
    """Support takes the request from its page; the page then shows the API's answer."""
    form = await read_form(request)
    _ = words(request)
    try:
        await call(
            request,
            api_of(request).post,
            path("/v1/support-requests", request_id) + "/assign",
            {"agent_id": user["sub"]},
            idempotency_key=form.get("idem") or None,
        )
    except ApiError as error:
        flash(request, _("That was refused: {detail}", detail=error.detail))
    else:
        flash(request, _("You are assigned to this request."), "success")
    return redirect(request, f"/requests/{request_id}")
