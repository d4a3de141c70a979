"""Exemplars (Radford et al. 2016, DCGAN): average a few exemplars per concept, combine the concepts
as A − B + C, and show the result with its ±0.25 uniform jitter grid beside the same arithmetic
done on the pixels of the held-out images."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer.app.components import GalleryView
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Gallery, Session
from explorer.app.urlstate import Link
from explorer.imaging import jpeg_bytes, tile

CONCEPTS = ("a", "b", "c")
COEFFICIENTS = (1.0, -1.0, 1.0)  # A − B + C
MAX_EXEMPLARS = 8
JITTER = 0.25  # DCGAN's


def pixel_arithmetic(concepts: list[np.ndarray], coefficients: tuple[float, ...]) -> np.ndarray:
    """Σ coefficient · mean image of each concept's uint8 images (n, H, W, C), clipped back to uint8."""
    total = sum(c * np.asarray(images, np.float64).mean(axis=0) for c, images in zip(coefficients, concepts))
    return np.clip(np.round(total), 0, 255).astype(np.uint8)


class ExemplarsState(ViewState):
    """Exemplar ids per concept; the latent and pixel results of A − B + C."""

    slot = param.Selector(default="a", objects=list(CONCEPTS), doc="the concept a gallery click adds to")
    exemplars = param.Dict(default={}, doc="concept -> list of held-out ids")
    grid_size = param.Integer(default=5, bounds=(3, 7))
    tile = param.Integer(default=56, bounds=(32, 128))
    seed = param.Integer(default=0, bounds=(0, None), doc="the jitter's seed")
    jitter = param.Bytes(default=b"", doc="the centre (middle cell) and its ±0.25 jitter grid")
    centre = param.Bytes(default=b"", doc="the latent result, decoded large")
    pixels = param.Bytes(default=b"", doc="the same arithmetic on the held-out images' pixels")
    strips = param.Dict(default={}, doc="concept -> JPEG strip of its exemplars")

    def __init__(self, session: Session, exemplar_seed: int = 5, **params):
        super().__init__(session, **params)
        if not self.exemplars:
            rng = np.random.default_rng(exemplar_seed)
            chosen = rng.choice(self.resources.ids, size=(3, 3), replace=False)
            self.exemplars = {key: [int(i) for i in row] for key, row in zip(CONCEPTS, chosen)}
        self.compute()

    @classmethod
    def from_link(cls, session: Session, link: Link) -> ExemplarsState:
        """The link's exemplars `ex` ("1,2;3;4,5": A's ids; B's; C's), where every concept names known ids."""
        parts = link.settings.get("ex", "").split(";")
        exemplars = {}
        for key, part in zip(CONCEPTS, parts):
            ids = [int(text) for text in part.split(",") if text.strip().isdigit()]
            ids = [i for i in ids if session.resources.has_id(i)][:MAX_EXEMPLARS]
            if ids:
                exemplars[key] = ids
        return cls(session, **({"exemplars": exemplars} if len(exemplars) == len(CONCEPTS) else {}))

    def to_link(self) -> Link:
        return Link(settings={"ex": ";".join(",".join(map(str, self.exemplars[key])) for key in CONCEPTS)})

    def toggle(self, image_id: int) -> None:
        """Add held-out image `image_id` to the current concept, or take it out if it is there already."""
        ids = list(self.exemplars[self.slot])
        if image_id in ids:
            if len(ids) == 1:
                self.session.notify("A concept needs at least one exemplar; add another before removing this one.")
                return
            ids.remove(image_id)
        elif len(ids) >= MAX_EXEMPLARS:
            self.session.notify(f"A concept holds up to {MAX_EXEMPLARS} exemplars; click one to take it out first.")
            return
        else:
            ids.append(int(image_id))
        self.exemplars = {**self.exemplars, self.slot: ids}

    def replace(self, ids) -> None:
        """The current concept becomes `ids` (e.g. the gallery's page of one label), up to MAX_EXEMPLARS."""
        ids = [int(i) for i in ids][:MAX_EXEMPLARS]
        if not ids:
            self.session.notify("There are no images to take; pick another label filter.")
            return
        self.exemplars = {**self.exemplars, self.slot: ids}

    def concept_latents(self) -> list[np.ndarray]:
        """Each concept's exemplar latents (n, d)."""
        return [np.stack([self.resources.latent_of(i) for i in self.exemplars[key]]) for key in CONCEPTS]

    def result(self) -> np.ndarray:
        """A − B + C on the concepts' mean latents."""
        from explorer.latent.exemplars import combine_concepts

        return np.asarray(combine_concepts(self.concept_latents(), COEFFICIENTS), dtype=np.float32)

    def jitter_latents(self) -> np.ndarray:
        """(n, n, d): the result in the middle cell, the rest jittered by uniform noise in ±0.25."""
        from explorer.latent.exemplars import jitter_grid

        return np.asarray(jitter_grid(self.result(), self.grid_size, self.grid_size, spread=JITTER, seed=self.seed),
                          dtype=np.float32)

    def pixel_result(self) -> np.ndarray:
        """A − B + C on the mean exemplar images, uint8 (H, W, C)."""
        images = [np.stack([self.resources.thumbnail_of(i) for i in self.exemplars[key]]) for key in CONCEPTS]
        return pixel_arithmetic(images, COEFFICIENTS)

    def compute(self) -> None:
        """The exemplar strips, the jitter grid, the centre image and the pixel-space result."""
        r = self.resources
        strips = {key: r.thumbnail_grid_jpeg(np.asarray(self.exemplars[key]), 1, len(self.exemplars[key]), 48)
                  for key in CONCEPTS}
        self.param.update(
            strips=strips, jitter=r.grid_jpeg(self.jitter_latents(), self.tile),
            centre=r.jpeg(self.result(), 3 * self.tile),
            pixels=jpeg_bytes(tile(self.pixel_result(), 3 * self.tile)),
        )

    @param.depends("exemplars", "grid_size", "tile", "seed", watch=True)
    def _changed(self) -> None:
        self.compute()
        self.session.commit()

    def reseed(self) -> None:
        self.seed = self.seed + 1


class ExemplarsView(pn.viewable.Viewer):
    """Concept strips, the gallery that fills them, and the latent vs pixel results."""

    def __init__(self, state: ExemplarsState, **params):
        super().__init__(**params)
        self.state = state
        slot = pn.widgets.RadioButtonGroup.from_param(state.param.slot, options={"A": "a", "B": "b", "C": "c"},
                                                      color="light", css_classes=["exemplar-slot"])
        self.gallery = Gallery(state.resources, seed=13)
        take = pn.widgets.Button(label="Concept = this page", color="light", width=170)
        take.on_click(lambda event: state.replace(self.gallery.ids))
        reseed = pn.widgets.Button(label="New jitter", color="light", width=110)
        reseed.on_click(lambda event: state.reseed())
        strips = [pn.Row(pn.pane.Markdown(f"**{key.upper()}** {'+−+'[n]}", width=40),
                         pn.pane.JPG(pn.bind(lambda s, key=key: s.get(key), state.param.strips), height=48,
                                     css_classes=[f"exemplars-{key}"]))
                  for n, key in enumerate("abc")]
        self._layout = pn.Row(
            pn.Column(
                pn.pane.Markdown(
                    "Exemplar arithmetic (DCGAN): each concept is the **mean latent** of its exemplars, and "
                    "**A − B + C** is decoded in the middle of a grid whose other cells add uniform noise in "
                    "±0.25, showing that the concept, not one point, carries the meaning. Beside it, the same "
                    "sum of the exemplars' **pixels**."),
                *strips,
                pn.Row(
                    pn.Column(pn.pane.Markdown("**Latent A − B + C**"),
                              pn.pane.JPG(state.param.centre, css_classes=["exemplar-centre"])),
                    pn.Column(pn.pane.Markdown("**Pixel A − B + C**"),
                              pn.pane.JPG(state.param.pixels, css_classes=["exemplar-pixels"])),
                ),
                pn.pane.Markdown("**Jitter grid** (middle: the exact result)"),
                pn.pane.JPG(state.param.jitter, css_classes=["exemplar-jitter"], alt_text="jitter grid"),
                reseed,
            ),
            pn.Column(
                pn.Row(pn.pane.Markdown("**A click adds to / removes from**", margin=(10, 5)), slot),
                take,
                GalleryView(self.gallery, state.toggle, "Held-out images (filter by a label)"),
                max_width=560,
            ),
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("exemplars", "Exemplars", ExemplarsState, ExemplarsView, why=(
    "Averaging a few exemplars gives a concept's latent; A − B + C combines concepts. Compare the decoded result "
    "with the same sum done on pixels, which only overlays ghosts; the jitter grid shows how stable the result is."
))
