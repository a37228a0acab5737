"""The shared words are spelled once (issue 27, DESIGN.md "One truth, read everywhere"): status,
resolution, reason, response type, outcome, deadline kind, waiting-on and the topic name live in
shared/vocabulary.py; every other module derives them from there. This reads the string literals
of every module of services/ and shared/ and fails when one spells a vocabulary again: three or more
of its values as literals (one for the topic). Who a request waits on is a table keyed by status
(the copies in search and the web app were), so the status check finds a copy of it; its values
are also roles and field names ("carrier"), too common to check alone.

The tools (the CLI's sample data, the demo's scripted world) are exempt until they move into a
package of their own (issue 27, part 3, not done)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from shared import vocabulary as v

ROOT = Path(__file__).resolve().parents[2]
HOME = ROOT / "shared" / "vocabulary.py"
TOOLS = {ROOT / "services" / "cli.py", ROOT / "services" / "demo_world.py"}

# vocabulary -> (its values, how many of them in one module count as spelling it again)
VOCABULARIES: dict[str, tuple[frozenset[str], int]] = {
    "status": (frozenset(v.Status), 3),
    "resolution": (frozenset(v.Resolution), 3),
    "reason": (frozenset(v.Reason), 3),
    "response type": (frozenset(v.ResponseType), 3),
    "outcome": (frozenset(v.Outcome), 3),
    "deadline kind": (frozenset(v.Deadline), 3),
    "topic": (frozenset({v.REQUESTS_TOPIC}), 1),
}


def _modules() -> list[Path]:
    found = [*ROOT.glob("services/**/*.py"), *ROOT.glob("shared/**/*.py")]
    return sorted(p for p in found if "migrations" not in p.parts and p not in TOOLS)


def _literals(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return {
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
    }


def spelled_again(path: Path) -> list[str]:
    literals = _literals(path)
    return [
        name
        for name, (values, enough) in VOCABULARIES.items()
        if len(literals & {str(value) for value in values}) >= enough
    ]


def test_issue27_each_shared_vocabulary_is_spelled_in_shared_vocabulary_only() -> None:
    # given every module of the services and shared packages but the vocabulary's own
    modules = [p for p in _modules() if p != HOME]
    assert len(modules) > 100
    # then none spells one of the shared vocabularies again
    again = {str(p.relative_to(ROOT)): names for p in modules if (names := spelled_again(p))}
    assert again == {}


@pytest.mark.parametrize("name", list(VOCABULARIES))
def test_issue27_the_check_finds_a_vocabulary_spelled_again(name: str, tmp_path: Path) -> None:
    # given a module that lists the vocabulary's values as strings
    values, enough = VOCABULARIES[name]
    copy = tmp_path / "copy.py"
    copy.write_text(f"WORDS = {sorted(str(x) for x in values)[: max(enough, 4)]!r}\n")
    # then the check names it, and the vocabulary's own home spells each one
    assert name in spelled_again(copy)
    assert name in spelled_again(HOME)
