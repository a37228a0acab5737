"""The quick start works as written: `make run` on a free port that is not the default (SUPPORT_PORT),
the bash blocks of README.md's quick start run verbatim by bash against it over HTTP (their BASE
follows SUPPORT_PORT), then the same steps checked with httpx."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from shared.auth import TokenCodec
from tests.integration.real_processes import serve

REPO = Path(__file__).resolve().parents[2]
SERVER = REPO / ".venv" / "bin" / "seller-support"
QUICKSTART = REPO / "README.md"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[str, dict[str, str], Path]]:
    """`make run` exactly as the README says, on a free port that is not the default 8000."""
    port = _free_port()
    assert port != 8000
    env = {
        **os.environ,
        "SUPPORT_PORT": str(port),
        "SUPPORT_DATA_DIR": str(tmp_path_factory.mktemp("var")),
    }
    for name in ("SUPPORT_DATABASE_URL", "SUPPORT_PRODUCTION", "SUPPORT_JWT_SECRET", "MAKEFLAGS"):
        env.pop(name, None)
    log = tmp_path_factory.mktemp("log") / "server.log"
    with log.open("wb") as output:
        # A session of its own: make and the server it runs are stopped together.
        process = subprocess.Popen(
            ["make", "--no-print-directory", "run"],
            cwd=REPO,
            env=env,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                with contextlib.suppress(httpx.TransportError):  # not listening yet
                    if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                        break
                if process.poll() is not None:
                    pytest.fail(f"make run exited: {log.read_text()}")
                if time.monotonic() > deadline:
                    pytest.fail(f"make run did not become ready: {log.read_text()}")
                time.sleep(0.1)
            yield base, env, log
        finally:
            _stop_group(process)


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _quickstart_script() -> str:
    """README.md's bash blocks, verbatim: BASE follows SUPPORT_PORT."""
    blocks = re.findall(r"```bash\n(.*?)```", QUICKSTART.read_text(), flags=re.S)
    assert blocks, "README.md has no bash blocks"
    script = "\n".join(blocks)
    assert "BASE=http://127.0.0.1:${SUPPORT_PORT:-8000}" in script
    return "set -euo pipefail\n" + script


def test_quickstart_curl_steps_work_as_written(server: tuple[str, dict[str, str], Path]) -> None:
    base, env, log = server
    # Given `make run` on a port that is not the default, and SUPPORT_PORT set in this shell too
    # When the README's blocks run verbatim
    result = subprocess.run(
        ["bash", "-c", _quickstart_script()],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert '"status":"ok"' in out
    assert "is awaiting_seller" in out
    assert "offer_pending" in out and "{'amount': 1000, 'currency': 'USD'}" in out
    assert "offer_accepted" in out and "partial_refund" in out
    assert "escalated" in out and "full_refund" in out
    assert '"status":409' in out and '"status":401' in out  # the two error examples
    assert "every kind of request walked end to end" in out  # the demo
    # And the e-mails the steps caused landed where the README says (var/mail/*.eml)
    mail = Path(env["SUPPORT_DATA_DIR"]) / "mail"
    deadline = time.monotonic() + 30
    while not list(mail.glob("*.eml")) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert list(mail.glob("*.eml")), f"no e-mail under {mail}"
    # And make run printed one short human line per request, not JSON (development's console)
    printed = log.read_text()
    assert re.search(r"POST /v1/support-requests 201 \d+ ms", printed), printed[-3000:]
    assert not [line for line in printed.splitlines() if line.startswith("{")], printed[-3000:]
    # And the demo ended with the sign-in lines for this server's web app
    assert f"open {base}/app/ — sign in as seller demo-seller-" in out


def test_quickstart_steps_over_http(server: tuple[str, dict[str, str], Path]) -> None:
    base, env, _ = server

    def token(role: str, sub: str) -> str:
        return subprocess.run(
            [str(SERVER), "token", "--role", role, "--sub", sub, "--ttl", "10m"],
            cwd=REPO,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    auth = lambda role, sub: {"Authorization": f"Bearer {token(role, sub)}"}  # noqa: E731
    with httpx.Client(base_url=base, timeout=30) as http:
        placed = http.post(
            "/v1/upstream/events",
            headers=auth("platform", "orders"),
            json={
                "type": "order_placed",
                "order_id": "e2e-1",
                "buyer_id": "b1",
                "seller_id": "s1",
                "currency": "USD",
                "placed_at": "2026-01-05T10:00:00-05:00",
                "items": [
                    {
                        "item_id": "i1",
                        "title": "t",
                        "category": "c",
                        "price": 2500,
                        "seller_payout": 2200,
                        "buyer_shipping_paid": 500,
                        "processing_fee": 103,
                    }
                ],
            },
        )
        assert placed.status_code == 202
        opened = http.post(
            "/v1/support-requests",
            headers={**auth("buyer", "b1"), "Idempotency-Key": "e2e-open"},
            json={
                "order_id": "e2e-1",
                "item_ids": ["i1"],
                "reason": "defective",
                "description": "creased",
            },
        )
        assert opened.status_code == 201
        rid = opened.json()["id"]
        responded = http.post(
            f"/v1/support-requests/{rid}/responses",
            headers=auth("seller", "s1"),
            json={"type": "full_refund"},
        )
        assert responded.json()["resolution"] == "full_refund"
        assert http.get(f"/v1/support-requests/{rid}").status_code == 401
        assert (
            http.get(f"/v1/support-requests/{rid}", headers=auth("buyer", "b2")).status_code == 404
        )
        assert http.get("/docs").status_code == 200


def test_the_readmes_reset_gives_a_fresh_dev_world(tmp_path: Path) -> None:
    """README: the admin's clock moves stay across restarts; its reset line starts a fresh world."""
    reset = re.search(r"^(rm -rf var/[^#\n]*)", QUICKSTART.read_text(), flags=re.M)
    assert reset, "README.md has no reset line"
    admin = {"Authorization": f"Bearer {TokenCodec().encode(sub='ops', role='admin')}"}
    # Given make run's data folder, named var as in the README, whose clock was moved 30 days on
    server = serve(tmp_path)  # SUPPORT_DATA_DIR=<tmp>/var
    server.start()
    try:
        moved = httpx.post(f"{server.base}/v1/admin/clock", json={"advance": "P30D"}, headers=admin)
        assert moved.status_code == 200, moved.text
        server.stop()
        server.start()
        resumed = httpx.get(f"{server.base}/v1/admin/clock", headers=admin).json()["now"]
        assert datetime.fromisoformat(resumed) > datetime.now(UTC) + timedelta(days=29)  # it stays
        server.stop()
        # When the README's reset line runs where that folder is, and make run starts again
        subprocess.run(["sh", "-c", reset.group(1)], cwd=tmp_path, check=True)
        server.start()
        # Then the clock is back at the real time
        now = httpx.get(f"{server.base}/v1/admin/clock", headers=admin).json()["now"]
        assert datetime.fromisoformat(now) < datetime.now(UTC) + timedelta(hours=1)
    finally:
        server.stop()
