"""Diagnostics: how far the pack's encoded held-out images deviate from its prior (norms, per-dimension
moments and KL, dead dimensions) and how often a prior sample lands outside the encoded data."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer.app import manifold
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.charts import dimension_chart, norm_chart


def summary_text(report: dict) -> str:
    """The headline figures of a diagnostics report, as Markdown."""
    dead = report["dead"]
    ks = "" if report["norm_ks"] is None else f" · KS distance of the norms from chi({report['latent_dim']}): " \
                                               f"**{report['norm_ks']:.3f}**"
    return (
        f"**{report['count']}** encoded held-out images, **{report['latent_dim']}** dimensions, {report['prior']} prior.\n\n"
        f"- **Outside the manifold: {100 * report['share_outside']:.1f} %** of {report['prior_samples']} prior samples "
        f"lie farther from every encoded image than {100 * report['quantile']:.0f} % of the images lie from their "
        f"own nearest neighbour (distance {report['threshold']:.3f}); data that filled the prior would give about "
        f"{100 * (1 - report['quantile']):.0f} %.\n"
        f"- RMS norm **{report['rms_norm']:.2f}** (the prior's {report['expected_rms_norm']:.2f}){ks}.\n"
        f"- Total KL of the per-dimension moments from the prior: **{float(np.sum(report['kl'])):.2f}** nats.\n"
        f"- Dead dimensions (variance < 0.01): **{len(dead)}**" + (f" ({', '.join(map(str, dead))})" if len(dead) else "")
    )


class DiagnosticsState(ViewState):
    """The pack's prior-deviation report (computed once per process) as numbers and rows."""

    report = param.Dict(default={})
    rows = param.List(default=[], doc="one row per dimension: mean, variance, KL, dead")

    def __init__(self, session: Session, **params):
        super().__init__(session, **params)
        report = manifold.report(self.resources)
        dead = set(int(d) for d in report["dead"])
        self.rows = [{"dimension": j, "mean": round(float(m), 3), "variance": round(float(v), 3),
                      "KL (nats)": round(float(k), 3), "dead": j in dead}
                     for j, (m, v, k) in enumerate(zip(report["mean"], report["variance"], report["kl"]))]
        self.report = report


class DiagnosticsView(pn.viewable.Viewer):
    """The headline figures, the norm histogram, the per-dimension chart and table."""

    def __init__(self, state: DiagnosticsState, **params):
        super().__init__(**params)
        self.state = state
        import pandas as pd

        self._layout = pn.Column(
            pn.pane.Markdown(summary_text(state.report), css_classes=["diagnostics-summary"]),
            pn.Row(pn.pane.HoloViews(norm_chart(state.report), sizing_mode="stretch_width", min_height=260),
                   pn.pane.HoloViews(dimension_chart(state.report), sizing_mode="stretch_width", min_height=260),
                   sizing_mode="stretch_width"),
            pn.pane.DataFrame(pd.DataFrame(state.rows), index=False, max_height=300, css_classes=["diagnostics-table"]),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("diagnostics", "Diagnostics", DiagnosticsState, DiagnosticsView, why=(
    "How much of the prior the encoded images really fill: a prior sample far from every encoded image lands "
    "where the decoder never learned anything. Dead dimensions and a thin norm shell are why some prior samples "
    "look like blotches."
))
