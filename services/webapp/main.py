"""Composition root of the web app.

`create_webapp(...)` builds the app that serves `/app/` (embedded mode mounts it in
services/embedded.py and points its client at the server's own port); `python -m
services.webapp.main` runs it as its own process on `SUPPORT_WEBAPP_PORT` (8006) for distributed
mode, with `SUPPORT_WEBAPP_API_URL` the gateway's address. Nothing happens at import time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from urllib.parse import urlencode

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.webapp import pages
from services.webapp.client import ApiClient, ApiError
from services.webapp.http import (
    CSP,
    HERE,
    Forbidden,
    SignedOut,
    TooLarge,
    WebApp,
    build_router,
    load_session,
    render,
    store_session,
    translator,
)
from services.webapp.i18n import Translator
from services.webapp.settings import WebAppSettings
from shared.auth import TokenCodec
from shared.http_server import PROBLEM_HTTP, proxy_headers

log = logging.getLogger("seller_support.webapp")

SECURITY_HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def _system_now() -> datetime:
    return datetime.now(UTC)


def create_webapp(
    settings: WebAppSettings,
    *,
    api_url: str | None = None,
    codec: TokenCodec | None = None,
    production: bool | None = None,
    now: Callable[[], datetime] = _system_now,
) -> FastAPI:
    """The app to mount at `/app`. `api_url`, `codec` and `production` default to the settings;
    the embedded composition passes its own (its port, the requests service's token settings)."""
    webapp = WebApp(
        api=ApiClient(
            api_url or settings.api_url or "http://127.0.0.1:8000", settings.api_timeout_seconds
        ),
        codec=codec or settings.token_codec(),
        production=settings.production if production is None else production,
        session_secret=settings.cookie_secret(),
        session_hours=settings.session_hours,
        now=now,
        upload_max_bytes=settings.upload_max_bytes,
        upload_max_files=settings.upload_max_files,
        session_idle_seconds=settings.session_idle_seconds,
    )
    app = FastAPI(title="Seller Support web app", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.webapp = webapp
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(build_router(webapp))
    pages.include(app, webapp)

    @app.middleware("http")
    async def session_and_headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        is_static = request.url.path.startswith(request.scope.get("root_path", "") + "/static/")
        if not is_static:
            before = load_session(webapp, request)
        response = await call_next(request)
        for name, value in SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        if is_static:
            response.headers.setdefault("Cache-Control", "public, max-age=3600")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
            changed = json.dumps(request.state.session, sort_keys=True) != before
            if changed and not getattr(request.state, "clear_cookie", False):
                store_session(webapp, request, response)
        return response

    @app.exception_handler(SignedOut)
    async def signed_out(request: Request, _: SignedOut) -> Response:
        target = request.scope.get("root_path", "").rstrip("/") + "/"
        if request.headers.get("HX-Request"):
            return Response(status_code=204, headers={"HX-Redirect": target})
        if request.method == "GET":
            # Signing in from a link (an e-mail's) lands on the page the link named (B6).
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            target += "?" + urlencode({"next": here})
        return RedirectResponse(target, status_code=303)

    @app.exception_handler(Forbidden)
    async def forbidden(request: Request, error: Forbidden) -> Response:
        _ = _translator(request)
        detail = _("The form expired; please try again.") if str(error) == "csrf" else str(error)
        return render(webapp, request, "error.html", 403, title=_("Not allowed"), detail=detail)

    @app.exception_handler(TooLarge)
    async def too_large(request: Request, error: TooLarge) -> Response:
        _ = _translator(request)
        detail = _(
            "Attach at most {files} files of {size} MB in all.",
            files=webapp.upload_max_files,
            size=webapp.upload_max_bytes // (1024 * 1024),
        )
        return render(webapp, request, "error.html", 413, title=_("Too large"), detail=detail)

    @app.exception_handler(ApiError)
    async def refused(request: Request, error: ApiError) -> Response:
        _ = _translator(request)
        status = error.status if 400 <= error.status < 600 else 502
        return render(
            webapp,
            request,
            "error.html",
            status,
            title=error.title or _("Something went wrong"),
            detail=error.detail,
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, error: StarletteHTTPException) -> Response:
        if not hasattr(request.state, "session"):
            load_session(webapp, request)
        _ = _translator(request)
        return render(
            webapp,
            request,
            "error.html",
            error.status_code,
            title=_("Something went wrong"),
            detail=str(error.detail),
        )

    @app.exception_handler(Exception)
    async def crashed(request: Request, error: Exception) -> Response:
        log.exception("web app page failed", exc_info=error)
        return HTMLResponse(
            "<!doctype html><html lang=en><title>Error</title><main><h1>Something went wrong"
            '</h1><p><a href="./">Back to the start</a></p></main></html>',
            status_code=500,
            headers=SECURITY_HEADERS,
        )

    return app


def _translator(request: Request) -> Translator:
    if not hasattr(request.state, "session"):
        request.state.session = {}
    return translator(request)


def create_standalone(settings: WebAppSettings) -> FastAPI:
    """The web app as its own process (distributed mode): `/app/`, `/` -> `/app/`, and the
    `/healthz`, `/readyz` (the API answers through the gateway) and `/metrics` every process has."""
    from shared.http_observability import instrument

    root = FastAPI(title="Seller Support web app", docs_url=None, redoc_url=None, openapi_url=None)
    webapp = create_webapp(settings)

    def api_reachable(request: Request) -> None:
        import httpx

        httpx.get(webapp.state.webapp.api.base_url + "/healthz", timeout=3).raise_for_status()

    @root.get("/", include_in_schema=False)
    async def index() -> RedirectResponse:
        return RedirectResponse("/app/", status_code=307)

    instrument(root, "webapp", {"public API": api_reachable})
    root.mount("/app", webapp)
    return root


def main() -> None:
    import uvicorn

    settings = WebAppSettings()
    logging.basicConfig(level=logging.INFO)
    uvicorn.run(
        create_standalone(settings),
        host=settings.host,
        port=settings.port,
        access_log=False,
        http=PROBLEM_HTTP,
        **proxy_headers(settings.trusted_proxies),  # none unless configured (issue 26)
    )


if __name__ == "__main__":
    main()
