"""Browser tests: serve the app on the tiny pack in a subprocess and drive headless Chromium.

Server and browser come from explorer.benchmarks.harness, as the benchmarks' do: the system
Chromium ($CHROMIUM, else /usr/bin/chromium), and the tests skip when there is none. Every page
collects its console errors and failed requests, and a test fails if any appeared.
"""

from __future__ import annotations

import importlib.util
import os
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from explorer.benchmarks.harness import VIEWPORT, chromium_missing, collect_page_errors, launch_chromium, served


def _tiny_pack_module():
    """tests/app/conftest.py, where the tiny pack builder lives (tests/ has no packages)."""
    path = Path(__file__).resolve().parent.parent / "app" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tiny_pack_builder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="session")
def pack_env(tmp_path_factory) -> dict[str, str]:
    module = _tiny_pack_module()
    env = module.build_tiny_pack(tmp_path_factory.mktemp("ui-packs"))
    # the user's own directions (Explore, Map) go to a folder of the test's, not the real per-user one
    env["LATENT_EXPLORER_HOME"] = str(tmp_path_factory.mktemp("ui-home"))
    return {**env, "PACK": module.PACK}


@pytest.fixture(scope="session")
def server(pack_env) -> Iterator[str]:
    """The base URL of `latent-explorer serve` on the tiny pack, running for the whole session."""
    env = {key: value for key, value in pack_env.items() if key != "PACK"}
    # e.g. LATENT_EXPLORER_UI_SERVE_ARGS="--num-threads 4" runs the same tests on a threaded server
    serve_args = tuple(os.environ.get("LATENT_EXPLORER_UI_SERVE_ARGS", "").split())
    with served(pack_env["PACK"], env, serve_args) as running:
        yield running.url


# Per module, not per session: a second sync_playwright cannot start while one runs, and
# tests/hosting/test_serve_hosting.py launches its own after this module's tests.
@pytest.fixture(scope="module")
def browser():
    if missing := chromium_missing():
        pytest.skip(missing)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


class Page:
    """A Playwright page plus the console errors and failed requests it collected."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.errors: list[str] = []
        collect_page_errors(page, self.errors)

    def open(self, query: str = "") -> None:
        """Load the app (with an optional '?...' query) and wait for the first picture."""
        self.page.goto(self.base_url + query)
        self.page.locator(".bk-panel-models-layout-Column").first.wait_for(timeout=60_000)

    def tab(self, title: str):
        """Click the tab with this exact title; returns its locator."""
        tab = self.page.locator(".bk-tab").filter(has_text=re.compile(f"^{re.escape(title)}$"))
        tab.click()
        return tab

    def src(self, selector: str) -> str:
        """The src of the first img under `selector` (shadow roots included)."""
        locator = self.page.locator(f"{selector} img").first
        locator.wait_for(timeout=30_000)
        return locator.get_attribute("src") or ""

    def wait_src_change(self, selector: str, before: str, timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            now = self.src(selector)
            if now and now != before:
                return now
            time.sleep(0.1)
        raise AssertionError(f"the picture under {selector!r} did not change within {timeout} s")


@pytest.fixture
def app(browser, server):
    context = browser.new_context(viewport=VIEWPORT)
    page = Page(context.new_page(), server)
    yield page
    context.close()
    assert page.errors == [], f"console errors: {page.errors}"
