"""Per-process, per-pack figures of how the encoded data sit in the prior: the diagnostics report,
the data's own nearest-neighbour distances (for the Explore view's on-manifold meter), and the
encodings a training snapshot gives the held-out images. Each is computed once per pack and kept
for the process's life, like the pack itself (nothing per session)."""

from __future__ import annotations

import threading
import weakref
from typing import Any, Callable

import numpy as np

from explorer.resources import PackResources

_cache: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def _once(resources: PackResources, key: tuple, compute: Callable[[], Any]) -> Any:
    """compute() once per process for (pack, key); a second caller waits for the first one's result."""
    with _lock:
        entries = _cache.setdefault(resources, {})
        slot = entries.setdefault(key, [threading.Lock(), None, False])
    with slot[0]:
        if not slot[2]:
            slot[1], slot[2] = compute(), True
        return slot[1]


def data_nn_distances(resources: PackResources) -> np.ndarray:
    """Each held-out latent's distance to its nearest other held-out latent, by the pack's index (sorted)."""
    def compute() -> np.ndarray:
        distances, _ = resources.index.search(np.asarray(resources.index.latents, np.float32), k=1, exclude_self=True)
        return np.sort(distances[:, 0])

    return _once(resources, ("data-nn",), compute)


def on_manifold(resources: PackResources, latent: np.ndarray) -> tuple[float, float]:
    """(distance to the nearest held-out latent, its percentile among the data's own such distances).

    A percentile near 100 or above means the latent lies farther from any encoded image than
    almost every image lies from its nearest neighbour: off the data's manifold.
    """
    from explorer.latent.diagnostics import percentile_of

    distances, _ = resources.index.search(np.asarray(latent, np.float32), k=1)
    distance = float(np.ravel(distances)[0])
    return distance, percentile_of(distance, data_nn_distances(resources))


def report(resources: PackResources) -> dict:
    """The diagnostics of the pack's encoded held-out images against its prior, as plain numbers."""
    from explorer.latent import diagnostics

    def compute() -> dict:
        latents = np.asarray(resources.index.latents, dtype=np.float64)
        prior = resources.prior
        moments = diagnostics.prior_report(latents, prior)
        manifold = diagnostics.manifold_report(latents, prior)
        histogram = diagnostics.norm_histogram(latents, prior=prior)
        return {
            "prior": prior, "count": len(latents), "latent_dim": latents.shape[1],
            "mean": moments.mean, "variance": moments.variance, "expected_variance": moments.expected_variance,
            "kl": diagnostics.kl_per_dimension(moments.mean, np.maximum(moments.variance, 1e-12), prior),
            "dead": moments.dead_dimensions, "rms_norm": moments.rms_norm,
            "expected_rms_norm": moments.expected_rms_norm, "norm_ks": moments.norm_ks,
            "histogram": histogram, "share_outside": manifold.share_outside, "threshold": manifold.threshold,
            "quantile": manifold.quantile, "prior_samples": len(manifold.prior_distances),
        }

    return _once(resources, ("report",), compute)


def snapshot_latents(resources: PackResources, epoch: int) -> np.ndarray:
    """The held-out images encoded by the pack's snapshot after `epoch` epochs (N, d), index order."""
    return _once(resources, ("snapshot-latents", epoch),
                 lambda: resources.pack.snapshot_model(epoch).encode_images(np.asarray(resources.index.thumbnails)))


def on_manifold_text(resources: PackResources, latent: np.ndarray) -> str:
    """The on-manifold meter's reading, e.g. "percentile 83 (on the data; nearest image at 1.23)"."""
    distance, percentile = on_manifold(resources, latent)
    verdict = "off the data" if percentile > 95 else "on the data"
    return f"percentile {percentile:.0f} ({verdict}; nearest image at {distance:.2f})"
