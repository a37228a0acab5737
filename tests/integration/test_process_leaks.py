"""The suite ends with no process of its own left (issue 24, tests/process_leaks.py): a pytest run
whose tests leave a process behind fails, names the process and stops it; a clean run passes."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import psutil

REPO = Path(__file__).resolve().parents[2]

CONFTEST = "from tests.process_leaks import pytest_configure, pytest_sessionfinish  # noqa: F401\n"


def _pytest(folder: Path, test_body: str) -> subprocess.CompletedProcess[str]:
    (folder / "conftest.py").write_text(CONFTEST)
    (folder / "test_inner.py").write_text(
        "import subprocess\n\n\ndef test_inner():\n" + test_body + "\n"
    )
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "."],
        cwd=folder,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _unique_seconds() -> int:
    """A sleep no other process on the machine runs, to find it by its command line."""
    return 3000 + uuid.uuid4().int % 100_000


def _running(marker: str) -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "status"]):
        if marker in " ".join(process.info["cmdline"] or []) and process.info["status"] != "zombie":
            found.append(process)
    return found


def _gone(marker: str) -> bool:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not _running(marker):
            return True
        time.sleep(0.1)
    return False


def test_a_child_left_running_fails_the_run_and_is_stopped(tmp_path: Path) -> None:
    # Given a test that starts a process and never stops it
    sleep = f"sleep {_unique_seconds()}"
    body = f"    subprocess.Popen({sleep.split()!r})"
    # When its pytest run ends
    done = _pytest(tmp_path, body)
    # Then the run fails although the test passed, naming the process
    assert done.returncode == 1, done.stdout + done.stderr
    assert "1 passed" in done.stdout
    assert "still running" in done.stdout and sleep in done.stdout
    # And the process is not left behind
    assert _gone(sleep)


def test_an_orphan_whose_parent_exited_is_found_by_its_environment(tmp_path: Path) -> None:
    # Given a test whose helper starts a background process and exits (the process's parent is
    # then no longer pytest: as a fixture whose setup failed half-way leaves it)
    sleep = f"sleep {_unique_seconds()}"
    body = f"    subprocess.run(['sh', '-c', '{sleep} & exit 0'], check=True)"
    # When its pytest run ends
    done = _pytest(tmp_path, body)
    # Then the run fails naming it, and it is stopped
    assert done.returncode == 1, done.stdout + done.stderr
    assert sleep in done.stdout
    assert _gone(sleep)


def test_a_run_that_stops_what_it_starts_passes(tmp_path: Path) -> None:
    # Given a test that starts a process and stops it
    body = (
        "    process = subprocess.Popen(['sleep', '302'])\n"
        "    process.terminate()\n"
        "    process.wait()"
    )
    # When its pytest run ends
    done = _pytest(tmp_path, body)
    # Then it passes with no report
    assert done.returncode == 0, done.stdout + done.stderr
    assert "still running" not in done.stdout


def test_gateway_origin_setup_failing_after_its_servers_started_leaves_nothing(
    tmp_path: Path,
) -> None:
    """The bare-machine report: test_gateway_origin.py's fixture failed at nginx after starting
    `seller-support serve` and the web app, and both outlived the suite."""
    # Given the real fixture, whose last step (starting nginx) fails as on a machine without nginx
    (tmp_path / "conftest.py").write_text(CONFTEST)
    (tmp_path / "test_inner.py").write_text(
        "import pytest\n"
        "import tests.browser.test_gateway_origin as gateway_origin\n"
        "from tests.browser.test_gateway_origin import origin  # noqa: F401\n\n\n"
        "def no_nginx(*args, **kwargs):\n"
        "    pytest.fail('nginx is not installed')\n\n\n"
        "gateway_origin.start_gateway = no_nginx\n\n\n"
        "def test_inner(origin):\n"
        "    pass\n"
    )
    # When its pytest run ends
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", "."],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=300,
    )
    # Then the setup failed at nginx, and the server and web app it had started were stopped
    assert "1 error" in done.stdout and "nginx is not installed" in done.stdout, done.stdout
    assert "still running" not in done.stdout, done.stdout
