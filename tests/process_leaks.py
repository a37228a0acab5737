"""No process of the suite's own outlives it (issue 24).

At the start of the session every process the tests start inherits a marker in its environment
(SUPPORT_TEST_SESSION=<id>). At the end, after every fixture's teardown, a process still alive is a
leak when it is a descendant of pytest, or carries the marker although its parent is gone (an
orphan: a fixture that failed half-way through its setup). The shared daemons that are started when
needed and left running by design are not leaks: the local Kafka broker (deploy/kafka/start.sh)
and PostgreSQL servers (deploy/postgres/start.sh). A process that is already exiting gets a few
seconds to go before it counts, so a teardown that has just signalled its process never makes the
check flaky.
"""

from __future__ import annotations

import contextlib
import os
import time
import uuid

import psutil
import pytest

MARKER = "SUPPORT_TEST_SESSION"

# Started when needed and intentionally left running: matched on their command lines.
# PostgreSQL's own children rename themselves ("postgres: 16/main: checkpointer"). Python's
# multiprocessing helpers live as long as the interpreter that started them and exit with it.
SHARED_DAEMONS = (
    "kafka.Kafka",
    "/usr/lib/postgresql/",
    "postgres: ",
    "multiprocessing.resource_tracker",
    "multiprocessing.forkserver",
)


def mark_session() -> str:
    """Mark this session's environment so every process started from it can be recognised."""
    session = uuid.uuid4().hex  # never inherited: a pytest run inside a test has its own
    os.environ[MARKER] = session
    return session


def _alive(process: psutil.Process) -> bool:
    with contextlib.suppress(psutil.Error):
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    return False


def _command_line(process: psutil.Process) -> str:
    with contextlib.suppress(psutil.Error):
        return " ".join(process.cmdline()) or process.name()
    return f"pid {process.pid}"


def _is_shared_daemon(process: psutil.Process) -> bool:
    command = _command_line(process)
    return any(name in command for name in SHARED_DAEMONS)


def _carries(process: psutil.Process, session: str) -> bool:
    with contextlib.suppress(psutil.Error):
        return process.environ().get(MARKER) == session
    return False


def _suspects(session: str) -> dict[int, psutil.Process]:
    me = psutil.Process()
    found = {p.pid: p for p in me.children(recursive=True)}
    for process in psutil.process_iter():
        if process.pid not in found and process.pid != me.pid and _carries(process, session):
            found[process.pid] = process
    return {pid: p for pid, p in found.items() if _alive(p) and not _is_shared_daemon(p)}


def leaked_processes(session: str, grace_seconds: float = 5.0) -> list[psutil.Process]:
    """This session's processes still alive after `grace_seconds`."""
    deadline = time.monotonic() + grace_seconds
    suspects = _suspects(session)
    while suspects and time.monotonic() < deadline:
        time.sleep(0.1)
        suspects = {pid: p for pid, p in suspects.items() if _alive(p)}
    return [p for _, p in sorted(suspects.items())]


def stop(processes: list[psutil.Process]) -> None:
    """SIGTERM, then SIGKILL what is left after 5 s: a leak never outlives the run."""
    for process in processes:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, alive = psutil.wait_procs(processes, timeout=5)
    for process in alive:
        with contextlib.suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


# --- the pytest hooks (imported by tests/conftest.py) --------------------------------------------

_SESSION = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.stash[_SESSION] = mark_session()


@pytest.hookimpl(trylast=True)  # after every fixture's teardown (the runner's sessionfinish)
def pytest_sessionfinish(session: pytest.Session) -> None:
    """A process the suite started and never stopped fails the run; it is stopped too."""
    if _SESSION not in session.config.stash:
        return
    leaked = leaked_processes(session.config.stash[_SESSION])
    if not leaked:
        return
    lines = [
        f"{len(leaked)} process(es) started by the tests were still running (now stopped):",
        *(f"  pid {p.pid}: {_command_line(p)}" for p in leaked),
    ]
    stop(leaked)
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    for line in lines:
        if reporter is not None:
            reporter.write_line(line, red=True, bold=True)
        else:
            print(line)
    if session.exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
