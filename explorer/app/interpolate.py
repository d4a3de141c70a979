"""Interpolate: lerp and slerp between two endpoints, and the latent norm along both paths."""

from __future__ import annotations

import panel as pn

from explorer.app.components import GalleryView, UploadButton, download
from explorer.app.state import Gallery, InterpolateState, Session
from explorer.charts import norm_plot


class InterpolateView(pn.viewable.Viewer):
    """Endpoint pickers, the two strips, the norm plot and the GIF export."""

    def __init__(self, session: Session, a=None, b=None, **params):
        super().__init__(**params)
        self.state = state = InterpolateState(session, a=a, b=b)
        self.target = pn.widgets.RadioButtonGroup(label="Set endpoint", options=["A", "B"], value="B",
                                                  color="light", width=100)
        which = lambda: self.target.value.lower()  # noqa: E731
        buttons = []
        for label, action in (
            ("Random", lambda event: state.endpoint_random(which())),
            ("Current latent", lambda event: state.endpoint_from_current(which())),
            ("Swap A and B", lambda event: state.swap()),
        ):
            button = pn.widgets.Button(label=label, color="light", width=120)
            button.on_click(action)
            buttons.append(button)
        upload = UploadButton(label="From your image:")
        upload.on_upload(lambda data, name, error: state.endpoint_from_upload(which(), data, name, error))
        steps = pn.widgets.IntSlider(label="Steps", start=3, end=16, value=state.steps, width=200)
        steps.param.watch(lambda event: setattr(state, "steps", event.new), "value_throttled")
        gallery = GalleryView(Gallery(session.resources, seed=11, rows=2), lambda i: state.endpoint_from_id(which(), i),
                              "Set the endpoint to a held-out image")

        self.lerp = pn.pane.JPG(state.lerp_strip, css_classes=["lerp-strip"], alt_text="lerp path")
        self.slerp = pn.pane.JPG(state.slerp_strip, css_classes=["slerp-strip"], alt_text="slerp path")
        state.param.watch(lambda event: setattr(self.lerp, "object", event.new), "lerp_strip")
        state.param.watch(lambda event: setattr(self.slerp, "object", event.new), "slerp_strip")
        self.plot = pn.pane.HoloViews(norm_plot(state.norms), sizing_mode="stretch_width", min_height=260)
        state.param.watch(lambda event: setattr(self.plot, "object", norm_plot(event.new)), "norms")

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
