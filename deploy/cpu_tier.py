"""Run a command in a session of its own at a CPU tier: how supervisord starts each process of
`make up` (deploy/up.sh), so the tiers hold under autogroup scheduling.

    python deploy/cpu_tier.py NICE -- COMMAND [ARG ...]

With autogroup scheduling (Linux's `kernel.sched_autogroup_enabled=1`) every session shares the CPU
as one unit whatever its processes' nice values, and supervisord starts every program in its own
session. So this wrapper forks: the child leaves for a session of its own (`setsid`), takes the nice
value both as a process and as that session's autogroup (`/proc/self/autogroup`), and execs the
command; the parent, the process supervisord watches, forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT to it
and exits as it exits (128 + the signal when a signal ended it), so a `kill -9` of the service is
seen and restarted. The child dies with the parent (PR_SET_PDEATHSIG), so no service outlives its
supervisor's view of it.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import sys
import time

PR_SET_PDEATHSIG = 1
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT)


def _die_with_parent(parent: int) -> None:
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _take_tier(nice: int) -> None:
    if nice <= 0:
        return
    os.nice(nice)
    # unprivileged writers are held to one autogroup change per 100 ms machine-wide (EAGAIN)
    for _ in range(50):
        try:
            with open("/proc/self/autogroup", "w") as group:
                group.write(str(nice))
            return
        except FileNotFoundError:
            return  # no autogroup support: the process nice alone applies
        except OSError:
            time.sleep(0.1)
    sys.stderr.write(f"cpu_tier: could not set the session's autogroup nice to {nice}\n")


def main(argv: list[str]) -> int:
    if len(argv) < 4 or argv[2] != "--":
        sys.stderr.write("usage: cpu_tier.py NICE -- COMMAND [ARG ...]\n")
        return 64
    nice, command = int(argv[1]), argv[3:]
    parent = os.getpid()
    child = os.fork()
    if child == 0:
        os.setsid()
        _die_with_parent(parent)
        _take_tier(nice)
        os.execvp(command[0], command)

    def forward(signum: int, _frame: object) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(child, signum)

    for signum in FORWARDED:
        signal.signal(signum, forward)
    while True:
        _pid, status = os.waitpid(child, 0)
        if os.WIFEXITED(status):
            return os.WEXITSTATUS(status)
        if os.WIFSIGNALED(status):
            return 128 + os.WTERMSIG(status)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
