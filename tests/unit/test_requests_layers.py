"""The requests service's layers (issue 17, docs/decisions.md "Issue 17 — layers inside
services/requests"): its domain imports only the standard library, `eventsourcing.domain` and pure
shared helpers. import-linter sees an external package whole (`eventsourcing`), so this reads the
import statements of every domain module (including those inside functions and under
`TYPE_CHECKING`) and checks each against the exact allow-list."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import services.requests.domain

DOMAIN = Path(services.requests.domain.__file__).parent
ALLOWED = {"eventsourcing.domain", "shared.business_time", "shared.money", "shared.vocabulary"}


def _imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
    return found


def _allowed(module: str) -> bool:
    return (
        module.split(".")[0] in sys.stdlib_module_names
        or module in ALLOWED
        or module == "services.requests.domain"
        or module.startswith("services.requests.domain.")
    )


def test_the_requests_domain_imports_only_the_standard_library_eventsourcing_domain_and_pure_helpers() -> (
    None
):
    # given every module of the requests domain package
    modules = sorted(DOMAIN.glob("*.py"))
    assert {p.name for p in modules} >= {"vocabulary.py", "errors.py", "request.py", "policy.py"}
    # then none imports anything outside the allow-list
    outside = {
        f"{path.name}: {module}"
        for path in modules
        for module in _imports(path)
        if not _allowed(module)
    }
    assert outside == set()


def test_the_allow_list_check_rejects_an_adapter_import() -> None:
    # given imports a domain module must not have
    # then the check names them
    assert not _allowed("sqlalchemy")
    assert not _allowed("eventsourcing.application")
    assert not _allowed("services.requests.persistence.store")
    assert _allowed("datetime") and _allowed("eventsourcing.domain")
