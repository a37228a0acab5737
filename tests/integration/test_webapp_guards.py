"""Issue 26 on a real `seller-support serve` (its own port and data folder, embedded mode):
`/app/attachments/{id}` streams the API's file with the API's guards (class 3); signing out, or
staying idle, ends the session on the server so a replayed cookie opens nothing (class 6); and
`X-Forwarded-For` from loopback is not believed unless configured (class 7)."""

from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from shared.auth import TokenCodec
from shared.http_server import proxy_headers
from tests.attachment_files import pdf, photo

REPO = Path(__file__).resolve().parents[2]
IDLE_SECONDS = 3
ANONYMOUS_LIMIT = 3


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder = tmp_path_factory.mktemp("webapp-guards")
    port = _free_port()
    env = {
        **os.environ,
        "SUPPORT_PORT": str(port),
        "SUPPORT_DATA_DIR": str(folder / "var"),
        "SUPPORT_WEBAPP_SESSION_IDLE_SECONDS": str(IDLE_SECONDS),
        "SUPPORT_RATINGS_ANONYMOUS_RATE_LIMIT": f"{ANONYMOUS_LIMIT}/minute",
    }
    for name in (
        "SUPPORT_DATABASE_URL",
        "SUPPORT_PRODUCTION",
        "SUPPORT_JWT_SECRET",
        "SUPPORT_TRUSTED_PROXIES",
        "FORWARDED_ALLOW_IPS",
    ):
        env.pop(name, None)
    log = folder / "server.log"
    process = subprocess.Popen(
        [str(REPO / ".venv/bin/seller-support"), "serve"],
        cwd=REPO,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                    break
            assert process.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _signed_in(base: str, role: str, user: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=30)
    page = client.get("/app/").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
    answer = client.post("/app/sign-in", data={"csrf": csrf, "role": role, "user_id": user})
    assert answer.status_code == 303, answer.text
    assert client.get("/app/inbox").status_code == 200
    return client


def _upload(base: str, user: str, data: bytes) -> str:
    token = TokenCodec().encode(sub=user, role="buyer")
    answer = httpx.post(
        f"{base}/v1/attachments",
        files={"file": ("f", data, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert answer.status_code == 201, answer.text
    return str(answer.json()["id"])


# --- class 3 ------------------------------------------------------------------------------------


def test_class3_the_web_app_passes_a_file_on_with_the_apis_guards(base: str) -> None:
    # Given a buyer's PDF stored by the API
    document = pdf()
    attachment_id = _upload(base, "b-guard", document)
    api = httpx.get(
        f"{base}/v1/attachments/{attachment_id}",
        headers={"Authorization": f"Bearer {TokenCodec().encode(sub='b-guard', role='buyer')}"},
    )
    # When the buyer opens it through the web app
    with contextlib.closing(_signed_in(base, "buyer", "b-guard")) as client:
        answer = client.get(f"/app/attachments/{attachment_id}")
        # Then the bytes are the file's, and every guard the API sets comes along: a download,
        # never shown in the app's origin, sandboxed, not sniffed
        assert answer.status_code == 200
        assert answer.content == document
        for name in (
            "content-type",
            "content-disposition",
            "content-security-policy",
            "x-content-type-options",
            "etag",
            "content-length",
        ):
            assert answer.headers[name] == api.headers[name], name
        assert answer.headers["content-disposition"].startswith("attachment")
        assert "sandbox" in answer.headers["content-security-policy"]
        # ...and a conditional request gets the API's 304
        again = client.get(
            f"/app/attachments/{attachment_id}", headers={"If-None-Match": answer.headers["etag"]}
        )
        assert again.status_code == 304
        assert again.content == b""


def test_class3_an_image_and_its_thumbnail_keep_their_type_and_inline_disposition(
    base: str,
) -> None:
    attachment_id = _upload(base, "b-guard-img", photo("PNG"))
    with contextlib.closing(_signed_in(base, "buyer", "b-guard-img")) as client:
        image = client.get(f"/app/attachments/{attachment_id}")
        thumbnail = client.get(f"/app/attachments/{attachment_id}/thumbnail")
    assert image.headers["content-type"] == "image/png"
    assert image.headers["content-disposition"].startswith("inline")
    assert thumbnail.headers["content-type"] == "image/jpeg"
    assert "sandbox" in thumbnail.headers["content-security-policy"]


def test_class3_someone_elses_file_is_the_apis_404_through_the_web_app(base: str) -> None:
    attachment_id = _upload(base, "b-owner", pdf())
    with contextlib.closing(_signed_in(base, "buyer", "b-stranger")) as client:
        assert client.get(f"/app/attachments/{attachment_id}").status_code == 404


# --- class 6 ------------------------------------------------------------------------------------


def test_class6_after_sign_out_a_replayed_cookie_opens_nothing(base: str) -> None:
    # Given a signed-in seller, and a copy of their session cookie
    with contextlib.closing(_signed_in(base, "seller", "s-replay")) as client:
        copy = dict(client.cookies)
        page = client.get("/app/inbox").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        # When they sign out
        assert client.post("/app/sign-out", data={"csrf": csrf}).status_code == 303
    # Then the copied cookie, replayed, is sent to the sign-in page
    with httpx.Client(base_url=base, cookies=copy, timeout=30) as replay:
        answer = replay.get("/app/inbox")
        assert answer.status_code == 303
        assert urlsplit(answer.headers["location"]).path == "/app/"  # the sign-in page


def test_class6_an_idle_session_ends_on_the_server(base: str) -> None:
    # Given a signed-in buyer (the server forgets sessions idle for IDLE_SECONDS)
    with contextlib.closing(_signed_in(base, "buyer", "b-idle")) as client:
        copy = dict(client.cookies)
    with httpx.Client(base_url=base, cookies=copy, timeout=30) as later:
        # When nobody uses the session for longer than that (nothing may touch it meanwhile, so
        # this waits rather than polls)
        time.sleep(IDLE_SECONDS + 1)  # not a wait: the session must sit idle that long
        # Then its cookie opens nothing
        answer = later.get("/app/inbox")
        assert answer.status_code == 303
        assert urlsplit(answer.headers["location"]).path == "/app/"  # the sign-in page


# --- class 7 ------------------------------------------------------------------------------------


def test_class7_x_forwarded_for_from_loopback_does_not_reset_the_anonymous_limit(base: str) -> None:
    # Given the anonymous rating limit of ANONYMOUS_LIMIT reads a minute per client address
    path = f"{base}/v1/sellers/s-xff-{time.monotonic_ns()}/support-rating"
    statuses = []
    # When a local caller claims a new address in X-Forwarded-For with every read
    for n in range(ANONYMOUS_LIMIT + 2):
        answer = httpx.get(path, headers={"X-Forwarded-For": f"203.0.113.{n + 1}"}, timeout=30)
        statuses.append(answer.status_code)
    # Then the header changes nothing: the caller is still one address, limited after the limit
    assert 429 not in statuses[:ANONYMOUS_LIMIT], statuses
    assert statuses[ANONYMOUS_LIMIT:] == [429, 429], statuses


def test_class7_proxy_headers_are_read_only_from_the_configured_proxies() -> None:
    assert proxy_headers("") == {"proxy_headers": False}
    assert proxy_headers(" 127.0.0.1 , 10.0.0.0/8 ") == {
        "proxy_headers": True,
        "forwarded_allow_ips": "127.0.0.1,10.0.0.0/8",
    }
