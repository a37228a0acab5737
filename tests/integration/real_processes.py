"""Real processes for the issue-18 tests: `seller-support serve` (or the distributed requests API)
as a subprocess, and a PostgreSQL cluster of the test's own that it may stop and start.

The cluster is made with Debian's `pg_createcluster` on its own port and dropped afterwards: the
shared cluster (5432) is never touched. Tests that need it are skipped only where Debian's PostgreSQL
tools are missing (they are installed by deploy/postgres/start.sh, which CI runs first).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
SERVE = REPO / ".venv" / "bin" / "seller-support"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    """One server process; `restart()` starts it again on the same port with the same settings."""

    argv: list[str]
    env: dict[str, str]
    log: Path
    port: int
    process: subprocess.Popen[bytes] | None = None
    starts: int = field(default=0)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, ready_path: str = "/healthz") -> Server:
        output = self.log.open("ab")
        self.process = subprocess.Popen(
            self.argv, cwd=REPO, env=self.env, stdout=output, stderr=subprocess.STDOUT
        )
        self.starts += 1
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base + ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.TransportError:
                pass
            if self.process.poll() is not None:
                pytest.fail(f"server exited: {self.log.read_text()[-4000:]}")
            time.sleep(0.1)
        pytest.fail(f"server did not become ready: {self.log.read_text()[-4000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def kill(self) -> None:
        """kill -9: no shutdown code runs, as in a crash."""
        self.stop(signal.SIGKILL)


def serve(tmp: Path, **settings: str) -> Server:
    """`seller-support serve` (embedded mode) with its data under `tmp`; not started yet."""
    port = free_port()
    env = {**os.environ, "SUPPORT_PORT": str(port), "SUPPORT_DATA_DIR": str(tmp / "var")}
    for name in ("SUPPORT_DATABASE_URL", "SUPPORT_PRODUCTION", "SUPPORT_JWT_SECRET"):
        env.pop(name, None)
    env.update(settings)
    return Server([str(SERVE), "serve"], env, tmp / "server.log", port)


def requests_api(tmp: Path, database_url: str) -> Server:
    """The distributed requests API (`python -m services.requests.kafka_main api`)."""
    port = free_port()
    env = {**os.environ, "SUPPORT_PORT": str(port), "SUPPORT_DATA_DIR": str(tmp / "var")}
    for name in ("SUPPORT_PRODUCTION", "SUPPORT_JWT_SECRET"):
        env.pop(name, None)
    argv = [sys.executable, "-m", "services.requests.kafka_main", "api"]
    return Server([*argv, "--database-url", database_url], env, tmp / "api.log", port)


# --- a PostgreSQL cluster of our own ---------------------------------------------------------------


@dataclass(frozen=True)
class OwnCluster:
    version: str
    name: str
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://chaos:chaos@127.0.0.1:{self.port}/chaos"

    def stop(self) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, "stop", "-m", "fast"], check=True)

    def start(self) -> None:
        subprocess.run(["pg_ctlcluster", self.version, self.name, "start"], check=True)
        _wait_ready(self.port)


def _wait_ready(port: int) -> None:
    for _ in range(100):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL on {port} did not become ready")


def _as_postgres(*argv: str) -> None:
    runner = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    subprocess.run([*runner, *argv], check=True, capture_output=True)


@contextmanager
def own_postgres_cluster(name: str = "chaos18a", port: int = 5499) -> Iterator[OwnCluster]:
    """A fresh cluster `name` on `port` (never the shared one), dropped afterwards."""
    if shutil.which("pg_createcluster") is None or not Path("/usr/lib/postgresql").is_dir():
        pytest.skip("Debian's PostgreSQL tools are not installed (deploy/postgres/start.sh)")
    if os.geteuid() != 0:
        pytest.skip("creating a PostgreSQL cluster of the test's own needs root (pg_createcluster)")
    version = sorted(
        os.listdir("/usr/lib/postgresql"), key=lambda v: [int(p) for p in v.split(".")]
    )[-1]
    subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)
    subprocess.run(
        ["pg_createcluster", version, name, "-p", str(port)], check=True, capture_output=True
    )
    cluster = OwnCluster(version, name, port)
    try:
        cluster.start()
        _as_postgres(
            "psql", "-q", "-p", str(port), "-c", "create role chaos login password 'chaos'"
        )
        _as_postgres("createdb", "-p", str(port), "-O", "chaos", "chaos")
        yield cluster
    finally:
        subprocess.run(["pg_dropcluster", "--stop", version, name], capture_output=True)
