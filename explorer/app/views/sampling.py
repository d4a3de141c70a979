"""Sampling: prior (optionally truncated), MaGNET and polarity samples, with their ESS."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer.app.components import download
from explorer.app.page_text import page_text
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.app.urlstate import Link
from explorer.charts import class_bars
from explorer.latent.sampling import SAMPLERS, sample_prior, sampler_description
from explorer.pool import sampler_draw


class SamplingState(ViewState):
    """A grid of samples from the prior (optionally truncated), MaGNET or polarity; with ESS."""

    sampler = param.Selector(default="prior", objects=list(SAMPLERS))
    truncation = param.Number(default=None, bounds=(0.1, 4.0), step=0.1, allow_None=True)
    rho = param.Number(default=-0.5, bounds=(-3.0, 3.0), step=0.1)
    k = param.Integer(default=None, allow_None=True, bounds=(1, None),
                      doc="top-k singular values of the volume (None: the pool's default)")
    description = param.String(default="", doc="what the chosen sampler draws, in words")
    size = param.Integer(default=6, bounds=(2, 10), doc="grid side")
    tile = param.Integer(default=64, bounds=(32, 160))
    seed = param.Integer(default=0)
    label = param.Selector(default=None, objects=[])
    image = param.Bytes(default=b"")
    ess = param.Number(default=None, allow_None=True)
    ess_warning = param.String(default="")
    histogram = param.Dict(default={})

    def __init__(self, session: Session, **params):
        super().__init__(session, **params)
        pool = self.resources.pool
        if pool is not None:
            self.param.k.bounds = (1, self.resources.latent_dim)
            if self.k is None:
                self.k = int(pool.default_k)
        labels = self.resources.label_names()
        self.param.label.objects = labels
        if self.label is None and labels:
            self.label = max(labels, key=self.resources.label_entropy)
        self.compute()

    def draw(self, count: int) -> tuple[np.ndarray, float | None, str]:
        """`count` latents from the chosen sampler, the ESS of the draw (None for prior) and a warning
        in words when that ESS is under `count` (explorer.pool.sampler_draw)."""
        r = self.resources
        if self.sampler == "prior":
            return sample_prior(r.prior, count, r.latent_dim, self.seed, self.truncation), None, ""
        pool = r.pool
        if pool is None:
            raise ValueError(r.pool_problem)
        drawn = sampler_draw(pool, self.sampler, count, self.seed, self.rho, self.k)
        return drawn.latents, float(drawn.ess), drawn.warning

    def latents(self, count: int) -> tuple[np.ndarray, float | None]:
        """`count` latents from the chosen sampler, and the ESS of the draw (None for prior)."""
        latents, ess, _ = self.draw(count)
        return latents, ess

    @param.depends("sampler", "truncation", "rho", "k", "size", "tile", "seed", "label", watch=True)
    def compute(self) -> None:
        count = self.size * self.size
        r = self.resources
        self.description = sampler_description(self.sampler, self.rho, self.k or r.latent_dim, r.latent_dim, r.prior)
        try:
            latents, ess, warning = self.draw(count)
        except ValueError as error:
            self.session.notify(str(error), "warning")
            return
        self.image = self.resources.grid_jpeg(latents.reshape(self.size, self.size, -1), self.tile)
        self.ess = ess
        self.ess_warning = warning
        if self.label:
            self.histogram = self.class_histogram(max(count, 200))
        self.session.commit()

    def class_histogram(self, count: int) -> dict:
        """The label's distribution among this sampler's draws vs plain prior draws (nearest neighbour labels)."""
        r = self.resources
        mine, _ = self.latents(min(count, len(r.pool.latents)) if self.sampler != "prior" else count)
        prior = sample_prior(r.prior, count, r.latent_dim, self.seed + 1)
        codes, names = r.label_values(self.label)
        return {
            "categories": names,
            "this sampler": r.predicted_distribution(mine, codes, len(names)),
            "prior": r.predicted_distribution(prior, codes, len(names)),
            "held-out": np.bincount(codes, minlength=len(names)) / max(1, len(codes)),
        }

    def png(self) -> bytes:
        """The grid of samples as PNG, for download."""
        latents, _ = self.latents(self.size * self.size)
        return self.resources.grid_png(latents.reshape(self.size, self.size, -1), self.tile)

    def reseed(self) -> None:
        self.seed = self.session.new_seed() % 100_000

    @classmethod
    def from_link(cls, session: Session, link: Link) -> SamplingState:
        """The link's sampler, rho, truncation and seed, where they are valid."""
        return cls(session, **sampling_settings(link.settings))

    def to_link(self) -> Link:
        settings = {"sampler": self.sampler, "rho": f"{self.rho:g}", "seed": str(self.seed)}
        if self.k is not None and self.resources.pool is not None and self.k != self.resources.pool.default_k:
            settings["k"] = str(self.k)
        if self.truncation is not None:
            settings["trunc"] = f"{self.truncation:g}"
        return Link(settings=settings)


def sampling_settings(settings: dict[str, str]) -> dict:
    """SamplingState keywords from a link's settings, dropping what does not parse or is out of range."""
    out: dict = {}
    if settings.get("sampler") in SamplingState.param.sampler.objects:
        out["sampler"] = settings["sampler"]
    for key, name in (("rho", "rho"), ("trunc", "truncation")):
        low, high = SamplingState.param[name].bounds
        try:
            value = float(settings[key])
        except (KeyError, ValueError):
            continue
        if np.isfinite(value) and low <= value <= high:
            out[name] = value
    try:
        out["seed"] = int(settings["seed"]) % 100_000
    except (KeyError, ValueError):
        pass
    try:
        k = int(settings["k"])
        if 1 <= k <= 4096:
            out["k"] = k
    except (KeyError, ValueError):
        pass
    return out


class SamplingView(pn.viewable.Viewer):
    """Sampler settings, the sample grid, ESS and the class histogram."""

    def __init__(self, state: SamplingState, **params):
        super().__init__(**params)
        self.state = state
        sampler = pn.widgets.RadioButtonGroup.from_param(state.param.sampler, color="light",
                                                         css_classes=["sampler"])
        # The optional truncation is two widgets, a checkbox and a slider, over one parameter (None: off).
        truncate = pn.widgets.Checkbox(label="Truncate the prior", value=state.truncation is not None,
                                       disabled=pn.bind(lambda name: name != "prior", state.param.sampler))
        start, end = state.param.truncation.bounds
        truncation = pn.widgets.FloatSlider(label="Truncation", start=start, end=end, step=state.param.truncation.step,
                                            value=state.truncation or 2.0, width=220,
                                            disabled=pn.bind(lambda name, on: name != "prior" or not on,
                                                             state.param.sampler, truncate.param.value))
        truncate.param.watch(lambda event: setattr(state, "truncation", truncation.value if event.new else None),
                             "value")
        truncation.param.watch(lambda event: truncate.value and setattr(state, "truncation", event.new),
                               "value_throttled")
        k = pn.widgets.IntSlider.from_param(state.param.k, label="Top-k singular values", throttled=True, width=220,
                                            start=1, end=state.resources.latent_dim, css_classes=["top-k"],
                                            disabled=pn.bind(lambda name: name == "prior", state.param.sampler),
                                            visible=state.resources.pool is not None)
        rho = pn.widgets.FloatSlider.from_param(state.param.rho, label="Polarity ρ (< 0: quality, > 0: diversity)",
                                                throttled=True, width=280, css_classes=["rho"],
                                                disabled=pn.bind(lambda name: name != "polarity", state.param.sampler))
        size = pn.widgets.IntSlider.from_param(state.param.size, label="Grid size", throttled=True, width=180)
        again = pn.widgets.Button(label="New samples", color="primary", width=130, css_classes=["new-samples"])
        again.on_click(lambda event: state.reseed())
        label = pn.widgets.Select.from_param(state.param.label, label="Histogram of", width=180)

        self.grid = pn.pane.JPG(state.param.image, css_classes=["sample-grid"], alt_text="samples")
        self.ess = pn.pane.Markdown(pn.bind(self._ess_text, state.param.ess), css_classes=["ess"])
        self.warning = pn.pane.Alert(state.param.ess_warning, alert_type="warning",
                                     visible=pn.bind(bool, state.param.ess_warning), css_classes=["ess-warning"])
        self.bars = pn.pane.HoloViews(pn.bind(self._bars, state.param.histogram), sizing_mode="stretch_width",
                                      min_height=280)
        problem = state.resources.pool_problem
        self._layout = pn.Column(
            pn.pane.Alert(page_text(problem), alert_type="warning", visible=bool(problem), css_classes=["pool-problem"]),
            pn.pane.Markdown(state.param.description, css_classes=["sampler-description"]),
            pn.Row(sampler, again, size),
            pn.Row(truncate, truncation, rho, k),
            self.ess, self.warning,
            pn.Row(pn.Column(self.grid, download("Download PNG", "samples.png", state.png)),
                   pn.Column(label, self.bars,
                             pn.pane.Markdown("Each sample takes the majority label of its 5 nearest held-out "
                                              "images; 200 draws per sampler."),
                             sizing_mode="stretch_width"),
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _ess_text(self, ess: float | None) -> str:
        state = self.state
        if ess is None:
            return f"Sampler **{state.sampler}**: independent prior draws (no weights, no ESS)."
        pool = len(state.resources.pool.latents)
        drawn = state.size * state.size
        return (f"Sampler **{state.sampler}**: effective sample size **{ess:.0f}** for this draw of {drawn} "
                f"(a pool of {pool}).")

    def _bars(self, histogram: dict):
        return class_bars(histogram, self.state.label)

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("sampling", "Sampling", SamplingState, SamplingView, why=(
    "Prior samples show what the model makes of the whole prior, dead zones and all; MaGNET and polarity redraw "
    "from a pool of prior samples weighted by how much the decoder stretches each one. Watch the effective sample "
    "size (ESS): it says how many pool samples really count, and a low one means a few dominate and the grid "
    "repeats itself."
))
