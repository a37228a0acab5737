"""Property-based run over the OpenAPI document: no 5xx, every response conforms to its schema.

Each operation is called with a token of the role it is for (platform for upstream facts, admin for
the clock, buyer otherwise), so generated bodies reach the application and not only the 403 gate.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks
from schemathesis.specs.openapi import checks as openapi_checks

from services.embedded import create_embedded_app
from services.requests.settings import Settings
from shared.clock import AdjustableClock
from tests.integration.conftest_http import START

pytestmark = pytest.mark.filterwarnings("ignore::jwt.warnings.InsecureKeyLengthWarning")


@pytest.fixture(scope="module")
def settings_under_test(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The embedded app's settings, in a temporary folder pytest removes (built at run time, not
    at collection: issue 31)."""
    return Settings(data_dir=tmp_path_factory.mktemp("schemathesis"), timer_interval_seconds=0.5)


@pytest.fixture(scope="module")
def app_schema(settings_under_test: Settings) -> Iterator[Any]:
    """The OpenAPI schema of the running app (its lifespan: database, token codec, timers)."""
    app = create_embedded_app(settings_under_test, AdjustableClock(START, frozen=True))
    with TestClient(app):
        yield schemathesis.openapi.from_asgi("/openapi.json", app)


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


def _conformance(operation: Any, token: str) -> Any:
    @given(case=operation.as_strategy())
    @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
    def conforms(case: Any) -> None:
        case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS)

    return conforms


def test_api_never_answers_5xx_and_conforms_to_its_openapi_document(
    app_schema: Any, settings_under_test: Settings
) -> None:
    # Every operation, each with hypothesis-generated cases (schemathesis.pytest.from_fixture
    # would do this per operation, but it does not run on pytest 9: it sets Function._nodeid).
    failures: list[str] = []
    operations = [result.ok() for result in app_schema.get_all_operations()]
    assert len(operations) > 20, "the OpenAPI document lists too few operations"
    for operation in operations:
        token = settings_under_test.token_codec().encode(
            sub="b-schemathesis", role=_role_for(operation.path)
        )

        conforms = _conformance(operation, token)
        try:
            conforms()
        except Exception as error:
            failures.append(f"{operation.method.upper()} {operation.path}: {error}")
    assert not failures, "\n\n".join(failures)
