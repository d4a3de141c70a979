"""The slider's side channel: a binary websocket on which the page sends a latent it computed itself
(base + Σ strength · vector, float32) and gets the decoded JPEG back as one binary message.

A slider step through Bokeh's protocol costs the server ~9 ms of Python (the change event, Panel's
watchers, the picture's base64 data URL and the patch around it); here it costs the decode, the JPEG
and a few checks. Only the pack's decoder is reachable: a message must be exactly 4 · latent_dim bytes
of finite float32 of bounded norm, at most RATE_PER_S of them a second (BURST at once), on a
connection that opened with a token the server signed for one session's picture (its pack and size).
Anything else closes the connection with one of the codes below; the page then goes back to the
Bokeh path. Tokens are HMAC-signed with a key made at import, before `serve` forks its workers, so
a connection that reaches another worker process of the same server is accepted there too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
import time
from dataclasses import dataclass

import numpy as np
from tornado.websocket import WebSocketClosedError, WebSocketHandler

log = logging.getLogger(__name__)

PATH = "/latent-channel"
RATE_PER_S = 60.0  # a drag paints at most one picture per animation frame
BURST = 60
NORM_LIMIT = 16.0  # a latent may be at most this many times the prior's typical norm
MAX_MESSAGE_BYTES = 64 * 1024  # a latent of 16,384 float32; below any --public websocket limit

# Close codes (4000-4999 are the application's own).
CLOSE_TOKEN = 4001  # no token, or one this server did not sign
CLOSE_LENGTH = 4002  # a text message, or not exactly 4 · latent_dim bytes
CLOSE_NOT_FINITE = 4003  # NaN or infinity in the latent
CLOSE_NORM = 4004  # the latent is far outside the prior
CLOSE_RATE = 4029  # more than RATE_PER_S messages a second
CLOSE_FAILED = 1011  # the decode itself failed (logged)

_KEY = secrets.token_bytes(32)


@dataclass
class _Config:
    enabled: bool = True


_config = _Config()


def configure(enabled: bool = True) -> None:
    """Whether pages get a side channel (`serve --server-decode` turns it off: every step goes through Bokeh)."""
    _config.enabled = enabled


def enabled() -> bool:
    """Whether new pages are given a token for the side channel."""
    return _config.enabled


def issue_token(pack: str, size: int) -> str:
    """A token that lets one page decode latents of `pack` at `size` px: a random nonce, signed."""
    payload = f"{pack}\n{int(size)}\n{secrets.token_hex(8)}".encode()
    signature = hmac.new(_KEY, payload, hashlib.sha256).digest()[:16]
    return _b64(payload) + "." + _b64(signature)


def read_token(token: str | None) -> tuple[str, int] | None:
    """(pack, size) of a token this process's server signed; None for anything else."""
    if not token or token.count(".") != 1:
        return None
    try:
        payload, signature = (base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)) for part in token.split("."))
        expected = hmac.new(_KEY, payload, hashlib.sha256).digest()[:16]
        if not hmac.compare_digest(signature, expected):
            return None
        pack, size, _ = payload.decode().split("\n")
        return pack, int(size)
    except (ValueError, UnicodeDecodeError):
        return None


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


class Refused(ValueError):
    """A message the side channel does not take: the close code and the reason sent with it."""

    def __init__(self, code: int, reason: str):
        super().__init__(reason)
        self.code = code
        self.reason = reason


def parse_latent(message: bytes | str, latent_dim: int, norm_limit: float) -> np.ndarray:
    """A message as a (latent_dim,) float32 latent, or Refused naming what is wrong with it."""
    if isinstance(message, str):
        raise Refused(CLOSE_LENGTH, "send the latent as a binary message of float32, not text")
    if len(message) != 4 * latent_dim:
        raise Refused(CLOSE_LENGTH, f"a latent is {4 * latent_dim} bytes ({latent_dim} float32), got {len(message)}")
    latent = np.frombuffer(message, dtype="<f4").astype(np.float32)
    if not np.isfinite(latent).all():
        raise Refused(CLOSE_NOT_FINITE, "the latent has NaN or infinite values")
    norm = float(np.linalg.norm(latent))
    if norm > norm_limit:
        raise Refused(CLOSE_NORM, f"the latent's norm {norm:.1f} is above the limit {norm_limit:.1f}")
    return latent


class RateLimit:
    """A token bucket: `take(now)` spends one message, Refused once more than `burst` came faster than `rate`/s."""

    def __init__(self, rate: float = RATE_PER_S, burst: int = BURST):
        self.rate, self.burst = rate, burst
        self._tokens = float(burst)
        self._at: float | None = None

    def take(self, now: float) -> None:
        if self._at is not None:
            self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
        self._at = now
        if self._tokens < 1:
            raise Refused(CLOSE_RATE, f"more than {self.rate:g} latents a second; slow down")
        self._tokens -= 1


class LatentChannelHandler(WebSocketHandler):
    """GET PATH?token=...: the websocket of one page's side channel (see the module docstring)."""

    def initialize(self) -> None:
        self._limit: RateLimit | None = None  # set once the token is accepted

    @property
    def max_message_size(self) -> int:
        return min(MAX_MESSAGE_BYTES, super().max_message_size)

    def open(self) -> None:
        from explorer.resources import PackUnavailable, resources_for

        granted = read_token(self.get_query_argument("token", None)) if enabled() else None
        if granted is None:
            self.close(CLOSE_TOKEN, "a side-channel token from this server's page is required")
            return
        pack, self._size = granted
        try:
            self._resources = resources_for(pack)
        except PackUnavailable:
            self.close(CLOSE_TOKEN, f"pack {pack!r} is not served here")
            return
        self._norm_limit = NORM_LIMIT * self._resources.expected_norm()
        self._limit = RateLimit()
        self._channel = f"side-{id(self)}"
        self.set_nodelay(True)  # one small message each way per step: no Nagle delay

    async def on_message(self, message: bytes | str) -> None:
        # Tornado reads the next message only once this returns: one decode per connection at a time.
        if self._limit is None:  # refused at open
            return
        try:
            self._limit.take(time.monotonic())
            latent = parse_latent(message, self._resources.latent_dim, self._norm_limit)
        except Refused as refused:
            self.close(refused.code, refused.reason)
            return
        try:
            jpeg = await self._resources.jpeg_off_loop(latent, self._size, self._channel)
        except Exception:
            log.exception("the side channel's decode failed")
            self.close(CLOSE_FAILED, "the decode failed")
            return
        if jpeg is not None:
            try:
                await self.write_message(jpeg, binary=True)
            except WebSocketClosedError:  # the page went away meanwhile
                pass
