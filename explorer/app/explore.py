"""Explore: the current latent decoded large, moved live by attribute-vector sliders."""

from __future__ import annotations

from functools import partial

import numpy as np
import panel as pn
import param

from explorer.app.components import (
    GalleryView,
    LiveSlider,
    Picture,
    Readout,
    UploadButton,
    download,
    jpeg_src,
    no_delay,
)
from explorer.app.state import ExploreState, Gallery, Session

SLIDER_RANGE = 3.0


class ExploreView(pn.viewable.Viewer):
    """Big picture on the left; attribute sliders and where-to-start on the right."""

    def __init__(self, session: Session, **params):
        super().__init__(**params)
        self.state = ExploreState(session)
        self.state.render()
        self._syncing = False
        self._sliders: dict[str, LiveSlider] = {}
        size = self.state.size
        self.image = Picture(src=jpeg_src(self.state.image), display_width=size, css_classes=["explore-image"],
                             alt="the current latent, decoded")
        self.norm = Readout(label="latent norm", css_classes=["latent-norm"], margin=(0, 10))
        self._show_norm()
        self.state.param.watch(self._image_changed, "image")
        self.state.param.watch(self._strengths_changed, "strengths")

        chooser = pn.widgets.MultiChoice(
            label="Attribute sliders", options=self.state.param.attributes.objects, value=list(self.state.attributes),
            max_items=6, sizing_mode="stretch_width",
        )
        chooser.param.watch(lambda event: self.state.set_attributes(event.new), "value")
        self.slider_column = pn.Column(sizing_mode="stretch_width")
        self.state.param.watch(lambda event: self._build_sliders(), "attributes")
        self._build_sliders()
        reset = pn.widgets.Button(label="Sliders to zero", color="light", width=140)
        reset.on_click(lambda event: self.state.reset_sliders())

        random = pn.widgets.Button(label="Random sample", color="primary", width=140, css_classes=["random-start"])
        random.on_click(lambda event: self.state.start_random())
        upload = UploadButton(label="Start from your image:")
        upload.on_upload(self.state.start_from_upload)
        gallery = GalleryView(Gallery(session.resources, seed=7), self.state.start_from_id, "Start from a held-out image")

        self._layout = pn.Row(
            pn.Column(self.image, self.norm, pn.Row(download("Download PNG", "explore.png", self.state.png))),
            pn.Column(
                chooser, self.slider_column, reset, pn.layout.Divider(),
                pn.Row(random, upload), gallery,
                sizing_mode="stretch_width", max_width=560,
            ),
            sizing_mode="stretch_width",
        )
        # Each slider step is a small message each way: send them without Nagle's delay.
        pn.state.onload(no_delay)

    def _image_changed(self, event: param.parameterized.Event) -> None:
        with pn.io.hold():  # the picture and its norm leave in one message
            self.image.src = jpeg_src(event.new)
            self._show_norm()

    def _show_norm(self) -> None:
        norm = float(np.linalg.norm(self.state.current_latent()))
        self.norm.param.update(value=f"{norm:.2f}",
                               note=f"(the prior's typical norm is {self.state.resources.expected_norm():.2f})")

    def _build_sliders(self) -> None:
        rows, self._sliders = [], {}
        for name in self.state.attributes:
            slider = LiveSlider(
                label=name, start=-SLIDER_RANGE, end=SLIDER_RANGE, step=0.05,
                value=float(self.state.strengths.get(name, 0.0)), sizing_mode="stretch_width",
                css_classes=["attribute-slider"],
            )
            slider.param.watch(partial(self._moved, name, False), "value")
            slider.param.watch(partial(self._moved, name, True), "value_throttled")
            methods = self.state.methods_for(name)
            method = pn.widgets.RadioButtonGroup(options=methods, value=self.state.methods[name],
                                                 color="light", width=80 * len(methods))
            method.param.watch(lambda event, name=name: self.state.set_method(name, event.new), "value")
            self._sliders[name] = slider
            rows.append(pn.Row(slider, method, sizing_mode="stretch_width"))
        self.slider_column.objects = rows

    async def _moved(self, name: str, final: bool, event: param.parameterized.Event) -> None:
        if not self._syncing:
            await self.state.move_slider(name, event.new, final=final)

    def _strengths_changed(self, event: param.parameterized.Event) -> None:
        """Follow the state (a reset, a new start) without echoing back into it."""
        self._syncing = True
        try:
            for name, slider in self._sliders.items():
                value = float(event.new.get(name, 0.0))
                if slider.value != value:
                    slider.value = value
        finally:
            self._syncing = False

    def __panel__(self):
        return self._layout
