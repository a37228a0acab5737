"""`/docs` (Swagger UI) and `/redoc` (ReDoc) served from the installed package, never a CDN (issue 18,
class 7): the JavaScript and CSS come from the `fastapi-offline` package's static files (MIT; it ships
Swagger UI's bundle and ReDoc's standalone build), mounted under `/docs-assets`, so the pages work on
a machine without internet.

FastAPI adds its CDN-backed `/docs` and `/redoc` routes when an app is built; `install_offline_docs`
replaces them on the same paths, keeping whatever `docs_url`/`redoc_url` the app was built with.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.routing import Route
from starlette.staticfiles import StaticFiles

ASSETS_PATH = "/docs-assets"


def assets_directory() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install_offline_docs(app: FastAPI) -> None:
    docs_url, redoc_url, openapi_url = app.docs_url, app.redoc_url, app.openapi_url
    if openapi_url is None or (docs_url is None and redoc_url is None):
        return
    replaced = {docs_url, redoc_url, app.swagger_ui_oauth2_redirect_url}
    app.router.routes[:] = [
        route
        for route in app.router.routes
        if not (isinstance(route, Route) and route.path in replaced)
    ]
    app.mount(ASSETS_PATH, StaticFiles(directory=assets_directory()), name="docs-assets")
    title = app.title

    if docs_url is not None:

        async def swagger_ui() -> HTMLResponse:
            return get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{title} — Swagger UI",
                swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
            )

        app.add_api_route(docs_url, swagger_ui, include_in_schema=False, methods=["GET"])

    if redoc_url is not None:

        async def redoc() -> HTMLResponse:
            return get_redoc_html(
                openapi_url=openapi_url,
                title=f"{title} — ReDoc",
                redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
                redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
                with_google_fonts=False,
            )

        app.add_api_route(redoc_url, redoc, include_in_schema=False, methods=["GET"])
