"""Routes of the web app (mounted at `/app`): pages, forms, the live stream, the session.

Every page reads through `ApiClient` with the signed-in user's token; every form is a POST with a
CSRF token that answers with a redirect (post/redirect/get), so a page works with and without
htmx. A refused command comes back as a flash message carrying the API's `detail`.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
import secrets
from collections.abc import Awaitable, Callable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode
from uuid import uuid4
from zoneinfo import ZoneInfo

import jwt
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.datastructures import UploadFile
from starlette.exceptions import HTTPException

from services.webapp.attachment_proxy import proxy_file
from services.webapp.client import ApiClient, ApiError
from services.webapp.i18n import (
    ACTOR_WORDS,
    DEADLINE_WORDS,
    EVENT_WORDS,
    LANGUAGE_NAMES,
    LOCALES,
    OFFER_WORDS,
    REASON_WORDS,
    RESOLUTION_WORDS,
    STATUS_WORDS,
    Translator,
    currency_digits,
    pick_locale,
)
from services.webapp.sessions import SessionRegistry
from services.webapp.views import (
    Action,
    InvalidInput,
    actions_for,
    command_for,
    may_message,
    next_deadline,
    status_key,
    waits_on,
)
from shared.auth import ROLES, TokenCodec, valid_subject
from shared.business_time import calendar_for

log = logging.getLogger("seller_support.webapp")

HERE = Path(__file__).parent
COOKIE = "seller_support_session"
SIGN_IN_ROLES = ("buyer", "seller", "support", "auditor")
MAX_FORM_BYTES = 64 * 1024
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
INBOX_PAGE = 20
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)


class SignedOut(Exception):
    """No (or an expired) session: the person is sent to the sign-in page."""


class Forbidden(Exception):
    """A form without a valid CSRF token, or a page for another role."""


class TooLarge(Exception):
    """A form with files larger (or with more files) than the web app takes."""


class WebApp:
    """What the routes share: settings, the API client, the token codec, the clock, templates."""

    def __init__(
        self,
        *,
        api: ApiClient,
        codec: TokenCodec,
        production: bool,
        session_secret: str,
        session_hours: int,
        now: Callable[[], datetime],
        upload_max_bytes: int = 51 * 1024 * 1024,
        upload_max_files: int = 5,
        session_idle_seconds: float = 2 * 3600,
    ) -> None:
        self.api = api
        # signed-in sessions, revocable (sessions.py, issue 26)
        self.sessions = SessionRegistry(session_idle_seconds)
        self.upload_max_bytes = upload_max_bytes
        self.upload_max_files = upload_max_files
        self.codec = codec
        self.production = production
        self.session_hours = session_hours
        self.now = now
        # POST /v1/support-requests/{id}/assign (issue 19, the requests service).
        self.assign_enabled = True
        self.signer = URLSafeTimedSerializer(session_secret, salt="seller-support-webapp")
        self.templates = Jinja2Templates(directory=str(HERE / "templates"))
        self.templates.env.globals.update(
            upload_max_files=upload_max_files,
            LANGUAGE_NAMES=LANGUAGE_NAMES,
            STATUS_WORDS=STATUS_WORDS,
            OFFER_WORDS=OFFER_WORDS,
            RESOLUTION_WORDS=RESOLUTION_WORDS,
            REASON_WORDS=REASON_WORDS,
            DEADLINE_WORDS=DEADLINE_WORDS,
            EVENT_WORDS=EVENT_WORDS,
            ACTOR_WORDS=ACTOR_WORDS,
            Action=Action,
            status_key=status_key,
            SIGN_IN_ROLES=SIGN_IN_ROLES,
        )


# --- session ---------------------------------------------------------------------------------------


def load_session(webapp: WebApp, request: Request) -> str:
    """Puts the session on `request.state.session`; returns its JSON as the cookie had it ("" for
    none), so that only a changed session is written back."""
    raw = request.cookies.get(COOKIE)
    data: Any = {}
    if raw:
        try:
            data = webapp.signer.loads(raw, max_age=webapp.session_hours * 3600)
        except BadSignature:
            data = {}
    if not isinstance(data, dict):
        data = {}
    if data.get("token") and not webapp.sessions.touch(data.get("sid")):
        # signed out, idle too long, or unknown here: the cookie is no session (issue 26)
        data = {k: v for k, v in data.items() if k == "locale"}
    before = json.dumps(data, sort_keys=True) if data else ""
    data.setdefault("csrf", secrets.token_urlsafe(24))
    request.state.session = data
    return before


def store_session(webapp: WebApp, request: Request, response: Response) -> None:
    data = request.state.session
    secure = request.url.hostname not in LOCAL_HOSTS
    response.set_cookie(
        COOKIE,
        webapp.signer.dumps(data),
        path=_root(request) + "/",
        httponly=True,
        secure=secure,
        samesite="lax",
    )


def _root(request: Request) -> str:
    return request.scope.get("root_path", "").rstrip("/")


def session_of(request: Request) -> dict[str, Any]:
    return request.state.session


def user_of(request: Request) -> dict[str, Any]:
    session = session_of(request)
    if not session.get("token"):
        raise SignedOut()
    return session


def translator(request: Request) -> Translator:
    session = session_of(request)
    return Translator(pick_locale(session.get("locale"), request.headers.get("accept-language")))


def flash(request: Request, text: str, kind: str = "error") -> None:
    session_of(request)["flash"] = {"text": text, "kind": kind}


def redirect(request: Request, path: str) -> RedirectResponse:
    return RedirectResponse(_root(request) + path, status_code=303)


def _safe_next(request: Request, target: str | None, fallback: str) -> str:
    root = _root(request)
    if target and target.startswith(root + "/") and "//" not in target[len(root) :]:
        return target[len(root) :]
    return fallback


def home_of(role: str) -> str:
    return {"support": "/queue", "auditor": "/search"}.get(role, "/inbox")


async def read_form(request: Request) -> dict[str, str]:
    """The urlencoded form, bounded, with its CSRF token checked."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise Forbidden("the form is too large")
    form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    expected = session_of(request).get("csrf", "")
    if not expected or not hmac.compare_digest(form.get("csrf", ""), expected):
        raise Forbidden("csrf")
    return form


async def read_upload_form(
    request: Request, max_bytes: int, max_files: int
) -> tuple[dict[str, str], list[UploadFile]]:
    """A form that may carry files (`multipart/form-data`): its fields with the CSRF token checked,
    and its non-empty files. The declared length is checked before anything is read, so a body
    over the limit is refused without being stored; Starlette spools each file to a temporary file
    beyond 1 MB, so a file is never held whole in memory."""
    if not request.headers.get("content-type", "").startswith("multipart/form-data"):
        return await read_form(request), []
    try:
        length = int(request.headers.get("content-length", ""))
    except ValueError:
        raise TooLarge("length") from None
    if length > max_bytes:
        raise TooLarge("bytes")
    try:
        parsed = await request.form(max_files=max_files, max_fields=50, max_part_size=64 * 1024)
    except HTTPException as error:  # too many files or fields, a field over its size
        raise TooLarge("parts") from error
    fields = {k: v for k, v in parsed.multi_items() if isinstance(v, str)}
    expected = session_of(request).get("csrf", "")
    if not expected or not hmac.compare_digest(fields.get("csrf", ""), expected):
        raise Forbidden("csrf")
    files = [
        v for _k, v in parsed.multi_items() if isinstance(v, UploadFile) and v.filename and v.size
    ]
    return fields, files


def render(
    webapp: WebApp,
    request: Request,
    template: str,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    session = session_of(request)
    _ = translator(request)
    message = session.pop("flash", None)
    page = {
        "request": request,
        "_": _,
        "lang": _.locale,
        "root": _root(request),
        "csrf": session["csrf"],
        "user": session if session.get("token") else None,
        "flash": message,
        "idem": uuid4().hex,
        "production": webapp.production,
        "path": request.url.path,
        "query": request.url.query,
        # Lists without a marketplace of their own show times in the locale's home marketplace.
        "zone": ZoneInfo(calendar_for("NL" if _.locale == "nl" else "US").zone),
        **context,
    }
    return webapp.templates.TemplateResponse(request, template, page, status_code=status_code)


# --- the router ------------------------------------------------------------------------------------


def build_router(webapp: WebApp) -> APIRouter:
    router = APIRouter()
    api = webapp.api

    async def call(
        request: Request, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
    ) -> Any:
        user = user_of(request)
        if fn in (api.get, api.post, api.put):
            # reads reflect this person's own last command (API.md, issue 27: B3)
            kw.setdefault("session", session_of(request))
        try:
            return await fn(*args, token=user["token"], **kw)
        except ApiError as error:
            if error.status == 401:
                session_of(request).clear()
                raise SignedOut() from None
            raise

    async def upload(request: Request, files: list[UploadFile]) -> list[str]:
        """Each file stored by the API (`POST /v1/attachments`, which checks its type, size and
        the user's quota) with the user's token; their attachment ids, in order."""
        ids = []
        try:
            for file in files:
                stored = await call(
                    request,
                    api.upload,
                    file.filename or "file",
                    file.file,
                    file.content_type or "application/octet-stream",
                )
                ids.append(stored["id"])
        finally:  # the spooled temporary files go now, not when the request object is collected
            for file in files:
                await file.close()
        return ids

    async def soft(
        request: Request, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any
    ) -> Any:
        """A read whose failure the page shows in place (e.g. an endpoint not deployed)."""
        try:
            return await call(request, fn, *args, **kw)
        except ApiError as error:  # a 401 has become SignedOut in `call`
            return error

    # --- sign-in / out / language ---

    @router.get("/", response_class=HTMLResponse)
    async def start(request: Request) -> Response:
        session = session_of(request)
        if session.get("token"):
            return redirect(request, home_of(session["role"]))
        return render(webapp, request, "signin.html")

    @router.post("/sign-in")
    async def sign_in(request: Request) -> Response:
        form = await read_form(request)
        _ = translator(request)
        if webapp.production:
            token = form.get("token", "").strip()
            try:
                claims = jwt.decode(token, options={"verify_signature": False})
                role, sub = str(claims.get("role", "")), str(claims.get("sub", ""))
            except jwt.PyJWTError as error:
                flash(request, _("That token was refused: {detail}", detail=str(error)))
                return redirect(request, "/")
        else:
            role, sub = form.get("role", ""), form.get("user_id", "").strip()[:200]
            if role not in SIGN_IN_ROLES or not valid_subject(sub):  # an id (issue 26)
                flash(request, _("Type a user id."))
                return redirect(request, "/")
            token = webapp.codec.encode(
                sub=sub, role=role, ttl=timedelta(hours=webapp.session_hours), now=datetime.now(UTC)
            )
        if role not in ROLES:
            flash(request, _("That token was refused: {detail}", detail="role"))
            return redirect(request, "/")
        try:
            settings = await api.get(f"/v1/users/{quote(sub, safe='')}/settings", token=token)
        except ApiError as error:
            flash(request, _("That token was refused: {detail}", detail=error.detail))
            return redirect(request, "/")
        session = session_of(request)
        chosen = session.get("locale")
        session.clear()
        webapp.sessions.end(session.get("sid"))
        session.update(
            sid=webapp.sessions.start(),
            token=token,
            role=role,
            sub=sub,
            csrf=secrets.token_urlsafe(24),
            locale=chosen or settings.get("locale") or "en",
        )
        if chosen and chosen != settings.get("locale"):
            await _save_locale(request, chosen)
        return redirect(request, _safe_next(request, form.get("next"), home_of(role)))

    @router.post("/sign-out")
    async def sign_out(request: Request) -> Response:
        await read_form(request)
        webapp.sessions.end(session_of(request).get("sid"))  # a replayed cookie is dead too
        request.state.session = {"csrf": secrets.token_urlsafe(24)}
        response = redirect(request, "/")
        response.delete_cookie(COOKIE, path=_root(request) + "/")
        request.state.clear_cookie = True
        return response

    async def _save_locale(request: Request, locale: str) -> None:
        session = session_of(request)
        if session.get("token"):
            try:
                await api.put(
                    f"/v1/users/{quote(session['sub'], safe='')}/settings",
                    {"locale": locale},
                    token=session["token"],
                )
            except ApiError as error:  # the page still switches; the setting is best effort
                log.warning("saving the locale failed: %s", error.detail)

    @router.post("/language")
    async def language(request: Request) -> Response:
        form = await read_form(request)
        locale = form.get("locale", "")
        if locale in LOCALES:
            session_of(request)["locale"] = locale
            await _save_locale(request, locale)
        return redirect(request, _safe_next(request, form.get("next"), "/"))

    # --- inbox ---

    async def _inbox_rows(
        request: Request, tab: str, archived: bool, cursor: str | None
    ) -> dict[str, Any]:
        """The inbox page (notifications service) with each conversation's state and what waits
        on this person in all (the request list of the search service, issue 19), read at once."""
        user = user_of(request)
        mine = {f"{user['role']}_id": user["sub"]}
        inbox, recent, waiting_list, archived_rows = await asyncio.gather(
            call(
                request,
                api.call,
                "GET",
                "/v1/inbox",
                params={
                    "tab": tab,
                    "archived": "true" if archived else "false",
                    "limit": INBOX_PAGE,
                    "cursor": cursor,
                },
            ),
            soft(
                request,
                api.get,
                "/v1/support-requests",
                sort="-last_activity_at",
                limit=3 * INBOX_PAGE,
                **mine,
            ),
            soft(
                request, api.get, "/v1/support-requests", waiting_on=user["role"], limit=100, **mine
            ),
            # What waits on you leaves archived conversations out (finding B20).
            soft(
                request,
                api.get,
                "/v1/inbox",
                tab="all",
                archived="true",
                limit=100,
            ),
        )
        rows = inbox.json()
        known = {i["id"]: i for i in recent["items"]} if isinstance(recent, dict) else {}
        # A conversation the list does not have yet (or an older page): its own state.
        missing = [r for r in rows if r["request_id"] not in known]
        fetched = await asyncio.gather(
            *(
                soft(request, api.get, f"/v1/support-requests/{quote(r['request_id'], safe='')}")
                for r in missing
            )
        )
        known.update({r["request_id"]: f for r, f in zip(missing, fetched, strict=True)})
        now = webapp.now()
        for row in rows:
            state = known.get(row["request_id"])
            row["state"] = state if isinstance(state, dict) else None
            row["waits_on_me"] = waits_on(row["state"]) == row.get("role") == user["role"]
            row["overdue"] = _overdue(row["state"], str(row.get("last_event", "")), now)
        if isinstance(waiting_list, dict):
            hidden = (
                {r["request_id"] for r in archived_rows}
                if isinstance(archived_rows, list)
                else set()
            )
            count = sum(1 for i in waiting_list["items"] if i["id"] not in hidden)
            more = "+" if waiting_list.get("next_cursor") else ""
            waiting = f"{count}{more}"
        else:
            waiting = str(sum(r["waits_on_me"] for r in rows))
        return {
            "rows": rows,
            "waiting": waiting,
            "next_cursor": inbox.headers.get("X-Next-Cursor"),
        }

    def _tab(value: str | None) -> str:
        return value if value in ("customer_service", "all") else "customer_service"

    @router.get("/inbox", response_class=HTMLResponse)
    async def inbox(
        request: Request,
        tab: str | None = None,
        archived: bool = False,
        cursor: str | None = None,
        show: str = "",
    ) -> Response:
        user = user_of(request)
        if user["role"] not in ("buyer", "seller"):
            return redirect(request, home_of(user["role"]))
        chosen = _tab(tab if tab else ("customer_service" if user["role"] == "seller" else "all"))
        data = await _inbox_rows(request, chosen, archived, cursor)
        show = show if show in ("waiting", "overdue") else ""
        if show:  # the filters narrow the page the inbox API gave
            key = "waits_on_me" if show == "waiting" else "overdue"
            data["rows"] = [r for r in data["rows"] if r[key]]
        data["show"] = show
        template = (
            "_inbox_rows.html"
            if request.headers.get("HX-Request") and request.query_params.get("rows")
            else "inbox.html"
        )
        return render(webapp, request, template, tab=chosen, archived=archived, **data)

    async def _mark(request: Request, request_id: str, how: str) -> Response:
        form = await read_form(request)
        try:
            await call(request, api.post, f"/v1/inbox/{quote(request_id, safe='')}/{how}")
        except ApiError as error:
            flash(request, translator(request)("That was refused: {detail}", detail=error.detail))
        return redirect(request, _safe_next(request, form.get("next"), "/inbox"))

    @router.post("/inbox/{request_id}/archive")
    async def archive(request: Request, request_id: str) -> Response:
        return await _mark(request, request_id, "archive")

    @router.post("/inbox/{request_id}/unarchive")
    async def unarchive(request: Request, request_id: str) -> Response:
        return await _mark(request, request_id, "unarchive")

    @router.post("/inbox/{request_id}/unread")
    async def unread(request: Request, request_id: str) -> Response:
        return await _mark(request, request_id, "unread")

    # --- the request page ---

    async def _request_view(
        request: Request, request_id: str, mark_read: bool = False
    ) -> dict[str, Any]:
        """State and history at once; for a buyer or seller opening the page, the read mark too
        (the API answers 404 to a non-party, which the page ignores)."""
        user = user_of(request)
        path = f"/v1/support-requests/{quote(request_id, safe='')}"
        reads = [call(request, api.get, path), call(request, api.get, path + "/history")]
        if mark_read and user["role"] in ("buyer", "seller"):
            reads.append(soft(request, api.post, f"/v1/inbox/{quote(request_id, safe='')}/read"))
        state, history, *_ = await asyncio.gather(*reads)
        opened = history[0]["data"] if history and history[0]["type"] == "opened" else {}
        marketplace = opened.get("marketplace") or "US"
        zone = ZoneInfo(calendar_for(marketplace).zone)
        currency = opened.get("currency") or (state.get("refund") or {}).get("currency") or "USD"
        items = [
            i for i in opened.get("items", []) if i.get("item_id") in state.get("item_ids", [])
        ]
        return {
            "state": state,
            "history": history,
            "opened": opened,
            "items": items or opened.get("items", []),
            "messages": [h for h in history if h["type"] == "message_posted"],
            "zone": zone,
            "currency": currency,
            "explanation": next_deadline(state),
            "actions": actions_for(state),
            "may_message": may_message(state),
            "is_party": user["role"] in ("buyer", "seller")
            and user["sub"] in (state.get("buyer_id"), state.get("seller_id")),
        }

    @router.get("/requests/{request_id}", response_class=HTMLResponse)
    async def request_page(request: Request, request_id: str) -> Response:
        view = await _request_view(
            request, request_id, mark_read=not request.headers.get("HX-Request")
        )
        live = request.headers.get("HX-Request") and request.query_params.get("live")
        template = "_request_live_update.html" if live else "request.html"
        return render(webapp, request, template, **view)

    @router.post("/requests/{request_id}/act")
    async def act(request: Request, request_id: str) -> Response:
        form, files = await read_upload_form(
            request, webapp.upload_max_bytes, webapp.upload_max_files
        )
        _ = translator(request)
        back = f"/requests/{quote(request_id, safe='')}"
        try:
            action = Action(form.get("action", ""))
        except ValueError:
            flash(request, _("That was refused: {detail}", detail="unknown action"))
            return redirect(request, back)
        # Money moves and support decisions are confirmed on a page of their own first, which
        # says the amounts in words and who pays (issue 29; services/webapp/pages/confirm.py).
        confirm = back + "/confirm?" + urlencode({"action": action.value, **_typed(form)})
        if action in CONFIRM_FIRST and form.get("confirmed") != "1":
            return redirect(request, confirm)
        try:
            # Evidence files become attachment ids beside the typed links (issue 21).
            ids = await upload(request, files)
        except ApiError as error:
            flash(request, _("That was refused: {detail}", detail=error.detail))
            return redirect(request, back)
        if ids:
            form["evidence"] = "\n".join([form.get("evidence", ""), *ids])
        try:
            command = command_for(action, form, currency_digits(form.get("currency") or "USD"))
        except InvalidInput:
            flash(request, _("Amount: type an amount such as 10.00."))
            return redirect(request, confirm if action in CONFIRM_FIRST else back)
        if form.get("auto_claim") == "on" and action in AUTO_CLAIM and command.body is not None:
            command.body["auto_claim"] = True  # R38: the API checks the shipment is eligible
        try:
            await call(
                request,
                api.post,
                f"/v1/support-requests/{quote(request_id, safe='')}/{command.suffix}",
                command.body,
                idempotency_key=_idem(form),
            )
        except ApiError as error:
            flash(request, _("That was refused: {detail}", detail=error.detail))
            # What was typed stays on the confirmation page beside the API's words (B10).
            return redirect(request, confirm if action in CONFIRM_FIRST else back)
        flash(request, _("Done."), "success")
        return redirect(request, back)

    @router.post("/requests/{request_id}/messages")
    async def message(request: Request, request_id: str) -> Response:
        form, files = await read_upload_form(
            request, webapp.upload_max_bytes, webapp.upload_max_files
        )
        _ = translator(request)
        back = f"/requests/{quote(request_id, safe='')}"
        attachments = [
            line.strip() for line in form.get("attachments", "").splitlines() if line.strip()
        ]
        try:
            attachments += await upload(request, files)
        except ApiError as error:
            flash(request, _("That was refused: {detail}", detail=error.detail))
            return redirect(request, back + "#messages")
        try:
            await call(
                request,
                api.post,
                f"/v1/support-requests/{quote(request_id, safe='')}/messages",
                {"body": form.get("message", ""), "attachments": attachments[:50]},
                idempotency_key=_idem(form),
            )
        except ApiError as error:
            flash(request, _("That was refused: {detail}", detail=error.detail))
        return redirect(request, back + "#messages")

    # --- support, auditors ---

    @router.get("/queue", response_class=HTMLResponse)
    async def queue(request: Request, show: str = "") -> Response:
        user = user_of(request)
        # The queue's filters are the API's own (issue 29): mine, unassigned, past the SLA.
        filters = {
            "mine": {"assigned_to": user["sub"]},
            "unassigned": {"unassigned": "true"},
            "breached": {"breached": "true"},
        }.get(show, {})
        result = await soft(request, api.get, "/v1/support/queue", limit=100, **filters)
        items = result.get("items", []) if isinstance(result, dict) else result
        return render(
            webapp,
            request,
            "queue.html",
            queue=items,
            summary=result if isinstance(result, dict) else None,
            assign_enabled=webapp.assign_enabled,
            show=show if filters else "",
        )

    @router.post("/queue/{request_id}/assign")
    async def assign(request: Request, request_id: str) -> Response:
        form = await read_form(request)
        user = user_of(request)
        try:
            await call(
                request,
                api.post,
                f"/v1/support-requests/{quote(request_id, safe='')}/assign",
                {"agent_id": user["sub"]},
                idempotency_key=_idem(form),
            )
        except ApiError as error:
            flash(request, translator(request)("That was refused: {detail}", detail=error.detail))
        else:
            flash(request, translator(request)("Done."), "success")
        return redirect(request, "/queue")

    @router.get("/search", response_class=HTMLResponse)
    async def search(request: Request, q: str = "", cursor: str | None = None) -> Response:
        user_of(request)
        q = q.strip()[:200]
        results: Any = None
        if q and " " not in q and not cursor:
            # One word may be an order id or a request id: those first, then the text search.
            results = await soft(request, api.get, "/v1/support-requests", order_id=q, limit=50)
            if not (isinstance(results, dict) and results["items"]):
                one = await soft(request, api.get, f"/v1/support-requests/{quote(q, safe='')}")
                if isinstance(one, dict):
                    return redirect(request, f"/requests/{quote(one['id'], safe='')}")
                results = None
        if q and results is None:
            results = await soft(
                request, api.get, "/v1/support-requests", q=q, cursor=cursor, limit=50
            )
        return render(webapp, request, "search.html", q=q, results=results)

    # --- seller pages, notifications ---

    def _seller(request: Request) -> dict[str, Any]:
        user = user_of(request)
        if user["role"] != "seller":
            raise Forbidden("sellers only")
        return user

    @router.get("/ledger", response_class=HTMLResponse)
    async def ledger(request: Request) -> Response:
        user = _seller(request)
        data = await soft(request, api.get, f"/v1/sellers/{quote(user['sub'], safe='')}/ledger")
        return render(webapp, request, "ledger.html", ledger=data)

    @router.get("/rating", response_class=HTMLResponse)
    async def rating(request: Request) -> Response:
        user = _seller(request)
        data = await soft(
            request, api.get, f"/v1/sellers/{quote(user['sub'], safe='')}/support-rating"
        )
        return render(webapp, request, "rating.html", rating=data)

    @router.get("/performance", response_class=HTMLResponse)
    async def performance(request: Request) -> Response:
        user = _seller(request)
        data = await soft(
            request, api.get, f"/v1/sellers/{quote(user['sub'], safe='')}/performance"
        )
        return render(webapp, request, "performance.html", performance=data)

    # The notifications page is services/webapp/pages/notifications.py (issue 29).

    @router.get("/attachments/{attachment_id}")
    async def attachment(request: Request, attachment_id: str) -> Response:
        return await _attachment(request, attachment_id, "")

    @router.get("/attachments/{attachment_id}/thumbnail")
    async def thumbnail(request: Request, attachment_id: str) -> Response:
        return await _attachment(request, attachment_id, "/thumbnail")

    async def _attachment(request: Request, attachment_id: str, suffix: str) -> Response:
        """A photo the API keeps (issue 21), fetched with the user's token: an <img> cannot send
        the bearer token itself."""
        path = f"/v1/attachments/{quote(attachment_id, safe='')}{suffix}"
        # streamed, with the API's own guards (attachment_proxy.py, issue 26)
        return await call(request, proxy_file, api, path, request.headers.get("if-none-match"))

    @router.get("/events")
    async def events(request: Request) -> Response:
        """Same-origin server-sent events: the user's notification stream from the API, passed
        through (an EventSource cannot send the bearer token itself)."""
        user = user_of(request)
        path = f"/v1/users/{quote(user['sub'], safe='')}/notifications/stream"
        stream = api.stream(
            path, token=user["token"], last_event_id=request.headers.get("Last-Event-ID")
        )
        return StreamingResponse(
            stream,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    return router


CONFIRM_FIRST = frozenset(
    {
        Action.FULL_REFUND,
        Action.REFUND_WITH_RETURN,
        Action.PARTIAL_REFUND,
        Action.DECIDE_REFUND,
        Action.DECIDE_REFUND_WITH_RETURN,
        Action.DECIDE_UPHOLD_SELLER,
        Action.DECIDE_PLATFORM_REFUND,
    }
)
AUTO_CLAIM = frozenset({Action.FULL_REFUND, Action.REFUND_WITH_RETURN})


def _typed(form: Mapping[str, str]) -> dict[str, str]:
    """What the person typed into a form that is confirmed first, to show it again."""
    return {k: form[k][:40] for k in ("amount", "auto_claim") if form.get(k)}


def _overdue(state: Mapping[str, Any] | None, last_event: str, now: datetime) -> bool:
    """Whether a deadline of the open request has passed (the inbox's Overdue mark, issue 29):
    the API's `overdue` when it gives it; else its `next_deadline` against the clock, or the
    request's latest event being the API's own "… overdue" event while it is still open."""
    if not state or state.get("status") in ("resolved", "cancelled"):
        return False
    if "overdue" in state:
        return bool(state["overdue"])
    due = state.get("next_deadline")
    if due and datetime.fromisoformat(str(due)) <= now:
        return True
    return last_event.endswith("_overdue")


def _idem(form: Mapping[str, str]) -> str | None:
    key = form.get("idem", "")
    return key if 8 <= len(key) <= 64 and key.isalnum() else None
