"""The distributed system the fault-injection suite runs against, all of it its own: a PostgreSQL
cluster and an Apache Kafka broker on ports of their own (never the shared ones), and the service
processes as `make up` starts them (deploy/up.sh: supervisord), on ports of their own.

Faults are injected from outside, as an operator's bad day would: `kill -9` of a service process
(supervisord, not the test, restarts it), the broker stopped and started again, the PostgreSQL
cluster stopped and started again."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
PY = REPO / ".venv" / "bin" / "python"
SERVICES = ("requests-api", "ledger", "ratings", "notifications", "search", "webapp", "gateway")
DATABASES = ("requests", "ledger", "ratings", "notifications", "search")


def _env(name: str, default: str) -> str:
    return os.environ.get(name, "").strip() or default


@dataclass
class ChaosConfig:
    """Where the suite's own infrastructure lives (every value from a CHAOS_* variable)."""

    run_dir: Path
    kafka_port: int = int(_env("CHAOS_KAFKA_PORT", "9192"))
    kafka_controller_port: int = int(_env("CHAOS_KAFKA_CONTROLLER_PORT", "9193"))
    pg_cluster: str = _env("CHAOS_PG_CLUSTER", "zzchaos")  # sorts after "main" in pg_lsclusters
    pg_port: int = int(_env("CHAOS_PG_PORT", "5498"))
    port_base: int = int(_env("CHAOS_PORT_BASE", "18200"))

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.kafka_port}"

    @property
    def ports(self) -> dict[str, int]:
        b = self.port_base
        return {
            "requests-api": b + 1,
            "ledger": b + 2,
            "ratings": b + 3,
            "notifications": b + 4,
            "search": b + 5,
            "webapp": b + 6,
            "gateway": b + 7,
        }

    @property
    def smtp_port(self) -> int:
        return self.port_base + 25

    def database_url(self, name: str) -> str:
        return (
            f"postgresql+psycopg://seller_support:seller_support@127.0.0.1:{self.pg_port}"
            f"/seller_support_{name}"
        )

    @property
    def up_dir(self) -> Path:
        return self.run_dir / "up"

    @property
    def kafka_dir(self) -> Path:
        return self.run_dir / "kafka"

    def kafka_env(self) -> dict[str, str]:
        return {
            **os.environ,
            "KAFKA_PORT": str(self.kafka_port),
            "KAFKA_CONTROLLER_PORT": str(self.kafka_controller_port),
            "KAFKA_DATA_DIR": str(self.kafka_dir),
        }

    def system_env(self) -> dict[str, str]:
        env = self.kafka_env()
        env.update(
            {
                "SUPPORT_UP_DIR": str(self.up_dir),
                "SUPPORT_KEEP_INFRA": "1",  # make down must never stop a cluster it did not start
                "SUPPORT_REQUESTS_PORT": str(self.ports["requests-api"]),
                "SUPPORT_LEDGER_PORT": str(self.ports["ledger"]),
                "SUPPORT_RATINGS_PORT": str(self.ports["ratings"]),
                "SUPPORT_NOTIFICATIONS_PORT": str(self.ports["notifications"]),
                "SUPPORT_SEARCH_PORT": str(self.ports["search"]),
                "SUPPORT_WEBAPP_PORT": str(self.ports["webapp"]),
                "SUPPORT_GATEWAY_PORT": str(self.ports["gateway"]),
                # e-mails link to the app behind this gateway; the audit rebuild must render the
                # same links to compare equal, so both read it from here
                "SUPPORT_PUBLIC_URL": f"http://127.0.0.1:{self.ports['gateway']}",
                "SUPPORT_SMTP_PORT": str(self.smtp_port),
                "SUPPORT_LOG_LEVEL": "WARNING",
            }
        )
        env.pop("SUPPORT_SMTP_URL", None)
        for name in DATABASES:
            env[f"SUPPORT_{name.upper()}_DATABASE_URL"] = self.database_url(name)
        return env


def _run(command: list[str], env: dict[str, str] | None = None, timeout: float = 180) -> str:
    done = subprocess.run(
        command, env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"{command} failed ({done.returncode}): {done.stderr[-2000:]}")
    return done.stdout


def _pg_version() -> str:
    versions = sorted((p.name for p in Path("/usr/lib/postgresql").iterdir()), key=lambda v: int(v))
    return versions[-1]


@dataclass
class FaultRecord:
    name: str
    started: float
    ended: float | None = None  # when the fault itself was over (process killed, broker back)
    recovered: float | None = None  # when every service answered /readyz 200 again
    notes: dict[str, object] = field(default_factory=dict)

    @property
    def recovery_s(self) -> float | None:
        if self.recovered is None or self.ended is None:
            return None
        return self.recovered - self.ended


class ChaosSystem:
    """Start, hurt and stop the suite's own system."""

    def __init__(self, config: ChaosConfig) -> None:
        self.config = config
        self.pg_version = _pg_version()
        self.faults: list[FaultRecord] = []

    # --- infrastructure ---

    def start_postgres(self) -> None:
        c = self.config
        existing = _run(["pg_lsclusters", "--no-header"])
        if not any(
            line.split()[:2] == [self.pg_version, c.pg_cluster] for line in existing.splitlines()
        ):
            _run(["pg_createcluster", self.pg_version, c.pg_cluster, "-p", str(c.pg_port)])
        self.pg_start()
        sql = ["runuser", "-u", "postgres", "--", "psql", "-q", "-p", str(c.pg_port), "-c"]
        roles = _run(
            [
                "runuser",
                "-u",
                "postgres",
                "--",
                "psql",
                "-p",
                str(c.pg_port),
                "-tAc",
                "select 1 from pg_roles where rolname='seller_support'",
            ]
        )
        if "1" not in roles:
            _run([*sql, "create role seller_support login createdb password 'seller_support'"])
        for name in DATABASES:
            _run([*sql, f"drop database if exists seller_support_{name} with (force)"])
            _run([*sql, f"create database seller_support_{name} owner seller_support"])

    def pg_start(self) -> None:
        subprocess.run(  # fails harmlessly when it already runs
            ["pg_ctlcluster", self.pg_version, self.config.pg_cluster, "start"],
            check=False,
            capture_output=True,
        )
        for _ in range(100):
            ready = subprocess.run(
                ["pg_isready", "-q", "-h", "127.0.0.1", "-p", str(self.config.pg_port)],
                check=False,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise RuntimeError("the chaos PostgreSQL cluster did not start")

    def pg_stop(self) -> None:
        _run(["pg_ctlcluster", self.pg_version, self.config.pg_cluster, "stop", "-m", "fast"])

    def drop_postgres(self) -> None:
        subprocess.run(
            ["pg_dropcluster", "--stop", self.pg_version, self.config.pg_cluster],
            check=False,
            capture_output=True,
        )

    def kafka_start(self) -> None:
        _run(["bash", "deploy/kafka/start.sh"], env=self.config.kafka_env(), timeout=240)

    def kafka_stop(self) -> None:
        _run(["bash", "deploy/kafka/stop.sh"], env=self.config.kafka_env(), timeout=120)

    # --- the services (make up / make down) ---

    def up(self) -> float:
        started = time.monotonic()
        _run(["bash", "deploy/up.sh"], env=self.config.system_env(), timeout=600)
        return time.monotonic() - started

    def down(self) -> None:
        subprocess.run(
            ["bash", "deploy/down.sh"],
            env=self.config.system_env(),
            cwd=REPO,
            check=False,
            capture_output=True,
            timeout=180,
        )

    def supervisorctl(self, *args: str) -> str:
        conf = self.config.up_dir / "supervisord.conf"
        done = subprocess.run(
            [str(REPO / ".venv" / "bin" / "supervisorctl"), "-c", str(conf), *args],
            capture_output=True,
            text=True,
            check=False,
            timeout=60,
        )
        return done.stdout

    def service_pid(self, name: str) -> int | None:
        """The pid of the service process itself (the child of supervisord's cpu_tier wrapper)."""
        try:
            wrapper = int(self.supervisorctl("pid", name).strip())
        except ValueError:
            return None
        try:
            children = Path(f"/proc/{wrapper}/task/{wrapper}/children").read_text().split()
        except OSError:
            return None
        return int(children[0]) if children else None

    def kill9(self, name: str) -> int | None:
        pid = self.service_pid(name)
        if pid is not None:
            os.kill(pid, signal.SIGKILL)
        return pid

    def gateway_listeners(self) -> set[int]:
        """The pids listening on the gateway's port (issue 26: after a kill -9 of nginx, only the
        fresh nginx supervisord started, never an orphaned worker of the killed one)."""
        shown = subprocess.run(
            ["ss", "-Hltnp", f"sport = :{self.config.ports['gateway']}"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout
        return {int(pid) for pid in re.findall(r"pid=(\d+)", shown)}

    def restart(self, *names: str) -> None:
        self.supervisorctl("restart", *names)

    # --- health ---

    def http_ok(self, name: str, path: str = "/readyz") -> bool:
        port = self.config.ports[name]
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as answer:
                return answer.status == 200
        except Exception:
            return False

    def not_ready(self) -> list[str]:
        """The services whose `/readyz` does not answer 200, and the programs not RUNNING."""
        waiting = [name for name in SERVICES if not self.http_ok(name)]
        status = self.supervisorctl("status")
        waiting += [
            line.split()[0]
            for line in status.splitlines()
            if line.strip() and " RUNNING " not in line
        ]
        return waiting

    def all_ready(self) -> bool:
        return not self.not_ready()

    def wait_until(
        self, predicate: Callable[[], bool], timeout_s: float, poll_s: float = 0.5
    ) -> float | None:
        """Monotonic time when `predicate()` first held, or None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if predicate():
                return time.monotonic()
            time.sleep(poll_s)
        return None

    def record(self, name: str, **notes: object) -> FaultRecord:
        fault = FaultRecord(name, time.monotonic(), notes=dict(notes))
        self.faults.append(fault)
        return fault

    def recovered(self, fault: FaultRecord, timeout_s: float = 240) -> None:
        """Mark the fault over now, then wait until every service is ready again."""
        if fault.ended is None:
            fault.ended = time.monotonic()
        fault.recovered = self.wait_until(self.all_ready, timeout_s)

    def cleanup(self) -> None:
        self.down()
        with contextlib.suppress(Exception):
            self.kafka_stop()
        self.drop_postgres()
        shutil.rmtree(self.config.kafka_dir, ignore_errors=True)
