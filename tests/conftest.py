"""Shared fixtures: the database backends (SQLite file, PostgreSQL schema per test) and the app.

PostgreSQL is never skipped: without SUPPORT_TEST_DATABASE_URL the local cluster is started with
deploy/postgres/start.sh, which prints its URL.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from sqlalchemy import create_engine, text

from services.requests.application import RequestsApplication, open_application
from shared.clock import AdjustableClock
from tests.factories import ny

# Every process the suite starts is stopped by the end of the run (issue 24): tests/process_leaks.py.
from tests.process_leaks import pytest_configure, pytest_sessionfinish  # noqa: F401

REPO = Path(__file__).resolve().parent.parent

# Monday 2026-12-07 14:00 in New York: a plain business day, far from holidays and DST changes.
START = ny(2026, 12, 7, 14, 0)


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    """The random order's seed, even under -q (issue 31): an order dependence found in CI is
    repeated with `--randomly-seed=<seed>`; `-p no:randomly` runs in file order."""
    if config.pluginmanager.hasplugin("randomly"):
        seed = config.getoption("randomly_seed", default=None)
        terminalreporter.write_line(
            f"random order: --randomly-seed={seed} repeats it; -p no:randomly turns it off"
        )


@pytest.fixture(scope="session")
def postgres_url() -> str:
    url = os.environ.get("SUPPORT_TEST_DATABASE_URL", "").strip()
    if not url:
        url = subprocess.run(
            ["bash", str(REPO / "deploy" / "postgres" / "start.sh")],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    return url


@pytest.fixture(scope="session")
def postgres_admin_engine(postgres_url: str) -> Iterator:
    engine = create_engine(postgres_url, isolation_level="AUTOCOMMIT")
    yield engine
    engine.dispose()


def _with_search_path(url: str, schema: str) -> str:
    options = quote(f"-csearch_path={schema}", safe="")
    return f"{url}{'&' if '?' in url else '?'}options={options}"


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database per test: a SQLite file, or a PostgreSQL schema of its own."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/events.db"
        return
    admin = request.getfixturevalue("postgres_admin_engine")
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield _with_search_path(url, schema)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def fresh_database_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> Iterator[Callable[[str], str]]:
    """`fresh_database_url(name)`: another empty database on this test's backend (`database_url`),
    for a projection's own store or a rebuild: a SQLite file, or a PostgreSQL schema of its own."""
    schemas: list[str] = []

    def make(name: str) -> str:
        if database_url.startswith("sqlite"):
            return f"sqlite:///{tmp_path}/{name}.db"
        admin = request.getfixturevalue("postgres_admin_engine")
        schema = f"{name[:20]}_{uuid.uuid4().hex}"
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
        schemas.append(schema)
        return _with_search_path(request.getfixturevalue("postgres_url"), schema)

    yield make
    if schemas:
        admin = request.getfixturevalue("postgres_admin_engine")
        with admin.connect() as connection:
            for schema in schemas:
                connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))


@pytest.fixture
def clock() -> AdjustableClock:
    # Started in UTC: AdjustableClock.advance adds to a frozen start by wall-clock arithmetic, so a
    # zoned start would drift by an hour across a DST change (reported to the clock's owner).
    return AdjustableClock(START.astimezone(UTC), frozen=True)


def close_application(app: RequestsApplication) -> None:
    app.close()
    app.recorder.datastore.engine.dispose()


@pytest.fixture
def app(database_url: str, clock: AdjustableClock) -> Iterator[RequestsApplication]:
    application = open_application(database_url, clock)
    try:
        yield application
    finally:
        close_application(application)
