"""Load models: a user's model from a spec, or a built-in architecture from a pack's card and weights.

A user's model comes as either

- `"package.module:factory"`: the module is imported and `factory()` is called with no
  arguments; it must return an object that meets the adapter contract (explorer.models.base);
- a TorchScript file (`.pt`, `.ts` or `.torchscript`), loaded with `torch.jit.load`. The scripted
  module must export `encode` and `decode` (`@torch.jit.export`) and keep the contract's
  attributes as TorchScript attributes, set in `__init__`: `self.latent_dim: int`,
  `self.prior: str` and `self.image_shape: tuple[int, int, int]` (H, W, C). Scripting keeps
  such attributes, so one file carries the model and its metadata and nothing can drift apart.
  A file with only `encode` / `decode` loads too when the caller supplies the prior (and, if
  probing cannot find them, the latent size and image shape): see explorer.models.adapt.

Built-in weights are plain state dicts read with `torch.load(..., weights_only=True)`; pickled
code is never loaded.
"""

from __future__ import annotations

import hashlib
import importlib
import pickle
import warnings
from pathlib import Path
from typing import Any

import torch
from torch import nn

from explorer.models.adapt import Adapted, supply_contract
from explorer.models.base import ContractError, LatentModel, check_contract
from explorer.models.gan import GAN
from explorer.models.vae import ConvVAE

TORCHSCRIPT_SUFFIXES = (".pt", ".ts", ".torchscript")

# card["model"]["architecture"] -> class; each takes its card["model"]["config"] as keywords.
ARCHITECTURES: dict[str, type[nn.Module]] = {"ConvVAE": ConvVAE, "GAN": GAN}


def load_model(spec: str, *, latent_dim: int | None = None, prior: str | None = None,
               image_shape: tuple[int, int, int] | None = None) -> LatentModel:
    """A contract-checked model from "package.module:factory" or a TorchScript file path; the
    keywords supply (or override) contract attributes the model lacks (explorer.models.adapt)."""
    supplied = {"latent_dim": latent_dim, "prior": prior, "image_shape": image_shape}
    if Path(spec).suffix in TORCHSCRIPT_SUFFIXES:
        return _checked(_load_torchscript(Path(spec)), str(spec), supplied)
    module_name, colon, factory_name = spec.partition(":")
    if not colon or not module_name or not factory_name.isidentifier():
        raise ValueError(
            f"model spec {spec!r} is neither 'package.module:factory' nor a TorchScript file "
            f"ending in one of {TORCHSCRIPT_SUFFIXES}"
        )
    module = importlib.import_module(module_name)
    factory = getattr(module, factory_name, None)
    if not callable(factory):
        raise ContractError(f"{module_name} has no callable {factory_name!r} (from model spec {spec!r})")
    return _checked(factory(), spec, supplied)


def _load_torchscript(path: Path) -> Any:
    if not path.is_file():
        raise FileNotFoundError(f"TorchScript model file {str(path)!r} does not exist")
    try:
        with warnings.catch_warnings():
            # torch.jit is deprecated upstream but remains the one self-describing format that
            # carries code without pickle; the warning is noise for a user loading a file.
            warnings.simplefilter("ignore", DeprecationWarning)
            model = torch.jit.load(str(path), map_location="cpu")
    except RuntimeError as error:
        raise ContractError(
            f"{str(path)!r} is not a TorchScript archive ({error.args[0].splitlines()[0]}); save the model with "
            "torch.jit.save(torch.jit.script(model), path), or bring it as 'package.module:factory'"
        ) from error
    return model


def _checked(model: Any, origin: str, supplied: dict[str, Any] | None = None) -> LatentModel:
    if isinstance(model, nn.Module):
        model.eval()
    try:
        if supplied is not None:
            model = supply_contract(model, **supplied)
        check_contract(model)
    except ContractError as error:
        raise ContractError(f"model from {origin!r}: {error}") from error
    return model


def load_builtin(card: dict, weights_path: str | Path) -> nn.Module:
    """Rebuild a built-in architecture named in a pack card and load its state dict (float32, eval mode)."""
    model_card = card.get("model", {})
    name = model_card.get("architecture")
    if name not in ARCHITECTURES:
        raise ContractError(f"card names architecture {name!r}; built-in ones are {sorted(ARCHITECTURES)}")
    model = ARCHITECTURES[name](**model_card.get("config", {}))
    try:
        state = torch.load(weights_path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        raise ContractError(f"{str(weights_path)!r} is not a plain state dict; torch.load(weights_only=True) "
                            f"refused it: {str(error).splitlines()[0]}") from error
    except (RuntimeError, EOFError, OSError) as error:  # torch's zip reader on a truncated or foreign file
        first_line = (str(error).splitlines() or [type(error).__name__])[0]
        raise ContractError(f"{str(weights_path)!r} is not a readable PyTorch file (corrupt or truncated?): "
                            f"{first_line}") from error
    if not isinstance(state, dict) or not all(isinstance(value, torch.Tensor) for value in state.values()):
        raise ContractError(f"{str(weights_path)!r} holds a {type(state).__name__}, want a state dict of tensors")
    # Weights ship as float16 to keep the repository small; compute in float32.
    state = {key: value.float() if value.is_floating_point() else value for key, value in state.items()}
    try:
        model.load_state_dict(state)
    except RuntimeError as error:
        config = model_card.get("config")
        raise ContractError(f"{str(weights_path)!r} does not fit {name}({config}): {error}") from error
    return _checked(model, str(weights_path))


def fingerprint(model: Any) -> str:
    """sha256 hex of a model's parameters and buffers, so a pack can tell when they change."""
    model = model.model if isinstance(model, Adapted) else model  # the weights, however they were wrapped
    if not isinstance(model, nn.Module):
        raise ContractError(f"cannot fingerprint a {type(model).__name__}: bring an nn.Module or TorchScript module")
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()
