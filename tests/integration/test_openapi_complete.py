"""Issue 18, class 7: every service's OpenAPI document is complete and valid, and `/docs` and `/redoc`
load their assets from the server itself (no CDN).

Apps are built (and, for the asset checks, started in-process) without a network; the documents are
checked with `openapi-spec-validator` against the OpenAPI 3.1 schema.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from openapi_spec_validator import validate

from services.embedded import create_embedded_app
from services.requests.settings import Settings

DISTRIBUTED = ["services.ledger.main", "services.ratings.main", "services.notifications.main"]


def _distributed_app(module: str) -> FastAPI:
    from shared.transport.stream_consumers import StreamOptions

    create_app = importlib.import_module(module).create_app
    return create_app(kafka=StreamOptions(bootstrap_servers="kafka:9092", group_id="g"))


def _requests_app() -> FastAPI:
    from services.requests.main import create_app

    return create_app(Settings(production=False))


@pytest.fixture(scope="module")
def embedded(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    return create_embedded_app(Settings(data_dir=tmp_path_factory.mktemp("var")))


def _apps(embedded: FastAPI) -> Iterator[tuple[str, FastAPI]]:
    yield "embedded", embedded
    yield "requests-api", _requests_app()
    for module in DISTRIBUTED:
        yield module, _distributed_app(module)


def _refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def test_class7_every_openapi_document_validates_and_every_ref_resolves(embedded: FastAPI) -> None:
    for name, app in _apps(embedded):
        document = app.openapi()
        validate(document)  # raises on any violation of the OpenAPI 3.1 schema
        schemas = document["components"]["schemas"]
        unresolved = {r for r in _refs(document) if r.rsplit("/", 1)[-1] not in schemas}
        assert not unresolved, f"{name}: {sorted(unresolved)}"
        assert "HTTPValidationError" not in str(document), name


def test_class7_every_post_declares_the_idempotency_key_header(embedded: FastAPI) -> None:
    for name, app in _apps(embedded):
        for path, item in app.openapi()["paths"].items():
            if "post" not in item:
                continue
            headers = [p for p in item["post"].get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in [h["name"] for h in headers], f"{name}: POST {path}"


def test_class7_every_api_operation_documents_422_and_503_as_problems(embedded: FastAPI) -> None:
    document = embedded.openapi()
    for path, item in document["paths"].items():
        for method, operation in item.items():
            responses = operation["responses"]
            if path.startswith("/v1/"):
                assert "503" in responses, f"{method} {path}"
            for code, response in responses.items():
                if int(code) >= 400:
                    assert list(response.get("content", {})) == ["application/problem+json"], (
                        f"{method} {path} {code}"
                    )


def test_class7_docs_and_redoc_load_every_asset_from_the_server(embedded: FastAPI) -> None:
    with TestClient(embedded) as client:
        for page in ("/docs", "/redoc"):
            html = client.get(page)
            assert html.status_code == 200
            sources = re.findall(r'(?:src|href)="([^"]+)"', html.text)
            assert sources, page
            for source in sources:
                assert source.startswith("/"), f"{page} loads {source} from elsewhere"
                asset = client.get(source)
                assert asset.status_code == 200, source
                assert len(asset.content) > 1000 or source.endswith(".png"), source
            assert "cdn" not in html.text.lower() and "https://" not in html.text, page


def test_class7_docs_assets_come_from_an_installed_package() -> None:
    from shared.api_docs import assets_directory

    shipped = {p.name for p in Path(assets_directory()).iterdir()}
    assert {"swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js"} <= shipped
