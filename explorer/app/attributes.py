"""Attributes lab: build an attribute vector and judge it as an AtDot classifier."""

from __future__ import annotations

import pandas as pd
import panel as pn

from explorer.app.state import AttributesState, Session
from explorer.charts import atdot_histogram, roc_plot


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
