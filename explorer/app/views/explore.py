"""Explore: the current latent decoded large, moved live by sliders along attribute vectors,
unsupervised directions (PCA, SeFa) and the user's own directions, with the side effects of the
slider being moved on every label's judges, and locks that make a direction blind to chosen labels."""

from __future__ import annotations

from functools import partial

import numpy as np
import panel as pn
import param

from explorer import attributes as attribute_data
from explorer.app import directions as shared
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
from explorer.app.live_bars import LiveBars
from explorer.app.live_picture import LivePicture, slider_class, vector_entries
from explorer.app.manifold import on_manifold_text
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Gallery, Session
from explorer.charts import SIDE_EFFECT_AXES, side_effect_rows, side_effect_title
from explorer.directions_store import DirectionsError
from explorer.latent.directions import custom_direction
from explorer.latent.side_effects import side_effects

SLIDER_RANGE = 3.0
OWN = "own: "  # the key prefix of the user's own directions, so that they never clash with a label


class ExploreState(ViewState):
    """The current latent decoded large, moved along attribute vectors by sliders."""

    attributes = param.ListSelector(default=[], objects=[], doc="attributes with a slider")
    methods = param.Dict(default={}, doc="attribute -> plain | balanced | synthetic")
    strengths = param.Dict(default={}, doc="attribute -> slider value, in units of its vector")
    base = param.Array(default=None, doc="the latent the sliders move from")
    directions = param.ListSelector(default=[], objects=[], doc="unsupervised and own directions with a slider")
    locks = param.ListSelector(default=[], objects=[], doc="labels every slider is made blind to")
    focus = param.String(default="", doc="the slider whose side effects are shown (the one moved last)")
    effects = param.List(default=[], doc="SideEffect rows of the focus slider (its own label left out)")
    group_a = param.Selector(default=None, objects=[], doc="label of group A of a new direction")
    group_b = param.Selector(default=None, objects=[], doc="label of group B of a new direction")
    own_name = param.String(default="", doc="the name a new direction is saved under")
    size = param.Integer(default=256, bounds=(64, 1024))
    image = param.Bytes(default=b"")
    on_manifold = param.String(default="", doc="the shown latent's nearest-image distance as a percentile of the data's")

    def __init__(self, session: Session, **params):
        self._requested = self._shown = 0  # render tickets: a late picture never replaces a newer one
        self._locked: dict[tuple, object] = {}  # (slider, method, locks) -> vector, or the ValueError
        self._unsupervised = {d.key: d for d in shared.unsupervised_directions(session.resources)}
        self._own: dict[str, np.ndarray] = {}
        super().__init__(session, **params)
        names = self.resources.attribute_names
        self.param.attributes.objects = names
        if not self.attributes:
            self.attributes = self.resources.common_attributes(3)
        self.methods = {name: self.default_method(name) for name in names}
        self.store = shared.direction_store(self.resources)
        self._load_own()
        self.param.locks.objects = shared.judged_labels(self.resources)
        groups = sorted(self.resources.masks)
        self.param.group_a.objects = self.param.group_b.objects = groups
        if len(groups) >= 2 and self.group_a is None:
            self.param.update(group_a=groups[0], group_b=groups[1])
        self.base = session.latent.copy()
        session.param.watch(self._follow_session, "latent")
        session.param.watch(self._direction_saved, "saved_direction")
        self.focus = self.focus or (self.attributes[0] if self.attributes else "")
        if session.saved_direction:  # made on the Map before this view was first opened
            self.add_own(session.saved_direction)
        self.update_effects()

    @staticmethod
    def default_method(name: str) -> str:
        return attribute_data.default_method(name)

    def methods_for(self, name: str) -> list[str]:
        """The vector methods that exist for attribute `name`."""
        return attribute_data.methods_for(name)

    # ----------------------------------------------------------------- directions and locks
    def direction_labels(self) -> dict[str, str]:
        """Slider key -> what the slider is called, for the unsupervised and own directions."""
        return {**{key: d.label for key, d in self._unsupervised.items()},
                **{key: key.removeprefix(OWN) for key in self._own}}

    def raw_vector(self, name: str) -> np.ndarray:
        """The slider's vector before locks: an attribute's (by its method), or a direction's."""
        if name in self._unsupervised:
            return self._unsupervised[name].vector
        if name in self._own:
            return self._own[name]
        return self.resources.attribute_vector(name, self.methods.get(name, self.default_method(name)))

    def vector(self, name: str) -> np.ndarray:
        """The slider's vector with the locks applied (a locked attribute's own slider is not locked against itself).

        ValueError when nothing of it is left once locked."""
        locks = tuple(lock for lock in self.locks if lock != name)
        key = (name, self.methods.get(name), locks)
        if key not in self._locked:
            try:
                self._locked[key] = shared.locked(self.raw_vector(name), self.resources, locks)
            except ValueError as error:
                self._locked[key] = error
        result = self._locked[key]
        if isinstance(result, ValueError):
            raise result
        return result

    @property
    def sliders(self) -> list[str]:
        """Every slider shown: attributes first, then directions."""
        return list(self.attributes) + list(self.directions)

    def current_latent(self) -> np.ndarray:
        """base + Σ strength · vector over the sliders (a slider whose vector the locks removed moves nothing)."""
        latent = np.array(self.base, dtype=np.float32)
        for name in self.sliders:
            strength = float(self.strengths.get(name, 0.0))
            if strength:
                try:
                    latent = (latent + strength * self.vector(name)).astype(np.float32)
                except ValueError:
                    continue
        return latent

    @param.depends("focus", "locks", watch=True)
    def update_effects(self) -> None:
        """The focus slider's drag on every other label's AtDot and logistic judge, per unit step."""
        effects = []
        if self.focus:
            try:
                vector = self.vector(self.focus)
            except ValueError as error:
                self.session.notify(f"{self.focus}: {error}", "warning")
            else:
                own_label = self.focus if self.focus in self.resources.masks else None
                effects = [e for e in side_effects(vector, shared.judges(self.resources)) if e.label != own_label]
        if effects == self.effects:  # the same bars under another focus or locks: their charts still follow
            self.param.trigger("effects")
        else:
            self.effects = effects

    @param.depends("locks", watch=True)
    def _relocked(self) -> None:
        self.render()

    def make_direction(self) -> str | None:
        """Save B − A (mean latent of group B's label minus group A's) under `own_name` and add its slider."""
        name = self.own_name.strip() or f"{self.group_b} − {self.group_a}"
        masks = self.resources.masks
        latents = np.asarray(self.resources.index.latents, dtype=np.float64)
        try:
            if self.group_a is None or self.group_b is None:
                raise ValueError(f"pack {self.resources.name!r} has no labels to make groups from; "
                                 "lasso two groups on the Map instead")
            if self.group_a == self.group_b:
                raise ValueError(f"groups A and B are both {self.group_a!r}; pick two different labels")
            made = custom_direction(latents[masks[self.group_a]], latents[masks[self.group_b]])
            self.store.save(name, made.vector * made.distance, source="custom",
                            details={"a": f"label {self.group_a}", "b": f"label {self.group_b}"})
        except (ValueError, KeyError) as error:
            self.session.notify(str(error), "error")
            return None
        self.session.notify(f"Saved the direction {name!r} (B − A, {made.distance:.2f} long) to {self.store.path}.")
        self.add_own(name)
        return name

    def add_own(self, name: str) -> None:
        """Reload the store and show the slider of the own direction `name`."""
        self._load_own()
        key = OWN + name
        self._locked = {k: v for k, v in self._locked.items() if k[0] != key}
        if key in self._own and key not in self.directions:
            self.directions = [*self.directions, key]
        self.focus = key

    def _load_own(self) -> None:
        try:
            saved = self.store.all()
        except DirectionsError as error:
            saved = []
            self.session.notify(str(error), "error")
        self._own = {OWN + s.name: s.vector.astype(np.float32) for s in saved}
        labels = self.direction_labels()
        self.param.directions.objects = {labels[key]: key for key in labels}
        self.directions = [key for key in self.directions if key in labels]

    def _direction_saved(self, event: param.parameterized.Event) -> None:
        if event.new:
            self.add_own(event.new)

    def export_directions(self) -> bytes:
        """The user's own directions of this pack as a JSON file."""
        return self.store.export_json().encode("utf-8")

    def import_directions(self, data: bytes | None, filename: str | None, error: str | None = None) -> bool:
        """Add the directions of an exported JSON file; the store's error (other weights, ...) is shown."""
        if error or data is None:
            self.session.notify(error or "Nothing was uploaded.", "error")
            return False
        try:
            names = self.store.import_json(data.decode("utf-8"))
        except (DirectionsError, UnicodeDecodeError) as problem:
            self.session.notify(f"{filename or 'The file'}: {problem}", "error")
            return False
        for name in names:
            self.add_own(name)
        self.session.notify(f"Imported {len(names)} direction(s) from {filename or 'the file'}.")
        return True

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
        self.focus = name
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
        self.update_effects()
        self.render()

    @param.depends("attributes", "directions", watch=True)
    def _drop_strengths_without_slider(self) -> None:
        """A slider that is removed no longer moves the picture."""
        if self.focus not in self.sliders:  # the side effects follow a slider that is still there
            self.focus = self.sliders[0] if self.sliders else ""
        kept = {name: value for name, value in self.strengths.items() if name in self.sliders}
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
        state.param.watch(lambda event: self._build_sliders(), ["attributes", "directions"])
        state.param.watch(lambda event: self._send_vectors(), ["base", "methods", "locks"])

        chooser = pn.widgets.MultiChoice.from_param(state.param.attributes, label="Attribute sliders", max_items=6,
                                                    description=None, sizing_mode="stretch_width")
        direction_chooser = pn.widgets.MultiChoice.from_param(
            state.param.directions, label="Direction sliders (PCA, SeFa, your own)", max_items=6, description=None,
            sizing_mode="stretch_width", css_classes=["direction-chooser"])
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
                      pn.Row(download("Download PNG", "explore.png", state.png)),
                      self._side_effects_panel()),
            pn.Column(
                chooser, direction_chooser, self.slider_column, reset, pn.layout.Divider(),
                pn.Row(random, upload), gallery, pn.layout.Divider(),
                self._own_direction_panel(),
                sizing_mode="stretch_width", max_width=560,
            ),
            sizing_mode="stretch_width",
        )
        # Each slider step is a small message each way: send them without Nagle's delay.
        pn.state.onload(no_delay)

    def _side_effects_panel(self) -> pn.Column:
        """The focus slider's side effects on every judge, and the locks."""
        state = self.state
        locks = pn.widgets.MultiChoice.from_param(state.param.locks, label="Lock (make every slider blind to)",
                                                  description=None, width=state.size + 140, css_classes=["locks"])
        self.effect_charts = {kind: LiveBars(axis, width=state.size + 140) for kind, axis in SIDE_EFFECT_AXES.items()}
        self._show_effects()
        # `effects` is set (or triggered) once for each new focus or locks: one redraw per change
        state.param.watch(lambda event: self._show_effects(), "effects")
        return pn.Column(locks, pn.Column(*self.effect_charts.values(), css_classes=["side-effects"]))

    def _show_effects(self) -> None:
        state = self.state
        for kind, chart in self.effect_charts.items():
            chart.show(side_effect_rows(state.effects, state.locks, kind), side_effect_title(state.focus, kind))

    def _own_direction_panel(self) -> pn.Column:
        """Make B − A from two labels, name it, and export / import the saved ones."""
        state = self.state
        group_a = pn.widgets.Select.from_param(state.param.group_a, label="Group A", width=150)
        group_b = pn.widgets.Select.from_param(state.param.group_b, label="Group B", width=150)
        name = pn.widgets.TextInput.from_param(state.param.own_name, label="Name", width=150,
                                               placeholder="B − A")
        make = pn.widgets.Button(label="Make B − A", color="primary", width=120, css_classes=["make-direction"])
        make.on_click(lambda event: state.make_direction())
        importer = UploadButton(label="Import directions (JSON):", accept=".json,application/json")
        importer.on_upload(state.import_directions)
        return pn.Column(
            pn.pane.Markdown("**A direction of your own**: from group A's mean latent to group B's "
                             "(or lasso two groups on the Map)", margin=(0, 5)),
            pn.Row(group_a, group_b), pn.Row(name, make),
            pn.Row(download("Export directions", f"{state.resources.name}.directions.json",
                            state.export_directions), importer),
        )

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
        labels = self.state.direction_labels()
        for name in self.state.sliders:
            slider = LiveSlider(
                label=labels.get(name, name), start=-SLIDER_RANGE, end=SLIDER_RANGE, step=0.05,
                value=float(self.state.strengths.get(name, 0.0)), sizing_mode="stretch_width",
                css_classes=["direction-slider" if name in labels else "attribute-slider", slider_class(name)],
            )
            slider.param.watch(partial(self._moved, name, False), "value")
            slider.param.watch(partial(self._moved, name, True), "value_throttled")
            self._sliders[name] = slider
            if name in labels:
                rows.append(pn.Row(slider, sizing_mode="stretch_width"))
                continue
            methods = self.state.methods_for(name)
            method = pn.widgets.RadioButtonGroup(options=methods, value=self.state.methods[name],
                                                 color="light", width=80 * len(methods))
            method.param.watch(lambda event, name=name: self.state.set_method(name, event.new), "value")
            rows.append(pn.Row(slider, method, sizing_mode="stretch_width"))
        with pn.io.hold():  # the new sliders and their vectors reach the page together
            self.slider_column.objects = rows
            self._send_vectors()

    def _send_vectors(self) -> None:
        """Give the picture the base latent and each slider's vector, for the side channel."""
        vectors = {}
        for name in self.state.sliders:
            try:
                vectors[name] = self.state.vector(name)
            except ValueError:  # the locks left nothing of it: it moves nothing, as in current_latent
                continue
        self.image.param.update(base=np.asarray(self.state.base, np.float32).tolist(), vectors=vector_entries(vectors))

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
