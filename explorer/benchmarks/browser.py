"""Benchmark: slider-to-paint latency in a real browser, end to end.

Serves the app (`latent-explorer serve`, a subprocess) on the default pack, or, when it cannot
be opened, on the harness's stand-in pack (an untrained emoji-sized ConvVAE: the cost of a
decode does not depend on the weights' values). Headless Chromium opens the
Explore view and steps an attribute slider with the keyboard; the page itself records when each
key went down and when the next new picture was painted (a MutationObserver on the image, then
the image's own decode, then the animation frame that draws it), so the figure covers browser ->
websocket -> decode -> JPEG -> websocket -> image decode -> paint. The target (issue 5) is on the
95th percentile of that step-to-paint time, p50 is reported beside it. Headless Chromium draws at
60 Hz, so any step pays 0-16.7 ms waiting for the next frame on top of the work. A mouse drag
then measures how many pictures per second follow a continuous drag.

Both ways a step reaches the picture are measured back to back, each on a fresh server: the side
channel (the default; explorer.app.sidechannel) and `--server-decode` (every step through Bokeh);
`ratios` compares them. The p95 target (issue 17) is the side channel's.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from explorer.bench import target
from explorer.benchmarks.harness import (
    OPEN_TIMEOUT_S,
    VIEWPORT,
    chromium_missing,
    launch_chromium,
    pack_to_serve,
    served,
)

QUICK = {"steps": 12, "drag_seconds": 1.5}
FULL = {"steps": 60, "drag_seconds": 4.0}
TARGET_STEP_P95_MS = 25.0
PATHS = {"side_channel": (), "server_decode": ("--server-decode",)}
TARGET_DRAG_UPDATES_PER_S = 10.0

# Installed in the page: key-down times, and paint times of each new src of the Explore image
# (found through the shadow roots Bokeh renders into). A src counts as painted at the first
# animation frame after the browser has decoded it; a src replaced before it decoded (during a
# drag) was never shown and is not counted.
PROBE = """
() => {
  const find = (root, selector) => {
    const hit = root.querySelector(selector);
    if (hit) { return hit; }
    for (const el of root.querySelectorAll("*")) {
      if (el.shadowRoot) { const inner = find(el.shadowRoot, selector); if (inner) { return inner; } }
    }
    return null;
  };
  const host = find(document, ".explore-image");
  const root = host.shadowRoot || host;
  window.__keys = []; window.__paints = [];
  let last = (root.querySelector("img") || {}).src;
  document.addEventListener("keydown", () => window.__keys.push(performance.now()), true);
  new MutationObserver(() => {
    const img = root.querySelector("img");
    if (img && img.src !== last) {
      const src = last = img.src;
      img.decode().then(
        () => requestAnimationFrame(() => { if (img.src === src) { window.__paints.push(performance.now()); } }),
        () => {},  // replaced by a newer src before it could be decoded: never shown
      );
    }
  }).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
}
"""


def run(quick: bool, paths: tuple[str, ...] = tuple(PATHS)) -> dict[str, Any]:
    """Slider-to-paint latency (keyboard steps) and drag update rate on each of `paths`, back to
    back, with their ratios and the pack used."""
    if missing := chromium_missing():
        return {"skipped": missing}
    config = QUICK if quick else FULL
    result: dict[str, Any] = {}
    with pack_to_serve() as (pack, env, source):
        result["pack"] = source
        for path in paths:
            os_load = round(os.getloadavg()[0], 2)
            started = time.perf_counter()
            with served(pack, env, PATHS[path]) as server:
                startup_s = time.perf_counter() - started
                figures = _measure(server.url, **config)
            result[path] = {**_summarise(figures, startup_s, side_channel=path == "side_channel"),
                            "load_average_1m_before": os_load}
    if {"side_channel", "server_decode"} <= set(result):
        side, server = result["side_channel"], result["server_decode"]
        result["ratios"] = {
            "p50_server_decode_over_side_channel": round(server["step_to_paint_p50_ms"] / side["step_to_paint_p50_ms"], 2),
            "p95_server_decode_over_side_channel": round(
                server["step_to_paint_p95_ms"] / side["step_to_paint_p95_ms"]["value"], 2),
        }
    return result


def _summarise(figures: dict[str, Any], startup_s: float, side_channel: bool) -> dict[str, Any]:
    steps = np.asarray(figures.pop("step_ms"))
    p95 = float(np.percentile(steps, 95))
    return {
        "server_start_s": round(startup_s, 2),
        "first_paint_s": figures["first_paint_s"],
        "side_channel_paints": figures["side_paints"],
        "steps": len(steps),
        "step_to_paint_p50_ms": round(float(np.percentile(steps, 50)), 1),
        "step_to_paint_p95_ms": target(p95, TARGET_STEP_P95_MS) if side_channel else round(p95, 1),
        "step_to_paint_max_ms": round(float(steps.max()), 1),
        "drag_updates_per_s": target(figures["drag_updates_per_s"], TARGET_DRAG_UPDATES_PER_S, "updates/s",
                                     at_least=True),
        "drag_release_to_last_paint_ms": figures["drag_settle_ms"],
    }


def _measure(url: str, steps: int, drag_seconds: float) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        try:
            page = browser.new_page(viewport=VIEWPORT)
            started = time.perf_counter()
            page.goto(url)
            page.locator(".explore-image img").first.wait_for(timeout=OPEN_TIMEOUT_S * 1000)
            first_paint_s = time.perf_counter() - started
            page.evaluate(PROBE)
            handle = page.locator(".attribute-slider .noUi-handle").first
            handle.focus()
            step_ms = []
            for step in range(steps):
                painted = page.evaluate("() => window.__paints.length")
                # Alternate direction so the value never sticks at an end of the slider.
                handle.press("ArrowRight" if (step // 10) % 2 == 0 else "ArrowLeft")
                page.wait_for_function(f"() => window.__paints.length > {painted}", timeout=30_000)
                key, paint = page.evaluate("() => [window.__keys[window.__keys.length - 1], "
                                           "window.__paints[window.__paints.length - 1]]")
                step_ms.append(paint - key)
            drag_updates_per_s, drag_settle_ms = _drag(page, handle, drag_seconds)
            side_paints = int(page.locator(".explore-image img").first.get_attribute("data-side-paints") or 0)
        finally:
            browser.close()
    return {"first_paint_s": round(first_paint_s, 2), "step_ms": step_ms, "side_paints": side_paints,
            "drag_updates_per_s": drag_updates_per_s, "drag_settle_ms": drag_settle_ms}


def _drag(page, handle, seconds: float) -> tuple[float, float]:
    """Drag the handle back and forth for `seconds`: (new pictures painted per second, ms from the
    release to the last picture painted). The second shows a backlog: a server that queued every
    move would go on painting stale positions long after the release."""
    box = handle.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    before = page.evaluate("() => window.__paints.length")
    page.mouse.move(x, y)
    page.mouse.down()
    started = time.perf_counter()
    offset, direction = 0, 1
    while time.perf_counter() - started < seconds:
        offset += direction * 6
        if abs(offset) >= 120:
            direction = -direction
        page.mouse.move(x + offset, y)
        time.sleep(0.01)
    elapsed = time.perf_counter() - started
    released = page.evaluate("() => performance.now()")
    page.mouse.up()
    rate = round((page.evaluate("() => window.__paints.length") - before) / elapsed, 1)
    count, quiet_since = -1, time.perf_counter()
    while time.perf_counter() - quiet_since < 0.5 and time.perf_counter() - started < seconds + 10:
        now = page.evaluate("() => window.__paints.length")
        if now != count:
            count, quiet_since = now, time.perf_counter()
        time.sleep(0.05)
    last = page.evaluate("() => window.__paints[window.__paints.length - 1]")
    return rate, round(max(0.0, last - released), 1)
