"""The decoder service: one model per process, batched decoding, a byte-bounded cache and JPEG at display size.

`Renderer` is thread-safe: a lock guards the model, another the cache, so cache hits never
wait behind a decode. `Renderer.latest(channel, fn)` runs only the newest of the requests
pending on a channel (a session's slider, say) and drops the stale ones with `Superseded`.
The cache is bounded in bytes (`cache_mb`): single pictures are kept as their JPEG bytes, grids'
tiles and model-size images as arrays. On GPU out-of-memory the renderer halves its batch size,
then falls back to the CPU.
With `batch_window_ms` set, single-image decodes from concurrent threads (many sessions' sliders)
go through a `MicroBatcher` and share one decoder call.
"""

from __future__ import annotations

import io
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from PIL import Image

from explorer.batching import MicroBatcher
from explorer.devices import resolve_device
from explorer.models.base import ExplorableModel

log = logging.getLogger(__name__)

JPEG_QUALITY = 90
CACHE_MB = 256.0
CUDA_BATCH_WINDOW_MS = 3.0
T = TypeVar("T")


def default_batch_window_ms(device: torch.device) -> float:
    """How long a single decode waits for companions: a few ms on CUDA, none on the CPU."""
    return CUDA_BATCH_WINDOW_MS if device.type == "cuda" else 0.0


class Superseded(Exception):
    """A newer request on the same channel arrived before this one ran, so it was dropped."""


@dataclass
class _Channel:
    lock: threading.Lock = field(default_factory=threading.Lock)
    issued: int = 0
    pending: int = 0


class LatestOnly:
    """Runs, per channel, only the newest of the calls waiting; older waiting calls are dropped.

    One call per channel runs at a time. A call that gets its turn after a newer call on the
    same channel has arrived raises `Superseded` without running.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._channels: dict[Hashable, _Channel] = {}

    def pending(self, channel: Hashable) -> int:
        """How many calls on `channel` are running or waiting (0 when idle)."""
        with self._lock:
            state = self._channels.get(channel)
            return state.pending if state else 0

    def run(self, channel: Hashable, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """fn(*args, **kwargs), unless a newer call on `channel` came first (then Superseded)."""
        with self._lock:
            state = self._channels.setdefault(channel, _Channel())
            state.issued += 1
            state.pending += 1
            ticket = state.issued
        try:
            with state.lock:
                with self._lock:
                    newest = state.issued
                if ticket != newest:
                    raise Superseded(f"request {ticket} on channel {channel!r} superseded by request {newest}")
                return fn(*args, **kwargs)
        finally:
            with self._lock:
                state.pending -= 1
                if state.pending == 0:
                    del self._channels[channel]


class _TileCache:
    """A thread-safe LRU of decoded tiles (arrays) and encoded pictures (bytes), bounded in bytes.

    An entry costs its array's or bytes' size, its key's latent bytes and ENTRY_OVERHEAD_BYTES;
    the least recently used entries go once the total passes `max_bytes` (or the count passes
    `max_entries`, where given). An entry larger than the whole cache is not kept.
    """

    def __init__(self, max_bytes: int, max_entries: int | None = None):
        if max_bytes < 0:
            raise ValueError(f"cache_mb must be >= 0, got {max_bytes / 2**20:g} MB")
        if max_entries is not None and max_entries < 0:
            raise ValueError(f"cache_size must be >= 0 or None, got {max_entries}")
        self.max_bytes = max_bytes
        self.max_entries = max_entries
        self.bytes = 0
        self.hits = 0
        self.misses = 0
        self._entries: OrderedDict[tuple, tuple[np.ndarray | bytes, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple, count: bool = True) -> Any:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            if count:
                self.hits += entry is not None
                self.misses += entry is None
            return None if entry is None else entry[0]

    def put(self, key: tuple, value: np.ndarray | bytes) -> None:
        cost = _cost(key, value)
        if cost > self.max_bytes or self.max_entries == 0:
            return
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.bytes -= old[1]
            self._entries[key] = (value, cost)
            self.bytes += cost
            while self.bytes > self.max_bytes or (
                self.max_entries is not None and len(self._entries) > self.max_entries
            ):
                _, (_, evicted) = self._entries.popitem(last=False)
                self.bytes -= evicted

    def __len__(self) -> int:
        return len(self._entries)


ENTRY_OVERHEAD_BYTES = 200  # the OrderedDict node, the key tuple and the value's object header


def _cost(key: tuple, value: np.ndarray | bytes) -> int:
    """The bytes an entry holds: its picture, its key's latent and the bookkeeping around them."""
    size = value.nbytes if isinstance(value, np.ndarray) else len(value)
    return size + len(key[0]) + ENTRY_OVERHEAD_BYTES


def _is_out_of_memory(error: BaseException) -> bool:
    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error).lower()
    )


def _resize(image: np.ndarray, size: int | None) -> np.ndarray:
    """Scale uint8 (H, W, C) so its longer side is `size` (bicubic up, Lanczos down)."""
    height, width = image.shape[:2]
    if size is None or size == max(height, width):
        return image.copy()  # a view would keep its whole decoded batch alive in the cache
    scale = size / max(height, width)
    target = (max(1, round(width * scale)), max(1, round(height * scale)))
    # Bicubic looks smoothest for 28 px -> 256 px without Lanczos' ringing; Lanczos is best down.
    resample = Image.Resampling.BICUBIC if scale > 1 else Image.Resampling.LANCZOS
    resized = np.asarray(_to_pil(image).resize(target, resample))
    return resized.reshape(target[1], target[0], image.shape[2])


def _check_size(size: int | None) -> None:
    if size is not None and size < 1:
        raise ValueError(f"size must be a positive number of pixels, got {size}")


def _to_pil(image: np.ndarray) -> Image.Image:
    return Image.fromarray(image[:, :, 0] if image.shape[2] == 1 else image)


def encode_image(image: np.ndarray, image_format: str = "JPEG") -> bytes:
    """uint8 (H, W, C) -> JPEG (quality JPEG_QUALITY) or PNG bytes; one channel gives greyscale."""
    buffer = io.BytesIO()
    options = {"quality": JPEG_QUALITY} if image_format == "JPEG" else {}
    _to_pil(image).save(buffer, format=image_format, **options)
    return buffer.getvalue()


class Renderer:
    """Decodes latents to display-size images with one model, a tile cache and batched decoding."""

    def __init__(
        self,
        model: ExplorableModel,
        device: str | torch.device = "auto",
        cache_mb: float = CACHE_MB,
        batch_size: int = 128,
        batch_window_ms: float | None = None,
        cache_size: int | None = None,
    ):
        """`cache_mb` bounds the cache in bytes; `cache_size`, where given, also caps its entries (0: no cache)."""
        self.model = model
        self.device = resolve_device(device)
        self.batch_size = batch_size
        self._model_lock = threading.Lock()
        self._cache = _TileCache(round(cache_mb * 2**20), cache_size)
        self._latest = LatestOnly()
        # None: no micro-batching; 0: batch only what queued while the decoder was busy.
        self._batcher = None if batch_window_ms is None else MicroBatcher(
            self._decode_locked, window_s=batch_window_ms / 1000.0, max_batch=batch_size)
        model.to(self.device)

    def stats(self) -> dict[str, Any]:
        """Cache hits, misses, entries and MB held and allowed, the device and batch size, and micro-batching counts."""
        stats: dict[str, Any] = {
            "hits": self._cache.hits,
            "misses": self._cache.misses,
            "cached": len(self._cache),
            "cached_mb": round(self._cache.bytes / 2**20, 3),
            "capacity_mb": round(self._cache.max_bytes / 2**20, 3),
            "device": str(self.device),
            "batch_size": self.batch_size,
        }
        if self._batcher is not None:
            stats["micro_batching"] = self._batcher.stats()
        return stats

    def latest(self, channel: Hashable, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run fn only if it is still the newest request on `channel`; else raise Superseded."""
        return self._latest.run(channel, fn, *args, **kwargs)

    def decode_images(self, latents: np.ndarray) -> np.ndarray:
        """float (N, latent_dim) -> uint8 (N, H, W, C) at the model's size, cached and batched."""
        return np.stack(self._tiles(self._check(latents, 2), None))

    def decode_jpeg(self, latent: np.ndarray, size: int = 256) -> bytes:
        """One latent (latent_dim,) -> JPEG bytes with the longer side `size` px; the bytes are cached."""
        latent = self._check(latent, 1)
        _check_size(size)
        # The JPEG (~10 KB at 256 px), not the 256-px array (192 KB): a slider step is cached at a twentieth.
        key = (latent.tobytes(), size, "JPEG")
        jpeg = self._cache.get(key)
        if jpeg is None:
            jpeg = encode_image(self._tiles(latent[None], size, cache=False)[0])
            self._cache.put(key, jpeg)
        return jpeg

    def decode_png(self, latent: np.ndarray, size: int | None = None) -> bytes:
        """One latent (latent_dim,) -> lossless PNG bytes (model size unless `size` given), for export."""
        return encode_image(self._tiles(self._check(latent, 1)[None], size)[0], "PNG")

    def grid_jpeg(self, latents: np.ndarray, size: int = 96, gap: int = 2, background: int = 255) -> bytes:
        """(rows, cols, latent_dim) latents -> one JPEG of `size`-px tiles, `gap` px of `background` between."""
        latents = self._check(latents, 3)
        rows, cols = latents.shape[:2]
        if gap < 0:
            raise ValueError(f"gap must be >= 0, got {gap}")
        tiles = self._tiles(latents.reshape(rows * cols, -1), size)
        tile_h, tile_w, channels = tiles[0].shape
        canvas = np.full(
            (rows * tile_h + (rows - 1) * gap, cols * tile_w + (cols - 1) * gap, channels), background, np.uint8
        )
        for position, tile in enumerate(tiles):
            top, left = divmod(position, cols)
            top, left = top * (tile_h + gap), left * (tile_w + gap)
            canvas[top : top + tile_h, left : left + tile_w] = tile
        return encode_image(canvas)

    def _check(self, latents: np.ndarray, ndim: int) -> np.ndarray:
        array = np.asarray(latents, dtype=np.float32)
        dim = self.model.latent_dim
        shapes = {1: f"({dim},)", 2: f"(N, {dim})", 3: f"(rows, cols, {dim})"}
        if array.ndim != ndim or array.shape[-1] != dim or 0 in array.shape:
            raise ValueError(f"latents must have shape {shapes[ndim]}, got {array.shape}")
        if not np.isfinite(array).all():
            raise ValueError("latents contain NaN or inf; check the operation that produced them")
        return array

    def _tiles(self, latents: np.ndarray, size: int | None, cache: bool = True) -> list[np.ndarray]:
        """Read-only uint8 tiles for (N, d) latents, from and into the cache unless `cache` is False."""
        _check_size(size)
        keys = [(np.ascontiguousarray(row).tobytes(), size) for row in latents]
        tiles: list[np.ndarray | None] = [self._cache.get(key) if cache else None for key in keys]
        if all(tile is not None for tile in tiles):
            return tiles  # type: ignore[return-value]
        if self._batcher is not None and len(keys) == 1:
            tile = _resize(self._batcher.submit(latents[0]), size)
            tile.flags.writeable = False
            if cache:
                self._cache.put(keys[0], tile)
            return [tile]
        with self._model_lock:
            # Another thread may have decoded some of these while this one waited.
            missing: dict[tuple[bytes, int | None], list[int]] = {}
            for position, key in enumerate(keys):
                if tiles[position] is None and cache:
                    tiles[position] = self._cache.get(key, count=False)
                if tiles[position] is None:
                    missing.setdefault(key, []).append(position)
            if missing:
                images = self._decode(latents[[positions[0] for positions in missing.values()]])
                for (key, positions), image in zip(missing.items(), images):
                    tile = _resize(image, size)
                    tile.flags.writeable = False
                    if cache:
                        self._cache.put(key, tile)
                    for position in positions:
                        tiles[position] = tile
        return tiles  # type: ignore[return-value]

    def _decode_locked(self, latents: np.ndarray) -> np.ndarray:
        with self._model_lock:
            return self._decode(latents)

    def _decode(self, latents: np.ndarray) -> np.ndarray:
        """uint8 (N, H, W, C) in batches, shrinking the batch and leaving the GPU on out-of-memory."""
        parts = []
        start = 0
        while start < len(latents):
            batch = latents[start : start + self.batch_size]
            try:
                images = self.model.decode_latents(batch)
            except RuntimeError as error:
                if not _is_out_of_memory(error):
                    raise
                self._recover_from_out_of_memory(len(batch), error)
                continue
            parts.append((images * 255.0 + 0.5).astype(np.uint8))
            start += len(batch)
        return np.concatenate(parts)

    def _recover_from_out_of_memory(self, batch: int, error: RuntimeError) -> None:
        if self.device.type == "cuda":
            torch.cuda.empty_cache()
        if batch > 1:
            self.batch_size = batch // 2
            log.warning(
                "out of memory decoding %d latents on %s; retrying in batches of %d",
                batch, self.device, self.batch_size,
            )
        elif self.device.type != "cpu":
            log.warning("out of memory decoding one latent on %s; falling back to the CPU", self.device)
            self.device = torch.device("cpu")
            self.model.to(self.device)
        else:
            raise error
