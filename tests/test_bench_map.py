"""The Map benchmark section: it times a scatter and a datashader raster, on the server and in Chromium."""

from __future__ import annotations

import numpy as np

from explorer.app.views.map import SCATTER_LIMIT
from explorer.benchmarks import map as map_bench


def test_synthetic_points_are_as_many_as_asked():
    points, coords = map_bench.synthetic_points(1234)
    assert coords.shape == (1234, 2) and len(points) == 1234


def test_the_section_times_the_scatter_and_the_raster(monkeypatch):
    small, large = 300, SCATTER_LIMIT + 300
    monkeypatch.setattr(map_bench, "COUNTS", (small, large))
    monkeypatch.setitem(map_bench.REPEATS, True, 2)
    report = map_bench.run(quick=True)
    assert report[str(small)]["drawn_as"] == "scatter"
    assert report[str(large)]["drawn_as"] == "datashader raster"
    assert report[str(large)]["server_rasterise_window"]["n"] == 2
    for count in (small, large):
        assert report[str(count)]["server_render"]["p95_ms"] > 0
    if "browser" not in report:  # Chromium is there
        assert np.isfinite(report[str(small)]["browser_pan_zoom"]["p95_ms"])
        assert report[str(large)]["pan_zoom_estimate_p95_ms"] > 0
        assert report[str(large)]["browser_first_paint"]["n"] == 2
