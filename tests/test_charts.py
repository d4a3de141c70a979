"""The chart module: each chart is one HoloViews element that the page draws with Bokeh and a
download draws with matplotlib, with the same colours, labels and titles."""

from __future__ import annotations

import holoviews as hv
import numpy as np
import pytest
from bokeh.models import GlyphRenderer, Span
from matplotlib.colors import to_hex, to_rgba_array
from matplotlib.lines import Line2D
from PIL import Image

from explorer import charts
from explorer.latent.classify import roc
from explorer.latent.interpolate import path_norms


def _norms():
    a, b = np.random.default_rng(0).normal(size=(2, 16))
    return {**path_norms(a, b), "expected": 4.0}


def _judgement():
    rng = np.random.default_rng(1)
    positives, negatives = rng.normal(1, 1, 60), rng.normal(-1, 1, 90)
    curve = roc(np.r_[positives, negatives], np.r_[np.ones(60, bool), np.zeros(90, bool)])
    return {"attribute": "even", "method": "balanced", "positives": positives, "negatives": negatives,
            "threshold": 0.1, "accuracy": 0.84, "fpr": curve.false_positive_rate, "tpr": curve.true_positive_rate,
            "auc": curve.auc}


def _histogram():
    return {"categories": ["a", "b", "c"], "this sampler": [0.2, 0.5, 0.3], "prior": [0.4, 0.4, 0.2]}


CHARTS = {
    "norm": lambda: charts.norm_plot(_norms()),
    "atdot": lambda: charts.atdot_histogram(_judgement()),
    "roc": lambda: charts.roc_plot(_judgement()),
    "class bars": lambda: charts.class_bars(_histogram(), "digit"),
    "grouped bars": lambda: charts.grouped_bars(["a", "b"], {"x": [1, 2], "y": [2, 1], "z": [0, 3]}, title="t"),
    "points": lambda: charts.labelled_points({"sweep": [(0.1, 0.9), (0.5, 0.6)], "lone": [(0.7, 0.3)]},
                                             {"sweep": ["ρ=-1", "ρ=1"]}, title="pr", xlabel="recall",
                                             ylabel="precision"),
}


def _page(chart) -> dict:
    """What the page's Bokeh plot shows: title, axis labels, each series' colour and the other lines' colours."""
    plot = hv.render(chart, backend="bokeh")
    series, lines = {}, set()
    for item in plot.legend[0].items if plot.legend else []:
        glyph = item.renderers[0].glyph
        series[item.label.value] = to_hex(glyph.fill_color if hasattr(glyph, "fill_color") else glyph.line_color)
    for renderer in plot.renderers:
        if isinstance(renderer, Span):
            lines.add(to_hex(renderer.line_color))
        elif isinstance(renderer, GlyphRenderer) and "color" in renderer.data_source.data:  # bars coloured by group
            data = renderer.data_source.data
            group = next(key for key in data if key not in ("color", "xoffsets") and isinstance(data[key][0], str))
            series.update({name: to_hex(colour) for name, colour in zip(data[group], data["color"])})
        elif isinstance(renderer, GlyphRenderer) and type(renderer.glyph).__name__ == "Line":
            lines.add(to_hex(renderer.glyph.line_color))
    return {"title": plot.title.text, "x": plot.xaxis[0].axis_label, "y": plot.yaxis[0].axis_label,
            "series": series, "lines": lines}


def _download(chart) -> dict:
    """The same facts from the matplotlib figure that downloads are drawn from."""
    axis = charts.figure(chart).axes[0]
    legend = axis.get_legend()
    series = {}
    for text, handle in zip(legend.get_texts() if legend else [], legend.legend_handles if legend else []):
        colour = handle.get_color() if isinstance(handle, Line2D) else handle.get_facecolor()
        series[text.get_text()] = to_hex(to_rgba_array(colour)[0])
    lines = {to_hex(line.get_color()) for line in axis.get_lines()}
    return {"title": axis.get_title(), "x": axis.get_xlabel(), "y": axis.get_ylabel(), "series": series,
            "lines": lines}


@pytest.mark.parametrize("name", list(CHARTS))
def test_a_download_shows_the_pages_title_labels_and_series_colours(name):
    page, download = _page(CHARTS[name]()), _download(CHARTS[name]())
    assert (download["title"], download["x"], download["y"]) == (page["title"], page["x"], page["y"])
    assert download["series"] == page["series"]
    assert page["lines"] <= download["lines"]  # the page's lines (curves, thresholds, chance), in its colours


def test_series_take_the_palette_in_order():
    assert _page(CHARTS["grouped bars"]())["series"] == {"x": charts.PALETTE[0].lower(), "y": charts.PALETTE[1].lower(),
                                                         "z": charts.PALETTE[2].lower()}


def test_lerp_and_slerp_keep_their_colours_in_the_norm_plot():
    assert _page(CHARTS["norm"]())["series"] == {"lerp": charts.VERMILLION.lower(), "slerp": charts.BLUE.lower()}


@pytest.mark.parametrize(("name", "size"), [("grouped bars", (400, 300)), ("points", (500, 350)), ("norm", (640, 260))])
def test_a_picture_has_exactly_the_requested_size(name, size):
    picture = charts.picture(CHARTS[name](), size)
    assert picture.size == size and picture.mode == "RGB"


def test_pictures_draw_their_series_colours():
    picture = charts.picture(charts.grouped_bars(["a"], {"x": [1.0]}), (300, 300))
    colours = {colour for _, colour in picture.getcolors(maxcolors=1 << 16)}
    assert Image.new("RGB", (1, 1), charts.PALETTE[0]).getpixel((0, 0)) in colours


def test_line_and_histogram_pictures_draw_something():
    for chart in (CHARTS["norm"](), CHARTS["atdot"]()):
        assert len(np.unique(np.asarray(charts.picture(chart, (480, 300))).reshape(-1, 3), axis=0)) > 3


def test_an_empty_class_histogram_gives_empty_bars():
    assert len(charts.class_bars({}, "digit")) == 0


def test_grouped_bars_refuse_a_series_of_the_wrong_length():
    with pytest.raises(ValueError, match="2 values for 3 categories"):
        charts.grouped_bars(["a", "b", "c"], {"x": [1, 2]})


def test_labelled_points_refuse_an_empty_series():
    with pytest.raises(ValueError, match="at least one point"):
        charts.labelled_points({"x": []})


def test_a_picture_too_small_for_its_labels_is_refused():
    with pytest.raises(ValueError, match="at least 120×120 pixels, got 100×300"):
        charts.picture(CHARTS["roc"](), (100, 300))


def test_a_points_text_moves_left_when_another_marker_crowds_its_right():
    chart = charts.labelled_points({"s": [(0.1, 0.5), (0.5, 0.5), (0.52, 0.5)]}, {"s": ["far", "crowded", "free"]},
                                   xlim=(0, 1), ylim=(0, 1))
    sides = {}
    for labels in chart.traverse(lambda element: element, [hv.Labels]):
        align = hv.Store.lookup_options("bokeh", labels, "style").kwargs["text_align"]
        sides.update({text: align for text in labels.dimension_values("text")})
    assert sides == {"far": "left", "crowded": "right", "free": "left"}


def test_a_title_wider_than_the_picture_is_fitted_inside_it():
    chart = charts.labelled_points({"s": [(0, 0), (1, 1)]}, title="a title far too long for a picture this narrow " * 2)
    top = np.asarray(charts.picture(chart, (240, 200)))[:40]
    background = np.array([255, 255, 255])
    assert (top[:, :2] == background).all() and (top[:, -2:] == background).all()  # no text cut at the edges
    assert (top != background).any()  # but the title is there
