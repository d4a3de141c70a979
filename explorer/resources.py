"""What every session of one pack shares, built once per process: the pack, its renderer,
label masks and the attribute vectors (plain, balanced, synthetic) computed from its index.

Sessions hold a reference to a `PackResources` and never mutate it; everything here is either
read-only after construction or computed once per key (`SingleFlight`) and kept. Panel-free:
the app's sessions, the health report and `serve` share it.
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from explorer import attributes
from explorer.imaging import decode_grid, grid_image, jpeg_bytes, png_bytes
from explorer.latent.interpolate import typical_norm
from explorer.single_flight import SingleFlight

log = logging.getLogger(__name__)

GAP = 2  # pixels between grid tiles, here and in the click mapping of TileGrid
# Live pictures (slider drags) are decoded on these threads, so that the event loop serves other
# sessions meanwhile: torch and Pillow release the GIL while they work. Several threads let
# decodes that queue up leave together in one batch (the renderer's micro-batcher).
RENDER_THREADS = 4
_render_threads = ThreadPoolExecutor(max_workers=RENDER_THREADS, thread_name_prefix="render")


class PackUnavailable(RuntimeError):
    """A pack cannot be opened; the message names it and lists the installed ones."""


@dataclass
class _Config:
    default_pack: str | None = None
    device: str = "auto"
    batch_window_ms: float | None = None  # None: the device's default (render.default_batch_window_ms)


_config = _Config()
_opened: SingleFlight["PackResources"] = SingleFlight()  # keyed by (pack, assets root, indexes root)


def configure(default_pack: str | None = None, device: str = "auto", batch_window_ms: float | None = None) -> None:
    """Process-wide settings the server starts with: the pack a new session opens, the decoder
    device and how long a single decode waits to share a batch (None: the device's default)."""
    _config.default_pack = default_pack
    _config.device = device
    _config.batch_window_ms = batch_window_ms


def default_pack() -> str:
    """The pack a session opens when its link names none: --pack, else emoji, else the first installed."""
    from explorer.packs import DEFAULT_PACK

    return _config.default_pack or (installed_packs() or [DEFAULT_PACK])[0]  # list_packs puts emoji first


def installed_packs() -> list[str]:
    """Names of the packs found on disk (empty when none), the default first."""
    from explorer.packs import list_packs

    return list_packs()


def resources_for(pack_name: str | None = None) -> "PackResources":
    """The shared resources of a pack, opened on first use and kept for the process's life."""
    from explorer.packs import assets_root, indexes_root

    name = pack_name or default_pack()
    key = (name, str(assets_root()), str(indexes_root()))
    return _opened.get(key, lambda: PackResources.open(name, device=_config.device,
                                                       batch_window_ms=_config.batch_window_ms))


def loaded_resources() -> list["PackResources"]:
    """The packs this process has opened so far (for the health report)."""
    return _opened.values()


class PackResources:
    """One pack's model, renderer, index-derived labels and cached attribute vectors."""

    def __init__(self, pack, renderer):
        self.pack = pack
        self.renderer = renderer
        self._computed: SingleFlight[object] = SingleFlight()  # vectors, judgements, edited encodings

    @classmethod
    def open(cls, name: str, device: str = "auto", batch_window_ms: float | None = None) -> "PackResources":
        """Open pack `name` and its renderer; PackUnavailable says what is wrong or what is installed."""
        from explorer.devices import resolve_device
        from explorer.packs import PackError, open_pack
        from explorer.render import Renderer, default_batch_window_ms

        try:
            pack = open_pack(name)
            model = pack.model
            index = pack.index  # the app cannot work without it: fail here, with the reason
        except (PackError, OSError, ValueError) as error:
            raise PackUnavailable(
                f"{error}. (Packs are read from $LATENT_EXPLORER_ASSETS and $LATENT_EXPLORER_INDEXES, "
                "default ./assets and ./indexes.)"
            ) from error
        if len(index) < 8:
            raise PackUnavailable(f"pack {name!r} has only {len(index)} indexed images; the explorer needs at least 8")
        if batch_window_ms is None:
            batch_window_ms = default_batch_window_ms(resolve_device(device))
        return cls(pack, Renderer(model, device=device, batch_window_ms=batch_window_ms))

    # ----------------------------------------------------------------- basic facts
    @property
    def name(self) -> str:
        return self.pack.name

    @property
    def model(self):
        return self.pack.model

    @property
    def index(self):
        return self.pack.index

    @property
    def pool(self):
        """The pack's sampler pool, or None when it has none or it cannot be read (see pool_problem)."""
        return self._pool[0]

    @property
    def pool_problem(self) -> str:
        """Why MaGNET and polarity sampling are unavailable ("" when the pool is fine)."""
        return self._pool[1]

    @cached_property
    def _pool(self) -> tuple[object | None, str]:
        try:
            return self.pack.pool, ""
        except FileNotFoundError:
            return None, (f"Pack {self.name!r} has no sampler pool, so MaGNET and polarity sampling are off; "
                          f"build one with `latent-explorer pool --pack {self.name}`.")
        except (OSError, ValueError) as error:
            return None, (f"The sampler pool of pack {self.name!r} cannot be used, so MaGNET and polarity "
                          f"sampling are off: {error}")

    @property
    def latent_dim(self) -> int:
        return int(self.pack.model.latent_dim)

    @property
    def prior(self) -> str:
        return self.pack.model.prior

    @property
    def image_shape(self) -> tuple[int, int, int]:
        return tuple(self.pack.model.image_shape)

    @property
    def ids(self) -> np.ndarray:
        return np.asarray(self.index.ids)

    def has_id(self, image_id: int) -> bool:
        """Whether `image_id` is a held-out image of this pack's index."""
        try:
            self.index.rows_of(int(image_id))
        except ValueError:
            return False
        return True

    def latent_of(self, image_id: int) -> np.ndarray:
        """The stored latent of held-out image `image_id` (ValueError for an unknown id)."""
        return np.asarray(self.index.latents[self.index.rows_of(int(image_id))[0]], dtype=np.float32)

    def thumbnail_of(self, image_id: int) -> np.ndarray:
        """The held-out image `image_id` as uint8 (H, W, C)."""
        return np.asarray(self.index.thumbnails[self.index.rows_of(int(image_id))[0]])

    def expected_norm(self) -> float:
        """Typical latent norm under the prior (the shell where samples live)."""
        return typical_norm(self.prior, self.latent_dim)

    # ----------------------------------------------------------------- pictures
    def jpeg(self, latent: np.ndarray, size: int, channel: object = None) -> bytes | None:
        """One latent as a JPEG at display size; with a channel, None when a newer request won."""
        from explorer.render import Superseded

        if channel is None:
            return self.renderer.decode_jpeg(latent, size)
        try:
            return self.renderer.latest(channel, self.renderer.decode_jpeg, latent, size)
        except Superseded:
            return None

    async def jpeg_off_loop(self, latent: np.ndarray, size: int, channel: object) -> bytes | None:
        """`jpeg` on a render thread: the calling event loop stays free while the picture is made."""
        return await asyncio.get_running_loop().run_in_executor(_render_threads, self.jpeg, latent, size, channel)

    def png(self, latent: np.ndarray, size: int) -> bytes:
        """One latent as a PNG (for download)."""
        return self.renderer.decode_png(latent, size)

    def grid_jpeg(self, latents: np.ndarray, tile: int) -> bytes:
        """(rows, cols, d) latents as one JPEG of tile-px tiles, GAP px apart."""
        return self.renderer.grid_jpeg(latents, tile, gap=GAP)

    def grid_png(self, latents: np.ndarray, tile: int) -> bytes:
        """(rows, cols, d) latents as one PNG (for download)."""
        return png_bytes(grid_image(decode_grid(self.decode, latents), tile, GAP))

    def decode(self, latents: np.ndarray) -> np.ndarray:
        """(N, d) latents -> uint8 (N, H, W, C) at the model's size (cached, batched)."""
        return self.renderer.decode_images(np.asarray(latents, dtype=np.float32))

    def encode(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) of the pack's shape -> latents (N, d)."""
        return self.model.encode_images(images)

    def thumbnail_grid_jpeg(self, ids: np.ndarray, rows: int, cols: int, tile: int) -> bytes:
        """Held-out images `ids` as one JPEG grid, row-major, blank where ids run out."""
        h, w, c = self.image_shape
        grid = np.full((rows * cols, h, w, c), 255, np.uint8)
        for position, image_id in enumerate(np.asarray(ids)[: rows * cols]):
            grid[position] = self.thumbnail_of(int(image_id))
        return jpeg_bytes(grid_image(grid.reshape(rows, cols, h, w, c), tile, GAP))

    # ----------------------------------------------------------------- labels
    @cached_property
    def masks(self) -> dict[str, np.ndarray]:
        """Every label of the index as a boolean mask (categorical: one mask per value)."""
        return attributes.label_masks(self.index.labels or {}, getattr(self.index, "categories", {}) or {})

    @property
    def attribute_names(self) -> list[str]:
        """Attributes a vector can be built for: label masks, then synthetic transforms."""
        return sorted(self.masks) + list(attributes.SYNTHETIC)

    def common_attributes(self, count: int) -> list[str]:
        """`count` attributes to offer first: the most evenly split, one per label family where possible."""
        by_balance = sorted(self.masks, key=lambda name: -min(self.masks[name].sum(), (~self.masks[name]).sum()))
        chosen: list[str] = []
        for name in by_balance:  # first pass: one per family (gender=woman, headwear, ...)
            if name.split("=")[0] not in {c.split("=")[0] for c in chosen}:
                chosen.append(name)
        chosen += [name for name in by_balance if name not in chosen]
        return (chosen + list(attributes.SYNTHETIC))[:count]

    def label_names(self) -> list[str]:
        """The raw label names of the index (categorical and binary)."""
        return sorted((self.index.labels or {}).keys())

    def label_entropy(self, name: str) -> float:
        """Entropy (nats) of a label's values over the index: how much a histogram of it can show."""
        codes, _ = self.label_values(name)
        counts = np.bincount(codes)
        p = counts[counts > 0] / counts.sum()
        return float(-(p * np.log(p)).sum())

    def label_values(self, name: str) -> tuple[np.ndarray, list[str]]:
        """Codes (N,) and value names of label `name`; binary labels become ["no", "yes"]."""
        values = np.asarray(self.index.labels[name])
        categories = (getattr(self.index, "categories", {}) or {}).get(name)
        if categories:
            return values.astype(np.int64), list(categories)
        return values.astype(bool).astype(np.int64), ["no", "yes"]

    def default_confounders(self, attribute: str) -> list[str]:
        """The labels a balanced vector for `attribute` is balanced over unless the user says."""
        return attributes.default_confounders(self.masks, attribute)

    def once(self, key: tuple, compute):
        """compute() once per process for `key` (concurrent callers of one key wait for the first),
        for what the views derive from the pack and every session shares."""
        return self._computed.get(key, compute)

    # ----------------------------------------------------------------- vectors
    def attribute_vector(self, attribute: str, method: str = "plain") -> np.ndarray:
        """The attribute's direction (float32), computed once per process: from the training split
        when the pack has one with this label (as in the paper), else from the held-out index.

        Balanced vectors balance over `default_confounders`; a synthetic attribute is always synthetic
        (built on the held-out images, the only ones a pack keeps).
        """
        method = attributes.resolve_method(attribute, method)
        latents, masks = self._build_set(attribute, method)
        return self._computed.get(("vector", attribute, method), lambda: np.asarray(attributes.attribute_vector(
            latents, masks, attribute, method, augmented=self._augmented(attribute)).vector, np.float32))

    @cached_property
    def training(self):
        """The pack's encoded training split, or None when it has none (an older pack) or it cannot be read."""
        try:
            return self.pack.training
        except (OSError, ValueError) as error:
            log.warning("pack %r: no usable training split (%s); attribute vectors use the held-out images",
                        self.name, error)
            return None

    @cached_property
    def training_masks(self) -> dict[str, np.ndarray]:
        """The training split's labels as masks (as `masks` for the index); empty without a training split."""
        training = self.training
        return attributes.label_masks(training.labels, training.categories) if training is not None else {}

    def _build_set(self, attribute: str, method: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """The latents and masks a vector is built on: training where it carries the label, else held-out."""
        if method != "synthetic" and attribute in self.training_masks:
            return np.asarray(self.training.latents, dtype=np.float32), self.training_masks
        return self.latents, self.masks

    @property
    def latents(self) -> np.ndarray:
        """The held-out latents (N, d) as float32."""
        return np.asarray(self.index.latents, dtype=np.float32)

    def edited_latents(self, attribute: str) -> np.ndarray:
        """Encodings of the held-out images after synthetic `attribute`'s edit, once per process."""
        return self._computed.get(("edited", attribute), lambda: attributes.edited_latents(
            attribute, self.index.thumbnails, self.model.encode_images))

    def _augmented(self, attribute: str) -> np.ndarray | None:
        return self.edited_latents(attribute) if attributes.is_synthetic(attribute) else None

    def evaluate_attribute(self, attribute: str, method: str, confounders: tuple[str, ...] = ()) -> dict:
        """`judge_attribute` on the index (built on one half, scored on the other), cached.

        A balanced vector balances over `confounders` (none: the plain vector)."""
        method = attributes.resolve_method(attribute, method)
        balance = tuple(confounders) if method == "balanced" else ()
        return self._computed.get(("evaluation", attribute, method, balance), lambda: self._judge(attribute, method,
                                                                                                 balance))

    def _judge(self, attribute: str, method: str, balance: tuple[str, ...]) -> dict:
        """Built on training and judged on held-out where the training split has the label; else built on
        one held-out half and judged on the other (synthetic vectors, packs without a training split)."""
        if method != "synthetic" and attribute in self.training_masks and attribute in self.masks:
            return attributes.judge_on_held_out(self.training.latents, self.training_masks, self.latents, self.masks,
                                                attribute, method, balance=balance)
        result = attributes.judge_attribute(self.latents, self.masks, attribute, method, balance=balance,
                                            augmented=self._augmented(attribute))
        return {**result, "built_on": f"{len(self.latents) // 2} held-out images (one half)"}

    def attribute_summary(self) -> list[dict]:
        """Every attribute's AtDot AUC and test accuracy, plain and balanced, once per process."""
        return self._computed.get(("summary",), lambda: [self._summary_row(name) for name in self.attribute_names])

    def _summary_row(self, name: str) -> dict:
        row: dict = {"attribute": name}
        if name in self.masks:
            row["positives"] = int(self.masks[name].sum())
        kinds = [("plain", attributes.default_method(name), ())]
        confounders = tuple(self.default_confounders(name))
        if confounders:
            kinds.append(("balanced", "balanced", confounders))
            row["balanced over"] = ", ".join(confounders)
        for column, method, balance in kinds:
            try:
                result = self.evaluate_attribute(name, method, balance)
            except ValueError:
                continue
            row[f"{column} AUC"] = round(result["auc"], 3)
            row[f"{column} accuracy"] = round(result["accuracy"], 3)
        return row

    def predicted_distribution(self, latents: np.ndarray, codes: np.ndarray, classes: int, k: int = 5) -> np.ndarray:
        """The fraction of `latents` given each class by a k-nearest-held-out-neighbours vote."""
        k = min(k, len(self.ids))
        _, ids = self.index.search(np.asarray(latents, dtype=np.float32), k=k)
        votes = codes[self.index.rows_of(ids.reshape(-1))].reshape(ids.shape)
        counts = np.zeros((len(votes), classes))
        np.add.at(counts, (np.repeat(np.arange(len(votes)), k), votes.reshape(-1)), 1.0)
        winners = counts.argmax(axis=1)
        return np.bincount(winners, minlength=classes) / max(1, len(winners))
