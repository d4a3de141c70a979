"""Process-wide hosting limits: how many sessions may run, how long an idle one lives, how big an upload may be.

`latent-explorer serve` sets them once with `configure_hosting`; the app reads them with
`hosting()`. `SessionGate` counts the sessions holding a place (thread-safe: Bokeh creates and
destroys sessions from several threads when --num-threads is set).
"""

from __future__ import annotations

import math
import threading
import time
from dataclasses import dataclass

from explorer.app.uploads import MAX_UPLOAD_BYTES

WEBSOCKET_MARGIN_BYTES = 2**20  # room for the JSON around an upload's base64


@dataclass(frozen=True)
class Hosting:
    """The limits one server process runs under (defaults: a single user on a laptop)."""

    max_sessions: int | None = None
    idle_timeout_s: float | None = None
    upload_bytes: int = MAX_UPLOAD_BYTES
    public: bool = False

    def __post_init__(self) -> None:
        if self.max_sessions is not None and self.max_sessions < 1:
            raise ValueError(f"max_sessions must be at least 1, got {self.max_sessions}")
        if self.idle_timeout_s is not None and not self.idle_timeout_s > 0:
            raise ValueError(f"the idle timeout must be a positive number of seconds, got {self.idle_timeout_s}")
        if not 1024 <= self.upload_bytes <= MAX_UPLOAD_BYTES:
            raise ValueError(f"the upload limit must be between 1 KiB and {MAX_UPLOAD_BYTES // 2**20} MiB, "
                             f"got {self.upload_bytes} bytes")

    @property
    def websocket_max_message_bytes(self) -> int:
        """The largest websocket message a browser may send: one upload, base64-encoded, plus margin."""
        return math.ceil(self.upload_bytes * 4 / 3) + WEBSOCKET_MARGIN_BYTES


_hosting = Hosting()


def configure_hosting(limits: Hosting) -> None:
    """Set this process's limits (sessions already open keep their upload limit)."""
    global _hosting
    _hosting = limits
    sessions.limit = limits.max_sessions


def hosting() -> Hosting:
    """This process's limits."""
    return _hosting


class Slot:
    """One session's place: touched on activity, released exactly once."""

    def __init__(self, gate: SessionGate):
        self._gate = gate
        self._released = False
        self.last_active = time.monotonic()

    def touch(self) -> None:
        """Note activity now (the idle timeout counts from the last touch)."""
        self.last_active = time.monotonic()

    def idle_seconds(self) -> float:
        """Seconds since the last activity."""
        return time.monotonic() - self.last_active

    @property
    def released(self) -> bool:
        """Whether the place was given back."""
        return self._released

    def release(self) -> None:
        """Give the place back; later calls do nothing."""
        with self._gate._lock:
            if self._released:
                return
            self._released = True
            self._gate._active -= 1


class SessionGate:
    """Admits sessions up to `limit` (None: any number) and counts those holding a place."""

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self._lock = threading.Lock()
        self._active = 0
        self.admitted = 0
        self.turned_away = 0

    @property
    def active(self) -> int:
        """Sessions holding a place now."""
        with self._lock:
            return self._active

    def enter(self) -> Slot | None:
        """A place for a new session, or None when all `limit` places are taken."""
        with self._lock:
            if self.limit is not None and self._active >= self.limit:
                self.turned_away += 1
                return None
            self._active += 1
            self.admitted += 1
            return Slot(self)


sessions = SessionGate()
