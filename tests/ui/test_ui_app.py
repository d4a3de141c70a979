"""The served app in headless Chromium: every view paints, sliders and clicks change pictures,
links reopen views, and bad input is answered in the page."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlparse

import pytest

pytestmark = pytest.mark.browser

VIEWS = {
    "Explore": ".explore-image",
    "Interpolate": ".slerp-strip",
    "Analogy (J-diagram)": ".jdiagram",
    "MINE grid": ".mine-grid",
    "Attributes lab": ".atdot-figures",
    "Sampling": ".sample-grid",
}


def test_every_view_loads_and_shows_its_pictures_without_console_errors(app):
    app.open()
    for title, selector in VIEWS.items():
        app.tab(title)
        if title == "Attributes lab":
            app.page.locator(".atdot-figures").get_by_text("AUC").wait_for(timeout=30_000)
            assert app.page.locator(".bk-Canvas, canvas").count() > 0
        else:
            assert app.src(selector).startswith("data:image/")
    # the app fixture then asserts that no console error appeared


def test_dragging_an_attribute_slider_changes_the_picture_live_and_the_link_on_release(app):
    app.open()
    before = app.src(".explore-image")
    link = app.page.evaluate("() => window.location.search")
    handle = app.page.locator(".attribute-slider .noUi-handle").first
    box = handle.bounding_box()
    app.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    app.page.mouse.down()
    app.page.mouse.move(box["x"] + 120, box["y"] + box["height"] / 2, steps=8)
    during = app.wait_src_change(".explore-image", before)  # live, before the release
    assert app.page.evaluate("() => window.location.search") == link  # nothing committed mid-drag
    app.page.mouse.up()
    assert during != before
    app.page.wait_for_function("(link) => window.location.search !== link", arg=link)


def test_stepping_a_slider_with_the_keyboard_changes_the_picture(app):
    app.open()
    before = app.src(".explore-image")
    handle = app.page.locator(".attribute-slider .noUi-handle").first
    handle.focus()
    for _ in range(5):
        handle.press("ArrowRight")
    app.wait_src_change(".explore-image", before)
    # the norm readout under the picture (a Readout, not a Markdown pane) is filled in
    assert re.fullmatch(r"latent norm \d+\.\d\d \(the prior's typical norm is \d+\.\d\d\)",
                        app.page.locator(".latent-norm div").first.inner_text().strip())


def test_clicking_a_mine_tile_hops_there_and_back_returns(app):
    app.open()
    app.tab("MINE grid")
    before = app.src(".mine-grid")
    tile = app.page.locator(".mine-grid img.tile-grid")
    tile.click(position={"x": 8, "y": 8})  # the top-left tile, never the centre
    after = app.wait_src_change(".mine-grid", before)
    assert after != before
    app.page.get_by_text("step 2 of 2").wait_for(timeout=10_000)
    app.page.locator(".mine-back button").click()
    app.page.get_by_text("step 1 of 2").wait_for(timeout=10_000)


def test_picking_an_analogy_corner_redraws_the_j_diagram(app):
    app.open()
    app.tab("Analogy (J-diagram)")
    before = app.src(".jdiagram")
    gallery = app.page.locator(".gallery img.tile-grid").last
    gallery.click(position={"x": 100, "y": 30})
    app.wait_src_change(".jdiagram", before)


def test_the_link_follows_the_view_without_adding_history_entries(app):
    app.open()
    entries = app.page.evaluate("() => history.length")
    app.tab("MINE grid")
    app.page.wait_for_function("() => window.location.search.includes('view=mine')")
    app.page.locator(".mine-grid img.tile-grid").click(position={"x": 8, "y": 8})
    app.page.get_by_text("step 2 of 2").wait_for(timeout=10_000)
    assert app.page.evaluate("() => history.length") == entries


def test_a_link_reopens_the_same_view_and_latents(app, browser):
    app.open()
    app.tab("Interpolate")
    app.page.wait_for_function("() => window.location.search.includes('view=interpolate')")
    app.page.wait_for_function("() => window.location.search.includes('b=')")
    link = app.page.url
    query = parse_qs(urlparse(link).query)
    again = browser.new_page()
    try:
        again.goto(link)
        again.locator(".slerp-strip img").first.wait_for(timeout=60_000)
        active = again.locator(".bk-tab.bk-active")
        assert active.inner_text().strip() == "Interpolate"
        again.wait_for_function("() => window.location.search.includes('b=')")
        reopened = parse_qs(urlparse(again.url).query)
        assert {k: reopened[k] for k in ("a", "b", "view")} == {k: query[k] for k in ("a", "b", "view")}
    finally:
        again.close()


def test_a_broken_link_explains_itself_and_the_app_still_works(app):
    app.open("?pack=no-such-pack&view=nonsense&z=!!!")
    alert = app.page.locator(".app-message")
    alert.get_by_text(re.compile("not installed")).wait_for(timeout=30_000)
    assert app.src(".explore-image").startswith("data:image/jpeg")


def test_a_link_with_a_wrong_length_latent_says_so(app, pack_env):
    app.open(f"?pack={pack_env['PACK']}&z=AAAAAAAA")  # three float16 zeros; the pack's latents have 8
    app.page.locator(".app-message").get_by_text(re.compile("has 3 numbers but this pack's latents have 8")).wait_for(
        timeout=30_000)


def test_uploading_a_non_image_shows_a_message_in_the_page(app, tmp_path):
    app.open()
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    app.page.locator(".explore-image").wait_for()
    app.page.locator("input[type=file]").first.set_input_files(str(bad))
    app.page.locator(".app-message").get_by_text(re.compile("not an image")).wait_for(timeout=30_000)
    # the session is still alive: the random button still redraws
    before = app.src(".explore-image")
    app.page.locator(".random-start button").click()
    app.wait_src_change(".explore-image", before)


def test_uploading_an_image_starts_from_its_encoding(app, tmp_path):
    from PIL import Image

    app.open()
    picture = tmp_path / "square.png"
    Image.new("RGBA", (40, 30), (255, 0, 0, 128)).save(picture)
    before = app.src(".explore-image")
    app.page.locator("input[type=file]").first.set_input_files(str(picture))
    app.wait_src_change(".explore-image", before)
    app.page.locator(".app-message").get_by_text("Encoded square.png").wait_for(timeout=30_000)


def test_polarity_sampling_shows_the_effective_sample_size(app):
    app.open()
    app.tab("Sampling")
    before = app.src(".sample-grid")
    app.page.locator(".sampler").get_by_text("polarity").click()
    app.wait_src_change(".sample-grid", before)
    app.page.locator(".ess").get_by_text(re.compile("effective sample size")).wait_for(timeout=30_000)
