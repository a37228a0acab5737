"""The OpenAPI document of every HTTP process, committed under `docs/openapi/` so that a change to
the public contract shows up in review and a restructuring that changes it fails (issue 17).

    python -m services.openapi_documents           # (re)write docs/openapi/*.json
    python -m services.openapi_documents --check   # exit 1 when a committed document differs

Each document is built from the app the process serves, with settings that do not depend on the
environment (a temporary data folder for embedded mode; placeholder broker options for the
projection services, which are not contacted while an app is built).
"""

from __future__ import annotations

import argparse
import importlib
import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from fastapi import FastAPI

DOCUMENTS_DIR = Path(__file__).resolve().parent.parent / "docs" / "openapi"

# The projection services built as their own processes (each with its own consumer).
PROJECTION_SERVICES = {
    "ledger": "services.ledger.main",
    "ratings": "services.ratings.main",
    "notifications": "services.notifications.main",
    "search": "services.search.main",
}


def _embedded_app(data_dir: Path) -> FastAPI:
    from services.embedded import create_embedded_app
    from services.requests.settings import Settings

    return create_embedded_app(Settings(production=False, data_dir=data_dir))


def _requests_app() -> FastAPI:
    from services.requests.main import create_app
    from services.requests.settings import Settings

    return create_app(Settings(production=False))


def _projection_app(module: str) -> Callable[[], FastAPI]:
    def build() -> FastAPI:
        from shared.transport.stream_consumers import StreamOptions

        create_app = importlib.import_module(module).create_app
        return create_app(kafka=StreamOptions(bootstrap_servers="kafka:9092", group_id="g"))

    return build


def apps(data_dir: Path) -> Iterator[tuple[str, Callable[[], FastAPI]]]:
    """(document name, app builder) for every HTTP process."""
    yield "embedded", lambda: _embedded_app(data_dir)
    yield "requests", _requests_app
    for name, module in PROJECTION_SERVICES.items():
        yield name, _projection_app(module)


def render(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def documents() -> dict[str, str]:
    """File name -> the document's text, as it would be committed."""
    with tempfile.TemporaryDirectory() as data_dir:
        return {f"{name}.json": render(build().openapi()) for name, build in apps(Path(data_dir))}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail when a committed file differs")
    args = parser.parse_args(argv)
    drift = []
    for name, text in documents().items():
        path = DOCUMENTS_DIR / name
        if args.check:
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                drift.append(name)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    if drift:
        print(
            f"OpenAPI drift in {', '.join(drift)}: run `python -m services.openapi_documents`",
            file=sys.stderr,
        )
        return 1
    if args.check:
        print(f"OpenAPI documents match ({len(list(DOCUMENTS_DIR.glob('*.json')))} files)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
