"""deploy/cpu_tier.py, the wrapper supervisord starts every `make up` process through (issue 18): the
service runs in a session of its own at its nice value, its exit (or a kill -9) is the wrapper's exit
status — what supervisord sees and restarts on — and a SIGTERM reaches it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.waiting import wait_for

REPO = Path(__file__).resolve().parents[2]
WRAPPER = [sys.executable, str(REPO / "deploy" / "cpu_tier.py")]


def child_of(pid: int, timeout_s: float = 10.0) -> int:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if children:
            return int(children[0])
        time.sleep(0.05)
    raise AssertionError("the wrapper started no child")


def test_the_exit_status_of_the_service_is_the_wrappers() -> None:
    done = subprocess.run([*WRAPPER, "0", "--", "sh", "-c", "exit 3"], timeout=30)
    assert done.returncode == 3


def test_a_kill_9_of_the_service_ends_the_wrapper_with_137_so_supervisord_restarts_it() -> None:
    wrapper = subprocess.Popen([*WRAPPER, "10", "--", "sleep", "60"])
    try:
        service = child_of(wrapper.pid)
        # the child is on its way to exec: wait until it leads its own session at nice 10
        wait_for(
            lambda: (
                os.getsid(service) == service
                and os.getpriority(os.PRIO_PROCESS, service) == 10
                # the session's autogroup nice is set in a step of its own, after setsid
                and _autogroup_nice_is_10(service)
            ),
            10,
            "the wrapped service to lead a session of its own at nice 10",
        )
        # the service leads a session of its own, at nice 10
        assert os.getsid(service) == service != os.getsid(wrapper.pid)
        assert os.getpriority(os.PRIO_PROCESS, service) == 10
        autogroup = Path(f"/proc/{service}/autogroup")
        if autogroup.exists():
            assert autogroup.read_text().strip().endswith("nice 10")
        os.kill(service, signal.SIGKILL)
        assert wrapper.wait(timeout=10) == 128 + signal.SIGKILL
    finally:
        wrapper.kill()


def test_sigterm_to_the_wrapper_reaches_the_service() -> None:
    wrapper = subprocess.Popen(
        [*WRAPPER, "0", "--", sys.executable, "-c", "import time; time.sleep(60)"]
    )
    try:
        child_of(wrapper.pid)
        wrapper.send_signal(signal.SIGTERM)
        assert wrapper.wait(timeout=10) == 128 + signal.SIGTERM
    finally:
        wrapper.kill()


def _autogroup_nice_is_10(pid: int) -> bool:
    autogroup = Path(f"/proc/{pid}/autogroup")
    return not autogroup.exists() or autogroup.read_text().strip().endswith("nice 10")
