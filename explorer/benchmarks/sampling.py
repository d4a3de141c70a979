"""Benchmark: exact forward-mode log-volume vs the authors'-style projected reverse-mode estimate.

Times both on the same latents in the same run, per latent, on CPU and on CUDA when present,
and reports how far the projected estimate (128 output projections) is from the exact value.
The decoder is the "fashion" pack's when `open_pack("fashion")` works; otherwise the built-in
ConvVAE at the Fashion-MNIST size (latent 32 -> 28×28×1), untrained: cost does not depend on
the weights' values. Without `quick`, an emoji-sized ConvVAE (latent 32 -> 64×64×3) is timed
too. Each entry's "decoder" says which model was used.
"""

from __future__ import annotations

import sys
import time
from typing import Callable

import numpy as np
import torch
from torch import nn

from explorer.latent.sampling import sample_prior
from explorer.models.jacobian import log_volume, log_volume_projected
from explorer.models.vae import ConvVAE

N_PROJECTIONS = 128


def _decoders(quick: bool) -> dict[str, tuple[nn.Module, str]]:
    """Name -> (model, description): the fashion pack's (or its stand-in), plus a 64×64×3 one when not quick."""
    try:
        from explorer.packs import open_pack

        model = open_pack("fashion").model.model
        decoders = {"fashion": (model, f"fashion pack ({type(model).__name__}, latent {model.latent_dim})")}
    except (ImportError, OSError, LookupError, ValueError) as error:
        decoders = {"fashion": _untrained_vae(28, 1, f"no fashion pack: {type(error).__name__}: {error}")}
    if not quick:
        decoders["emoji_sized"] = _untrained_vae(64, 3, "emoji-pack size")
    return decoders


def _untrained_vae(image_size: int, channels: int, why: str) -> tuple[nn.Module, str]:
    torch.manual_seed(0)
    model = ConvVAE(image_size=image_size, channels=channels, latent_dim=32).eval()
    params = sum(p.numel() for p in model.decoder.parameters())
    name = f"ConvVAE(image_size={image_size}, channels={channels}, latent_dim=32)"
    return model, f"untrained {name}, decoder {params} params ({why})"


def _best_ms_per_latent(
    computes: dict[str, Callable[[torch.Tensor], torch.Tensor]], batch: torch.Tensor, repeats: int
) -> dict[str, float]:
    """Fastest of `repeats` timed calls of each method on one batch, in ms per latent.

    Calls alternate between the methods after one warm-up each, so both see the same load;
    the minimum of many short calls resists the noise of a shared machine better than a mean.
    """
    best = dict.fromkeys(computes, float("inf"))
    for compute in computes.values():
        compute(batch)
    for _ in range(repeats):
        for name, compute in computes.items():
            _synchronize(batch.device)
            started = time.perf_counter()
            compute(batch)
            _synchronize(batch.device)
            best[name] = min(best[name], time.perf_counter() - started)
    return {name: 1000 * seconds / len(batch) for name, seconds in best.items()}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _measure(model: nn.Module, device: torch.device, n: int, batch_size: int, repeats: int) -> dict:
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # both methods in full float32, as the pool command runs
    try:
        return _measure_full_float32(model, device, n, batch_size, repeats)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32


def _measure_full_float32(model: nn.Module, device: torch.device, n: int, batch_size: int, repeats: int) -> dict:
    model.to(device).eval()
    latents = torch.from_numpy(sample_prior(model.prior, n, model.latent_dim, seed=0)).to(device)

    def exact(batch: torch.Tensor) -> torch.Tensor:
        return log_volume(model.decode, batch, batch_size=batch_size)

    def projected(batch: torch.Tensor) -> torch.Tensor:
        return log_volume_projected(model.decode, batch, N_PROJECTIONS, seed=0, batch_size=batch_size)

    ms = _best_ms_per_latent({"exact": exact, "projected": projected}, latents[:batch_size], repeats)
    exact_values = exact(latents)
    error = (projected(latents) - exact_values).cpu().numpy()
    return {
        "batch_size": batch_size,
        "timed_calls": repeats,
        "exact_ms_per_latent": round(ms["exact"], 3),
        "projected_ms_per_latent": round(ms["projected"], 3),
        "speedup_exact_vs_projected": round(ms["projected"] / ms["exact"], 2),
        "error_latents": n,
        "projected_log_volume_error_median_nats": round(float(np.median(np.abs(error))), 3),
        "projected_volume_relative_error_median": float(f"{np.median(np.abs(np.expm1(error))):.3g}"),
        "exact_log_volume_median": round(float(exact_values.median()), 3),
    }


def run(quick: bool) -> dict:
    """Time exact vs projected log-volume per latent (CPU, and CUDA when present); print the ratio."""
    devices = [torch.device("cpu")] + ([torch.device("cuda")] if torch.cuda.is_available() else [])
    report: dict = {"n_projections": N_PROJECTIONS}
    for name, (model, description) in _decoders(quick).items():
        report[name] = {"decoder": description}
        for device in devices:
            on_gpu = device.type == "cuda"
            batch_size = 128 if on_gpu else 8
            figures = _measure(model, device, 8 * batch_size, batch_size, repeats=3 if quick else 10)
            report[name][device.type] = figures
            print(
                f"log-volume, {name} decoder on {device.type}: exact {figures['exact_ms_per_latent']} ms/latent, "
                f"projected ({N_PROJECTIONS}) {figures['projected_ms_per_latent']} ms/latent: exact is "
                f"{figures['speedup_exact_vs_projected']}x faster; projected error median "
                f"{figures['projected_log_volume_error_median_nats']} nats",
                file=sys.stderr,
            )
        model.to("cpu")
    return report
