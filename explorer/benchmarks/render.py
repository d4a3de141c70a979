"""Render benchmark: single decode + JPEG, cache hits, a 9×9 grid and batched against one-by-one.

Uses the default pack's model ("emoji") when it opens, else a stand-in conv decoder of about
2M parameters with 64×64×3 output and random weights; the report says which.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import torch

from explorer.bench import target, time_ms
from explorer.models.base import ExplorableModel
from explorer.render import Renderer

QUICK = {"pack": "emoji", "singles": 60, "hits": 300, "grids": 5, "batch_repeats": 3}
FULL = {"pack": "emoji", "singles": 300, "hits": 2000, "grids": 20, "batch_repeats": 10}
DISPLAY_SIZE = 256
GRID = (9, 9)
GRID_TILE = 96
TARGET_SINGLE_P95_MS = 10.0
TARGET_HIT_MS = 1.0
TARGET_GRID_MS = 100.0


class StandInModel(torch.nn.Module):
    """A VAE-sized conv decoder (about 1.8M parameters, 64×64×3 output) with random weights."""

    latent_dim = 32
    prior = "gaussian"
    image_shape = (64, 64, 3)

    def __init__(self) -> None:
        super().__init__()
        self.project = torch.nn.Linear(self.latent_dim, 256 * 4 * 4)
        layers: list[torch.nn.Module] = []
        for inputs, outputs in ((256, 256), (256, 128), (128, 64)):
            layers += [torch.nn.ConvTranspose2d(inputs, outputs, 4, 2, 1), torch.nn.ReLU()]
        self.decoder = torch.nn.Sequential(*layers, torch.nn.ConvTranspose2d(64, 3, 4, 2, 1), torch.nn.Sigmoid())
        self.encoder = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64 * 64 * 3, self.latent_dim))

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, 32) -> (N, 3, 64, 64) in [0, 1]."""
        return self.decoder(self.project(latents).view(-1, 256, 4, 4))

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """(N, 3, 64, 64) -> (N, 32), only to meet the adapter contract."""
        return self.encoder(images)


def load_model(pack_name: str) -> tuple[ExplorableModel, str]:
    """The pack's model and its name, or the stand-in and why the pack was not used."""
    try:
        from explorer.packs import open_pack

        return open_pack(pack_name).model, f"pack {pack_name!r}"
    except (ImportError, OSError, ValueError, LookupError) as error:
        stand_in = StandInModel()
        parameters = sum(p.numel() for p in stand_in.project.parameters()) + sum(
            p.numel() for p in stand_in.decoder.parameters()
        )
        why = f"{type(error).__name__}: {error}"
        return ExplorableModel(stand_in), f"stand-in conv decoder, {parameters} decoder parameters, 64x64x3 ({why})"


def prior_samples(model: ExplorableModel, count: int, rng: np.random.Generator) -> np.ndarray:
    """float32 (count, latent_dim) draws from the model's prior."""
    shape = (count, model.latent_dim)
    if model.prior == "uniform":
        return rng.uniform(-1.0, 1.0, size=shape).astype(np.float32)
    return rng.standard_normal(size=shape, dtype=np.float32)


def run(quick: bool) -> dict[str, Any]:
    """The render figures at the quick or full configuration."""
    config = dict(QUICK if quick else FULL)
    model, source = load_model(config.pop("pack"))
    return render_figures(model, source, **config)


def render_figures(
    model: ExplorableModel, source: str, singles: int, hits: int, grids: int, batch_repeats: int
) -> dict[str, Any]:
    """Decode and JPEG timings of `model` through a fresh Renderer on the default device."""
    renderer = Renderer(model)
    rng = np.random.default_rng(0)
    single = time_ms(lambda z: renderer.decode_jpeg(z, DISPLAY_SIZE), list(prior_samples(model, singles, rng)))
    cached = prior_samples(model, 1, rng)[0]
    hit = time_ms(lambda z: renderer.decode_jpeg(z, DISPLAY_SIZE), [cached] * hits)
    grid_latents = [prior_samples(model, GRID[0] * GRID[1], rng).reshape(*GRID, -1) for _ in range(grids)]
    grid = time_ms(lambda g: renderer.grid_jpeg(g, GRID_TILE), grid_latents, warmup=1)

    batch = prior_samples(model, GRID[0] * GRID[1], rng)
    batched, one_by_one = [], []
    for _ in range(batch_repeats):
        start = time.perf_counter()
        model.decode_latents(batch)
        batched.append(time.perf_counter() - start)
        start = time.perf_counter()
        for latent in batch:
            model.decode_latents(latent[None])
        one_by_one.append(time.perf_counter() - start)
    batched_ms, one_by_one_ms = float(np.median(batched)) * 1e3, float(np.median(one_by_one)) * 1e3
    return {
        "model": source,
        "device": str(renderer.device),
        "torch_threads": torch.get_num_threads(),
        "image_shape": list(model.image_shape),
        "display_px": DISPLAY_SIZE,
        "single_decode_jpeg": single,
        "cache_hit_jpeg": hit,
        "grid_9x9_jpeg": {"tile_px": GRID_TILE, **grid},
        "decode_81": {
            "batched_ms": round(batched_ms, 3),
            "one_by_one_ms": round(one_by_one_ms, 3),
            "speedup": round(one_by_one_ms / batched_ms, 2),
        },
        "cache": renderer.stats(),
        "targets": {
            "single_p95_ms": target(single["p95_ms"], TARGET_SINGLE_P95_MS),
            "cache_hit_median_ms": target(hit["median_ms"], TARGET_HIT_MS),
            "grid_9x9_median_ms": target(grid["median_ms"], TARGET_GRID_MS),
        },
    }
