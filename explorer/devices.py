"""The torch device a command or the renderer runs on: "auto" is CUDA when present, else the CPU.

Every `--device` option and every `device=` keyword goes through `resolve_device`, so a device
that cannot work here fails at once, with the same message everywhere, instead of deep inside
torch on the first decode.
"""

from __future__ import annotations

import torch

DEVICE_CHOICES = "'auto', 'cpu', 'cuda' or 'cuda:N'"


def resolve_device(device: str | torch.device | None = "auto") -> torch.device:
    """The torch device for `device` ("auto", None or "" choose CUDA when available, else the CPU);
    ValueError, naming the device and what to use instead, when it is unknown or absent here."""
    if device is None or str(device) in ("", "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as error:
        raise ValueError(f"unknown device {device!r}: use {DEVICE_CHOICES}") from error
    if resolved.type not in ("cpu", "cuda"):
        raise ValueError(f"device {device!r} is not supported: use {DEVICE_CHOICES}")
    if resolved.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"device {device!r} asked for, but CUDA is not available here "
                             f"(torch {torch.__version__} sees no GPU): use 'auto' or 'cpu'")
        count = torch.cuda.device_count()
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(f"device {device!r} asked for, but this machine has {count} CUDA device(s): "
                             f"use 'cuda:0' to 'cuda:{count - 1}' or 'auto'")
    return resolved
