"""Issue 18, class 4: the server's own answers to malformed HTTP are problem+json too.

uvicorn's parser answers these before the application runs; `seller-support serve` runs uvicorn
with shared/http_server.py's protocol class. Raw bytes over a socket to the real process, because an
HTTP client library would refuse to send them.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest

from tests.integration.real_processes import Server, serve
from tests.waiting import wait_for


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = serve(tmp_path_factory.mktemp("malformed")).start()
    try:
        yield running
    finally:
        running.stop()


def _raw(server: Server, data: bytes) -> tuple[str, dict[str, str], bytes]:
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines)}
    return status_line, headers, body


@pytest.mark.parametrize(
    "request_bytes",
    [
        b"POST /v1/upstream/events HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}",
        b"POST /v1/upstream/events HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
        b"GET /healthz HTTP/1.1\r\nHost: x\r\nBad Header Name: 1\r\n\r\n",
        b"THIS IS NOT HTTP\r\n\r\n",
    ],
    ids=["content-length-abc", "content-length-negative", "bad-header-name", "not-http"],
)
def test_class4_malformed_http_is_answered_400_problem_json(
    server: Server, request_bytes: bytes
) -> None:
    status_line, headers, body = _raw(server, request_bytes)
    assert status_line.startswith("HTTP/1.1 400"), status_line
    assert headers["content-type"] == "application/problem+json"
    problem = json.loads(body)
    assert problem["status"] == 400
    assert problem["type"] == "urn:seller-support:problem:malformed-request"
    assert "malformed" in problem["detail"]
    assert int(headers["content-length"]) == len(body)


def test_class4_server_still_serves_after_malformed_requests(server: Server) -> None:
    _raw(server, b"POST / HTTP/1.1\r\nContent-Length: abc\r\n\r\n")
    status_line, _, body = _raw(
        server, b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
    )
    assert status_line.startswith("HTTP/1.1 200") and json.loads(body) == {"status": "ok"}


def test_class4_the_h11_protocol_class_answers_malformed_http_as_problem_json_too() -> None:
    # given uvicorn serving an app with the h11 variant (for installs without httptools)
    import threading

    import uvicorn
    from fastapi import FastAPI

    from shared.http_server import ProblemH11Protocol
    from tests.integration.real_processes import free_port

    port = free_port()
    config = uvicorn.Config(
        FastAPI(), host="127.0.0.1", port=port, http=ProblemH11Protocol, log_config=None
    )
    running = uvicorn.Server(config)
    thread = threading.Thread(target=running.run, daemon=True)
    thread.start()
    try:
        wait_for(lambda: running.started, 30, "uvicorn (h11 protocol) to start serving")
        server = Server([], {}, None, port)  # type: ignore[arg-type] - only the port is used
        # when a request with `Content-Length: abc` arrives
        status_line, headers, body = _raw(
            server, b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
        )
    finally:
        running.should_exit = True
        thread.join(timeout=10)
    # then it is a 400 problem document
    assert status_line.startswith("HTTP/1.1 400")
    assert headers["content-type"] == "application/problem+json"
    assert json.loads(body)["type"] == "urn:seller-support:problem:malformed-request"


def test_class4_the_web_app_process_answers_malformed_http_as_problem_json_too(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # given the web app as make up runs it (its own process; the projection services start uvicorn
    # through the same shared/service_process.py call with the same protocol class)
    import os
    import subprocess
    import sys
    import time

    from services.notifications.smtp_server import free_port

    port = free_port()
    env = {**os.environ, "SUPPORT_WEBAPP_PORT": str(port), "SUPPORT_WEBAPP_HOST": "127.0.0.1"}
    process = subprocess.Popen(
        [sys.executable, "-m", "services.webapp.main"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert process.poll() is None and time.monotonic() < deadline, "web app not up"
                time.sleep(0.2)
        server = Server([], {}, None, port)  # type: ignore[arg-type] - only the port is used
        # when a request arrives with a Content-Length that is no number
        status_line, headers, body = _raw(
            server, b"POST /app/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n"
        )
        # then the answer is a 400 problem document, not uvicorn's plain text
        assert status_line.startswith("HTTP/1.1 400"), status_line
        assert headers["content-type"] == "application/problem+json"
        assert json.loads(body)["type"] == "urn:seller-support:problem:malformed-request"
    finally:
        process.terminate()
        process.wait(timeout=30)
