"""The Compare, Exemplars and Diagnostics views and the on-manifold meter in headless Chromium, on
the shipped packs (fashion vs fashion-gan, fashion's training snapshots, emoji)."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pytest

from explorer.benchmarks.harness import VIEWPORT, collect_page_errors, served
from explorer.packs import REPO_ROOT

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def shipped_server() -> Iterator[str]:
    """`latent-explorer serve` on the repository's shipped packs (fashion first)."""
    env = {"LATENT_EXPLORER_ASSETS": str(REPO_ROOT / "assets"), "LATENT_EXPLORER_INDEXES": str(REPO_ROOT / "indexes")}
    with served("fashion", env) as running:
        yield running.url


@pytest.fixture
def page(browser, shipped_server):
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    errors: list[str] = []
    collect_page_errors(page, errors)
    page.base_url = shipped_server
    yield page
    context.close()
    assert errors == [], f"console errors: {errors}"


def src(page, selector: str) -> str:
    locator = page.locator(f"{selector} img").first
    locator.wait_for(timeout=60_000)
    return locator.get_attribute("src") or ""


def changed_src(page, selector: str, before: str, timeout: float = 60.0) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        now = src(page, selector)
        if now and now != before:
            return now
        time.sleep(0.2)
    raise AssertionError(f"the picture under {selector!r} did not change within {timeout} s")


def test_compare_shows_fashion_and_fashion_gan_j_diagrams_of_the_same_images(page):
    page.goto(page.base_url + "?view=compare")
    left, right = src(page, ".compare-left"), src(page, ".compare-right")
    assert left.startswith("data:image/") and right.startswith("data:image/") and left != right
    page.get_by_text("fashion-gan (shipped model)").wait_for(timeout=30_000)
    page.get_by_text("ids 0, 1, 2").first.wait_for(timeout=30_000)


def test_the_checkpoint_slider_walks_the_j_diagram_through_training(page):
    page.goto(page.base_url + "?view=compare")
    before = src(page, ".compare-left")
    page.locator(".compare-mode button").filter(has_text="Training checkpoints").click()
    first = changed_src(page, ".compare-left", before)
    page.get_by_text("fashion after epoch 1").wait_for(timeout=30_000)
    handle = page.locator(".compare-epoch .noUi-handle").first
    handle.focus()
    handle.press("End")
    last = changed_src(page, ".compare-left", first)
    assert last != first
    page.get_by_text("fashion after epoch 4").wait_for(timeout=30_000)


def test_exemplars_render_on_emoji(page):
    page.goto(page.base_url + "?pack=emoji&view=exemplars")
    for selector in (".exemplar-jitter", ".exemplar-centre", ".exemplar-pixels", ".exemplars-a"):
        assert src(page, selector).startswith("data:image/")


def test_diagnostics_render_on_emoji_with_the_outside_share(page):
    page.goto(page.base_url + "?pack=emoji&view=diagnostics")
    summary = page.locator(".diagnostics-summary").first
    # the share is a real measured number, e.g. "Outside the manifold: 98.2 %"
    summary.get_by_text(re.compile(r"Outside the manifold: \d+\.\d %")).wait_for(timeout=60_000)
    page.locator(".diagnostics-table table").first.wait_for(timeout=30_000)
    assert page.locator(".bk-Canvas, canvas").count() > 0


def test_the_on_manifold_meter_moves_with_the_explore_picture(page):
    page.goto(page.base_url + "?pack=emoji")
    meter = page.locator(".on-manifold div").first
    meter.wait_for(timeout=60_000)
    before = meter.inner_text().strip()
    assert re.fullmatch(r"on-manifold: percentile \d+ \((on|off) the data; nearest image at \d+\.\d\d\)", before)
    page.locator(".random-start button").click()
    deadline = time.monotonic() + 30
    while meter.inner_text().strip() == before and time.monotonic() < deadline:
        time.sleep(0.2)
    assert meter.inner_text().strip() != before


def test_the_map_draws_every_held_out_image_of_the_emoji_pack(page):
    from test_ui_map import SCATTER_SIZES  # tests/ui is on the path of its own modules

    from explorer.packs import Pack

    count = len(Pack("emoji", REPO_ROOT / "assets" / "emoji", REPO_ROOT / "indexes" / "emoji").index)
    page.goto(f"{page.base_url}?pack=emoji&view=map")
    page.locator(".latent-map canvas").first.wait_for(timeout=60_000)
    page.wait_for_function(f"() => ({SCATTER_SIZES})().length > 0", timeout=60_000)
    assert page.evaluate(SCATTER_SIZES) == [count] and count > 100
