"""The project's charts, each defined once as a HoloViews element in one palette (the side-effect
bars, which the page redraws in place, as rows for explorer.app.live_bars).

The page shows an element with HoloViews' Bokeh backend; a download or an exported figure
renders the same element with HoloViews' matplotlib backend (`picture`), which needs no
browser. Options are written once, in Bokeh's names; `picture` carries them over to matplotlib
(`_MATPLOTLIB_NAMES` maps the few names that differ), so the PNG has the page's colours,
labels and titles. matplotlib's HoloViews backend is loaded on the first `picture` only: it
costs a server about 30 MiB and half a second, which sessions that never download do not pay.
"""

from __future__ import annotations

import textwrap
import threading
from collections.abc import Mapping, Sequence

import holoviews as hv
import numpy as np
from PIL import Image

if hv.Store.current_backend != "bokeh" or "bokeh" not in hv.Store.renderers:
    hv.extension("bokeh", logo=False)

# Okabe-Ito: distinguishable with the common colour-vision deficiencies. Series take them in order.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")
BLUE, VERMILLION = PALETTE[0], PALETTE[1]
REFERENCE = "#999999"  # what a series is read against: the prior's shell, chance, prior draws
DPI = 100


def norm_plot(norms: Mapping[str, np.ndarray | float]) -> hv.Overlay:
    """Latent norm against t for both paths, with the prior's typical norm: the tent-pole.

    `norms` holds t, lerp and slerp (arrays, as `explorer.latent.interpolate.path_norms` gives)
    and expected (the prior's typical norm).
    """
    t = norms["t"]
    lerp = hv.Curve((t, norms["lerp"]), "t", "latent norm", label="lerp").opts(color=VERMILLION, line_width=2)
    slerp = hv.Curve((t, norms["slerp"]), "t", "latent norm", label="slerp").opts(color=BLUE, line_width=2)
    shell = hv.HLine(norms["expected"]).opts(color=REFERENCE, line_dash="dashed", line_width=1)
    low = min(np.min(norms["lerp"]), np.min(norms["slerp"]), norms["expected"])
    high = max(np.max(norms["lerp"]), np.max(norms["slerp"]), norms["expected"])
    return (lerp * slerp * shell).opts(
        hv.opts.Overlay(title="Latent norm along the path (dashed: the prior's typical norm)",
                        legend_position="bottom_right", height=260, responsive=True,
                        ylim=(max(0.0, low * 0.8), high * 1.1), toolbar=None),
    )


def atdot_histogram(result: Mapping) -> hv.Overlay:
    """AtDot scores of the test half (a `judge_attribute` result): with against without, and the threshold."""
    scores = np.concatenate([result["positives"], result["negatives"]])
    edges = np.linspace(scores.min(), scores.max() + 1e-9, 31)
    layers = [
        hv.Histogram(np.histogram(result[side], edges, density=True), kdims=["AtDot score"], vdims=["density"],
                     label=f"{name} ({len(result[side])})").opts(color=colour, alpha=0.5)
        for side, name, colour in (("positives", "with", BLUE), ("negatives", "without", VERMILLION))
    ]
    threshold = hv.VLine(result["threshold"]).opts(color="black", line_dash="dashed", line_width=1)
    title = f"AtDot scores: {result['attribute']} ({result['method']}), test accuracy {result['accuracy']:.1%}"
    return hv.Overlay([*layers, threshold]).opts(
        hv.opts.Overlay(title=title, height=280, responsive=True, toolbar=None, legend_position="top_right"))


def roc_plot(result: Mapping) -> hv.Overlay:
    """The ROC curve of the AtDot scores (a `judge_attribute` result), AUC in the title."""
    curve = hv.Curve((result["fpr"], result["tpr"]), "false positive rate", "true positive rate",
                     label="ROC").opts(color=BLUE, line_width=2)
    chance = hv.Curve(([0, 1], [0, 1]), "false positive rate", "true positive rate", label="chance").opts(
        color=REFERENCE, line_dash="dotted", line_width=1)
    return (curve * chance).opts(hv.opts.Overlay(title=f"ROC, AUC {result['auc']:.3f}", height=280, width=300,
                                                 toolbar=None, xlim=(0, 1), ylim=(0, 1.01), show_legend=False))


def grouped_bars(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    *,
    title: str = "",
    xlabel: str = "value",
    ylabel: str = "fraction",
    group: str = "series",
    colours: Mapping[str, str] | None = None,
) -> hv.Bars:
    """One group of bars per category, one bar per series, coloured in palette order (or as `colours` says)."""
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    # Series by series: HoloViews' Bokeh bars pair the colours with the rows in this order.
    rows = [(str(category), name, float(value)) for name, values in series.items()
            for category, value in zip(categories, values)]
    colour_of = {name: (colours or {}).get(name, PALETTE[i % len(PALETTE)]) for i, name in enumerate(series)}
    # Declared values keep the series in the caller's order; matplotlib would sort them.
    return hv.Bars(rows, [xlabel, hv.Dimension(group, values=list(series))], ylabel).opts(
        title=title, height=280, responsive=True, toolbar=None, multi_level=False, show_legend=True,
        color=hv.dim(group).categorize(colour_of), xrotation=45 if len(categories) > 8 else 0,
    )


def class_bars(histogram: Mapping, label: str) -> hv.Bars:
    """The label's distribution among the sampler's draws, prior draws and (where given) the held-out
    images (empty: no bars)."""
    if not histogram:
        return hv.Bars([], ["value", "samples"], "fraction").opts(height=280, responsive=True, toolbar=None)
    series = {group: histogram[group] for group in ("this sampler", "prior", "held-out") if group in histogram}
    title = f"{label}: this sampler (blue) vs the prior (grey)" + (" and held-out images (green)"
                                                                   if "held-out" in series else "")
    return grouped_bars(histogram["categories"], series, title=title, group="samples",
                        colours={"this sampler": BLUE, "prior": REFERENCE, "held-out": PALETTE[2]})


def labelled_points(
    series: Mapping[str, Sequence[tuple[float, float]]],
    point_labels: Mapping[str, Sequence[str]] | None = None,
    *,
    title: str = "",
    xlabel: str = "x",
    ylabel: str = "y",
    xlim: tuple[float, float] | None = None,
    ylim: tuple[float, float] | None = None,
) -> hv.Overlay:
    """Polylines of (x, y) points with markers, a text beside each point; a one-point series is a lone marker.

    The axes reach 3% beyond `xlim` and `ylim` (default: the points' range), so that points on the
    edge show whole.
    """
    if not series or any(len(points) == 0 for points in series.values()):
        raise ValueError("labelled_points needs at least one series, each with at least one point")
    everything = np.concatenate([np.asarray(points, dtype=float).reshape(-1, 2) for points in series.values()])
    xlim, ylim = (_padded(limits or (float(values.min()), float(values.max())))
                  for limits, values in ((xlim, everything[:, 0]), (ylim, everything[:, 1])))
    offset = 0.015 * (xlim[1] - xlim[0])  # a text starts this far beside its point
    layers = []
    for number, (name, points) in enumerate(series.items()):
        colour = PALETTE[number % len(PALETTE)]
        xy = np.asarray(points, dtype=float).reshape(-1, 2)
        if len(xy) > 1:
            layers.append(hv.Curve(xy, xlabel, ylabel).opts(color=colour, line_width=1.5))
        layers.append(hv.Scatter(xy, xlabel, ylabel, label=name).opts(color=colour, size=7, line_color="black"))
        texts = np.asarray(list((point_labels or {}).get(name, ()))[: len(xy)], dtype=object)
        left = _crowded_on_the_right(xy[: len(texts)], everything, xlim, ylim)
        for side, align, shift in ((~left, "left", offset), (left, "right", -offset)):
            if side.any():
                layers.append(hv.Labels((xy[: len(texts)][side, 0], xy[: len(texts)][side, 1], list(texts[side])),
                                        [xlabel, ylabel], "text").opts(
                    text_color=colour, text_font_size="9pt", text_align=align, xoffset=shift))
    return hv.Overlay(layers).opts(hv.opts.Overlay(title=title, xlim=xlim, ylim=ylim, height=400, responsive=True,
                                                   toolbar=None, legend_position="top_right", show_grid=True))


def norm_chart(report: Mapping) -> hv.Overlay:
    """The histogram of encoded norms over the counts the prior's norm distribution expects."""
    histogram = report["histogram"]
    centres = (histogram.edges[:-1] + histogram.edges[1:]) / 2
    data = hv.Histogram((histogram.edges, histogram.counts), kdims=["latent norm"], vdims=["images"],
                        label="encoded data").opts(
        color=BLUE, alpha=0.6, line_color=None)
    expected = hv.Curve((centres, histogram.expected), "latent norm", "images", label="prior").opts(
        color=VERMILLION, line_width=2)
    return (data * expected).opts(hv.opts.Overlay(title="Norms: encoded data against the prior", height=260,
                                                  responsive=True, legend_position="top_right", toolbar=None))


def dimension_chart(report: Mapping) -> hv.Overlay:
    """Per-dimension variance (bars) against the prior's (dashed), and KL (dots)."""
    dims = np.arange(report["latent_dim"])
    variance = hv.Bars((dims, report["variance"]), "dimension", "variance", label="variance").opts(
        color=BLUE, alpha=0.7)
    prior = hv.HLine(report["expected_variance"]).opts(color=REFERENCE, line_dash="dashed")
    kl = hv.Scatter((dims, report["kl"]), "dimension", "variance", label="KL (nats)").opts(color=VERMILLION, size=6)
    return (variance * prior * kl).opts(hv.opts.Overlay(title="Per dimension: variance (dashed: the prior's) and KL",
                                                        height=260, responsive=True, toolbar=None))


SIDE_EFFECT_AXES = {"atdot": "AtDot drag (cosine)", "logistic": "logistic drag (Δ logit)"}


def side_effect_rows(effects: Sequence, locks: Sequence[str], kind: str) -> dict[str, list]:
    """The bars of one side-effect chart (`kind`: a key of SIDE_EFFECT_AXES): each `kind` judge's
    label, drag per unit step and colour (grey where the label is locked), for explorer.app.live_bars."""
    chosen = [e for e in effects if e.kind == kind]
    return {"label": [e.label for e in chosen], "value": [e.drag for e in chosen],
            "colour": [REFERENCE if e.label in locks else BLUE for e in chosen]}


def side_effect_title(focus: str, kind: str) -> str:
    """The title of the `kind` side-effect chart of slider `focus`."""
    return f"{kind}: side effects of {focus or 'no slider'} per unit step"


def figure(chart: hv.core.Dimensioned):
    """`chart` as a matplotlib Figure, with the options the page's Bokeh rendering uses."""
    import holoviews.plotting.mpl  # noqa: F401  (registers the backend; Bokeh stays the current one)

    return hv.render(chart.map(_with_matplotlib_options, [hv.Element, hv.Overlay]), backend="matplotlib")


def picture(chart: hv.core.Dimensioned, size: tuple[int, int]) -> Image.Image:
    """`chart` rendered with matplotlib as an RGB image of exactly `size` (width, height) pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    width, height = size
    if width < 120 or height < 120:
        raise ValueError(f"a chart needs at least 120×120 pixels, got {width}×{height}")
    with _matplotlib_lock:  # pyplot's figure registry and HoloViews' option trees are process-global
        drawn = figure(chart)
        for axis in drawn.axes:  # HoloViews draws square axes; a chart fills the size it is given
            axis.set_aspect("auto")
            axis.set_box_aspect(None)
        drawn.set_size_inches(width / DPI, height / DPI)
        drawn.set_dpi(DPI)
        canvas = FigureCanvasAgg(drawn)
        drawn.tight_layout(pad=0.6)
        _fit_titles(drawn, canvas.get_renderer())
        drawn.tight_layout(pad=0.6)
        canvas.draw()
        image = Image.frombuffer("RGBA", canvas.get_width_height(), canvas.buffer_rgba()).convert("RGB")
    return image if image.size == (width, height) else image.resize((width, height))


# ------------------------------------------------------------------------- Bokeh -> matplotlib
_matplotlib_lock = threading.Lock()
# Bokeh option -> (the matplotlib options it sets, where the element has them; value converter).
# Options matplotlib lacks (toolbar, responsive, height, width, multi_level) are dropped: `picture`
# takes the size as an argument.
_MATPLOTLIB_NAMES = {
    "color": (("color", "facecolor"), None),  # a filled element's facecolor would otherwise cycle
    "line_width": (("linewidth",), float),
    "line_dash": (("linestyle",), {"solid": "-", "dashed": "--", "dotted": ":", "dashdot": "-."}.get),
    "line_color": (("edgecolors", "edgecolor"), str),
    "size": (("s",), lambda diameter: float(diameter) ** 2),  # Bokeh: pixels across; matplotlib: points squared
    "text_color": (("color",), str),
    "text_font_size": (("size",), lambda text: float(str(text).removesuffix("pt"))),
    "text_align": (("horizontalalignment",), str),
}


def _with_matplotlib_options(obj):
    """`obj` with its Bokeh plot and style options also set for matplotlib."""
    options = {}
    for group in ("plot", "style"):
        allowed = hv.Store.options(backend="matplotlib")[type(obj).__name__].groups[group].allowed_keywords
        for name, value in hv.Store.lookup_options("bokeh", obj, group).kwargs.items():
            names, convert = _MATPLOTLIB_NAMES.get(name, ((name,), None))
            for target in names:
                if target in allowed and value is not None:
                    options[target] = convert(value) if convert else value
    return obj.opts(backend="matplotlib", **options)


def _fit_titles(drawn, renderer, smallest: float = 8.0) -> None:
    """Shrink each axis title wider than the picture allows (a page's plot is wider than a PNG),
    down to `smallest` points, then break it into lines. A title is centred over its axis."""
    for axis in drawn.axes:
        title, box = axis.title, axis.get_window_extent(renderer)
        room = 0.96 * 2 * min(box.x0 + box.width / 2, drawn.bbox.width - box.x0 - box.width / 2)
        span = title.get_window_extent(renderer).width
        if span <= room:
            continue
        title.set_fontsize(max(smallest, title.get_fontsize() * room / span))
        span = title.get_window_extent(renderer).width
        if span > room:
            text = title.get_text()
            title.set_text(textwrap.fill(text, max(10, int(len(text) * room / span))))


def _crowded_on_the_right(points: np.ndarray, markers: np.ndarray, xlim: tuple[float, float],
                          ylim: tuple[float, float]) -> np.ndarray:
    """(n,) bool: points whose text would run into another marker on their right, but not on their
    left, where it has room."""
    scale = np.array([xlim[1] - xlim[0], ylim[1] - ylim[0]])
    # A text reaches about a tenth of the width to one side and a twentieth of the height up and down.
    apart = (markers[None, :, :] - points[:, None, :]) / scale
    near = (np.abs(apart[..., 1]) < 0.05) & (np.abs(apart[..., 0]) < 0.1) & (np.abs(apart).sum(axis=-1) > 0)
    room = (points[:, 0] - xlim[0]) / scale[0] > 0.1
    return (near & (apart[..., 0] > 0)).any(axis=1) & ~(near & (apart[..., 0] < 0)).any(axis=1) & room


def _padded(limits: tuple[float, float], fraction: float = 0.03) -> tuple[float, float]:
    low, high = limits
    pad = fraction * ((high - low) or 1.0)
    return low - pad, high + pad
