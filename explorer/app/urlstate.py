"""The latent state in the link: a compact, validated query string.

A link holds the pack, the view and a few named latents (`z` the current one; `a`, `b`, `c`
the interpolation or analogy endpoints), each as URL-safe base64 of little-endian float16
(64 dimensions -> 171 characters). Reading a link never raises past `read_link`: what cannot
be used is dropped with a message that says why.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from typing import Mapping

import numpy as np

FLOAT16_MAX = float(np.finfo(np.float16).max)
LATENT_KEYS = ("z", "a", "b", "c")
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


class LinkError(ValueError):
    """A value in a link cannot be used; the message names the key, the value and what to do."""


def encode_latent(latent: np.ndarray) -> str:
    """A finite float vector -> URL-safe base64 of its float16 values (no padding)."""
    latent = np.asarray(latent, dtype=np.float64)
    if latent.ndim != 1:
        raise ValueError(f"a latent must be one vector, got shape {latent.shape}")
    if not np.isfinite(latent).all():
        raise ValueError("cannot put a latent with NaN or inf into a link")
    # float16 overflows to inf beyond ~65504; such latents are far off any prior anyway.
    packed = np.clip(latent, -FLOAT16_MAX, FLOAT16_MAX).astype("<f2").tobytes()
    return base64.urlsafe_b64encode(packed).decode("ascii").rstrip("=")


def decode_latent(text: str, latent_dim: int, key: str = "z") -> np.ndarray:
    """URL-safe base64 float16 -> float32 (latent_dim,); LinkError says what is wrong."""
    text = (text or "").strip()
    if not text:
        raise LinkError(f"the link's {key!r} is empty")
    if len(text) > 16 * 4 * latent_dim:
        raise LinkError(f"the link's {key!r} is {len(text)} characters, far too long for {latent_dim} dimensions")
    try:
        raw = base64.b64decode(text + "=" * (-len(text) % 4), altchars=b"-_", validate=True)
    except (binascii.Error, ValueError):
        raise LinkError(f"the link's {key!r} is not URL-safe base64 ({text[:24]!r}...)") from None
    if len(raw) % 2:
        raise LinkError(f"the link's {key!r} holds {len(raw)} bytes, not whole float16 values")
    latent = np.frombuffer(raw, dtype="<f2").astype(np.float32)
    if latent.size != latent_dim:
        raise LinkError(
            f"the link's {key!r} has {latent.size} numbers but this pack's latents have {latent_dim}; "
            "was the link made for another pack?"
        )
    if not np.isfinite(latent).all():
        raise LinkError(f"the link's {key!r} contains NaN or inf values")
    return latent


@dataclass
class Link:
    """What a link says: pack, view, named latents and plain settings (all optional)."""

    pack: str | None = None
    view: str | None = None
    latents: dict[str, np.ndarray] = field(default_factory=dict)
    settings: dict[str, str] = field(default_factory=dict)

    def to_query(self) -> dict[str, str]:
        """The query parameters that reopen this state (latents encoded)."""
        query: dict[str, str] = {}
        if self.pack:
            query["pack"] = self.pack
        if self.view:
            query["view"] = self.view
        for key in LATENT_KEYS:
            if key in self.latents and self.latents[key] is not None:
                query[key] = encode_latent(self.latents[key])
        query.update({k: str(v) for k, v in self.settings.items()})
        return query


def read_link(
    query: Mapping[str, object],
    *,
    packs: list[str],
    default_pack: str,
    views: tuple[str, ...],
    latent_dim_of,
) -> tuple[Link, list[str]]:
    """Parse query parameters into a Link and a list of messages about what was dropped.

    `latent_dim_of(pack)` gives a pack's latent size; it is called only for a valid pack.
    """
    messages: list[str] = []
    link = Link()
    pack = _text(query.get("pack"))
    if pack and pack not in packs:
        shown = pack if _NAME.match(pack) else pack[:40] + "..."
        messages.append(
            f"The link asks for pack {shown!r}, which is not installed here "
            f"(installed: {', '.join(packs) or 'none'}); showing {default_pack!r} instead."
        )
        link.pack = default_pack
        other_pack = True
    else:
        link.pack = pack or default_pack
        other_pack = False
    view = _text(query.get("view"))
    if view:
        if view in views:
            link.view = view
        else:
            messages.append(f"The link asks for view {view[:40]!r}; the views are {', '.join(views)}.")
    present = [key for key in LATENT_KEYS if _text(query.get(key))]
    if present and other_pack:
        messages.append("The link's latents belong to that other pack, so they were not used.")
    elif present:
        latent_dim = latent_dim_of(link.pack)
        for key in present:
            try:
                link.latents[key] = decode_latent(_text(query.get(key)), latent_dim, key)
            except LinkError as error:
                messages.append(f"{str(error)[0].upper()}{str(error)[1:]}; starting from a random sample.")
    for key, value in query.items():
        if key not in ("pack", "view", *LATENT_KEYS):
            link.settings[key] = _text(value)
    return link, messages


def _text(value: object) -> str:
    """A query value as text; Panel may hand lists or parsed JSON numbers."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        value = value[-1] if value else ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip()
