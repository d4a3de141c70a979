"""Per-session state of the explorer: one plain Parameterized per view, and no panel import.

A `Session` holds what the views share (the current latent, the view shown, messages for the
user); each view's state holds its own settings and its outputs (JPEG bytes, plot data). The
views in `explorer.app.<view>` only lay out widgets bound to these classes, so everything here
is tested without a server. Heavy, shared objects come from `PackResources` (once per process).
"""

from __future__ import annotations

import numpy as np
import param

from explorer import attributes as attribute_data
from explorer import figures
from explorer.app.hosting import hosting
from explorer.app.uploads import UploadError, image_from_upload
from explorer.app.urlstate import Link
from explorer.imaging import gif_bytes, jpeg_bytes, png_bytes
from explorer.latent.grids import mine_neighbour_count
from explorer.latent.interpolate import path_norms
from explorer.latent.sampling import sample_prior
from explorer.resources import PackResources

VIEWS = ("explore", "interpolate", "analogy", "mine", "attributes", "sampling")
VIEW_TITLES = {
    "explore": "Explore",
    "interpolate": "Interpolate",
    "analogy": "Analogy (J-diagram)",
    "mine": "MINE grid",
    "attributes": "Attributes lab",
    "sampling": "Sampling",
}


class Session(param.Parameterized):
    """What one browser tab's views share: the current latent, the view, and messages."""

    view = param.Selector(default="explore", objects=list(VIEWS))
    latent = param.Array(default=None, doc="the committed current latent (d,)")
    latent_source = param.String(default="", doc="which view set `latent` last")
    message = param.String(default="")
    level = param.Selector(default="info", objects=["info", "warning", "error"])
    link_version = param.Integer(default=0, doc="bumped whenever the link should be rewritten")

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


class ExploreState(param.Parameterized):
    """The current latent decoded large, moved along attribute vectors by sliders."""

    attributes = param.ListSelector(default=[], objects=[], doc="attributes with a slider")
    methods = param.Dict(default={}, doc="attribute -> plain | balanced | synthetic")
    strengths = param.Dict(default={}, doc="attribute -> slider value, in units of its vector")
    base = param.Array(default=None, doc="the latent the sliders move from")
    size = param.Integer(default=256, bounds=(64, 1024))
    image = param.Bytes(default=b"")
    renders = param.Integer(default=0)

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        self._requested = self._shown = 0  # render tickets: a late picture never replaces a newer one
        super().__init__(**params)
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
        self.image = image
        self.renders += 1

    def set_method(self, name: str, method: str) -> None:
        if method not in self.methods_for(name):
            raise ValueError(f"attribute {name!r} has no {method!r} vector; choose from {self.methods_for(name)}")
        self.methods = {**self.methods, name: method}
        self.render()

    def set_attributes(self, names: list[str]) -> None:
        self.attributes = list(names)
        self.strengths = {k: v for k, v in self.strengths.items() if k in names}
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


class InterpolateState(param.Parameterized):
    """Two endpoints; lerp and slerp strips and the latent norm along both paths."""

    a = param.Array(default=None)
    b = param.Array(default=None)
    steps = param.Integer(default=8, bounds=(3, 16))
    tile = param.Integer(default=80, bounds=(32, 256))
    lerp_strip = param.Bytes(default=b"")
    slerp_strip = param.Bytes(default=b"")
    norms = param.Dict(default={})

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        if params.get("a") is None:
            params["a"] = session.latent.copy()
        if params.get("b") is None:
            params["b"] = session.held_out_latent()
        super().__init__(**params)
        self.compute()

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


class AnalogyState(param.Parameterized):
    """A J-diagram from three corners A, B, C: slerp across both axes, B + C - A at the far corner."""

    slot = param.Selector(default="a", objects=["a", "b", "c"], doc="the corner the next pick fills")
    size = param.Integer(default=5, bounds=(3, 9), doc="grid side (rows = columns)")
    tile = param.Integer(default=64, bounds=(32, 160))
    image = param.Bytes(default=b"")
    corners = param.Dict(default={}, doc="corner -> held-out id, or 'upload'")

    def __init__(self, session: Session, gallery_seed: int = 1, **params):
        self.session = session
        self.resources = session.resources
        self.latents: dict[str, np.ndarray] = {}
        self.inputs: dict[str, np.ndarray] = {}
        super().__init__(**params)
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

    def set_corner_latent(self, key: str, latent: np.ndarray) -> None:
        """A corner from a latent alone (a link or the current latent): no input image to show."""
        self._assign(key, latent, None, "latent")
        self.compute()

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


class MineState(param.Parameterized):
    """A MINE grid around the current latent; clicking a tile hops there (with history)."""

    size = param.Integer(default=5, bounds=(3, 9), doc="grid side (odd: the centre is the current latent)")
    tile = param.Integer(default=72, bounds=(32, 160))
    image = param.Bytes(default=b"")
    nearest = param.Bytes(default=b"", doc="the nearest real held-out images, as one strip")
    nearest_ids = param.Array(default=np.zeros(0, np.int64))
    show_nearest = param.Boolean(default=True)
    position = param.Integer(default=0)
    history_length = param.Integer(default=1)

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        self.history: list[np.ndarray] = [session.latent.copy()]
        self.grid = None
        super().__init__(**params)
        self.compute()
        session.param.watch(self._follow_session, "latent")

    @property
    def center(self) -> np.ndarray:
        return self.history[self.position]

    @param.depends("size", "tile", "show_nearest", watch=True)
    def compute(self) -> None:
        """Neighbours from the index laid out on the grid, decoded; and the nearest-images strip."""
        from explorer.latent.grids import mine_grid

        index = self.resources.index
        count = min(mine_neighbour_count(self.size), len(index) - 1)
        # exclude_self: a centre that is itself a held-out image must not be its own neighbour
        _, ids = index.search(self.center, k=count, exclude_self=True)
        neighbours = index.latents[index.rows_of(ids[ids >= 0])]
        self.grid = np.asarray(mine_grid(self.center, neighbours, self.size, self.size).latents, dtype=np.float32)
        self.image = self.resources.grid_jpeg(self.grid, self.tile)
        if self.show_nearest:
            _, shown = self.resources.index.search(self.center, k=min(8, len(self.resources.ids)))
            self.nearest_ids = shown
            self.nearest = self.resources.thumbnail_grid_jpeg(shown, 1, len(shown), self.tile)

    def hop(self, row: int, col: int) -> None:
        """Make the tile at (row, col) the new centre; forward history is dropped."""
        if self.grid is None or not (0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1]):
            return
        target = self.grid[row, col].copy()
        self.history = self.history[: self.position + 1] + [target]
        self._move(len(self.history) - 1)

    def back(self) -> None:
        if self.position > 0:
            self._move(self.position - 1)

    def forward(self) -> None:
        if self.position < len(self.history) - 1:
            self._move(self.position + 1)

    def _move(self, position: int) -> None:
        self.param.update(position=position, history_length=len(self.history))
        self.compute()
        self.session.set_latent(self.center, "mine")

    def _follow_session(self, event: param.parameterized.Event) -> None:
        if self.session.latent_source == "mine":
            return
        if np.array_equal(event.new, self.center):
            return
        self.history = self.history[: self.position + 1] + [np.array(event.new, dtype=np.float32)]
        self.param.update(position=len(self.history) - 1, history_length=len(self.history))
        self.compute()

    def png(self) -> bytes:
        return self.resources.grid_png(self.grid, self.tile)


class AttributesState(param.Parameterized):
    """Build one attribute vector (plain, balanced, synthetic) and judge it as an AtDot classifier."""

    attribute = param.Selector(default=None, objects=[])
    method = param.Selector(default="plain", objects=list(attribute_data.METHODS))
    confounders = param.ListSelector(default=[], objects=[])
    result = param.Dict(default={}, doc="scores, ROC, AUC, threshold, accuracy, cell counts")

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        super().__init__(**params)
        names = self.resources.attribute_names
        self.param.attribute.objects = names
        self.param.confounders.objects = sorted(self.resources.masks)
        if self.attribute is None and names:
            self.attribute = self.resources.common_attributes(1)[0]
        self._sync_method()
        self.compute()

    @param.depends("attribute", watch=True)
    def _sync_method(self) -> None:
        if attribute_data.is_synthetic(self.attribute):
            self.param.update(method="synthetic", confounders=[])
        else:
            if self.method == "synthetic":
                self.method = "plain"
            self.confounders = self.resources.default_confounders(self.attribute)

    @param.depends("attribute", "method", "confounders", watch=True)
    def compute(self) -> None:
        if self.attribute is None:
            return
        try:
            self.result = self.resources.evaluate_attribute(self.attribute, self.method, tuple(self.confounders))
        except ValueError as error:
            self.session.notify(str(error), "warning")

    def summary(self) -> list[dict]:
        """Every attribute's AtDot AUC and accuracy, plain and balanced (cached per process)."""
        return self.resources.attribute_summary()


class SamplingState(param.Parameterized):
    """A grid of samples from the prior (optionally truncated), MaGNET or polarity; with ESS."""

    sampler = param.Selector(default="prior", objects=["prior", "magnet", "polarity"])
    truncation = param.Number(default=None, bounds=(0.1, 4.0), allow_None=True)
    rho = param.Number(default=-0.5, bounds=(-3.0, 3.0), step=0.1)
    size = param.Integer(default=6, bounds=(2, 10), doc="grid side")
    tile = param.Integer(default=64, bounds=(32, 160))
    seed = param.Integer(default=0)
    label = param.Selector(default=None, objects=[])
    image = param.Bytes(default=b"")
    ess = param.Number(default=None, allow_None=True)
    ess_warning = param.String(default="")
    histogram = param.Dict(default={})

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        super().__init__(**params)
        labels = self.resources.label_names()
        self.param.label.objects = labels
        if self.label is None and labels:
            self.label = max(labels, key=self.resources.label_entropy)
        self.compute()

    def latents(self, count: int) -> tuple[np.ndarray, float | None]:
        """`count` latents from the chosen sampler, and the ESS of its pool weights (None for prior)."""
        r = self.resources
        if self.sampler == "prior":
            return sample_prior(r.prior, count, r.latent_dim, self.seed, self.truncation), None
        pool = r.pool
        if pool is None:
            raise ValueError(r.pool_problem)
        latents, ess = pool.draw(self.sampler, count, self.seed, self.rho)
        return latents, float(ess)

    @param.depends("sampler", "truncation", "rho", "size", "tile", "seed", "label", watch=True)
    def compute(self) -> None:
        count = self.size * self.size
        try:
            latents, ess = self.latents(count)
        except ValueError as error:
            self.session.notify(str(error), "warning")
            return
        self.image = self.resources.grid_jpeg(latents.reshape(self.size, self.size, -1), self.tile)
        self.ess = ess
        self.ess_warning = ess_warning(ess, count, len(self.resources.pool.latents) if ess is not None else 0)
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
        }

    def reseed(self) -> None:
        self.seed = self.session.new_seed() % 100_000


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
    return out


def ess_warning(ess: float | None, drawn: int, pool_size: int) -> str:
    """A warning when the weights leave too few effective samples for the draw to follow them."""
    if ess is None:
        return ""
    if ess < 2 * drawn:
        return (
            f"Low effective sample size: {ess:.0f} of a pool of {pool_size}, under twice the {drawn} drawn. "
            "These samples are the pool's few heaviest latents, not a fair draw from the target; "
            "move ρ toward 0 or build a larger pool."
        )
    return ""


def link_for(session: Session, interpolate: InterpolateState | None, analogy: AnalogyState | None,
             sampling: SamplingState | None) -> Link:
    """The Link that reopens this session's view: the current latent plus the view's own."""
    link = Link(pack=session.resources.name, view=session.view, latents={"z": session.latent})
    if session.view == "interpolate" and interpolate is not None:
        link.latents.update(a=interpolate.a, b=interpolate.b)
    elif session.view == "analogy" and analogy is not None:
        link.latents.update(analogy.latents)
        link.settings.update(n=str(analogy.size), ids=analogy.link_ids())
    elif session.view == "sampling" and sampling is not None:
        link.settings.update(sampler=sampling.sampler, rho=f"{sampling.rho:g}", seed=str(sampling.seed))
        if sampling.truncation is not None:
            link.settings["trunc"] = f"{sampling.truncation:g}"
    return link
