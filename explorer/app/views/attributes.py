"""Attributes lab: build an attribute vector and judge it as an AtDot classifier."""

from __future__ import annotations

import pandas as pd
import panel as pn
import param

from explorer import attributes as attribute_data
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.charts import atdot_histogram, roc_plot


class AttributesState(ViewState):
    """Build one attribute vector (plain, balanced, synthetic) and judge it as an AtDot classifier."""

    attribute = param.Selector(default=None, objects=[])
    method = param.Selector(default="plain", objects=list(attribute_data.METHODS))
    confounders = param.ListSelector(default=[], objects=[])
    result = param.Dict(default={}, doc="scores, ROC, AUC, threshold, accuracy, cell counts")

    def __init__(self, session: Session, **params):
        super().__init__(session, **params)
        names = self.resources.attribute_names
        self.param.attribute.objects = names
        self.param.confounders.objects = sorted(self.resources.masks)
        if self.attribute is None and names:
            self.attribute = self.resources.common_attributes(1)[0]
        self._sync_method()
        self.compute()

    @param.depends("attribute", watch=True)
    def _sync_method(self) -> None:
        if attribute_data.is_synthetic(self.attribute):
            self.param.update(method="synthetic", confounders=[])
        else:
            if self.method == "synthetic":
                self.method = "plain"
            self.confounders = self.resources.default_confounders(self.attribute)

    @param.depends("attribute", "method", "confounders", watch=True)
    def compute(self) -> None:
        if self.attribute is None:
            return
        try:
            self.result = self.resources.evaluate_attribute(self.attribute, self.method, tuple(self.confounders))
        except ValueError as error:
            self.session.notify(str(error), "warning")

    def summary(self) -> list[dict]:
        """Every attribute's AtDot AUC and accuracy, plain and balanced (cached per process)."""
        return self.resources.attribute_summary()


def figures_text(result: dict) -> str:
    """The vector's AUC and accuracy, against always guessing the larger side."""
    majority = max(len(result["positives"]), len(result["negatives"])) / result["test_size"]
    return (
        f"**{result['attribute']}** ({result['method']} vector): AUC **{result['auc']:.3f}**, "
        f"best-threshold accuracy **{result['accuracy']:.1%}** on {result['test_size']} test images, built on "
        f"{result['built_on']} "
        f"(threshold {result['threshold']:.3g}; always guessing the larger side scores {majority:.1%})"
    )


def cell_table(result: dict) -> pd.DataFrame | None:
    """Images per combination of attribute and confounders, before and after balancing (None: no cells)."""
    cells = result.get("cell_counts")
    return pd.DataFrame(cells) if cells else None


def summary_table(rows: list[dict]) -> pd.DataFrame:
    """Every attribute's AtDot figures, with a dash where a figure does not exist."""
    table = pd.DataFrame(rows)
    if "positives" in table:
        table["positives"] = table["positives"].astype("Int64")
    return table.astype(object).where(table.notna(), "—")


class AttributesView(pn.viewable.Viewer):
    """Vector settings; cell counts; histogram and ROC; the table of every attribute."""

    def __init__(self, state: AttributesState, **params):
        super().__init__(**params)
        self.state = state
        attribute = pn.widgets.Select.from_param(state.param.attribute, label="Attribute", width=220)
        method = pn.widgets.RadioButtonGroup.from_param(state.param.method, color="light")
        confounders = pn.widgets.MultiChoice.from_param(state.param.confounders, label="Balance over",
                                                        max_items=4, width=320)

        def shown(draw):
            """`draw(result)`, bound to the state's result (nothing before there is one)."""
            return pn.bind(lambda result: draw(result) if result else None, state.param.result)

        self.histogram = pn.pane.HoloViews(shown(atdot_histogram), sizing_mode="stretch_width", min_height=280)
        self.roc = pn.pane.HoloViews(shown(roc_plot), width=320, height=290)
        self.figures = pn.pane.Markdown(shown(figures_text), css_classes=["atdot-figures"])
        self.cells = pn.pane.DataFrame(shown(cell_table), index=False, max_height=260,
                                       visible=pn.bind(lambda result: bool(result.get("cell_counts")), state.param.result))
        self.summary = pn.pane.DataFrame(summary_table(state.summary()) if state.attribute is not None else None,
                                         index=False, sizing_mode="stretch_width", max_height=420)
        self._layout = pn.Column(
            pn.pane.Markdown(
                "An attribute vector is the mean latent *with* the attribute minus the mean *without* it "
                "(White 2016). **Balanced** replicates images so the chosen confounders are equally common on "
                "both sides; **synthetic** is the shift an image edit (blur) causes. As in the paper, the vector "
                "is built on the training images and judged on the held-out ones (a pack without a training split, "
                "and the synthetic vector, use two halves of the held-out images): the AtDot score of a latent is "
                "its dot product with the vector, and the threshold is the one most accurate on the building set."
            ),
            pn.Row(attribute, pn.Column(pn.pane.Markdown("**Vector**", margin=(0, 5)), method), confounders),
            self.figures,
            pn.Row(self.histogram, self.roc, sizing_mode="stretch_width"),
            pn.pane.Markdown("**Balancing cells** (images per combination, before and after replication)",
                             visible=self.cells.param.visible),
            self.cells,
            pn.pane.Markdown("**Every attribute as an AtDot classifier** (judged on held-out images)"),
            pn.Row(pn.Spacer(width=0), self.summary, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("attributes", "Attributes lab", AttributesState, AttributesView, why=(
    "An attribute vector is the mean latent of the images with the attribute minus that of the images without. "
    "Compare plain with balanced: a plain vector also carries whatever comes along with the attribute in the data "
    "(its confounders), a balanced one averages them out; the AUC says how well the direction alone tells the "
    "attribute apart."
))
