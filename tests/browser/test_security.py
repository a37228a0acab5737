"""Secure by default (issue 20), checked over real HTTP against the running server: the session
cookie's flags, CSRF on every form, a CSP with no inline script, no stack trace on errors."""

from __future__ import annotations

import re

import httpx
import pytest

from shared.auth import TokenCodec
from tests.browser.conftest import Api, new_user, start_server, stop


def _csrf(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html[:500]
    return match.group(1)


def _signed_in(server: str, role: str, user: str, host: str | None = None) -> httpx.Client:
    headers = {"Host": host} if host else {}
    client = httpx.Client(base_url=server, headers=headers, follow_redirects=False, timeout=30)
    page = client.get("/app/")
    response = client.post(
        "/app/sign-in", data={"csrf": _csrf(page.text), "role": role, "user_id": user}
    )
    assert response.status_code == 303, response.text
    return client


def test_session_cookie_is_httponly_samesite_lax_and_secure_outside_localhost(server: str) -> None:
    client = httpx.Client(base_url=server, timeout=30)
    page = client.get("/app/")
    response = client.post(
        "/app/sign-in", data={"csrf": _csrf(page.text), "role": "buyer", "user_id": "b"}
    )
    set_cookie = response.headers["set-cookie"].lower()
    assert "httponly" in set_cookie and "samesite=lax" in set_cookie and "path=/app/" in set_cookie
    assert "secure" not in set_cookie  # plain http on 127.0.0.1 (make run)
    assert client.get("/app/inbox").headers["cache-control"] == "no-store"
    remote = httpx.Client(base_url=server, headers={"Host": "support.example.com"}, timeout=30)
    assert "secure" in remote.get("/app/").headers["set-cookie"].lower()


def test_every_page_has_a_csp_without_inline_script(server: str) -> None:
    client = _signed_in(server, "seller", new_user("seller"))
    for path in ("/app/", "/app/inbox", "/app/ledger", "/app/rating", "/app/notifications"):
        response = client.get(path, follow_redirects=True)
        csp = response.headers["content-security-policy"]
        assert (
            "script-src 'self'" in csp and "unsafe-inline" not in csp and "unsafe-eval" not in csp
        )
        assert "frame-ancestors 'none'" in csp
        scripts = re.findall(r"<script([^>]*)>", response.text)
        assert scripts and all("src=" in attrs for attrs in scripts), path
        assert " on" not in "".join(re.findall(r"<[^>]+ on[a-z]+=", response.text))


def test_a_form_without_the_csrf_token_is_refused_and_changes_nothing(
    server: str, api: Api
) -> None:
    buyer, seller = new_user("buyer"), new_user("seller")
    rid = api.open(buyer, api.order(buyer, seller))["id"]
    api.conversation("seller", seller, rid)
    client = _signed_in(server, "seller", seller)
    for data in ({}, {"csrf": "forged"}):
        refused = client.post(f"/app/requests/{rid}/act", data={**data, "action": "full_refund"})
        assert refused.status_code == 403
        assert "Traceback" not in refused.text
        archive = client.post(f"/app/inbox/{rid}/archive", data=data)
        assert archive.status_code == 403
    assert api.state(rid)["status"] == "awaiting_seller"
    assert api.conversation("seller", seller, rid)["archived"] is False


def test_an_unknown_request_shows_the_api_detail_not_a_stack_trace(server: str) -> None:
    client = _signed_in(server, "buyer", new_user("buyer"))
    response = client.get("/app/requests/00000000-0000-0000-0000-000000000000")
    assert response.status_code == 404
    assert "Traceback" not in response.text and 'role="alert"' in response.text


def test_sign_out_clears_the_session(server: str) -> None:
    client = _signed_in(server, "seller", new_user("seller"))
    assert client.get("/app/inbox").status_code == 200
    page = client.get("/app/inbox")
    response = client.post("/app/sign-out", data={"csrf": _csrf(page.text)})
    assert response.status_code == 303
    assert (
        'seller_support_session=""' in response.headers["set-cookie"]
        or "max-age=0" in response.headers["set-cookie"].lower()
    )
    assert client.get("/app/inbox").status_code == 303  # back to sign-in


def test_production_sign_in_takes_the_platforms_bearer_token(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # Given a production server (no development sign-in) with its own JWT secret
    secret = "s" * 40
    process, base, _ = start_server(
        tmp_path_factory.mktemp("production"),
        {"SUPPORT_PRODUCTION": "true", "SUPPORT_JWT_SECRET": secret},
    )
    try:
        client = httpx.Client(base_url=base, timeout=30)
        page = client.get("/app/")
        assert 'name="token"' in page.text and 'name="user_id"' not in page.text
        # A token the platform did not sign is refused with the API's words
        forged = TokenCodec(secret="x" * 40).encode(sub="s1", role="seller")
        refused = client.post("/app/sign-in", data={"csrf": _csrf(page.text), "token": forged})
        assert refused.status_code == 303
        assert "refused" in client.get("/app/").text
        # The platform's token signs the person in
        token = TokenCodec(secret=secret).encode(sub="seller-p", role="seller")
        page = client.get("/app/")
        accepted = client.post("/app/sign-in", data={"csrf": _csrf(page.text), "token": token})
        assert accepted.headers["location"].endswith("/app/inbox")
        inbox = client.get("/app/inbox")
        assert inbox.status_code == 200 and "seller-p" in inbox.text
        # Development sign-in fields are ignored in production
        page = client.get("/app/inbox")
        client.post("/app/sign-out", data={"csrf": _csrf(page.text)})
        page = client.get("/app/")
        minted = client.post(
            "/app/sign-in",
            data={"csrf": _csrf(page.text), "role": "support", "user_id": "intruder"},
        )
        assert minted.headers["location"].endswith("/app/")
    finally:
        stop(process)
