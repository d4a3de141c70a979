"""explorer.batching.MicroBatcher and its use in the Renderer: concurrent single requests from many
threads are decoded together, each gets its own result, and failures reach every waiter."""

from __future__ import annotations

import threading
import time

import numpy as np
import pytest

from explorer.batching import MicroBatcher


class SlowDouble:
    """A batch function that takes `delay` seconds per call and records its batch sizes."""

    def __init__(self, delay: float = 0.02):
        self.delay = delay
        self.sizes: list[int] = []

    def __call__(self, items: np.ndarray) -> np.ndarray:
        self.sizes.append(len(items))
        time.sleep(self.delay)
        return items * 2.0


def submit_from_threads(batcher: MicroBatcher, items: np.ndarray) -> list[np.ndarray]:
    """Submit each item from its own thread, all released at once; results in item order."""
    results: list[np.ndarray | None] = [None] * len(items)
    start = threading.Barrier(len(items))

    def worker(position: int) -> None:
        start.wait()
        results[position] = batcher.submit(items[position])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(items))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results  # type: ignore[return-value]


def test_a_lone_request_is_computed_at_once_with_no_window():
    fn = SlowDouble(delay=0.0)
    batcher = MicroBatcher(fn)
    np.testing.assert_array_equal(batcher.submit(np.arange(3.0)), [0.0, 2.0, 4.0])
    assert fn.sizes == [1]


def test_concurrent_requests_coalesce_and_each_gets_its_own_result():
    fn = SlowDouble()
    batcher = MicroBatcher(fn, window_s=0.05)
    items = np.arange(24, dtype=np.float64).reshape(12, 2)
    results = submit_from_threads(batcher, items)
    np.testing.assert_array_equal(np.stack(results), items * 2.0)
    assert sum(fn.sizes) == 12 and len(fn.sizes) < 12 and max(fn.sizes) > 1
    assert batcher.stats()["requests"] == 12 and batcher.stats()["largest"] == max(fn.sizes)


def test_with_no_window_requests_that_queue_behind_a_busy_decoder_share_the_next_batch():
    fn = SlowDouble(delay=0.05)
    batcher = MicroBatcher(fn, window_s=0.0)
    results = submit_from_threads(batcher, np.arange(10.0)[:, None])
    np.testing.assert_array_equal(np.concatenate(results), np.arange(10.0) * 2.0)
    assert len(fn.sizes) < 10


def test_batches_never_exceed_max_batch():
    fn = SlowDouble()
    batcher = MicroBatcher(fn, window_s=0.05, max_batch=3)
    results = submit_from_threads(batcher, np.arange(10.0)[:, None])
    np.testing.assert_array_equal(np.concatenate(results), np.arange(10.0) * 2.0)
    assert max(fn.sizes) <= 3 and sum(fn.sizes) == 10


def test_a_failing_batch_raises_in_every_waiting_thread_and_the_batcher_recovers():
    calls = []

    def fails_once(items: np.ndarray) -> np.ndarray:
        calls.append(len(items))
        time.sleep(0.02)
        if len(calls) == 1:
            raise RuntimeError("decoder broke")
        return items

    batcher = MicroBatcher(fails_once, window_s=0.05)
    errors: list[str] = []
    start = threading.Barrier(4)

    def worker() -> None:
        start.wait()
        try:
            batcher.submit(np.zeros(2))
        except RuntimeError as error:
            errors.append(str(error))

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors and set(errors) == {"decoder broke"} and len(errors) == calls[0]
    np.testing.assert_array_equal(batcher.submit(np.ones(2)), np.ones(2))


def test_a_batch_function_returning_the_wrong_count_is_an_error_not_a_hang():
    batcher = MicroBatcher(lambda items: items[:0])
    with pytest.raises(RuntimeError, match="returned 0 results for 1 items"):
        batcher.submit(np.zeros(2))


@pytest.mark.parametrize("window, size, message", [(-1.0, 4, "window_s"), (float("nan"), 4, "window_s"),
                                                   (0.0, 0, "max_batch")])
def test_bad_settings_are_refused(window, size, message):
    with pytest.raises(ValueError, match=message):
        MicroBatcher(lambda items: items, window_s=window, max_batch=size)


# ---------------------------------------------------------------------- in the renderer
def test_batched_renderer_gives_the_same_pictures_as_the_unbatched_one_under_concurrency():
    import torch

    from explorer.models.base import ExplorableModel
    from explorer.models.vae import ConvVAE
    from explorer.render import Renderer

    torch.manual_seed(0)
    model = ExplorableModel(ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8).eval())
    latents = np.random.default_rng(1).normal(size=(16, 4)).astype(np.float32)
    plain = Renderer(model, device="cpu", cache_size=0)
    expected = [plain.decode_images(z[None])[0] for z in latents]
    batched = Renderer(model, device="cpu", cache_size=0, batch_window_ms=20)
    results = [None] * len(latents)
    start = threading.Barrier(len(latents))

    def worker(position: int) -> None:
        start.wait()
        results[position] = batched.decode_images(latents[position][None])[0]

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(latents))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    for got, want in zip(results, expected):
        # one batch or sixteen: the same pixels, give or take float rounding at a uint8 boundary
        assert np.abs(got.astype(int) - want.astype(int)).max() <= 1
    stats = batched.stats()["micro_batching"]
    assert stats["requests"] == 16 and stats["batches"] < 16


def test_a_renderer_without_a_window_has_no_batching_stats():
    import torch

    from explorer.models.base import ExplorableModel
    from explorer.models.vae import ConvVAE
    from explorer.render import Renderer, default_batch_window_ms

    model = ExplorableModel(ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8).eval())
    assert "micro_batching" not in Renderer(model, device="cpu").stats()
    assert default_batch_window_ms(torch.device("cpu")) == 0.0
    assert default_batch_window_ms(torch.device("cuda")) == 3.0
