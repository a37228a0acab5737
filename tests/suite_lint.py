"""A lint of the test suite itself (issue 31), run by `make lint`: `python -m tests.suite_lint`.

It keeps four kinds of weakness from coming back, each a rule over the source of tests/:

- **waits** — a `while` loop that sleeps must have a deadline (a name with `deadline` or a
  `monotonic()` call in the loop), and `time.sleep` is only for polling inside such a loop or a
  bounded `for _ in range(n)` of attempts; a
  sleep that is not a wait (a retry's back-off, load pacing, a child process's script) says so on
  its line: `# not a wait: <why>`. Waiting for something: `tests.waiting.wait_for`.
- **order** — no test file named to force its place in the run (`test_zz_…`, `test_0…`,
  `test_a_…`): the suite runs in random order (pytest-randomly), and a test that needs to run last
  is a test sharing state it should own.
- **names that claim an effect** — a test whose every assertion is about a status code must say so
  in its name (the code, e.g. `_is_404`, or `status`); a name promising an effect (`charged`,
  `credited`, `stored`, `scheduled`, `recorded`, …) needs an assertion on something else.
- **work at import** — a test module builds no app, temporary folder or schema at import time:
  no top-level call to `create_*app`, `mkdtemp`/`TemporaryDirectory`, or `schemathesis.from_*`.
"""

from __future__ import annotations

import ast
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

TESTS = Path(__file__).resolve().parent
NOT_A_WAIT = "# not a wait:"
ORDER_FORCING = re.compile(r"^test_(z+_|\d|a_)")
STATUS_WORDS = re.compile(r"\d{3}|status|_ok\b|_ok_|answers|refused|rejected")
EFFECT_WORDS = re.compile(
    r"charged|charges|credited|stored|scheduled|recorded|persist|saved|emailed|notified|read_back"
)
IMPORT_TIME_CALLS = re.compile(
    r"(^|\.)(create_\w*app|mkdtemp|TemporaryDirectory|from_asgi|from_dict|from_path|from_pytest_fixture)$"
)


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    rule: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: [{self.rule}] {self.message}"


def _name(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def _is_sleep(node: ast.AST) -> bool:
    return isinstance(node, ast.Call) and _name(node.func) in ("time.sleep", "sleep")


def _walk_same_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under `node`, not descending into nested functions or lambdas."""
    for child in ast.iter_child_nodes(node):
        yield child
        if not isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            yield from _walk_same_scope(child)


def _has_deadline(loop: ast.While) -> bool:
    for node in [loop.test, *_walk_same_scope(loop)]:
        if isinstance(node, ast.Name) and "deadline" in node.id.lower():
            return True
        if isinstance(node, ast.Attribute) and "deadline" in node.attr.lower():
            return True
        if isinstance(node, ast.Call) and _name(node.func).endswith("monotonic"):
            return True
    return False


def check_source(source: str, path: str) -> list[Finding]:
    """The findings of one test module's source (pure: what the unit test exercises)."""
    tree = ast.parse(source)
    lines = source.splitlines()
    findings: list[Finding] = []
    name = Path(path).name
    if name.startswith("test_") and ORDER_FORCING.match(name):
        findings.append(Finding(path, 1, "order", f"{name} is named to force its place in the run"))
    polled: set[int] = set()  # ids of sleep calls inside a deadline-bounded while loop
    for node in ast.walk(tree):
        if isinstance(node, ast.While):
            sleeps = [n for n in _walk_same_scope(node) if _is_sleep(n)]
            if sleeps and not _has_deadline(node):
                findings.append(
                    Finding(
                        path,
                        node.lineno,
                        "wait",
                        "a while loop that sleeps has no deadline (use tests.waiting.wait_for)",
                    )
                )
            polled.update(id(n) for n in sleeps)
        elif (
            isinstance(node, ast.For)
            and isinstance(node.iter, ast.Call)
            and _name(node.iter.func) == "range"
        ):
            # a bounded number of attempts is a deadline too
            polled.update(id(n) for n in _walk_same_scope(node) if _is_sleep(n))
    for node in ast.walk(tree):
        if _is_sleep(node) and id(node) not in polled:
            line = lines[node.lineno - 1]
            if NOT_A_WAIT not in line:
                findings.append(
                    Finding(
                        path,
                        node.lineno,
                        "wait",
                        "time.sleep outside a polling loop: poll a condition under a deadline "
                        f"(tests.waiting.wait_for), or mark it `{NOT_A_WAIT} <why>`",
                    )
                )
    if name.startswith("test_"):
        findings.extend(_claims(tree, path))
        findings.extend(_import_time_work(tree, path))
    return findings


def _claims(tree: ast.Module, path: str) -> Iterator[Finding]:
    for node in ast.walk(tree):
        if not (isinstance(node, ast.FunctionDef) and node.name.startswith("test_")):
            continue
        asserts = [
            {a.attr for a in ast.walk(n.test) if isinstance(a, ast.Attribute)}
            for n in _walk_same_scope(node)
            if isinstance(n, ast.Assert)
        ]
        helpers = [
            n
            for n in _walk_same_scope(node)
            if isinstance(n, ast.Call) and not _name(n.func).startswith(("api.", "client."))
        ]
        status_only = asserts and all(
            "status_code" in a and not a & {"json", "headers", "text", "content"} for a in asserts
        )
        checks_elsewhere = any(
            _name(c.func).split(".")[-1]
            in ("assert_problem", "expect", "wait_for", "raises", "check", "eventually")
            or _name(c.func).split(".")[-1].startswith(("assert_", "check_"))
            for c in helpers
        )
        if status_only and not checks_elsewhere:
            if not STATUS_WORDS.search(node.name):
                yield Finding(
                    path,
                    node.lineno,
                    "claim",
                    f"{node.name} asserts only status codes: name the status, or assert the effect",
                )
            if EFFECT_WORDS.search(node.name):
                yield Finding(
                    path,
                    node.lineno,
                    "claim",
                    f"{node.name} promises an effect but asserts only status codes: read it back",
                )


def _import_time_work(tree: ast.Module, path: str) -> Iterator[Finding]:
    for statement in tree.body:
        if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            continue
        for node in ast.walk(statement):
            if isinstance(node, ast.Call) and IMPORT_TIME_CALLS.search(_name(node.func)):
                yield Finding(
                    path,
                    node.lineno,
                    "import",
                    f"{_name(node.func)}() at import time: build it in a fixture",
                )


def check_tree(root: Path = TESTS) -> list[Finding]:
    findings: list[Finding] = []
    for file in sorted(root.rglob("*.py")):
        if file.name == "suite_lint.py":
            continue
        relative = str(file.relative_to(root.parent))
        findings.extend(check_source(file.read_text(encoding="utf-8"), relative))
    return findings


def main() -> int:
    findings = check_tree()
    for finding in findings:
        print(finding)
    if findings:
        print(f"tests/suite_lint: {len(findings)} finding(s); see the rules in tests/suite_lint.py")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
