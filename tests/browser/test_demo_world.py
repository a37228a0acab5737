"""`make demo` leaves a world to explore (issue 24): the real `seller-support demo` against a real
server of its own, then Chromium signs in with the lines it printed and finds every kind of case it
promised; a second run adds a second world."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import REPO, SERVER, Api, sign_in, start_server, stop

SIGN_IN = re.compile(r"^open (?P<app>\S+) — sign in as (?P<role>\w+) (?P<user>\S+)$")
CASE = re.compile(
    r"^   - (?P<kind>.+): order (?P<order>\S+) \(buyer (?P<buyer>\S+), seller (?P<seller>\S+)\)$"
)

# What the page says for each kind the demo promises (UI.md: the status in words).
STATUS_WORDS = {
    "waiting on the seller": "Waiting for the seller's response",
    "overdue (the seller's 48 business hours passed)": "Waiting for the seller's response",
    "an offer waiting on the buyer": "An offer waits for the buyer's answer",
    "a return in transit": "The return is on its way",
    "escalated, in the support queue": "Escalated to platform support",
    "resolved with a full refund": "Resolved",
}

API_STATUS = {
    "waiting on the seller": "awaiting_seller",
    "overdue (the seller's 48 business hours passed)": "awaiting_seller",
    "an offer waiting on the buyer": "offer_pending",
    "a return in transit": "return_in_transit",
    "escalated, in the support queue": "escalated",
    "resolved with a full refund": "resolved",
}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A server of its own: the demo moves the clock, which the other browser tests share."""
    process, base, _ = start_server(tmp_path_factory.mktemp("demo-world"))
    try:
        yield base
    finally:
        stop(process)


def _demo(base: str) -> list[str]:
    done = subprocess.run(
        [str(SERVER), "demo", "--base-url", base],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout.rstrip("\n").splitlines()


@pytest.fixture(scope="module")
def printed(demo_server: str) -> list[str]:
    return _demo(demo_server)


def _sign_ins(lines: list[str]) -> list[dict[str, str]]:
    return [m.groupdict() for m in map(SIGN_IN.match, lines) if m]


def _cases(lines: list[str]) -> list[dict[str, str]]:
    return [m.groupdict() for m in map(CASE.match, lines) if m]


def test_demo_prints_the_sign_in_lines_last(printed: list[str], demo_server: str) -> None:
    # Given the demo's output, Then its last lines are sign-in lines for this server's web app
    signs = _sign_ins(printed)
    assert len(signs) >= 3
    assert printed[-len(signs) :] == [
        f"open {s['app']} — sign in as {s['role']} {s['user']}" for s in signs
    ]
    assert {s["app"] for s in signs} == {f"{demo_server}/app/"}
    assert {s["role"] for s in signs} == {"seller", "buyer", "support"}
    # And the world it describes holds every kind it promises
    assert {c["kind"] for c in _cases(printed)} == set(STATUS_WORDS)


def test_signed_in_as_the_printed_seller_every_kind_of_case_is_there(
    page: Any, printed: list[str], demo_server: str
) -> None:
    api = Api(demo_server)
    seller = next(s["user"] for s in _sign_ins(printed) if s["role"] == "seller")
    cases = [c for c in _cases(printed) if c["seller"] == seller]
    assert {c["kind"] for c in cases} == set(STATUS_WORDS)
    # When a newcomer signs in with the printed line
    sign_in(page, demo_server, "seller", seller)
    page.get_by_role("tab", name="All Messages").click()
    for case in cases:
        # Then each case is a conversation in the seller's inbox
        link = page.get_by_role("link", name=f"Order {case['order']}")
        expect(link).to_be_visible()
        # And its page says the state the demo promised
        link.click()
        expect(page.locator("#status-words")).to_contain_text(STATUS_WORDS[case["kind"]])
        if case["kind"].startswith("overdue"):
            expect(page.locator("#timeline")).to_contain_text("Seller's response overdue")
        page.go_back()
        page.get_by_role("tab", name="All Messages").click()
    # And the API agrees (the state behind each page)
    for case in cases:
        listed = api.call("seller", seller, "GET", f"/v1/orders/{case['order']}/support-request")
        assert [r["status"] for r in listed] == [API_STATUS[case["kind"]]], case


def test_the_escalated_case_waits_in_the_printed_support_agents_queue(
    page: Any, printed: list[str], demo_server: str
) -> None:
    agent = next(s["user"] for s in _sign_ins(printed) if s["role"] == "support")
    escalated = next(c for c in _cases(printed) if c["kind"].startswith("escalated"))
    sign_in(page, demo_server, "support", agent)
    expect(page.get_by_role("heading", level=1)).to_have_text("Support queue")
    expect(page.get_by_role("link", name=re.compile(escalated["order"]))).to_be_visible()


def test_the_printed_buyer_finds_the_offer_to_answer(
    page: Any, printed: list[str], demo_server: str
) -> None:
    offer = next(c for c in _cases(printed) if c["kind"].startswith("an offer"))
    assert offer["buyer"] in {s["user"] for s in _sign_ins(printed) if s["role"] == "buyer"}
    sign_in(page, demo_server, "buyer", offer["buyer"])
    page.get_by_role("link", name=f"Order {offer['order']}").click()
    expect(page.get_by_role("button", name="Accept offer")).to_be_visible()
    expect(page.get_by_role("button", name="Decline offer")).to_be_visible()


def test_a_second_run_adds_a_second_world(tmp_path_factory: pytest.TempPathFactory) -> None:
    # On a server of its own: the demo moves the clock, so a second run on the module's server
    # would lapse the first world's offer before the other tests (in random order) look at it.
    process, base, _ = start_server(tmp_path_factory.mktemp("demo-twice"))
    try:
        # Given a first world, When the demo runs again against the same server
        printed = _demo(base)
        again = _demo(base)
        # Then it succeeds with sign-in lines for new people, and the first world's cases stay
        first = {s["user"] for s in _sign_ins(printed) if s["role"] != "support"}
        second = {s["user"] for s in _sign_ins(again) if s["role"] != "support"}
        assert second and not first & second
        assert {c["kind"] for c in _cases(again)} == set(STATUS_WORDS)
        api = Api(base)
        for case in _cases(printed):
            state = api.call(
                "buyer", case["buyer"], "GET", f"/v1/orders/{case['order']}/support-request"
            )
            assert state, case
    finally:
        stop(process)
