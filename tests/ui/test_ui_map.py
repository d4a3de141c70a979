"""The Map view in headless Chromium: it draws every held-out image, a click on a point sets the
current latent, and a direction made from two lassos appears as an Explore slider."""

from __future__ import annotations

import re
from urllib.parse import parse_qs

import numpy as np
import pytest

from explorer.app.urlstate import decode_latent

pytestmark = pytest.mark.browser

# The scatter's renderer view, found through BokehJS's own view index.
_SCATTER_VIEW = """
  let found = null;
  for (const doc of Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.glyph !== undefined && model.glyph.type === "Scatter") {
        const view = Bokeh.index.find_one(model);
        if (view) { found = view; }
      }
    }
  }
"""
# The page position (CSS px) of data point i of the map's scatter, through the plot's own scales.
POINT_XY = "(i) => {" + _SCATTER_VIEW + """
  if (!found) { return null; }
  const data = found.model.data_source.data;
  const box = found.parent.canvas_view.el.getBoundingClientRect();
  return {x: box.left + found.coordinates.x_scale.compute(data.x[i]),
          y: box.top + found.coordinates.y_scale.compute(data.y[i]), id: Number(data.id[i])};
}"""
# The plot frame (where the points are drawn) in page CSS px.
FRAME = "() => {" + _SCATTER_VIEW + """
  const box = found.parent.canvas_view.el.getBoundingClientRect();
  const frame = found.parent.frame.bbox;
  return {left: box.left + frame.left, top: box.top + frame.top, width: frame.width, height: frame.height};
}"""
SCATTER_SIZES = """() => {
  const sizes = [];
  for (const doc of Bokeh.documents) {
    for (const model of doc.all_models) {
      if (model.glyph !== undefined && model.glyph.type === "Scatter") { sizes.push(model.data_source.data.x.length); }
    }
  }
  return sizes;
}"""


def open_map(app) -> str:
    """Open the app on Explore (so that its sliders follow the Map live), then the Map tab; the
    Explore picture's src before."""
    app.open()
    explore = app.src(".explore-image")
    app.tab("Map")
    app.page.locator(".latent-map canvas").first.wait_for(timeout=60_000)
    app.page.wait_for_function(f"() => ({SCATTER_SIZES})().length > 0", timeout=60_000)
    return explore


def held_out_index(pack_env, monkeypatch):
    from explorer.packs import open_pack

    for key, value in pack_env.items():
        if key != "PACK":
            monkeypatch.setenv(key, value)
    return open_pack(pack_env["PACK"]).index


def held_out_count(pack_env, monkeypatch) -> int:
    return len(held_out_index(pack_env, monkeypatch))


def point_elsewhere(app, index) -> dict:
    """A map point whose held-out image is not the one the page starts on (the image nearest the
    link's latent): a click on that one changes neither the latent nor the link."""
    app.page.wait_for_function("() => new URLSearchParams(window.location.search).has('z')")
    z = parse_qs(app.page.evaluate("() => window.location.search").lstrip("?"))["z"][0]
    current = decode_latent(z, index.latents.shape[1])
    start_row = int(np.argmin(np.linalg.norm(index.latents - current, axis=1)))
    for k in range(len(index)):
        point = app.page.evaluate(POINT_XY, (3 + k) % len(index))
        if int(index.rows_of(point["id"])[0]) != start_row:
            return point
    raise AssertionError("every map point is the starting image")


def test_the_map_draws_one_point_per_held_out_image(app, pack_env, monkeypatch):
    open_map(app)
    assert app.page.evaluate(SCATTER_SIZES) == [held_out_count(pack_env, monkeypatch)]


def test_clicking_a_point_makes_it_the_current_latent_in_explore(app, pack_env, monkeypatch):
    explore = open_map(app)
    point = point_elsewhere(app, held_out_index(pack_env, monkeypatch))
    link = app.page.evaluate("() => window.location.search")
    app.page.mouse.click(point["x"], point["y"])
    app.page.get_by_text(f"Picked held-out image {point['id']} on the map.").wait_for(timeout=30_000)
    app.page.wait_for_function("(link) => window.location.search !== link", arg=link, timeout=30_000)
    app.tab("Explore")
    app.wait_src_change(".explore-image", explore)


def lasso(app, frame: dict, left: float, right: float) -> None:
    """Drag the lasso around the frame's columns from `left` to `right` (fractions of its width)."""
    x0, x1 = frame["left"] + left * frame["width"], frame["left"] + right * frame["width"]
    y0, y1 = frame["top"] + 2, frame["top"] + frame["height"] - 2
    app.page.mouse.move(x0, y0)
    app.page.mouse.down()
    for x, y in ((x1, y0), (x1, y1), (x0, y1), (x0, y0 + 1)):
        app.page.mouse.move(x, y, steps=6)
    app.page.mouse.up()


def test_two_lassos_on_the_map_make_a_slider_in_explore(app):
    open_map(app)
    app.page.locator(".bk-tool-icon-lasso-select").first.click()
    frame = app.page.evaluate(FRAME)
    lasso(app, frame, 0.01, 0.5)
    app.page.get_by_text(re.compile(r"lassoed: [1-9]\d* points")).wait_for(timeout=30_000)
    app.page.locator(".to-group-a button").click()
    app.page.get_by_text(re.compile(r"group A: [1-9]")).wait_for(timeout=30_000)
    lasso(app, frame, 0.5, 0.99)
    app.page.locator(".to-group-b button").click()
    app.page.get_by_text(re.compile(r"group B: [1-9]")).wait_for(timeout=30_000)
    app.page.locator(".save-map-direction button").click()
    app.page.get_by_text(re.compile("Saved the direction 'map B")).wait_for(timeout=30_000)
    app.tab("Explore")
    slider = app.page.locator(".direction-slider").filter(has_text=re.compile("map B\\d+ \u2212 A\\d+"))
    slider.first.wait_for(timeout=30_000)
