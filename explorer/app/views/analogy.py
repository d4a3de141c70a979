"""Analogy: a J-diagram from corners A, B, C picked from the held-out gallery or uploaded."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer import figures
from explorer.app.components import GalleryView, UploadButton, download
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Gallery, Session
from explorer.app.urlstate import Link
from explorer.imaging import jpeg_bytes, png_bytes


class AnalogyState(ViewState):
    """A J-diagram from three corners A, B, C: slerp across both axes, B + C - A at the far corner."""

    slot = param.Selector(default="a", objects=["a", "b", "c"], doc="the corner the next pick fills")
    size = param.Integer(default=5, bounds=(3, 9), doc="grid side (rows = columns)")
    tile = param.Integer(default=64, bounds=(32, 160))
    image = param.Bytes(default=b"")
    corners = param.Dict(default={}, doc="corner -> held-out id, or 'upload'")

    def __init__(self, session: Session, gallery_seed: int = 1, **params):
        self.latents: dict[str, np.ndarray] = {}
        self.inputs: dict[str, np.ndarray] = {}
        super().__init__(session, **params)
        ids = np.random.default_rng(gallery_seed).choice(self.resources.ids, size=3, replace=False)
        for key, image_id in zip("abc", ids):
            self._assign(key, self.resources.latent_of(image_id), self.resources.thumbnail_of(image_id), int(image_id))
        self.compute()

    def _assign(self, key: str, latent: np.ndarray, image: np.ndarray | None, label) -> None:
        self.latents[key] = self.session.checked(latent)
        if image is None:
            self.inputs.pop(key, None)
        else:
            self.inputs[key] = image
        self.corners = {**self.corners, key: label}

    def pick(self, image_id: int) -> None:
        """Put held-out image `image_id` in the current slot, move to the next slot, redraw."""
        key = self.slot
        self._assign(key, self.resources.latent_of(image_id), self.resources.thumbnail_of(image_id), int(image_id))
        self.slot = {"a": "b", "b": "c", "c": "a"}[key]
        self.compute()
        self.session.commit()

    def apply_link(self, latents: dict[str, np.ndarray], ids: str | None = None) -> None:
        """Corners from a link: a held-out id where it names one (its image is shown), else the latent."""
        named = (ids or "").split(",")
        for position, key in enumerate("abc"):
            text = named[position].strip() if position < len(named) else ""
            if text.isdigit() and self.resources.has_id(int(text)):
                image_id = int(text)
                self._assign(key, self.resources.latent_of(image_id), self.resources.thumbnail_of(image_id), image_id)
            elif key in latents:
                self._assign(key, latents[key], None, "latent")
        self.compute()

    def link_ids(self) -> str:
        """The corners as held-out ids for a link ('-' for a corner that is not one)."""
        return ",".join(str(v) if isinstance(v, int) else "-" for v in (self.corners.get(k) for k in "abc"))

    @classmethod
    def from_link(cls, session: Session, link: Link) -> AnalogyState:
        """The link's grid size `n` (where valid) and corners: held-out `ids`, else latents a, b, c."""
        low, high = cls.param.size.bounds
        try:
            size = int(link.settings.get("n", ""))
        except ValueError:
            size = None
        state = cls(session, **({"size": size} if size is not None and low <= size <= high else {}))
        corners = {key: link.latents[key] for key in "abc" if key in link.latents}
        if corners or link.settings.get("ids"):
            state.apply_link(corners, link.settings.get("ids"))
        return state

    def to_link(self) -> Link:
        return Link(latents=dict(self.latents), settings={"n": str(self.size), "ids": self.link_ids()})

    def upload(self, data: bytes | None, filename: str | None, error: str | None = None) -> bool:
        encoded = self.session.encode_upload(data, filename, error)
        if encoded is None:
            return False
        key = self.slot
        self._assign(key, encoded[1], encoded[0], "upload")
        self.slot = {"a": "b", "b": "c", "c": "a"}[key]
        self.compute()
        self.session.commit()
        return True

    def grid_latents(self) -> np.ndarray:
        """(size, size, d): A top left, B bottom left, C top right, B + C - A bottom right."""
        from explorer.latent.analogy import j_diagram

        return np.asarray(j_diagram(self.latents["a"], self.latents["b"], self.latents["c"], self.size, self.size))

    def figure(self):
        """The J-diagram picture: decoded grid framed by the input images."""
        corners = self.latents
        return figures.jdiagram(self.resources.decode, corners["a"], corners["b"], corners["c"], self.size, self.tile,
                               self.inputs)

    def compute(self) -> None:
        self.image = jpeg_bytes(self.figure())

    @param.depends("size", "tile", watch=True)
    def _resized(self) -> None:
        self.compute()
        self.session.commit()

    def png(self) -> bytes:
        return png_bytes(self.figure())


def corner_text(corners: dict) -> str:
    """Where each corner came from: "A: image 12 · B: upload · C: latent"."""
    return " · ".join(f"{key.upper()}: {value if isinstance(value, str) else f'image {value}'}"
                      for key, value in sorted(corners.items()))


class AnalogyView(pn.viewable.Viewer):
    """Corner slot, grid size, the J-diagram, and the gallery the corners come from."""

    def __init__(self, state: AnalogyState, **params):
        super().__init__(**params)
        self.state = state
        slot = pn.widgets.RadioButtonGroup.from_param(state.param.slot, options={"A": "a", "B": "b", "C": "c"},
                                                      label="Next pick fills", color="light",
                                                      css_classes=["corner-slot"])
        grid_size = pn.widgets.IntSlider.from_param(state.param.size, label="Grid size", throttled=True, width=200)
        upload = UploadButton(label="Corner from your image:")
        upload.on_upload(state.upload)
        self.image = pn.pane.JPG(state.param.image, css_classes=["jdiagram"], alt_text="J-diagram")
        self.corners = pn.pane.Markdown(pn.bind(corner_text, state.param.corners))
        gallery = GalleryView(Gallery(state.resources, seed=3), state.pick,
                              "Held-out images: a click fills the next corner")
        self._layout = pn.Row(
            pn.Column(self.image, download("Download PNG", "jdiagram.png", state.png)),
            pn.Column(
                pn.pane.Markdown(
                    "A J-diagram (White 2016): **A** top left, **B** bottom left, **C** top right; the rows and "
                    "columns slerp between them and the bottom-right corner is **B + C − A**. The inputs stand "
                    "outside the grid, beside their reconstructions."
                ),
                pn.Row(pn.pane.Markdown("**Next pick fills**", margin=(10, 5)), slot),
                self.corners, grid_size, upload, gallery,
                max_width=560,
            ),
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("analogy", "Analogy (J-diagram)", AnalogyState, AnalogyView, why=(
    "Read it as an analogy: A is to B as C is to the bottom-right corner, B + C − A. Look for the symmetry: the "
    "change down the left column should come back down the right one, and the change along the top row along the "
    "bottom one; where it does, the model has learned that change as a direction that works anywhere."
))
