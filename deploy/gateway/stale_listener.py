"""A listener left on the gateway's port (issue 26, class 8): clean ours, refuse anyone else's.

Usage: stale_listener.py PORT CONF [SUPERVISORD_PIDFILE]

Every process listening on 127.0.0.1:PORT (from `ss -ltnp`) is one of:
- the gateway supervisord runs now (an ancestor is the supervisord of SUPERVISORD_PIDFILE): fine;
- an nginx of ours that nothing supervises any more (its command line names CONF, the config
  `deploy/up.sh` renders under var/up, or it holds a file open beside it): an orphan of an earlier
  run, such as the worker a kill -9 of an nginx master left, stopped here (TERM, then KILL);
- anything else: not ours to stop. Exit 1 naming it, so `make up` refuses instead of letting
  supervisord restart nginx into a port it cannot bind, over and over.

`deploy/up.sh` calls it before starting the gateway, `deploy/down.sh` after stopping supervisord
(no SUPERVISORD_PIDFILE there: every listener of ours is then stale). Exit 0: the port is free or
held by the supervised gateway. Standard library only; Linux (`/proc`, `ss`).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path


def listeners(port: int) -> set[int]:
    shown = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=False
    ).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", shown)}


def command_line(pid: int) -> str:
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return ""
    return raw.replace(b"\0", b" ").decode(errors="replace").strip()


def ours(pid: int, conf: str) -> bool:
    """Its command line names CONF, or (an nginx worker, whose title hides its arguments) it holds
    a file open in CONF's folder (the gateway's error log)."""
    if conf in command_line(pid):
        return True
    folder = str(Path(conf).parent) + "/"
    try:
        fds = list(Path(f"/proc/{pid}/fd").iterdir())
    except OSError:
        return False
    for fd in fds:
        try:
            if os.readlink(fd).startswith(folder):
                return True
        except OSError:
            continue
    return False


def ancestors(pid: int) -> set[int]:
    found: set[int] = set()
    while pid > 1 and pid not in found:
        found.add(pid)
        try:
            status = Path(f"/proc/{pid}/status").read_text()
        except OSError:
            break
        match = re.search(r"^PPid:\s+(\d+)", status, re.MULTILINE)
        pid = int(match.group(1)) if match else 0
    return found


def stop(pid: int) -> None:
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if not Path(f"/proc/{pid}").exists():
            return
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return


def main(argv: list[str]) -> int:
    port, conf = int(argv[1]), argv[2]
    supervisor = 0
    if len(argv) > 3:
        try:
            supervisor = int(Path(argv[3]).read_text().strip())
        except (OSError, ValueError):
            supervisor = 0
    foreign = []
    for pid in sorted(listeners(port)):
        if supervisor and supervisor in ancestors(pid):
            continue  # the gateway supervisord runs
        line = command_line(pid)
        if ours(pid, conf):
            print(f"stale gateway on :{port} (pid {pid}: {line}); stopping it", file=sys.stderr)
            stop(pid)
        else:
            foreign.append(f"pid {pid}: {line or '?'}")
    if foreign:
        print(
            f"port {port} is taken by a process that is not this system's gateway ("
            + "; ".join(foreign)
            + "): stop it, or choose another port with SUPPORT_GATEWAY_PORT",
            file=sys.stderr,
        )
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
