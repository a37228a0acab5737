"""Configuration comes from pydantic-settings classes only (issue 17): no module of services/ or
shared/ reads the environment itself, and `seller-support config` shows every settings class."""

from __future__ import annotations

import ast
from pathlib import Path

from pydantic_settings import BaseSettings

from services.configuration import SERVICES

REPO = Path(__file__).resolve().parents[2]
PACKAGES = ("services", "shared")


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def _environment_reads(tree: ast.AST) -> list[int]:
    """Lines reading the environment: `os.environ…`, `os.getenv(…)`, `from os import environ /
    getenv`, and `os.putenv` / `os.unsetenv` (setting it for a child is reading it in the child)."""
    lines: list[int] = []
    names = {"environ", "getenv", "environb", "getenvb", "putenv", "unsetenv"}
    for node in ast.walk(tree):
        attribute = (
            isinstance(node, ast.Attribute)
            and node.attr in names
            and isinstance(node.value, ast.Name)
            and node.value.id == "os"
        )
        imported = (
            isinstance(node, ast.ImportFrom)
            and node.module == "os"
            and any(alias.name in names for alias in node.names)
        )
        if attribute or imported:
            lines.append(node.lineno)
    return lines


def test_no_environment_read_outside_settings_modules() -> None:
    # given every module of services/ and shared/ except the settings modules
    offenders = [
        f"{path.relative_to(REPO)}:{line}"
        for path in _sources()
        if path.name != "settings.py"
        for line in _environment_reads(ast.parse(path.read_text(), str(path)))
    ]
    # then none reads os.environ / os.getenv: configuration is a pydantic-settings class
    assert not offenders, f"read a settings class instead of the environment: {offenders}"


def test_the_environment_check_catches_every_spelling() -> None:
    # given the spellings of an environment read
    for source in (
        "import os\nos.environ.get('X')",
        "import os\nos.getenv('X')",
        "import os\nos.environ['X'] = '1'",
        "from os import environ",
        "from os import getenv as g",
    ):
        # then each is found
        assert _environment_reads(ast.parse(source)), source


def test_config_command_shows_every_settings_class() -> None:
    # given every pydantic-settings class declared in services/ and shared/
    declared: set[str] = set()
    for path in _sources():
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.ClassDef) and any(
                isinstance(base, ast.Name) and base.id == "BaseSettings" for base in node.bases
            ):
                declared.add(node.name)
    shown = {cls.__name__ for cls in SERVICES.values() if isinstance(cls, type)}
    # then `seller-support config` prints each of them
    assert declared, "no settings class found: the scan is broken"
    assert declared <= shown, f"not in services/configuration.py SERVICES: {declared - shown}"
    assert all(issubclass(cls, BaseSettings) for cls in SERVICES.values() if isinstance(cls, type))
