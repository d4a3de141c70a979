"""Specifications of explorer.render: decoding, cache, JPEG grids, device choice, OOM fallback, newest wins."""

from __future__ import annotations

import io
import logging
import threading
import time

import numpy as np
import pytest
import torch
from PIL import Image

from explorer import render
from explorer.models.base import ExplorableModel
from explorer.render import ENTRY_OVERHEAD_BYTES, LatestOnly, Renderer, Superseded


class TinyDecoder(torch.nn.Module):
    latent_dim = 4
    prior = "gaussian"
    image_shape = (8, 8, 3)

    def __init__(self, channels: int = 3) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.image_shape = (8, 8, channels)
        self.decoder = torch.nn.Linear(4, 64 * channels)
        self.encoder = torch.nn.Linear(64 * channels, 4)
        self.decoded_batches: list[int] = []

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        self.decoded_batches.append(len(latents))
        return torch.sigmoid(self.decoder(latents)).view(-1, self.image_shape[2], 8, 8)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images.flatten(1))


def make_renderer(channels: int = 3, **kwargs) -> tuple[Renderer, TinyDecoder]:
    decoder = TinyDecoder(channels)
    renderer = Renderer(ExplorableModel(decoder), device="cpu", **kwargs)
    decoder.decoded_batches.clear()
    return renderer, decoder


def latents(count: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(count, 4)).astype(np.float32)


def test_decode_images_are_the_model_output_as_uint8():
    renderer, _ = make_renderer()
    z = latents(5)
    want = np.round(renderer.model.decode_latents(z) * 255).astype(np.uint8)
    images = renderer.decode_images(z)
    assert images.dtype == np.uint8 and images.shape == (5, 8, 8, 3)
    assert np.abs(images.astype(int) - want).max() <= 1


def test_cache_counts_hits_and_misses_per_latent_and_size():
    renderer, decoder = make_renderer()
    z = latents(1)[0]
    first = renderer.decode_jpeg(z, 32)
    assert renderer.decode_jpeg(z, 32) == first
    renderer.decode_jpeg(z, 64)
    stats = renderer.stats()
    assert (stats["hits"], stats["misses"], stats["cached"]) == (1, 2, 2)
    assert decoder.decoded_batches == [1, 1]


def test_cache_evicts_the_least_recently_used_tile():
    renderer, decoder = make_renderer(cache_size=2)
    a, b, c = latents(3)
    for z in (a, b, a, c):  # a was used after b, so c evicts b
        renderer.decode_jpeg(z, 16)
    decoder.decoded_batches.clear()
    renderer.decode_jpeg(a, 16)
    assert decoder.decoded_batches == []
    renderer.decode_jpeg(b, 16)
    assert decoder.decoded_batches == [1]


TILE_BYTES = 8 * 8 * 3 + 4 * 4 + ENTRY_OVERHEAD_BYTES  # an 8x8 RGB tile, its 4-float key, bookkeeping


def test_cache_is_bounded_in_bytes_and_evicts_the_least_recently_used():
    renderer, decoder = make_renderer(cache_mb=2.5 * TILE_BYTES / 2**20)
    a, b, c = latents(3)
    for z in (a, b, a, c):  # two tiles fit; a was used after b, so c evicts b
        renderer.decode_images(z[None])
    assert renderer.stats()["cached"] == 2
    decoder.decoded_batches.clear()
    renderer.decode_images(np.stack([a, c]))
    assert decoder.decoded_batches == []
    renderer.decode_images(b[None])
    assert decoder.decoded_batches == [1]


def test_stats_report_the_bytes_the_cache_holds():
    renderer, _ = make_renderer(cache_mb=1)
    renderer.decode_images(latents(3))
    stats = renderer.stats()
    assert stats["cached_mb"] == round(3 * TILE_BYTES / 2**20, 3) and stats["capacity_mb"] == 1


def test_a_picture_larger_than_the_whole_cache_is_not_kept():
    renderer, decoder = make_renderer(cache_mb=TILE_BYTES / 2**20)
    z = latents(1)
    renderer.grid_jpeg(z[None], size=64)  # a 64x64 tile: far more than the cache holds
    renderer.decode_images(z)  # the 8x8 tile fits
    assert renderer.stats()["cached"] == 1
    renderer.grid_jpeg(z[None], size=64)
    assert decoder.decoded_batches == [1, 1, 1]


def test_decode_jpeg_caches_the_jpeg_not_the_display_size_pixels():
    renderer, _ = make_renderer()
    jpeg = renderer.decode_jpeg(latents(1)[0], 256)
    stats = renderer.stats()
    assert stats["cached"] == 1
    assert stats["cached_mb"] == round((len(jpeg) + 4 * 4 + ENTRY_OVERHEAD_BYTES) / 2**20, 3) < 0.1 * 256 * 256 * 3 / 2**20


def test_a_cached_jpeg_is_neither_decoded_nor_encoded_again(monkeypatch):
    renderer, decoder = make_renderer()
    z = latents(1)[0]
    first = renderer.decode_jpeg(z, 256)

    def encode_again(*args, **kwargs):
        raise AssertionError("a cache hit encoded the picture again")

    monkeypatch.setattr(render, "encode_image", encode_again)
    assert renderer.decode_jpeg(z, 256) is first
    assert decoder.decoded_batches == [1]


def test_a_jpeg_miss_goes_through_the_micro_batcher_and_the_hit_does_not():
    renderer, decoder = make_renderer(batch_window_ms=0)
    z = latents(1)[0]
    first = renderer.decode_jpeg(z, 64)
    assert renderer.decode_jpeg(z, 64) == first
    assert renderer.stats()["micro_batching"]["requests"] == 1 and decoder.decoded_batches == [1]


def test_jpegs_and_tiles_of_one_latent_are_cached_apart():
    renderer, decoder = make_renderer()
    z = latents(1)[0]
    renderer.decode_jpeg(z, 8)
    image = renderer.decode_images(z[None])[0]  # the JPEG cannot stand in for the exact pixels
    assert decoder.decoded_batches == [1, 1] and image.shape == (8, 8, 3)


def test_grid_jpeg_has_the_pixel_size_of_its_tiles_and_gaps():
    renderer, _ = make_renderer()
    image = Image.open(io.BytesIO(renderer.grid_jpeg(latents(12).reshape(3, 4, 4), size=20, gap=3)))
    assert image.format == "JPEG" and image.mode == "RGB"
    assert image.size == (4 * 20 + 3 * 3, 3 * 20 + 2 * 3)


def test_grid_decodes_each_distinct_latent_once_in_one_batch():
    renderer, decoder = make_renderer()
    z = latents(3)
    grid = np.stack([z, z[::-1]])  # 2 x 3, each latent twice
    renderer.grid_jpeg(grid, size=8)
    assert decoder.decoded_batches == [3]


def test_decode_jpeg_scales_to_display_size_and_greyscale_stays_grey():
    renderer, _ = make_renderer(channels=1)
    image = Image.open(io.BytesIO(renderer.decode_jpeg(latents(1)[0], 256)))
    assert image.format == "JPEG" and image.mode == "L" and image.size == (256, 256)


def test_decode_png_is_lossless_at_model_size():
    renderer, _ = make_renderer()
    z = latents(1)[0]
    image = Image.open(io.BytesIO(renderer.decode_png(z)))
    assert image.format == "PNG"
    np.testing.assert_array_equal(np.asarray(image), renderer.decode_images(z[None])[0])


def test_cached_tiles_cannot_be_changed_by_callers():
    renderer, _ = make_renderer()
    z = latents(2)
    images = renderer.decode_images(z)
    images[:] = 0
    assert renderer.decode_images(z).any()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda r: r.decode_jpeg(np.zeros(5), 32), r"shape \(4,\)"),
        (lambda r: r.decode_jpeg(np.array([0, np.nan, 0, 0]), 32), "NaN"),
        (lambda r: r.decode_images(np.zeros(4)), r"shape \(N, 4\)"),
        (lambda r: r.grid_jpeg(np.zeros((3, 4)), 32), r"shape \(rows, cols, 4\)"),
        (lambda r: r.decode_jpeg(np.zeros(4), 0), "positive number of pixels"),
    ],
)
def test_bad_latents_raise_value_error(call, message):
    renderer, _ = make_renderer()
    with pytest.raises(ValueError, match=message):
        call(renderer)


class FlakyModel:
    """An ExplorableModel stand-in that runs out of memory above `max_batch` or, if set, on CUDA."""

    latent_dim = 4
    image_shape = (2, 2, 1)

    def __init__(self, max_batch: int, fails_on_cuda: bool = False):
        self.max_batch = max_batch
        self.fails_on_cuda = fails_on_cuda
        self.device = torch.device("cpu")
        self.moves: list[str] = []
        self.batches: list[int] = []

    def to(self, device: torch.device) -> FlakyModel:
        self.device = torch.device(device)
        self.moves.append(str(self.device))
        return self

    def decode_latents(self, latents: np.ndarray) -> np.ndarray:
        self.batches.append(len(latents))
        if len(latents) > self.max_batch or (self.fails_on_cuda and self.device.type == "cuda"):
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return np.repeat(latents[:, :1, None, None], 4, axis=1).reshape(-1, 2, 2, 1).clip(0, 1)


def test_out_of_memory_halves_the_batch_until_it_fits(caplog):
    model = FlakyModel(max_batch=5)
    renderer = Renderer(model, device="cpu", batch_size=64)  # type: ignore[arg-type]
    z = np.linspace(0, 1, 80, dtype=np.float32)[:, None].repeat(4, axis=1)
    with caplog.at_level(logging.WARNING, logger="explorer.render"):
        images = renderer.decode_images(z)
    assert renderer.batch_size == 4 and model.batches[:5] == [64, 32, 16, 8, 4]
    np.testing.assert_array_equal(images[:, 0, 0, 0], np.round(z[:, 0] * 255).astype(np.uint8))
    assert len([r for r in caplog.records if "out of memory" in r.getMessage()]) == 4


def test_out_of_memory_on_one_latent_falls_back_to_the_cpu(monkeypatch, caplog):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "empty_cache", lambda: None)
    model = FlakyModel(max_batch=100, fails_on_cuda=True)
    renderer = Renderer(model, device="auto", batch_size=4)  # type: ignore[arg-type]
    assert renderer.device == torch.device("cuda") and model.moves == ["cuda"]
    with caplog.at_level(logging.WARNING, logger="explorer.render"):
        images = renderer.decode_images(np.full((3, 4), 0.5, np.float32))
    assert renderer.device == torch.device("cpu") and model.moves == ["cuda", "cpu"]
    assert renderer.stats()["device"] == "cpu" and images.shape == (3, 2, 2, 1)
    assert "falling back to the CPU" in caplog.text


def test_out_of_memory_on_the_cpu_with_one_latent_is_raised():
    renderer = Renderer(FlakyModel(max_batch=0), device="cpu")  # type: ignore[arg-type]
    with pytest.raises(torch.cuda.OutOfMemoryError):
        renderer.decode_images(np.zeros((2, 4), np.float32))


def test_other_runtime_errors_are_not_retried():
    model = FlakyModel(max_batch=100)
    def broken(latents: np.ndarray) -> np.ndarray:
        raise RuntimeError("shape mismatch")

    model.decode_latents = broken  # type: ignore[method-assign]
    renderer = Renderer(model, device="cpu")  # type: ignore[arg-type]
    with pytest.raises(RuntimeError, match="shape mismatch"):
        renderer.decode_images(np.zeros((2, 4), np.float32))
    assert renderer.batch_size == 128


def wait_until(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out waiting for the threads"
        time.sleep(0.001)


def test_only_the_newest_waiting_request_runs_and_stale_ones_are_dropped():
    latest = LatestOnly()
    release = threading.Event()
    ran: list[int] = []
    outcomes: dict[int, object] = {}

    def work(value: int) -> int:
        if value == 0:
            release.wait(5)
        ran.append(value)
        return value

    def request(value: int) -> None:
        try:
            outcomes[value] = latest.run("slider", work, value)
        except Superseded:
            outcomes[value] = "superseded"

    threads = []
    for value in range(5):
        thread = threading.Thread(target=request, args=(value,))
        thread.start()
        threads.append(thread)
        wait_until(lambda waiting=value + 1: latest.pending("slider") == waiting)
    release.set()
    for thread in threads:
        thread.join(5)
    assert ran == [0, 4]
    assert outcomes == {0: 0, 1: "superseded", 2: "superseded", 3: "superseded", 4: 4}
    assert latest.pending("slider") == 0


def test_channels_do_not_block_each_other():
    latest = LatestOnly()
    release = threading.Event()
    blocked = threading.Thread(target=latest.run, args=("session-a", release.wait, 5))
    blocked.start()
    wait_until(lambda: latest.pending("session-a") == 1)
    assert latest.run("session-b", lambda: "done") == "done"
    release.set()
    blocked.join(5)


def test_renderer_latest_returns_the_result_of_an_uncontested_request():
    renderer, _ = make_renderer()
    jpeg = renderer.latest(("session", "slider"), renderer.decode_jpeg, latents(1)[0], 32)
    assert Image.open(io.BytesIO(jpeg)).size == (32, 32)


def test_concurrent_decodes_from_many_threads_are_correct():
    renderer, _ = make_renderer(cache_size=16)
    z = latents(40)
    want = renderer.decode_images(z)
    renderer_results: dict[int, np.ndarray] = {}

    def decode(worker: int) -> None:
        renderer_results[worker] = renderer.decode_images(z[worker::4])

    threads = [threading.Thread(target=decode, args=(worker,)) for worker in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    for worker in range(4):
        np.testing.assert_array_equal(renderer_results[worker], want[worker::4])
