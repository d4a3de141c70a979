"""A bar chart that the page redraws in place: new bars and title are one small Bokeh patch.

Explore's side-effect charts change with every change of slider (a workshop of a hundred people
changes slider about forty times a second). As a HoloViews DynamicMap each update recomputed the
chart's factors and ranges through pandas: 146 ms of server time per chart and update, measured
with cProfile on the emoji pack, and two charts updated twice per change of slider. Here an
update sets the figure's data, categories and title, and BokehJS lays the chart out again.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import panel as pn
from bokeh.models import ColumnDataSource, FactorRange
from bokeh.plotting import figure

from explorer.app.panel_internals import change_bokeh_models

LABEL_ROTATION_DEGREES = 60


class LiveBars(pn.viewable.Viewer):
    """Vertical bars, one per category, coloured per bar; `show` replaces bars and title."""

    def __init__(self, value_axis: str, width: int, height: int = 240, **params):
        super().__init__(**params)
        self.source = ColumnDataSource({"label": [], "value": [], "colour": []})
        self.figure = figure(x_range=FactorRange(), width=width, height=height, title="", tools="hover",
                             toolbar_location=None, tooltips=[("label", "@label"), (value_axis, "@value{0.000}")])
        self.figure.vbar(x="label", top="value", width=0.8, color="colour", source=self.source)
        self.figure.xaxis.major_label_orientation = math.radians(LABEL_ROTATION_DEGREES)
        self.figure.yaxis.axis_label = value_axis
        self.figure.xgrid.grid_line_color = None
        self._pane = pn.pane.Bokeh(self.figure, width=width, height=height)

    def show(self, bars: Mapping[str, Sequence], title: str) -> None:
        """Bars `bars` (label, value and colour columns, one row per bar) under `title`."""
        lengths = {name: len(bars[name]) for name in ("label", "value", "colour")}
        if len(set(lengths.values())) != 1:
            raise ValueError(f"every bar needs a label, a value and a colour, got {lengths}")
        data = {name: list(bars[name]) for name in ("label", "value", "colour")}

        def change() -> None:
            self.figure.x_range.factors = data["label"]
            self.source.data = data
            self.figure.title.text = title

        change_bokeh_models(self.figure.document, change)

    def __panel__(self) -> pn.pane.Bokeh:
        return self._pane
