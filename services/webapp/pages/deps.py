"""What every page module shares: the app's `WebApp`, the signed-in user, API calls with the
user's token, and one answer that is a whole page or, for htmx, only its fragment.

The page modules are plain module-level routers (`router = APIRouter()`); the composition root
(`services/webapp/main.py`) includes them beside the routes of `services/webapp/http.py`. Each route
reaches the app's collaborators through `request.app.state.webapp`, set there before any request.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse

from services.webapp.client import ApiClient, ApiError
from services.webapp.http import (
    Forbidden,
    SignedOut,
    WebApp,
    render,
    session_of,
    translator,
    user_of,
)
from services.webapp.i18n import Translator


def webapp_of(request: Request) -> WebApp:
    return request.app.state.webapp


def signed_in(request: Request) -> dict[str, Any]:
    """The session of a signed-in person (else the sign-in page, which comes back here)."""
    return user_of(request)


User = Annotated[dict[str, Any], Depends(signed_in)]


def role_in(*roles: str) -> Callable[[Request], dict[str, Any]]:
    def check(request: Request) -> dict[str, Any]:
        user = user_of(request)
        if user["role"] not in roles:
            raise Forbidden(
                translator(request)("This page is for {roles}.", roles=", ".join(roles))
            )
        return user

    return check


Seller = Annotated[dict[str, Any], Depends(role_in("seller"))]
Buyer = Annotated[dict[str, Any], Depends(role_in("buyer"))]


def api_of(request: Request) -> ApiClient:
    return webapp_of(request).api


def path(*parts: str) -> str:
    """An API path from trusted literals and untrusted ids: every id is percent-encoded."""
    return "/".join(p if i % 2 == 0 else quote(p, safe="") for i, p in enumerate(parts))


async def call(request: Request, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
    """An API call with the user's token; a refused token signs the person out."""
    user = user_of(request)
    try:
        return await fn(*args, token=user["token"], **kw)
    except ApiError as error:
        if error.status == 401:
            session_of(request).clear()
            raise SignedOut() from None
        raise


async def soft(request: Request, fn: Callable[..., Awaitable[Any]], *args: Any, **kw: Any) -> Any:
    """A read whose failure the page shows in place (an endpoint not deployed, a 404)."""
    try:
        return await call(request, fn, *args, **kw)
    except ApiError as error:
        return error


def is_fragment(request: Request) -> bool:
    return bool(request.headers.get("HX-Request")) and not request.headers.get("HX-Boosted")


def page(
    request: Request,
    template: str,
    fragment: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> HTMLResponse:
    """The whole page, or — for an htmx request that asks for a part — only `fragment`, rendered
    from the same context so the two never disagree."""
    chosen = fragment if fragment and is_fragment(request) else template
    return render(webapp_of(request), request, chosen, status_code, **context)


def words(request: Request) -> Translator:
    return translator(request)
