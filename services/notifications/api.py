"""Notifications and inbox API (API.md, R50-R54).

The router reads the `NotificationsApplication` from `app.state.notifications` (the embedded and
distributed compositions put it there). Everything is the caller's own: another user's feed, inbox
or settings answers 404, exactly like an unknown one.

- `GET /v1/users/{user_id}/notifications`: the user's notifications, newest first.
- `GET /v1/users/{user_id}/notifications/stream`: server-sent events, one `notification` event per
  new in-app notification (`id:` is its stream position; `Last-Event-ID` resumes after it).
- `POST /v1/users/{user_id}/notifications/{id}/read`.
- `GET|PUT /v1/users/{user_id}/settings`: locale (`en`, `nl`) and e-mail address (R54).
- `GET /v1/inbox?tab=customer_service|all&archived=false&limit=20&cursor=…`: conversations by last
  activity, newest first; the next page's cursor is in `X-Next-Cursor` and a `Link: rel="next"`.
- `POST /v1/inbox/{request_id}/unread|read|archive|unarchive` (R51).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from services.notifications.application import (
    InvalidQuery,
    NotFound,
    NotificationsApplication,
    Viewer,
)
from shared.auth import ROLES, Principal, require_roles
from shared.bounds import MAX_POSITION, Position
from shared.consistency import reflecting_projection_of
from shared.problems import ProblemError, problem_responses

router = APIRouter(prefix="/v1", tags=["notifications"])
# API.md: a read given a command's Consistency-Token answers once it reflects it
READS_OWN_WRITES = reflecting_projection_of("notifications")

AnyCaller = Annotated[Principal, Depends(require_roles(*ROLES))]
InboxOwner = Annotated[Principal, Depends(require_roles("buyer", "seller"))]


# `async def` although it awaits nothing: FastAPI runs a plain `def` dependency in the thread
# pool, a thread hop (and GIL hand-off) per request.
async def _application(request: Request) -> NotificationsApplication:
    application = getattr(request.app.state, "notifications", None)
    if application is None:
        raise ProblemError(503, "the notifications service is not running in this process")
    return application


Notifications = Annotated[NotificationsApplication, Depends(_application)]


def _viewer(principal: Principal) -> Viewer:
    return Viewer(principal.role, principal.sub)


def _problem(error: Exception) -> ProblemError:
    if isinstance(error, NotFound):
        return ProblemError(404, str(error), slug="not-found")
    if isinstance(error, InvalidQuery):
        return ProblemError(422, str(error), slug="invalid-query")
    raise error


# --- models ----------------------------------------------------------------------------------------


class Delivery(BaseModel):
    status: Literal["pending", "sending", "sent", "failed", "rebuilt"] = Field(
        description="failed: the server refused it for good (5xx) or every retry failed; "
        "rebuilt: recorded by a rebuild from history (the replaced store had it to send)"
    )
    attempts: int
    error: str | None = Field(description="the server's reply to the last failed attempt")
    sent_at: datetime | None


class Notification(BaseModel):
    id: str
    kind: str
    channel: Literal["email", "in_app"]
    subject: str
    body: str
    request_id: str | None
    at: datetime
    read: bool
    locale: str = Field(description="the language it was written in (the recipient's setting)")
    delivery: Delivery | None = Field(
        default=None, description="e-mail only: whether the mail server accepted it, and if not why"
    )


class Conversation(BaseModel):
    request_id: str
    order_id: str
    role: Literal["buyer", "seller"] = Field(description="the caller's side in this request")
    counterpart_id: str
    last_activity_at: datetime
    last_message_at: datetime | None
    last_event: str
    unread: bool
    archived: bool
    tabs: list[Literal["customer_service", "all"]]


class InboxMark(BaseModel):
    request_id: str
    unread: bool
    archived: bool


class UserSettings(BaseModel):
    user_id: str
    locale: Literal["en", "nl"]
    email: str | None = Field(
        description="where e-mail goes; null: <user_id>@users.seller-support.invalid"
    )


class UserSettingsChange(BaseModel):
    locale: Literal["en", "nl"] | None = None
    email: str | None = Field(
        default=None, max_length=254, description='an address, or "" for the default'
    )


# --- the feed --------------------------------------------------------------------------------------


@router.get(
    "/users/{user_id}/notifications",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 404, 422),
    summary="A user's own notifications (e-mail and in-app), newest first",
)
def notifications(
    user_id: str,
    caller: AnyCaller,
    service: Notifications,
    response: Response,
    channel: Annotated[Literal["email", "in_app"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    before: Annotated[
        Position | None, Query(description="paging: a position from `X-Next-Before`")
    ] = None,
) -> list[Notification]:
    try:
        items = service.notifications(
            user_id, _viewer(caller), channel=channel, limit=limit, before=before
        )
    except (NotFound, InvalidQuery) as error:
        raise _problem(error) from None
    if len(items) == limit:  # a full page: the next one starts below its last notification
        response.headers["X-Next-Before"] = str(items[-1]["seq"])
    return [Notification(**i) for i in items]


@router.post(
    "/users/{user_id}/notifications/{notification_id}/read",
    status_code=status.HTTP_204_NO_CONTENT,
    responses=problem_responses(401, 404),
    summary="Mark one of your notifications read",
)
def mark_notification_read(
    user_id: str, notification_id: str, caller: AnyCaller, service: Notifications
) -> Response:
    try:
        service.mark_notification_read(user_id, _viewer(caller), notification_id)
    except NotFound as error:
        raise _problem(error) from None
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/users/{user_id}/notifications/stream",
    responses={
        **problem_responses(401, 404),
        200: {"content": {"text/event-stream": {}}, "description": "server-sent events"},
    },
    response_class=StreamingResponse,
    summary="Live: your new in-app notifications as server-sent events",
)
async def notification_stream(
    user_id: str,
    request: Request,
    caller: AnyCaller,
    service: Notifications,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", max_length=64)] = None,
) -> StreamingResponse:
    viewer = _viewer(caller)
    if not service.may_read_feed(viewer, user_id):
        raise ProblemError(404, f"no notifications of user {user_id} for you", slug="not-found")
    if last_event_id is not None and last_event_id.strip().isdigit():
        start = int(last_event_id.strip())
        if start > MAX_POSITION:
            raise ProblemError(
                422,
                f"header parameter Last-Event-ID: must be at most {MAX_POSITION}",
                slug="invalid-input",
            )
    else:
        start = await asyncio.to_thread(service.latest_seq, user_id)
    settings = service.settings
    return StreamingResponse(
        _events(
            request,
            service,
            viewer,
            user_id,
            start,
            settings.stream_poll_seconds,
            settings.stream_heartbeat_seconds,
        ),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _events(
    request: Request,
    service: NotificationsApplication,
    viewer: Viewer,
    user_id: str,
    position: int,
    poll: float,
    heartbeat: float,
) -> AsyncIterator[str]:
    yield f"retry: 3000\n: stream of {user_id}'s notifications from position {position}\n\n"
    beat = time.monotonic()
    while not await request.is_disconnected():
        batch = await asyncio.to_thread(service.in_app_since, user_id, viewer, position)
        for seq, item in batch:
            data = json.dumps(jsonable_encoder(item), separators=(",", ":"))
            yield f"id: {seq}\nevent: notification\ndata: {data}\n\n"
            position = seq
        if time.monotonic() - beat >= heartbeat:
            beat = time.monotonic()
            yield ": keep-alive\n\n"
        await asyncio.sleep(poll)


# --- settings (R54) --------------------------------------------------------------------------------


@router.get(
    "/users/{user_id}/settings",
    responses=problem_responses(401, 404),
    summary="Your notification settings: locale and e-mail address",
)
def get_settings(user_id: str, caller: AnyCaller, service: Notifications) -> UserSettings:
    try:
        return UserSettings(**service.preferences(user_id, _viewer(caller)))
    except NotFound as error:
        raise _problem(error) from None


@router.put(
    "/users/{user_id}/settings",
    responses=problem_responses(401, 404, 422),
    summary="Change your locale (en, nl) or e-mail address",
)
def put_settings(
    user_id: str, body: UserSettingsChange, caller: AnyCaller, service: Notifications
) -> UserSettings:
    try:
        return UserSettings(
            **service.set_preferences(
                user_id, _viewer(caller), locale=body.locale, email=body.email
            )
        )
    except (NotFound, InvalidQuery) as error:
        raise _problem(error) from None


# --- the inbox (R50, R51) --------------------------------------------------------------------------


@router.get(
    "/inbox",
    dependencies=[READS_OWN_WRITES],
    responses=problem_responses(401, 403, 422),
    summary="The caller's inbox: Customer Service tab (requests about their sales) or All Messages",
)
def inbox(
    request: Request,
    response: Response,
    caller: InboxOwner,
    service: Notifications,
    tab: Annotated[Literal["customer_service", "all"], Query()] = "all",
    archived: Annotated[bool, Query(description="list the archived conversations instead")] = False,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[
        str | None, Query(max_length=1024, description="from `X-Next-Cursor`")
    ] = None,
) -> list[Conversation]:
    try:
        page = service.inbox(
            _viewer(caller), tab=tab, archived=archived, limit=limit, cursor=cursor
        )
    except InvalidQuery as error:
        raise _problem(error) from None
    if page.next_cursor is not None:
        response.headers["X-Next-Cursor"] = page.next_cursor
        following = request.url.include_query_params(cursor=page.next_cursor)
        response.headers["Link"] = f'<{following}>; rel="next"'
    return [Conversation(**i) for i in page.items]


def _mark(service: NotificationsApplication, caller: Principal, request_id: str, how: str) -> Any:
    try:
        view = getattr(service, how)(_viewer(caller), request_id)
    except NotFound as error:
        raise _problem(error) from None
    return InboxMark(request_id=request_id, unread=view["unread"], archived=view["archived"])


@router.post(
    "/inbox/{request_id}/unread",
    responses=problem_responses(401, 403, 404),
    summary="Mark a conversation unread (R51)",
)
def mark_unread(request_id: str, caller: InboxOwner, service: Notifications) -> InboxMark:
    return _mark(service, caller, request_id, "mark_unread")


@router.post(
    "/inbox/{request_id}/read",
    responses=problem_responses(401, 403, 404),
    summary="Mark a conversation read",
)
def mark_read(request_id: str, caller: InboxOwner, service: Notifications) -> InboxMark:
    return _mark(service, caller, request_id, "mark_read")


@router.post(
    "/inbox/{request_id}/archive",
    responses=problem_responses(401, 403, 404),
    summary="Archive a conversation (R51: a new message brings it back)",
)
def archive(request_id: str, caller: InboxOwner, service: Notifications) -> InboxMark:
    return _mark(service, caller, request_id, "archive")


@router.post(
    "/inbox/{request_id}/unarchive",
    responses=problem_responses(401, 403, 404),
    summary="Move an archived conversation back into the inbox",
)
def unarchive(request_id: str, caller: InboxOwner, service: Notifications) -> InboxMark:
    return _mark(service, caller, request_id, "unarchive")
