"""Browser tests: pytest-playwright driving Debian's Chromium against pytest-django's live server.

Never run ``playwright install``: the browser is /usr/bin/chromium. Screenshots go to
test-artifacts/screenshots/ at the repository root.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by the
# fixtures there are still plain synchronous code.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOTS = REPO / "test-artifacts" / "screenshots"
VIEWPORTS = {
    "phone": {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
              "has_touch": True},
    "desktop": {"viewport": {"width": 1280, "height": 800}, "device_scale_factor": 1},
}

from tests.factories import build_pages_network, tibetan_selectable  # noqa: E402


def _require_chromium() -> None:
    if not CHROMIUM.exists():
        reason = f"browser tests need Debian's Chromium at {CHROMIUM} (apt-get install chromium); it is missing"
        print(f"\nSKIP: {reason}")
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    _require_chromium()
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "headless": True,
        "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    }


@pytest.fixture(autouse=True)
def _chromium_present():
    _require_chromium()


@pytest.fixture
def net(transactional_db, live_server, settings, tmp_path_factory):
    """The small network, committed so that the live server's thread sees it."""
    tibetan_selectable(settings, tmp_path_factory.mktemp("locale"))
    return build_pages_network()


@pytest.fixture
def site(live_server) -> str:
    return live_server.url


@pytest.fixture
def open_page(browser, site):
    """``open_page("phone" | "desktop")``: a fresh browser context (no cookies), in Chinese."""
    contexts = []

    def make(viewport: str = "phone"):
        context = browser.new_context(base_url=site, locale="zh-CN", **VIEWPORTS[viewport])
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


@pytest.fixture
def shot():
    """``shot(page, name)``: a full-page screenshot to test-artifacts/screenshots/<name>.png."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def take(page, name: str) -> Path:
        path = SCREENSHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
