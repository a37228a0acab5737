"""Accessible and phone-sized (issue 20): axe-core finds no serious or critical violation on any
page; at 390 px nothing scrolls sideways; the keyboard reaches every control with a visible focus.

axe-core comes bundled in the PyPI package axe-playwright-python and is injected into the test
browser from the local file system (no CDN)."""

from __future__ import annotations

from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.browser.conftest import Api
from tests.browser.pages import every_page, seed

SEVERE = {"serious", "critical"}


@pytest.fixture(scope="module")
def seeded(api: Api) -> Any:
    return seed(api)


def test_axe_reports_no_serious_or_critical_violation_on_any_page(
    page: Any, server: str, seeded: Any
) -> None:
    axe = Axe()
    seen, problems = [], {}
    for name, current in every_page(page, server, seeded):
        seen.append(name)
        result = axe.run(current)
        severe = [
            (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
            for v in result.response["violations"]
            if v.get("impact") in SEVERE
        ]
        if severe:
            problems[name] = severe
    assert len(seen) >= 13, seen
    assert problems == {}


def test_no_sideways_scrolling_at_390_px(browser: Any, server: str, seeded: Any) -> None:
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    context.set_default_timeout(15_000)
    try:
        page = context.new_page()
        wide = {}
        for name, current in every_page(page, server, seeded):
            width = current.evaluate("document.documentElement.scrollWidth")
            if width > 390:
                wide[name] = width
        assert wide == {}
    finally:
        context.close()


def test_keyboard_reaches_the_controls_with_a_visible_focus(page: Any, server: str) -> None:
    page.goto(f"{server}/app/")
    reached = []
    for _ in range(12):
        page.keyboard.press("Tab")
        focused = page.evaluate(
            """() => { const e = document.activeElement; const s = getComputedStyle(e);
                return [e.tagName, e.id || e.textContent.trim(), s.outlineStyle, s.outlineWidth]; }"""
        )
        reached.append(focused)
        if focused[1] == "Sign in":
            break
    names = [r[1] for r in reached]
    assert "user-id" in names and "role" in names and "Sign in" in names, names
    assert all(r[2] != "none" and r[3] != "0px" for r in reached), reached


def test_inbox_tabs_answer_the_arrow_keys(page: Any, server: str) -> None:
    from tests.browser.conftest import new_user, sign_in

    sign_in(page, server, "seller", new_user("seller"))
    page.get_by_role("tab", name="Customer Service").focus()
    page.keyboard.press("ArrowRight")
    assert page.evaluate("document.activeElement.textContent.trim()") == "All Messages"
    page.keyboard.press("Enter")
    expect(page.get_by_role("tab", name="All Messages")).to_have_attribute("aria-selected", "true")
