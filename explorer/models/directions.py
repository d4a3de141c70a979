"""The torch side of unsupervised directions (the math is in explorer.latent.directions):

- `round_trip_latents`: latents pushed through decode then encode, so that PCA of prior samples
  finds the directions the model's encoder reads back (GANSpace for a GAN with an encoder);
- `first_linear_layer`: the weight A of the affine map from the latent to the decoder's first
  layer (what SeFa factorises), found by tracing one decode, or None with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from explorer.models.base import ExplorableModel


@dataclass(frozen=True)
class FirstLayer:
    """The decoder's first linear map from the latent, or why there is none to factorise."""

    weight: np.ndarray | None  # (features, latent_dim), float64; None when not found
    reason: str  # which layers make up the map, or why there is none


@torch.no_grad()
def round_trip_latents(model: ExplorableModel, latents: np.ndarray) -> np.ndarray:
    """encode(decode(latents)) as float32 (N, latent_dim), in batches, with no 8-bit rounding between."""
    latents = np.asarray(latents, dtype=np.float32)
    if latents.ndim != 2 or latents.shape[1] != model.latent_dim:
        raise ValueError(f"latents must have shape (N, {model.latent_dim}), got {latents.shape}")
    if not np.isfinite(latents).all():
        raise ValueError("latents contain NaN or inf")
    out = np.empty_like(latents)
    for start in range(0, len(latents), model.batch_size):
        batch = torch.from_numpy(latents[start : start + model.batch_size]).to(model.device)
        images = model.model.decode(batch).float().clamp(0, 1)
        out[start : start + len(batch)] = model.model.encode(images).float().cpu().numpy()
    return out


@torch.no_grad()
def first_linear_layer(model: ExplorableModel | nn.Module) -> FirstLayer:
    """The affine map from latents to the output of the decoder's first linear layer, as a matrix.

    One decode of the zero latent and the d unit latents is traced with forward hooks. The
    first layer it calls must be an nn.Linear fed the latents unchanged; layers right after it
    that act on each sample affinely (Flatten / Unflatten, Identity, Dropout and BatchNorm in
    eval mode) are folded in, since SeFa's factorisation concerns the map before the first
    non-linearity. The matrix is read off the traced outputs: column i is out(e_i) - out(0).
    """
    inner = model.model if isinstance(model, ExplorableModel) else model
    if isinstance(inner, torch.jit.ScriptModule) or any(isinstance(part, torch.jit.ScriptModule)
                                                        for part in getattr(inner, "modules", list)()):
        return FirstLayer(None, "a TorchScript model: its layers cannot be traced")
    if not isinstance(inner, nn.Module):
        return FirstLayer(None, f"a {type(inner).__name__}, not a torch module: its layers cannot be traced")
    dim = int(inner.latent_dim)
    device = next((tensor.device for tensor in inner.parameters()), torch.device("cpu"))
    probe = torch.cat([torch.zeros(1, dim), torch.eye(dim)]).to(device)
    calls = _traced_leaf_calls(inner, probe)
    if not calls:
        return FirstLayer(None, "decode calls no torch layer")
    name, first, inputs, _ = calls[0]
    if not isinstance(first, nn.Linear):
        return FirstLayer(None, f"the first layer decode calls is {name} ({type(first).__name__}), not a linear layer")
    if not inputs or not isinstance(inputs[0], torch.Tensor) or inputs[0].shape != probe.shape \
            or not torch.equal(inputs[0], probe):
        return FirstLayer(None, f"decode changes the latents before its first linear layer {name}")
    end = 0
    while end + 1 < len(calls) and _acts_affinely(calls[end + 1][1]) and calls[end + 1][2] \
            and calls[end + 1][2][0] is calls[end][3]:
        end += 1
    outputs = calls[end][3].reshape(dim + 1, -1).double()
    weight = (outputs[1:] - outputs[:1]).T.cpu().numpy()
    folded = [f"{call[0]} ({type(call[1]).__name__})" for call in calls[1 : end + 1]
              if not isinstance(call[1], (nn.Flatten, nn.Unflatten, nn.Identity))]
    reason = f"{name} (Linear {first.in_features}\u2192{first.out_features})"
    if folded:
        reason += f", with {', '.join(folded)} folded in"
    return FirstLayer(weight, reason)


def _traced_leaf_calls(model: nn.Module, probe: torch.Tensor) -> list[tuple[str, nn.Module, tuple, torch.Tensor]]:
    """(name, module, inputs, output) of each leaf module that one decode(probe) calls, in call order."""
    calls: list[tuple[str, nn.Module, tuple, torch.Tensor]] = []
    hooks = []
    for name, module in model.named_modules():
        if next(module.children(), None) is None:
            hooks.append(module.register_forward_hook(
                lambda module, inputs, output, name=name: calls.append((name, module, inputs, output))))
    try:
        model.decode(probe)
    finally:
        for hook in hooks:
            hook.remove()
    return calls


def _acts_affinely(module: nn.Module) -> bool:
    """Whether `module` maps each sample by a fixed affine map (so it can be folded into a linear layer)."""
    if isinstance(module, (nn.Flatten, nn.Unflatten, nn.Identity)):
        return True
    if isinstance(module, nn.modules.dropout._DropoutNd):
        return not module.training
    if isinstance(module, nn.modules.batchnorm._BatchNorm):
        return not module.training and module.running_mean is not None
    return False
