"""One composition root per process (issue 17): `services.requests.main.create_app` builds the
requests API and its lifespan; another composition (the embedded one) adds its parts as
`extensions`, entered by that lifespan once the requests application is open and left before it
closes, instead of replacing the lifespan. Real SQLite files, the real app under TestClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import text

from services.requests.main import create_app
from services.requests.settings import Settings


def _usable(app: FastAPI) -> bool:
    with app.state.requests.engine.connect() as connection:
        return connection.execute(text("select 1")).scalar_one() == 1


def test_extensions_enter_after_the_requests_application_opens_and_leave_before_it_closes(
    tmp_path: Path,
) -> None:
    # given two extensions that note what they find on the app
    seen: list[tuple[str, str, bool]] = []

    def part(name: str):
        @asynccontextmanager
        async def extension(app: FastAPI) -> AsyncIterator[None]:
            seen.append(("enter", name, _usable(app)))
            yield
            seen.append(("leave", name, _usable(app)))

        return extension

    settings = Settings(production=False, data_dir=tmp_path)
    app = create_app(settings, extensions=(part("first"), part("second")))
    # when the app starts and stops
    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        assert seen == [("enter", "first", True), ("enter", "second", True)]
    # then each was entered with the application open, in order, and left in reverse, still open
    assert seen == [
        ("enter", "first", True),
        ("enter", "second", True),
        ("leave", "second", True),
        ("leave", "first", True),
    ]


def test_the_embedded_composition_opens_its_projections_inside_the_requests_lifespan(
    tmp_path: Path,
) -> None:
    # given the embedded app, built on the requests root with its projections as an extension
    from services.embedded import create_embedded_app

    embedded = create_embedded_app(Settings(production=False, data_dir=tmp_path))
    # when it starts, then the requests application and the projections beside it are open
    with TestClient(embedded) as client:
        assert _usable(embedded)
        assert embedded.state.ledger is not None
        assert embedded.state.notifications is not None
        assert client.get("/readyz").status_code == 200
