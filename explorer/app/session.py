"""What one browser session's views share, with no panel import: the `Session` and the `Gallery`.

A `Session` holds the current latent, the view shown and the messages for the user; each view's
own state (in `explorer.app.views.<view>`) holds its settings and outputs. Heavy, shared objects
come from `PackResources` (once per process).
"""

from __future__ import annotations

import numpy as np
import param

from explorer.app.hosting import hosting
from explorer.app.uploads import UploadError, image_from_upload
from explorer.latent.sampling import sample_prior
from explorer.resources import PackResources


class Session(param.Parameterized):
    """What one browser tab's views share: the current latent, the view, and messages."""

    view = param.String(default="", doc="the name of the view shown (see explorer.app.views)")
    latent = param.Array(default=None, doc="the committed current latent (d,)")
    latent_source = param.String(default="", doc="which view set `latent` last")
    message = param.String(default="")
    level = param.Selector(default="info", objects=["info", "warning", "error"])
    link_version = param.Integer(default=0, doc="bumped whenever the link should be rewritten")
    saved_direction = param.String(default="", doc="the user's own direction a view saved last (Explore adds its slider)")

    def __init__(self, resources: PackResources, seed: int | None = None, **params):
        self.resources = resources
        self._rng = np.random.default_rng(seed)
        super().__init__(**params)
        if self.latent is None:
            # A held-out image's latent, not a prior draw: a weak decoder's prior samples can be
            # blotches, and the first picture should show what the model has learned.
            self.latent = self.held_out_latent()

    @property
    def latent_dim(self) -> int:
        return self.resources.latent_dim

    def new_seed(self) -> int:
        """A fresh seed from this session's own generator (reproducible in tests)."""
        return int(self._rng.integers(0, 2**31 - 1))

    def held_out_latent(self) -> np.ndarray:
        """The stored latent of a held-out image drawn at random."""
        return self.resources.latent_of(int(self._rng.choice(self.resources.ids)))

    def random_latent(self) -> np.ndarray:
        """One latent drawn from the pack's prior."""
        r = self.resources
        return sample_prior(r.prior, 1, r.latent_dim, self.new_seed())[0]

    def checked(self, latent: np.ndarray) -> np.ndarray:
        """`latent` as float32 (d,), or ValueError naming what is wrong."""
        latent = np.asarray(latent, dtype=np.float32).reshape(-1)
        if latent.shape != (self.latent_dim,):
            raise ValueError(f"a latent for pack {self.resources.name!r} has {self.latent_dim} numbers, got {latent.size}")
        if not np.isfinite(latent).all():
            raise ValueError("the latent contains NaN or inf")
        return latent

    def set_latent(self, latent: np.ndarray, source: str) -> None:
        """Make `latent` the current one (other views follow) and ask for a new link."""
        self.param.update(latent=self.checked(latent), latent_source=source)
        self.commit()

    def commit(self) -> None:
        """Something worth a link changed."""
        self.link_version += 1

    def notify(self, text: str, level: str = "info") -> None:
        """Show `text` to the user (an empty text clears the message)."""
        self.param.update(message=text, level=level)

    def encode_upload(self, data: bytes | None, filename: str | None,
                      error: str | None = None) -> tuple[np.ndarray, np.ndarray] | None:
        """(image, latent) of an uploaded file, or None after telling the user why not."""
        if error:
            self.notify(error, "error")
            return None
        try:
            image = image_from_upload(data, filename, self.resources.image_shape, hosting().upload_bytes)
        except UploadError as error:
            self.notify(str(error), "error")
            return None
        latent = self.resources.encode(image[None])[0]
        self.notify(f"Encoded {filename or 'the upload'}.", "info")
        return image, latent


class Gallery(param.Parameterized):
    """A page of held-out images to pick from; a filter keeps only one label's positives."""

    rows = param.Integer(default=3, bounds=(1, 10))
    cols = param.Integer(default=8, bounds=(1, 16))
    page = param.Integer(default=0, bounds=(0, None))
    label = param.Selector(default="any", objects=["any"])
    ids = param.Array(default=np.zeros(0, np.int64))
    image = param.Bytes(default=b"")

    def __init__(self, resources: PackResources, seed: int = 0, tile: int = 56, **params):
        self.resources = resources
        self.tile = tile
        super().__init__(**params)
        self.param.label.objects = ["any"] + sorted(resources.masks)
        self._order = np.random.default_rng(seed).permutation(len(resources.ids))
        self.refresh()

    @param.depends("page", "label", "rows", "cols", watch=True)
    def refresh(self) -> None:
        """Fill the page: ids and their thumbnails composed into one picture."""
        order = self._order
        if self.label != "any":
            order = order[self.resources.masks[self.label][order]]
        per_page = self.rows * self.cols
        page = self.page % max(1, -(-len(order) // per_page))  # "More" wraps around
        chosen = order[page * per_page : (page + 1) * per_page]
        self.ids = self.resources.ids[chosen]
        self.image = self.resources.thumbnail_grid_jpeg(self.ids, self.rows, self.cols, self.tile)

    def next_page(self) -> None:
        self.page += 1

    def id_at(self, row: int, col: int) -> int | None:
        """The id of the image at a clicked tile (None for an empty tile)."""
        position = row * self.cols + col
        return int(self.ids[position]) if 0 <= position < len(self.ids) else None
