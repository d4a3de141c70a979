"""Fill in what a user's model lacks of the adapter contract, so that it imports as it is.

A plain TorchScript VAE often has `encode` and `decode` and nothing else. Of the contract's
attributes, the prior cannot be guessed and comes from `--prior`; the latent size and the image
shape are probed: the latent size is the one size of zeros that `decode` accepts and `encode`
maps back to, the image shape is what `decode` returns. Flags (`--latent-dim`, `--image-shape`)
override a probe or an attribute. What a flag or a probe supplied is recorded in the pack's
card (`model.supplied`), so that the server rebuilds the same model without probing again.
"""

from __future__ import annotations

import warnings
from typing import Any

import torch
from torch import nn

from explorer.models.base import PRIORS, ContractError

# Latent sizes a probe tries, smallest first; above it, --latent-dim.
MAX_PROBED_LATENT_DIM = 1024
CONTRACT_ATTRIBUTES = ("latent_dim", "prior", "image_shape")
FLAGS = {"latent_dim": "--latent-dim N", "prior": "--prior gaussian|uniform", "image_shape": "--image-shape H,W,C"}
WRAPPER_EXAMPLE = (
    "or wrap the model in three lines (mymodel.py), then import it with --model mymodel:load:\n"
    "    import torch\n"
    "    def load():\n"
    "        m = torch.jit.load('vae.pt'); m.latent_dim, m.prior, m.image_shape = 32, 'gaussian', (64, 64, 3); return m"
)


class Adapted(nn.Module):
    """A user's model with the contract attributes it lacks supplied; encode / decode are its own."""

    def __init__(self, model: Any, latent_dim: int, prior: str, image_shape: tuple[int, int, int]):
        super().__init__()
        self.model = model  # a submodule when it is an nn.Module: .to(), .eval() and state_dict reach it
        self.latent_dim = latent_dim
        self.prior = prior
        self.image_shape = image_shape

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """The wrapped model's encode."""
        return self.model.encode(images)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """The wrapped model's decode."""
        return self.model.decode(latents)


def class_name(model: Any) -> str:
    """The user's class name of a model, through TorchScript's RecursiveScriptModule and Adapted."""
    model = model.model if isinstance(model, Adapted) else model
    return getattr(model, "original_name", None) or type(model).__name__


def supply_contract(model: Any, *, latent_dim: int | None = None, prior: str | None = None,
                    image_shape: tuple[int, int, int] | None = None) -> Any:
    """`model` itself when it meets the contract's attributes, else an `Adapted` one with the flags'
    values and probed ones; ContractError names what is missing, the flag and a wrapper."""
    name = class_name(model)
    for method in ("encode", "decode"):
        if not callable(getattr(model, method, None)):
            raise ContractError(f"model {name} has no {method!r} method; no flag can supply one: bring a model "
                                f"with encode(images) and decode(latents), {WRAPPER_EXAMPLE}")
    if prior is not None and prior not in PRIORS:
        raise ContractError(f"--prior must be one of {PRIORS}, got {prior!r}")
    prior = prior or getattr(model, "prior", None)
    if prior is None:
        raise ContractError(f"model {name} has no 'prior' (the distribution its latents are drawn from): pass "
                            f"{FLAGS['prior']}, {WRAPPER_EXAMPLE}")
    shape = _shape(image_shape) if image_shape is not None else _attribute_shape(model)
    dim = latent_dim if latent_dim is not None else getattr(model, "latent_dim", None)
    if dim is None:
        dim = _probe_latent_dim(model, name, shape)
    if shape is None:
        shape = _probe_image_shape(model, name, dim)
    resolved = {"latent_dim": int(dim), "prior": prior, "image_shape": shape}
    if all(_attribute(model, key) == value for key, value in resolved.items()):
        return model
    return Adapted(model, **resolved)


def supplied_attributes(model: Any) -> dict[str, Any]:
    """What `supply_contract` gave a model beyond its own attributes (JSON-ready), for its card."""
    if not isinstance(model, Adapted):
        return {}
    inner = model.model
    return {key: list(value) if isinstance(value, tuple) else value
            for key in CONTRACT_ATTRIBUTES
            if _attribute(inner, key) != (value := getattr(model, key))}


def _attribute(model: Any, key: str) -> Any:
    value = getattr(model, key, None)
    return _shape(value) if key == "image_shape" and value is not None else value


def _attribute_shape(model: Any) -> tuple[int, int, int] | None:
    return _attribute(model, "image_shape")


def _shape(value: Any) -> tuple[int, int, int]:
    try:
        shape = tuple(int(side) for side in value)
    except (TypeError, ValueError) as error:
        raise ContractError(f"image_shape must be three integers H, W, C, got {value!r}") from error
    if len(shape) != 3:
        raise ContractError(f"image_shape must be three integers H, W, C, got {value!r}")
    return shape  # type: ignore[return-value]


def _device(model: Any) -> torch.device:
    if isinstance(model, nn.Module):
        for tensor in model.parameters():
            return tensor.device
    return torch.device("cpu")


def _try(function: Any, tensor: torch.Tensor) -> torch.Tensor | None:
    """function(tensor), or None when the model refuses that input (a probe expects refusals)."""
    try:
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out = function(tensor)
    except Exception:  # a user's model refuses a wrong size with whatever error it raises
        return None
    return out if isinstance(out, torch.Tensor) else None


def _is_images(out: torch.Tensor | None) -> bool:
    return out is not None and out.ndim == 4 and out.shape[0] == 2 and out.shape[1] in (1, 3)


def _round_trips(model: Any, dim: int) -> bool:
    """Whether decode takes (2, dim) zeros to images and encode takes those back to (2, dim)."""
    decoded = _try(model.decode, torch.zeros(2, dim, device=_device(model)))
    if not _is_images(decoded):
        return False
    encoded = _try(model.encode, decoded.clamp(0, 1))
    return encoded is not None and tuple(encoded.shape) == (2, dim)


def _probe_latent_dim(model: Any, name: str, shape: tuple[int, int, int] | None) -> int:
    if shape is not None:  # encode a blank batch of the known shape
        height, width, channels = shape
        encoded = _try(model.encode, torch.zeros(2, channels, height, width, device=_device(model)))
        if encoded is not None and encoded.ndim == 2 and encoded.shape[0] == 2:
            return int(encoded.shape[1])
    for dim in range(1, MAX_PROBED_LATENT_DIM + 1):
        decoded = _try(model.decode, torch.zeros(2, dim, device=_device(model)))
        if not _is_images(decoded):
            continue
        encoded = _try(model.encode, decoded.clamp(0, 1))
        if encoded is None or encoded.ndim != 2:
            continue
        if encoded.shape[1] == dim or _round_trips(model, int(encoded.shape[1])):
            return int(encoded.shape[1])
    raise ContractError(f"model {name} has no 'latent_dim', and no latent size from 1 to {MAX_PROBED_LATENT_DIM} "
                        f"decodes to images that encode back to it: pass {FLAGS['latent_dim']}, {WRAPPER_EXAMPLE}")


def _probe_image_shape(model: Any, name: str, dim: int) -> tuple[int, int, int]:
    decoded = _try(model.decode, torch.zeros(2, dim, device=_device(model)))
    if not _is_images(decoded):
        got = "an error" if decoded is None else f"shape {tuple(decoded.shape)}"
        raise ContractError(f"model {name} has no 'image_shape', and decode(zeros of shape (2, {dim})) gave {got}, "
                            f"not images (2, C, H, W) with C 1 or 3: pass {FLAGS['image_shape']}, {WRAPPER_EXAMPLE}")
    _, channels, height, width = decoded.shape
    return int(height), int(width), int(channels)
