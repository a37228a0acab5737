"""`make screenshots`: a PNG of every page of the web app, desktop and 390 px phone, in docs/ui/.

Starts a real `seller-support serve` on a free port with its own data folder, seeds it through the
API (tests/browser/pages.py) and walks every page in Debian's chromium."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from tests.browser.conftest import CHROMIUM, REPO, Api, start_server, stop
from tests.browser.pages import every_page, seed

OUT = REPO / "docs" / "ui"
SIZES = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 390, "height": 844}}


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        process, base, _ = start_server(Path(tmp))
        try:
            data = seed(Api(base))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
                for size, viewport in SIZES.items():
                    context = browser.new_context(
                        viewport=viewport, is_mobile=size == "phone", device_scale_factor=1
                    )
                    context.set_default_timeout(15_000)
                    page = context.new_page()
                    for name, current in every_page(page, base, data):
                        current.wait_for_timeout(300)
                        path = OUT / f"{name}-{size}.png"
                        current.screenshot(path=str(path), full_page=True)
                        print(f"screenshots: {path.relative_to(REPO)}")
                    context.close()
                browser.close()
        finally:
            stop(process)
    return 0


if __name__ == "__main__":
    sys.exit(main())
