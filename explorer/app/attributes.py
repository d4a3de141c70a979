"""Attributes lab: build an attribute vector and judge it as an AtDot classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import panel as pn

from explorer.app.plots import hv
from explorer.app.state import AttributesState, Session

POSITIVE, NEGATIVE = "#0072B2", "#D55E00"


def atdot_histogram(result: dict) -> hv.Overlay:
    """AtDot scores of the test half: positives against negatives, with the chosen threshold."""
    scores = np.concatenate([result["positives"], result["negatives"]])
    edges = np.linspace(scores.min(), scores.max() + 1e-9, 31)
    pos = hv.Histogram(np.histogram(result["positives"], edges, density=True), kdims=["AtDot score"],
                       vdims=["density"], label=f"with ({len(result['positives'])})").opts(fill_color=POSITIVE, alpha=0.5)
    neg = hv.Histogram(np.histogram(result["negatives"], edges, density=True), kdims=["AtDot score"],
                       vdims=["density"], label=f"without ({len(result['negatives'])})").opts(fill_color=NEGATIVE, alpha=0.5)
    line = hv.VLine(result["threshold"]).opts(color="black", line_dash="dashed")
    return (pos * neg * line).opts(hv.opts.Overlay(title=f"AtDot scores: {result['attribute']} (test half)",
                                                   height=280, responsive=True, toolbar=None,
                                                   legend_position="top_right"))


def roc_plot(result: dict) -> hv.Overlay:
    """The ROC curve of the AtDot scores, AUC in the title."""
    curve = hv.Curve((result["fpr"], result["tpr"]), "false positive rate", "true positive rate").opts(
        color=POSITIVE, line_width=2)
    chance = hv.Curve(([0, 1], [0, 1])).opts(color="grey", line_dash="dotted")
    return (curve * chance).opts(hv.opts.Overlay(title=f"ROC, AUC {result['auc']:.3f}", height=280, width=300,
                                                 toolbar=None, xlim=(0, 1), ylim=(0, 1.01)))


class AttributesView(pn.viewable.Viewer):
    """Vector settings; cell counts; histogram and ROC; the table of every attribute."""

    def __init__(self, session: Session, **params):
        super().__init__(**params)
        self.state = state = AttributesState(session)
        attribute = pn.widgets.Select.from_param(state.param.attribute, label="Attribute", width=220)
        method = pn.widgets.RadioButtonGroup.from_param(state.param.method, color="light")
        confounders = pn.widgets.MultiChoice.from_param(state.param.confounders, label="Balance over",
                                                        max_items=4, width=320)
        self.histogram = pn.pane.HoloViews(sizing_mode="stretch_width", min_height=280)
        self.roc = pn.pane.HoloViews(width=320, height=290)
        self.figures = pn.pane.Markdown(css_classes=["atdot-figures"])
        self.cells = pn.pane.DataFrame(None, index=False, visible=False, max_height=260)
        self.summary = pn.pane.DataFrame(None, index=False, sizing_mode="stretch_width", max_height=420)
        state.param.watch(lambda event: self._show(), "result")
        self._show()
        self._layout = pn.Column(
            pn.pane.Markdown(
                "An attribute vector is the mean latent *with* the attribute minus the mean *without* it "
                "(White 2016). **Balanced** replicates images so the chosen confounders are equally common on "
                "both sides; **synthetic** is the shift an image edit (blur) causes. The vector is built on half "
                "the held-out images and judged on the other half: the AtDot score of a latent is its dot "
                "product with the vector, and the threshold is the one most accurate on the building half."
            ),
            pn.Row(attribute, pn.Column(pn.pane.Markdown("**Vector**", margin=(0, 5)), method), confounders),
            self.figures,
            pn.Row(self.histogram, self.roc, sizing_mode="stretch_width"),
            pn.pane.Markdown("**Balancing cells** (images per combination, before and after replication)",
                             visible=self.cells.param.visible),
            self.cells,
            pn.pane.Markdown("**Every attribute as an AtDot classifier** (test half)"),
            pn.Row(pn.Spacer(width=0), self.summary, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _show(self) -> None:
        result = self.state.result
        if not result:
            return
        self.histogram.object = atdot_histogram(result)
        self.roc.object = roc_plot(result)
        majority = max(len(result["positives"]), len(result["negatives"])) / result["test_size"]
        self.figures.object = (
            f"**{result['attribute']}** ({result['method']} vector): AUC **{result['auc']:.3f}**, "
            f"best-threshold accuracy **{result['accuracy']:.1%}** on {result['test_size']} test images "
            f"(threshold {result['threshold']:.3g}; always guessing the larger side scores {majority:.1%})"
        )
        cells = result.get("cell_counts")
        self.cells.object = pd.DataFrame(cells) if cells else None
        self.cells.visible = bool(cells)
        if self.summary.object is None:
            table = pd.DataFrame(self.state.summary())
            if "positives" in table:
                table["positives"] = table["positives"].astype("Int64")
            self.summary.object = table.astype(object).where(table.notna(), "—")

    def __panel__(self):
        return self._layout
