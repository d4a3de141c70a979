"""Giving freed memory back to the operating system after sessions close.

Closed sessions leave no live objects behind, but the memory they borrowed stays with the process:
glibc keeps freed heap pages for reuse, so the server's RSS stays at its high-water mark.
`release_free_memory()` collects garbage and asks glibc to return free pages (`malloc_trim`);
`TrimAfterSessions` runs it once, a few seconds after the last of a burst of closed sessions.

    trim = TrimAfterSessions()
    pn.state.curdoc.on_session_destroyed(trim.session_destroyed)
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import psutil

log = logging.getLogger(__name__)

TRIM_DELAY_S = 5.0  # Bokeh destroys expired sessions in bursts (every 17 s by default): one release per burst
TRIM_MAX_DELAY_S = 60.0  # on a busy server sessions close all the time; release at least this often then


@dataclass(frozen=True)
class Released:
    """What `release_free_memory` did: objects collected, whether malloc_trim ran, RSS before and after."""

    collected: int
    trimmed: bool
    rss_before_mb: float
    rss_after_mb: float

    @property
    def released_mb(self) -> float:
        """How much the resident set shrank."""
        return self.rss_before_mb - self.rss_after_mb


def _load_malloc_trim() -> Callable[[int], int] | None:
    """glibc's malloc_trim, or None on other C libraries and systems (musl, macOS, Windows)."""
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim


_malloc_trim = _load_malloc_trim()


def rss_mb() -> float:
    """This process's resident set size in MiB."""
    return psutil.Process().memory_info().rss / 2**20


def release_free_memory() -> Released:
    """Collect garbage, then return glibc's free heap pages to the system where glibc is the C library."""
    before = rss_mb()
    collected = gc.collect()
    trimmed = _malloc_trim is not None
    if _malloc_trim is not None:
        _malloc_trim(0)  # ctypes drops the GIL for the call, so other threads run meanwhile
    return Released(collected, trimmed, before, rss_mb())


class TrimAfterSessions:
    """Runs `release` once, `delay_s` after the last of a burst of destroyed sessions; thread-safe.

    Each `session_destroyed` call restarts the countdown, so 200 closing sessions cost one
    release, not 200; but a release waiting for `max_delay_s` is no longer put off. The
    countdown runs on a daemon `threading.Timer`.
    """

    def __init__(self, delay_s: float = TRIM_DELAY_S, max_delay_s: float = TRIM_MAX_DELAY_S,
                 release: Callable[[], Any] = release_free_memory):
        if not 0 <= delay_s <= max_delay_s:
            raise ValueError(f"need 0 <= delay_s <= max_delay_s seconds, got {delay_s!r} and {max_delay_s!r}")
        self.delay_s = delay_s
        self.max_delay_s = max_delay_s
        self.release = release
        self.releases = 0
        self._timer: threading.Timer | None = None
        self._waiting_since = 0.0
        self._lock = threading.Lock()

    def session_destroyed(self, session_context: Any) -> None:
        """Schedule one release `delay_s` from now, replacing any not yet run (a Bokeh callback).

        `session_context` is unused, but Bokeh checks that its callbacks take exactly it.
        """
        with self._lock:
            now = time.monotonic()
            if self._timer is None:
                self._waiting_since = now
            elif now - self._waiting_since >= self.max_delay_s:
                return  # waited long enough: let the pending release run
            else:
                self._timer.cancel()
            self._timer = threading.Timer(self.delay_s, self._release)
            self._timer.daemon = True
            self._timer.start()

    def cancel(self) -> None:
        """Drop a scheduled release that has not started."""
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

    def _release(self) -> None:
        with self._lock:
            if self._timer is not threading.current_thread():
                return  # replaced by a newer countdown after this one had already fired
            self._timer = None
            self.releases += 1
        try:
            released = self.release()
        except Exception:  # logged with the app's logger, not only printed by the timer thread
            log.exception("releasing free memory after closed sessions failed")
            return
        log.debug("after closed sessions: %s", released)
