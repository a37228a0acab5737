"""Issue 26, class 8: the gateway's nginx (deploy/gateway) with real nginx processes. Its death
takes everything with it (one process, `master_process off`), and `deploy/gateway/stale_listener.py`
(called by `make up` and `make down`) stops an orphan of ours on the port and refuses anyone else's."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
STALE = REPO / "deploy" / "gateway" / "stale_listener.py"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _listeners(port: int) -> set[int]:
    shown = subprocess.run(
        ["ss", "-Hltnp", f"sport = :{port}"], capture_output=True, text=True, check=True
    ).stdout
    return {int(pid) for pid in re.findall(r"pid=(\d+)", shown)}


def _wait(condition, what: str, timeout_s: float = 15) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def _render(folder: Path, port: int) -> Path:
    (folder / "gateway-tmp").mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SUPPORT_GW_RUN": str(folder), "SUPPORT_GW_LISTEN": f"127.0.0.1:{port}"}
    for name in ("REQUESTS", "LEDGER", "RATINGS", "NOTIFICATIONS", "SEARCH", "WEBAPP"):
        env[f"SUPPORT_GW_{name}"] = f"127.0.0.1:{_free_port()}"
    for template, out in (
        ("routes.conf.template", "gateway-routes.conf"),
        ("nginx.conf.template", "gateway-nginx.conf"),
    ):
        rendered = subprocess.run(
            [sys.executable, str(REPO / "deploy/gateway/render.py"), f"deploy/gateway/{template}"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (folder / out).write_text(rendered)
    return folder / "gateway-nginx.conf"


def _nginx(folder: Path, conf: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        ["nginx", "-p", str(folder), "-c", str(conf), "-e", str(folder / "gateway-error.log")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


@pytest.fixture
def cleanup() -> Iterator[list[int]]:
    """Pids the test started (or that its nginx forked): killed at the end, by pid."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            continue


def test_class8_a_kill_9_of_the_gateway_leaves_nothing_on_its_port(
    tmp_path: Path, cleanup: list[int]
) -> None:
    # Given the gateway's nginx as `make up` renders it
    port = _free_port()
    conf = _render(tmp_path, port)
    assert "master_process off;" in conf.read_text()
    nginx = _nginx(tmp_path, conf)
    cleanup.append(nginx.pid)
    _wait(lambda: _listeners(port) == {nginx.pid}, "nginx listening, one process")
    # When it is killed with SIGKILL
    nginx.send_signal(signal.SIGKILL)
    nginx.wait(10)
    # Then nothing holds the port: supervisord's fresh nginx can bind it
    _wait(lambda: not _listeners(port), "the port freed")


def test_class8_an_orphan_of_ours_on_the_port_is_stopped_and_a_strangers_refused(
    tmp_path: Path, cleanup: list[int]
) -> None:
    # Given an nginx of ours with a master and a worker (as before issue 26), its master killed
    port = _free_port()
    conf = _render(tmp_path, port)
    conf.write_text(conf.read_text().replace("master_process off;", "master_process on;"))
    master = _nginx(tmp_path, conf)
    cleanup.append(master.pid)
    _wait(lambda: len(_listeners(port)) == 2, "master and worker listening")
    cleanup.extend(_listeners(port))
    master.send_signal(signal.SIGKILL)
    master.wait(10)
    _wait(lambda: len(_listeners(port)) == 1, "the orphaned worker alone on the port")
    # When `make up`/`make down` look at the port
    done = subprocess.run(
        [sys.executable, str(STALE), str(port), str(conf)], capture_output=True, text=True
    )
    # Then the orphan is stopped and the port free
    assert done.returncode == 0, done.stderr
    assert "stale gateway" in done.stderr
    _wait(lambda: not _listeners(port), "the orphan stopped")

    # Given a program that is not ours on another port
    other = _free_port()
    stranger = subprocess.Popen(
        [sys.executable, "-m", "http.server", str(other), "--bind", "127.0.0.1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    cleanup.append(stranger.pid)
    _wait(lambda: _listeners(other) == {stranger.pid}, "the stranger listening")
    # When the gateway's port turns out to be its; then `make up` refuses, naming it
    done = subprocess.run(
        [sys.executable, str(STALE), str(other), str(conf)], capture_output=True, text=True
    )
    assert done.returncode == 1
    assert f"pid {stranger.pid}" in done.stderr and "SUPPORT_GATEWAY_PORT" in done.stderr
    assert stranger.poll() is None  # and leaves it alone
