"""The suite's one way to wait: poll a condition under a deadline, and say what was awaited when it
gives up. `tests/suite_lint.py` rejects a `while` loop that sleeps without a deadline, and a
`time.sleep` outside a polling loop, anywhere else in tests/.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_for(
    condition: Callable[[], T], timeout_s: float = 30.0, what: str = "", poll_s: float = 0.05
) -> T:
    """Poll `condition()` until it is truthy (returned) or `timeout_s` passes (AssertionError
    naming `what`)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout_s}s waiting for {what or condition}")
        time.sleep(poll_s)
