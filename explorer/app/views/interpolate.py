"""Interpolate: lerp and slerp between two endpoints, and the latent norm along both paths."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer import figures
from explorer.app.components import GalleryView, UploadButton, download
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Gallery, Session
from explorer.app.urlstate import Link
from explorer.charts import norm_plot
from explorer.imaging import gif_bytes, png_bytes
from explorer.latent.interpolate import path_norms


class InterpolateState(ViewState):
    """Two endpoints; lerp and slerp strips and the latent norm along both paths."""

    a = param.Array(default=None)
    b = param.Array(default=None)
    steps = param.Integer(default=8, bounds=(3, 16))
    tile = param.Integer(default=80, bounds=(32, 256))
    lerp_strip = param.Bytes(default=b"")
    slerp_strip = param.Bytes(default=b"")
    norms = param.Dict(default={})
    target = param.Selector(default="b", objects=["a", "b"], doc="the endpoint the next choice sets")

    def __init__(self, session: Session, **params):
        if params.get("a") is None:
            params["a"] = session.latent.copy()
        if params.get("b") is None:
            params["b"] = session.held_out_latent()
        super().__init__(session, **params)
        self.compute()

    @classmethod
    def from_link(cls, session: Session, link: Link) -> InterpolateState:
        """The link's endpoints a and b (each one missing: the current latent, a held-out image)."""
        return cls(session, a=link.latents.get("a"), b=link.latents.get("b"))

    def to_link(self) -> Link:
        return Link(latents={"a": self.a, "b": self.b})

    def paths(self, count: int) -> dict[str, np.ndarray]:
        """The lerp and slerp paths from a to b at `count` evenly spaced t, each (count, d)."""
        from explorer.latent.interpolate import lerp, slerp

        t = np.linspace(0.0, 1.0, count)
        return {"lerp": lerp(self.a, self.b, t), "slerp": slerp(self.a, self.b, t)}

    @param.depends("a", "b", "steps", "tile", watch=True)
    def compute(self) -> None:
        """Strips and the norm curves; cheap enough to redo on every change."""
        strips = self.paths(self.steps)
        self.lerp_strip = self.resources.grid_jpeg(strips["lerp"][None], self.tile)
        self.slerp_strip = self.resources.grid_jpeg(strips["slerp"][None], self.tile)
        self.norms = {**path_norms(self.a, self.b), "expected": self.resources.expected_norm()}

    def set_endpoint(self, which: str, latent: np.ndarray) -> None:
        if which not in ("a", "b"):
            raise ValueError(f"endpoint must be 'a' or 'b', got {which!r}")
        setattr(self, which, self.session.checked(latent))
        self.session.commit()

    def endpoint_random(self, which: str) -> None:
        self.set_endpoint(which, self.session.random_latent())

    def endpoint_from_id(self, which: str, image_id: int) -> None:
        self.set_endpoint(which, self.resources.latent_of(image_id))

    def endpoint_from_current(self, which: str) -> None:
        self.set_endpoint(which, self.session.latent)

    def endpoint_from_upload(self, which: str, data: bytes | None, filename: str | None,
                             error: str | None = None) -> bool:
        encoded = self.session.encode_upload(data, filename, error)
        if encoded is None:
            return False
        self.set_endpoint(which, encoded[1])
        return True

    def swap(self) -> None:
        self.param.update(a=self.b, b=self.a)
        self.session.commit()

    def gif(self, frames: int = 16, size: int = 128) -> bytes:
        """An animated GIF along the slerp path, forth and back."""
        return gif_bytes(self.resources.decode(self.paths(frames)["slerp"]), size)

    def png(self) -> bytes:
        """Both strips over the norm plot, as in the export command's 'paths' figure."""
        r = self.resources
        return png_bytes(figures.paths(r.decode, self.a, self.b, self.steps, self.tile, r.expected_norm()))


class InterpolateView(pn.viewable.Viewer):
    """Endpoint pickers, the two strips, the norm plot and the GIF export."""

    def __init__(self, state: InterpolateState, **params):
        super().__init__(**params)
        self.state = state
        self.target = pn.widgets.RadioButtonGroup.from_param(state.param.target, options={"A": "a", "B": "b"},
                                                             description=None, color="light", width=100)
        buttons = []
        for label, action in (
            ("Random", lambda event: state.endpoint_random(state.target)),
            ("Current latent", lambda event: state.endpoint_from_current(state.target)),
            ("Swap A and B", lambda event: state.swap()),
        ):
            button = pn.widgets.Button(label=label, color="light", width=120)
            button.on_click(action)
            buttons.append(button)
        upload = UploadButton(label="From your image:")
        upload.on_upload(lambda data, name, error: state.endpoint_from_upload(state.target, data, name, error))
        steps = pn.widgets.IntSlider.from_param(state.param.steps, label="Steps", throttled=True, width=200)
        gallery = GalleryView(Gallery(state.resources, seed=11, rows=2),
                              lambda image_id: state.endpoint_from_id(state.target, image_id),
                              "Set the endpoint to a held-out image")

        self.lerp = pn.pane.JPG(state.param.lerp_strip, css_classes=["lerp-strip"], alt_text="lerp path")
        self.slerp = pn.pane.JPG(state.param.slerp_strip, css_classes=["slerp-strip"], alt_text="slerp path")
        self.plot = pn.pane.HoloViews(pn.bind(norm_plot, state.param.norms), sizing_mode="stretch_width",
                                      min_height=260)

        self._layout = pn.Column(
            pn.Row(pn.pane.Markdown("**Endpoint**", margin=(10, 5)), self.target, *buttons, steps),
            pn.Row(upload),
            pn.pane.Markdown("**lerp** (straight line: cuts inside the shell where the prior has no mass)"),
            self.lerp,
            pn.pane.Markdown("**slerp** (great circle: stays on the shell)"),
            self.slerp,
            self.plot,
            pn.Row(download("Download strips (PNG)", "interpolation.png", state.png),
                   download("Animated slerp (GIF)", "slerp.gif", state.gif)),
            gallery,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("interpolate", "Interpolate", InterpolateState, InterpolateView, why=(
    "Compare the middle frames of the two strips: lerp's fade and blur, slerp's stay sharp. The plot says why: "
    "lerp's norm sags between the endpoints (the tent-pole), far below the dashed line where the prior's samples "
    "live, while slerp's stays on it."
))
