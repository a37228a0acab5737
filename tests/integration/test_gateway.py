"""The gateway (issue 20) in real nginx: every public path reaches the service that serves it.

Given six small HTTP servers that answer with their own name in place of the services, when the
gateway's routes (deploy/gateway/, rendered exactly as deploy/up.sh renders them) run in Debian's
nginx, then each API path and the web app land on the right one."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

REPO = Path(__file__).resolve().parents[2]
GATEWAY = REPO / "deploy" / "gateway"
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SERVICES = ("requests", "ledger", "ratings", "notifications", "search", "webapp")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _named_server(name: str) -> ThreadingHTTPServer:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            if length:
                self.rfile.read(length)
            body = json.dumps(
                {
                    "service": name,
                    "method": self.command,
                    "path": self.path,
                    "host": self.headers["Host"],
                }
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = _answer

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the answers, not the stand-in's access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def start_gateway(
    run: Path, upstreams: dict[str, str], port: int
) -> tuple[subprocess.Popen[bytes], str]:
    """Render deploy/gateway/ as deploy/up.sh does and run it in nginx; (process, base URL)."""
    if not Path(NGINX).exists():
        pytest.fail(
            "nginx is not installed: run bash deploy/install-deps.sh nginx (make test does)"
        )
    (run / "gateway-tmp").mkdir(exist_ok=True)
    env = {
        **os.environ,
        "SUPPORT_GW_RUN": str(run),
        "SUPPORT_GW_LISTEN": f"127.0.0.1:{port}",
        **{f"SUPPORT_GW_{n.upper()}": address for n, address in upstreams.items()},
    }
    for template, out in (
        ("routes.conf.template", "gateway-routes.conf"),
        ("nginx.conf.template", "gateway-nginx.conf"),
    ):
        rendered = subprocess.run(
            [sys.executable, str(GATEWAY / "render.py"), str(GATEWAY / template)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        (run / out).write_text(rendered)
    process = subprocess.Popen(
        [
            NGINX,
            "-p",
            str(run),
            "-c",
            str(run / "gateway-nginx.conf"),
            "-e",
            str(run / "gateway-error.log"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    for _ in range(100):
        try:
            httpx.get(f"{base}/", timeout=1)
            return process, base
        except httpx.TransportError:
            if process.poll() is not None:
                pytest.fail(f"nginx exited: {process.stdout.read() if process.stdout else ''}")
            time.sleep(0.05)
    process.kill()
    pytest.fail("nginx did not listen")


def stop_gateway(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    process.wait(timeout=10)


@pytest.fixture(scope="module")
def gateway(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    servers = {name: _named_server(name) for name in SERVICES}
    process, base = start_gateway(
        tmp_path_factory.mktemp("gateway"),
        {n: f"127.0.0.1:{s.server_address[1]}" for n, s in servers.items()},
        _free_port(),
    )
    try:
        yield base
    finally:
        stop_gateway(process)
        for server in servers.values():
            server.shutdown()


ROUTES = [
    ("GET", "/app/", "webapp"),
    ("GET", "/app/requests/r1", "webapp"),
    ("POST", "/app/sign-in", "webapp"),
    ("GET", "/v1/support-requests?status=escalated", "search"),
    ("POST", "/v1/support-requests", "requests"),
    ("GET", "/v1/support-requests/r1", "requests"),
    ("GET", "/v1/support-requests/r1/history", "requests"),
    ("POST", "/v1/support-requests/r1/responses", "requests"),
    ("POST", "/v1/support-requests/r1/assign", "requests"),
    ("GET", "/v1/support/queue", "search"),
    ("GET", "/v1/sellers/s1/performance", "search"),
    ("GET", "/v1/sellers/s1/ledger", "ledger"),
    ("POST", "/v1/ledger/claims/paid", "ledger"),
    ("GET", "/v1/sellers/s1/support-rating", "ratings"),
    ("GET", "/v1/users/u1/notifications", "notifications"),
    ("GET", "/v1/users/u1/settings", "notifications"),
    ("GET", "/v1/inbox?tab=all", "notifications"),
    ("POST", "/v1/inbox/r1/archive", "notifications"),
    ("GET", "/v1/orders/o1/support-request", "requests"),
    ("POST", "/v1/upstream/events", "requests"),
    ("POST", "/v1/admin/clock", "requests"),
    ("GET", "/healthz", "requests"),
    ("GET", "/docs", "requests"),
]


@pytest.mark.parametrize(("method", "path", "service"), ROUTES)
def test_gateway_routes_each_public_path_to_its_service(
    gateway: str, method: str, path: str, service: str
) -> None:
    response = httpx.request(
        method, gateway + path, json={} if method == "POST" else None, timeout=5
    )
    assert response.status_code == 200
    answer = response.json()
    assert answer["service"] == service
    assert answer["path"] == path  # passed through unchanged, query included
    assert answer["host"] == gateway.removeprefix(
        "http://"
    )  # the origin's host, for cookies and links


def test_gateway_root_leads_to_the_web_app(gateway: str) -> None:
    response = httpx.get(gateway + "/", timeout=5)
    assert response.status_code == 307 and response.headers["location"].endswith("/app/")
