"""Explore: the current latent decoded large, moved live by attribute-vector sliders."""

from __future__ import annotations

from functools import partial

import numpy as np
import panel as pn
import param

from explorer import attributes as attribute_data
from explorer.app import sidechannel
from explorer.app.components import (
    GalleryView,
    LiveSlider,
    Readout,
    UploadButton,
    download,
    jpeg_src,
    no_delay,
)
from explorer.app.live_picture import LivePicture, slider_class, vector_entries
from explorer.app.manifold import on_manifold_text
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Gallery, Session

SLIDER_RANGE = 3.0


class ExploreState(ViewState):
    """The current latent decoded large, moved along attribute vectors by sliders."""

    attributes = param.ListSelector(default=[], objects=[], doc="attributes with a slider")
    methods = param.Dict(default={}, doc="attribute -> plain | balanced | synthetic")
    strengths = param.Dict(default={}, doc="attribute -> slider value, in units of its vector")
    base = param.Array(default=None, doc="the latent the sliders move from")
    size = param.Integer(default=256, bounds=(64, 1024))
    image = param.Bytes(default=b"")
    on_manifold = param.String(default="", doc="the shown latent's nearest-image distance as a percentile of the data's")

    def __init__(self, session: Session, **params):
        self._requested = self._shown = 0  # render tickets: a late picture never replaces a newer one
        super().__init__(session, **params)
        names = self.resources.attribute_names
        self.param.attributes.objects = names
        if not self.attributes:
            self.attributes = self.resources.common_attributes(3)
        self.methods = {name: self.default_method(name) for name in names}
        self.base = session.latent.copy()
        session.param.watch(self._follow_session, "latent")

    @staticmethod
    def default_method(name: str) -> str:
        return attribute_data.default_method(name)

    def methods_for(self, name: str) -> list[str]:
        """The vector methods that exist for attribute `name`."""
        return attribute_data.methods_for(name)

    def vector(self, name: str) -> np.ndarray:
        return self.resources.attribute_vector(name, self.methods.get(name, self.default_method(name)))

    def current_latent(self) -> np.ndarray:
        """base + Σ strength · vector over the attributes with a slider."""
        latent = np.array(self.base, dtype=np.float32)
        for name in self.attributes:
            strength = float(self.strengths.get(name, 0.0))
            if strength:
                latent = latent + strength * self.vector(name)
        return latent

    def render(self) -> None:
        """Decode the current latent to a JPEG at display size (newest request wins)."""
        ticket = self._next_ticket()
        self._show(ticket, self.resources.jpeg(self.current_latent(), self.size, channel=self._channel))

    async def render_off_loop(self) -> None:
        """`render` with the decoding on a render thread, so the server answers other sessions meanwhile."""
        ticket = self._next_ticket()
        self._show(ticket, await self.resources.jpeg_off_loop(self.current_latent(), self.size, self._channel))

    async def move_slider(self, name: str, value: float, final: bool = False) -> None:
        """Move one slider: redraw (decoding off the event loop); on release (`final`) also commit
        the latent to the link."""
        self.strengths = {**self.strengths, name: float(value)}
        latent = self.current_latent()
        await self.render_off_loop()
        if final:
            self.session.set_latent(latent, "explore-slider")

    @property
    def _channel(self) -> str:
        return f"explore-{id(self)}"

    def _next_ticket(self) -> int:
        self._requested += 1
        return self._requested

    def _show(self, ticket: int, image: bytes | None) -> None:
        """Show a finished picture unless it was superseded (None) or a newer one is already shown."""
        if image is None or ticket < self._shown:
            return
        self._shown = ticket
        self.on_manifold = on_manifold_text(self.resources, self.current_latent())
        self.image = image

    def set_method(self, name: str, method: str) -> None:
        if method not in self.methods_for(name):
            raise ValueError(f"attribute {name!r} has no {method!r} vector; choose from {self.methods_for(name)}")
        self.methods = {**self.methods, name: method}
        self.render()

    @param.depends("attributes", watch=True)
    def _drop_strengths_without_slider(self) -> None:
        """An attribute whose slider is removed no longer moves the picture."""
        kept = {name: value for name, value in self.strengths.items() if name in self.attributes}
        if kept != self.strengths:
            self.strengths = kept
            self.render()

    def reset_sliders(self) -> None:
        self.strengths = {}
        self.render()
        self.session.set_latent(self.current_latent(), "explore-slider")

    def start_from(self, latent: np.ndarray, source: str = "explore") -> None:
        """Start over from `latent`: sliders back to zero."""
        self.session.set_latent(latent, source)

    def start_random(self) -> None:
        self.start_from(self.session.random_latent())

    def start_from_id(self, image_id: int) -> None:
        self.start_from(self.resources.latent_of(image_id))
        self.session.notify(f"Started from held-out image {image_id}.")

    def start_from_upload(self, data: bytes | None, filename: str | None, error: str | None = None) -> bool:
        encoded = self.session.encode_upload(data, filename, error)
        if encoded is None:
            return False
        self.start_from(encoded[1])
        return True

    def _follow_session(self, event: param.parameterized.Event) -> None:
        # The slider's own commit must not reset the sliders it came from.
        if self.session.latent_source == "explore-slider":
            return
        self.param.update(base=np.array(event.new, dtype=np.float32), strengths={})
        self.render()

    def png(self) -> bytes:
        """The current image as PNG at display size, for download."""
        return self.resources.png(self.current_latent(), self.size)


class ExploreView(pn.viewable.Viewer):
    """Big picture on the left; attribute sliders and where-to-start on the right."""

    def __init__(self, state: ExploreState, **params):
        super().__init__(**params)
        self.state = state
        state.render()
        self._syncing = False
        self._sliders: dict[str, LiveSlider] = {}
        # Slider moves reach the picture through the side channel where it is on (see live_picture).
        token = sidechannel.issue_token(state.resources.name, state.size) if sidechannel.enabled() else ""
        self.image = LivePicture(src=jpeg_src(state.image), display_width=state.size, css_classes=["explore-image"],
                                 alt="the current latent, decoded", token=token)
        self.norm = Readout(label="latent norm", css_classes=["latent-norm"], margin=(0, 10))
        self._show_norm()
        # Watchers, not bindings: the picture and its norm must leave in one message, and the
        # sliders (one per chosen attribute) are rebuilt or moved to follow the state.
        state.param.watch(self._image_changed, "image")
        state.param.watch(self._strengths_changed, "strengths")
        state.param.watch(lambda event: self._build_sliders(), "attributes")
        state.param.watch(lambda event: self._send_vectors(), ["base", "methods"])

        chooser = pn.widgets.MultiChoice.from_param(state.param.attributes, label="Attribute sliders", max_items=6,
                                                    description=None, sizing_mode="stretch_width")
        self.slider_column = pn.Column(sizing_mode="stretch_width")
        self._build_sliders()
        reset = pn.widgets.Button(label="Sliders to zero", color="light", width=140)
        reset.on_click(lambda event: state.reset_sliders())

        random = pn.widgets.Button(label="Random sample", color="primary", width=140, css_classes=["random-start"])
        random.on_click(lambda event: state.start_random())
        upload = UploadButton(label="Start from your image:")
        upload.on_upload(state.start_from_upload)
        gallery = GalleryView(Gallery(state.resources, seed=7), state.start_from_id, "Start from a held-out image")

        self._layout = pn.Row(
            pn.Column(self.image, self.norm,
                      Readout(label="on-manifold:", value=state.param.on_manifold, css_classes=["on-manifold"],
                              margin=(0, 10)),
                      pn.Row(download("Download PNG", "explore.png", state.png))),
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
                css_classes=["attribute-slider", slider_class(name)],
            )
            slider.param.watch(partial(self._moved, name, False), "value")
            slider.param.watch(partial(self._moved, name, True), "value_throttled")
            methods = self.state.methods_for(name)
            method = pn.widgets.RadioButtonGroup(options=methods, value=self.state.methods[name],
                                                 color="light", width=80 * len(methods))
            method.param.watch(lambda event, name=name: self.state.set_method(name, event.new), "value")
            self._sliders[name] = slider
            rows.append(pn.Row(slider, method, sizing_mode="stretch_width"))
        with pn.io.hold():  # the new sliders and their vectors reach the page together
            self.slider_column.objects = rows
            self._send_vectors()

    def _send_vectors(self) -> None:
        """Give the picture the base latent and each slider's vector, for the side channel."""
        self.image.param.update(
            base=np.asarray(self.state.base, np.float32).tolist(),
            vectors=vector_entries({name: self.state.vector(name) for name in self.state.attributes}),
        )

    async def _moved(self, name: str, final: bool, event: param.parameterized.Event) -> None:
        if self._syncing:
            return
        if final:
            # With the side channel open the page sends only the release: bring `value` up to it, so
            # that a later reset or new start, which sets `value`, reaches the page.
            self._follow_release(name, event.new)
        await self.state.move_slider(name, event.new, final=final)

    def _follow_release(self, name: str, value: float) -> None:
        slider = self._sliders.get(name)
        if slider is not None and slider.value != value:
            self._syncing = True
            try:
                slider.value = value
            finally:
                self._syncing = False

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


VIEW = ViewSpec("explore", "Explore", ExploreState, ExploreView, why=(
    "Move one slider and watch one feature change while the rest of the picture stays: an attribute vector is a "
    "direction in latent space. Keep an eye on the norm under the picture: far from the prior's typical norm the "
    "decoder meets latents it never saw in training, and the pictures fall apart."
))
