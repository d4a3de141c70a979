"""Sampling: prior (optionally truncated), MaGNET and polarity samples, with their ESS."""

from __future__ import annotations

import panel as pn

from explorer.app.components import download
from explorer.app.page_text import page_text
from explorer.app.plots import hv
from explorer.app.state import SamplingState, Session, sampling_settings


def class_bars(histogram: dict, label: str) -> hv.Bars:
    """The label's distribution among the sampler's draws and among prior draws."""
    rows = []
    for group in ("this sampler", "prior"):
        for name, fraction in zip(histogram["categories"], histogram[group]):
            rows.append((str(name), group, float(fraction)))
    return hv.Bars(rows, ["value", "samples"], "fraction").opts(
        title=f"{label}: this sampler (blue) vs the prior (grey)", height=280, responsive=True,
        toolbar=None, color=hv.dim("samples").categorize({"this sampler": "#0072B2", "prior": "#BBBBBB"}),
        xrotation=45 if len(histogram["categories"]) > 8 else 0, multi_level=False,
    )


class SamplingView(pn.viewable.Viewer):
    """Sampler settings, the sample grid, ESS and the class histogram."""

    def __init__(self, session: Session, settings: dict | None = None, **params):
        super().__init__(**params)
        self.state = state = SamplingState(session, **sampling_settings(settings or {}))
        sampler = pn.widgets.RadioButtonGroup.from_param(state.param.sampler, color="light",
                                                         css_classes=["sampler"])
        truncate = pn.widgets.Checkbox(label="Truncate the prior", value=state.truncation is not None)
        truncation = pn.widgets.FloatSlider(label="Truncation", start=0.1, end=4.0, step=0.1,
                                            value=state.truncation or 2.0, width=220, disabled=not truncate.value)
        truncate.param.watch(lambda event: self._truncate(event.new, truncation), "value")
        truncation.param.watch(lambda event: truncate.value and setattr(state, "truncation", event.new),
                               "value_throttled")
        rho = pn.widgets.FloatSlider(label="Polarity ρ (< 0: quality, > 0: diversity)", start=-3.0, end=3.0, step=0.1,
                                     value=state.rho, width=280, css_classes=["rho"])
        rho.param.watch(lambda event: setattr(state, "rho", event.new), "value_throttled")

        def enable(*events):
            rho.disabled = state.sampler != "polarity"
            truncate.disabled = state.sampler != "prior"
            truncation.disabled = state.sampler != "prior" or not truncate.value

        state.param.watch(enable, "sampler")
        enable()
        size = pn.widgets.IntSlider(label="Grid size", start=2, end=10, value=state.size, width=180)
        size.param.watch(lambda event: setattr(state, "size", event.new), "value_throttled")
        again = pn.widgets.Button(label="New samples", color="primary", width=130, css_classes=["new-samples"])
        again.on_click(lambda event: state.reseed())
        label = pn.widgets.Select.from_param(state.param.label, label="Histogram of", width=180)

        self.grid = pn.pane.JPG(state.image, css_classes=["sample-grid"], alt_text="samples")
        state.param.watch(lambda event: setattr(self.grid, "object", event.new), "image")
        self.ess = pn.pane.Markdown(self._ess_text(), css_classes=["ess"])
        self.warning = pn.pane.Alert(state.ess_warning, alert_type="warning", visible=bool(state.ess_warning),
                                     css_classes=["ess-warning"])
        state.param.watch(self._ess_changed, ["ess", "ess_warning"])
        self.bars = pn.pane.HoloViews(self._bars(), sizing_mode="stretch_width", min_height=280)
        state.param.watch(lambda event: setattr(self.bars, "object", self._bars()), "histogram")
        problem = state.resources.pool_problem
        self._layout = pn.Column(
            pn.pane.Alert(page_text(problem), alert_type="warning", visible=bool(problem), css_classes=["pool-problem"]),
            pn.pane.Markdown(
                "**prior**: plain draws (optionally truncated). **magnet**: MaGNET (Humayun et al. 2022) "
                "reweights a precomputed pool of prior draws by decoder volume so outputs are uniform on the "
                "learned manifold. **polarity**: weights volume^ρ; ρ < 0 favours modes (quality), ρ > 0 "
                "anti-modes (diversity). Pool methods report their effective sample size (ESS)."
            ),
            pn.Row(sampler, again, size),
            pn.Row(truncate, truncation, rho),
            self.ess, self.warning,
            pn.Row(pn.Column(self.grid, download("Download PNG", "samples.png", self._png)),
                   pn.Column(label, self.bars,
                             pn.pane.Markdown("Each sample takes the majority label of its 5 nearest held-out "
                                              "images; 200 draws per sampler."),
                             sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _truncate(self, on: bool, slider: pn.widgets.FloatSlider) -> None:
        slider.disabled = not on
        self.state.truncation = slider.value if on else None

    def _ess_text(self) -> str:
        state = self.state
        if state.ess is None:
            return f"Sampler **{state.sampler}**: independent prior draws (no weights, no ESS)."
        pool = len(state.resources.pool.latents)
        return f"Sampler **{state.sampler}**: effective sample size **{state.ess:.0f}** of a pool of {pool}."

    def _ess_changed(self, *events) -> None:
        self.ess.object = self._ess_text()
        self.warning.object = self.state.ess_warning
        self.warning.visible = bool(self.state.ess_warning)

    def _bars(self):
        if not self.state.histogram:
            return hv.Bars([], "value", "fraction")
        return class_bars(self.state.histogram, self.state.label)

    def _png(self) -> bytes:
        latents, _ = self.state.latents(self.state.size * self.state.size)
        return self.state.resources.grid_png(latents.reshape(self.state.size, self.state.size, -1), self.state.tile)

    def __panel__(self):
        return self._layout

