"""Property-based run over the OpenAPI document: no 5xx, every response conforms to its schema.

Each operation is called with a token of the role it is for (platform for upstream facts, admin for
the clock, buyer otherwise), so generated bodies reach the application and not only the 403 gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from services.embedded import create_embedded_app
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from tests.integration.conftest_http import START

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


def _app_under_test(tmp: Path):
    configured = Settings(data_dir=tmp, timer_interval_seconds=0.5)
    return configured, create_embedded_app(configured, AdjustableClock(START, frozen=True))


_TMP = Path(__import__("tempfile").mkdtemp(prefix="schemathesis-"))
SETTINGS, APP = _app_under_test(_TMP)


@pytest.fixture(scope="module", autouse=True)
def running_app() -> Iterator[None]:
    with TestClient(APP):  # runs the lifespan: database, token codec, timers
        yield


schema = schemathesis.openapi.from_asgi("/openapi.json", APP)

CHECKS = [
    st_checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
]


def _role_for(path: str) -> str:
    if path.startswith("/v1/upstream"):
        return "platform"
    if path.startswith("/v1/admin"):
        return "admin"
    if path.startswith("/v1/ledger"):
        return "platform"
    return "buyer"


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_api_never_answers_5xx_and_conforms_to_its_openapi_document(case) -> None:
    token = SETTINGS.token_codec().encode(sub="b-schemathesis", role=_role_for(case.path))
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)
