"""The Explore slider in a real browser: it paints through the side channel, its pictures are the
server path's, and with the side channel blocked the page falls back to Bokeh and still paints."""

from __future__ import annotations

import base64
import io
import time

import numpy as np
from PIL import Image

from explorer.benchmarks.harness import VIEWPORT

PICTURE = ".explore-image img"


def _picture_bytes(app) -> tuple[str, bytes]:
    """(which path painted it, the JPEG bytes) of the Explore picture as the page shows it."""
    by, src = app.page.locator(PICTURE).first.evaluate("(img) => [img.dataset.paintedBy, img.src]")
    return by, base64.b64decode(src[src.index(",") + 1:])


def _step(app, presses: int) -> None:
    """Press ArrowRight `presses` times on the first slider, each time until a new picture is shown,
    then wait for the link to take the last release and the picture to settle."""
    handle = app.page.locator(".attribute-slider .noUi-handle").first
    handle.focus()
    for _ in range(presses):
        before = app.page.locator(PICTURE).first.get_attribute("src")
        link = app.page.evaluate("() => window.location.search")
        handle.press("ArrowRight")
        app.page.wait_for_function("([before, link]) => window.location.search !== link", arg=[before, link])
        app.wait_src_change(".explore-image", before)
    time.sleep(1.0)


def _pixels(jpeg: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(jpeg)).convert("RGB"), dtype=float) / 255.0


def _start_link(app) -> str:
    """The link of a freshly opened page, once the page has written its latent into it (an empty link
    would give each page its own random start)."""
    app.open()
    app.page.wait_for_function("() => new URLSearchParams(window.location.search).has('z')")
    return app.page.evaluate("() => window.location.search")


def _blocked_page(app, browser, server):
    """A page (conftest's Page, as `app`) whose side channel's websocket the browser closes before it
    reaches the server."""
    context = browser.new_context(viewport=VIEWPORT)
    page = context.new_page()
    page.route_web_socket("**/latent-channel*", lambda socket: socket.close())
    return type(app)(page, server)


def test_moving_the_slider_paints_through_the_side_channel(app):
    app.open()
    app.page.locator(f'{PICTURE}[data-channel="open"]').wait_for(timeout=30_000)
    before = app.src(".explore-image")
    handle = app.page.locator(".attribute-slider .noUi-handle").first
    box = handle.bounding_box()
    link = app.page.evaluate("() => window.location.search")
    app.page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    app.page.mouse.down()
    app.page.mouse.move(box["x"] + 100, box["y"] + box["height"] / 2, steps=8)
    deadline = time.monotonic() + 30
    while int(app.page.locator(PICTURE).first.get_attribute("data-side-paints")) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    during = app.src(".explore-image")
    assert int(app.page.locator(PICTURE).first.get_attribute("data-side-paints")) > 0
    assert during != before
    assert app.page.locator(PICTURE).first.get_attribute("data-painted-by") == "side-channel"
    assert app.page.evaluate("() => window.location.search") == link  # nothing committed mid-drag
    app.page.mouse.up()
    app.page.wait_for_function("(link) => window.location.search !== link", arg=link)  # the release commits


def test_side_channel_pictures_are_the_server_paths_and_a_blocked_channel_falls_back(app, browser, server):
    link = _start_link(app)
    side = app
    side.open(link)
    side.page.locator(f'{PICTURE}[data-channel="open"]').wait_for(timeout=30_000)
    _step(side, 3)
    side_by, side_jpeg = _picture_bytes(side)
    assert int(side.page.locator(PICTURE).first.get_attribute("data-side-paints")) >= 1

    blocked = _blocked_page(app, browser, server)
    try:
        blocked.open(link)
        blocked.page.locator(f'{PICTURE}[data-channel="closed"]').wait_for(timeout=30_000)
        _step(blocked, 3)
        blocked_by, blocked_jpeg = _picture_bytes(blocked)
        assert blocked.page.locator(PICTURE).first.get_attribute("data-side-paints") == "0"
        assert blocked.errors == []
    finally:
        blocked.page.context.close()
    # The blocked page painted through the server path; the side page kept its side-channel picture
    # when the release's server picture came with the same bytes.
    assert blocked_by == "server" and side_by == "side-channel"
    # What both pages show is the same picture, pixel for pixel within JPEG noise.
    assert np.abs(_pixels(side_jpeg) - _pixels(blocked_jpeg)).mean() < 2 / 255
