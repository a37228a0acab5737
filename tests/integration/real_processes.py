"""Real processes for the issue-18 tests: `seller-support serve` (or the distributed requests API)
as a subprocess, and a PostgreSQL cluster of the test's own that it may stop and start.

The cluster is made with Debian's `pg_createcluster` on its own port and dropped afterwards: the
shared cluster (5432) is never touched. Tests that need it are skipped only where Debian's PostgreSQL
tools are missing (they are installed by deploy/postgres/start.sh, which CI runs first).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
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
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with contextlib.suppress(httpx.TransportError):  # not listening yet
                    if httpx.get(self.base + ready_path, timeout=1).status_code == 200:
                        return self
                if self.process.poll() is not None:
                    pytest.fail(f"server exited: {self.log.read_text()[-4000:]}")
                time.sleep(0.1)
            pytest.fail(f"server did not become ready: {self.log.read_text()[-4000:]}")
        except BaseException:  # not ready, or interrupted: nothing left running (issue 24)
            self.stop()
            raise
        finally:
            output.close()  # the child has its own copy of the descriptor

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


# initdb refuses to run as root: as root, the cluster's files and processes belong to `postgres`.
_AS_POSTGRES = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []


def _postgres_bin() -> Path:
    """The newest installed PostgreSQL's programs (Debian's layout, as deploy/postgres/start.sh
    installs it); a clear failure when there are none."""
    versions = Path("/usr/lib/postgresql")
    installed = sorted(
        (p for p in versions.glob("*/bin") if (p / "initdb").exists()),
        key=lambda p: [int(part) for part in p.parent.name.split(".")],
    )
    if not installed:
        pytest.fail("PostgreSQL is not installed: run deploy/postgres/start.sh (make test does)")
    return installed[-1]


def _run(*argv: str) -> None:
    subprocess.run([*_AS_POSTGRES, *argv], check=True, capture_output=True)


@dataclass(frozen=True)
class OwnCluster:
    """A throwaway PostgreSQL of the test's own: its data folder, its port, its socket folder."""

    bin: Path
    data_dir: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://chaos:chaos@127.0.0.1:{self.port}/chaos"

    def stop(self) -> None:
        _run(str(self.bin / "pg_ctl"), "-D", str(self.data_dir), "stop", "-m", "fast", "-w")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.data_dir} -c listen_addresses=127.0.0.1"
        log = self.data_dir / "server.log"
        _run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data_dir),
            "-o",
            options,
            "-l",
            str(log),
            "start",
        )
        _wait_ready(self.port)


def _wait_ready(port: int) -> None:
    for _ in range(100):
        if subprocess.run(["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(port)]).returncode == 0:
            return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL on {port} did not become ready")


@contextmanager
def own_postgres_cluster(port: int = 5499) -> Iterator[OwnCluster]:
    """A fresh cluster on `port` (never the shared one) in a temporary folder, removed afterwards.
    Made with initdb and pg_ctl, so it needs neither root nor Debian's cluster registry."""
    bin_dir = _postgres_bin()
    data_dir = Path(tempfile.mkdtemp(prefix="own-postgres-"))
    if _AS_POSTGRES:
        shutil.chown(data_dir, "postgres", "postgres")
    cluster = OwnCluster(bin_dir, data_dir, port)
    try:
        _run(str(bin_dir / "initdb"), "-D", str(data_dir), "-U", "postgres", "--auth=trust")
        cluster.start()
        psql = [str(bin_dir / "psql"), "-q", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres"]
        _run(*psql, "-c", "create role chaos login password 'chaos'")
        _run(*psql, "-c", "create database chaos owner chaos")
        yield cluster
    finally:
        with contextlib.suppress(subprocess.CalledProcessError):
            cluster.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
