"""Benchmark: the Map view's plot for 10k and 1M synthetic points, first paint and pan/zoom (p95).

What is timed, per point count (the Map's own `points_element` / `shown_points`, 600×600 px):

- `server_render`: building the Bokeh plot on the server (`hv.render`), which for 1M points
  includes datashader's aggregation; 10k points are a plain scatter sent whole.
- `browser_first_paint`: Chromium opening the rendered plot as a standalone page (BokehJS inline)
  until BokehJS reports the document idle (built and painted once). The websocket of a served app
  is not in it.
- pan/zoom: for 10k points it happens in the browser alone (`browser_pan_zoom`: the x/y ranges set
  to a random window until the repaint has finished); for 1M points the server re-rasterises the
  window (`server_rasterise_window`) and the browser repaints the new picture
  (`browser_repaint_image`: fresh image data for the same 600×600 picture until painted);
  `pan_zoom_estimate_p95_ms` is the sum of those two p95s (the transfer between them excluded).
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from explorer.bench import time_ms

COUNTS = (10_000, 1_000_000)
REPEATS = {True: 5, False: 20}

# BokehJS's own "document idle": every root view has been built and painted once
_FINISHED = "() => window.Bokeh !== undefined && Bokeh.documents.length > 0 && Bokeh.documents[0].is_idle"
_PLOT = """() => { for (const doc of Bokeh.documents) for (const model of doc.all_models)
  if (model.x_range !== undefined && model.renderers !== undefined) return model; return null; }"""
_PAN_ZOOM = """async (window_) => {
  const plot = (%s)();
  const start = performance.now();
  plot.x_range.setv({start: window_[0], end: window_[1]});
  plot.y_range.setv({start: window_[2], end: window_[3]});
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return performance.now() - start;
}""" % _PLOT
_REPAINT = """async (seed) => {
  const plot = (%s)();
  const renderer = plot.renderers.find((r) => r.glyph && r.glyph.type === "Image");
  const data = renderer.data_source.data;
  const image = data.image[0];
  const fresh = new image.constructor(image.length);
  for (let i = 0; i < fresh.length; i++) { fresh[i] = (i * 2654435761 + seed) %% 97; }
  const start = performance.now();
  renderer.data_source.data = {...data, image: [fresh]};
  await new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  return performance.now() - start;
}""" % _PLOT


def synthetic_points(count: int, seed: int = 0):
    """`count` points in a few Gaussian clusters, as the Map would draw them (no hover thumbnails)."""
    from explorer.app.views.map import NO_COLOUR, points_element

    rng = np.random.default_rng(seed)
    centres = rng.normal(scale=4.0, size=(8, 2))
    coords = centres[rng.integers(0, 8, count)] + rng.normal(size=(count, 2))
    return points_element(coords, [""] * count, np.arange(count), [], NO_COLOUR), coords


def percentiles(millis: list[float]) -> dict[str, float]:
    """Median and 95th percentile of browser-side timings."""
    return {"median_ms": round(float(np.median(millis)), 2), "p95_ms": round(float(np.percentile(millis, 95)), 2),
            "n": len(millis)}


def run(quick: bool) -> dict[str, Any]:
    """Time the Map's plot for each point count on the server and in Chromium."""
    import holoviews as hv
    from bokeh.embed import file_html
    from bokeh.resources import INLINE

    from explorer.app.views.map import PLOT_SIZE, shown_points
    from explorer.benchmarks.harness import chromium_missing, launch_chromium

    repeats = REPEATS[quick]
    rng = np.random.default_rng(1)
    report: dict[str, Any] = {"plot_px": PLOT_SIZE, "repeats": repeats}
    pages: dict[int, Path] = {}
    folder = Path(tempfile.mkdtemp(prefix="map-bench-"))
    windows: dict[int, list[tuple[float, float, float, float]]] = {}
    for count in COUNTS:
        points, coords = synthetic_points(count)
        shown = shown_points(points, count)
        figures: dict[str, Any] = {"drawn_as": "scatter" if shown is points else "datashader raster"}
        figures["server_render"] = time_ms(lambda _: hv.render(shown), list(range(repeats)), warmup=1)
        low, high = coords.min(axis=0), coords.max(axis=0)
        windows[count] = []
        for _ in range(repeats):
            size = (high - low) * rng.uniform(0.2, 0.8)
            corner = low + (high - low - size) * rng.uniform(0, 1, 2)
            windows[count].append((corner[0], corner[0] + size[0], corner[1], corner[1] + size[1]))
        if shown is not points:
            from holoviews.operation.datashader import rasterize

            figures["server_rasterise_window"] = time_ms(
                lambda w: rasterize(points, dynamic=False, x_range=w[:2], y_range=w[2:], width=PLOT_SIZE,
                                    height=PLOT_SIZE), windows[count], warmup=1)
        page = folder / f"map-{count}.html"
        page.write_text(file_html(hv.render(shown), INLINE, f"map {count}"), encoding="utf-8")
        figures["page_mb"] = round(page.stat().st_size / 1e6, 2)
        pages[count] = page
        report[str(count)] = figures

    if missing := chromium_missing():
        report["browser"] = {"skipped": missing}
        return report
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            for count, page_path in pages.items():
                figures = report[str(count)]
                paints = []
                for _ in range(repeats):
                    page = browser.new_page(viewport={"width": 900, "height": 800})
                    start = time.perf_counter()
                    page.goto(page_path.as_uri())
                    page.wait_for_function(_FINISHED, timeout=120_000, polling=10)
                    paints.append((time.perf_counter() - start) * 1e3)
                    if len(paints) < repeats:
                        page.close()
                figures["browser_first_paint"] = percentiles(paints)
                if figures["drawn_as"] == "scatter":
                    figures["browser_pan_zoom"] = percentiles([page.evaluate(_PAN_ZOOM, list(w))
                                                               for w in windows[count]])
                else:
                    figures["browser_repaint_image"] = percentiles([page.evaluate(_REPAINT, seed)
                                                                    for seed in range(repeats)])
                    figures["pan_zoom_estimate_p95_ms"] = round(
                        figures["server_rasterise_window"]["p95_ms"] + figures["browser_repaint_image"]["p95_ms"], 2)
                page.close()
        finally:
            browser.close()
    return report
