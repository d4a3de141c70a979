"""Specifications of explorer.memory: releasing free memory, once per burst of closed sessions."""

from __future__ import annotations

import gc
import logging
import platform
import sys
import threading
import weakref

import numpy as np
import pytest

from explorer import memory
from explorer.memory import Released, TrimAfterSessions, release_free_memory


class Node:
    def __init__(self) -> None:
        self.partner: Node | None = None


def test_release_free_memory_collects_unreachable_cycles():
    gc.disable()  # so only the release can collect the cycle
    try:
        first, second = Node(), Node()
        first.partner, second.partner = second, first
        alive = weakref.ref(first)
        del first, second
        released = release_free_memory()
    finally:
        gc.enable()
    assert alive() is None and released.collected >= 2


@pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"),
                    reason="malloc_trim is glibc's")
def test_release_free_memory_trims_the_heap_with_glibc():
    released = release_free_memory()
    assert released.trimmed and released.rss_after_mb > 0


def test_release_free_memory_only_collects_without_malloc_trim(monkeypatch):
    monkeypatch.setattr(memory, "_malloc_trim", None)
    assert release_free_memory().trimmed is False


def test_released_mb_is_how_much_the_resident_set_shrank():
    assert Released(collected=0, trimmed=True, rss_before_mb=300.0, rss_after_mb=280.5).released_mb == 19.5


def test_rss_mb_counts_the_memory_this_process_writes():
    before = memory.rss_mb()
    block = np.ones(2**23)  # 64 MiB, every page written
    assert memory.rss_mb() - before > 48
    del block


def test_a_burst_of_closed_sessions_releases_once():
    calls: list[int] = []
    done = threading.Event()

    def release() -> None:
        calls.append(1)
        done.set()

    trim = TrimAfterSessions(delay_s=0.5, release=release)
    for _ in range(50):
        trim.session_destroyed(object())
    assert done.wait(10)
    assert calls == [1] and trim.releases == 1


def test_a_session_closed_after_the_release_schedules_another():
    released = threading.Semaphore(0)
    trim = TrimAfterSessions(delay_s=0, release=released.release)
    trim.session_destroyed(None)
    assert released.acquire(timeout=10)
    trim.session_destroyed(None)
    assert released.acquire(timeout=10) and trim.releases == 2


def test_a_failing_release_is_logged_not_raised(caplog):
    ran_on: list[threading.Thread] = []
    started = threading.Event()

    def broken() -> None:
        ran_on.append(threading.current_thread())
        started.set()
        raise OSError("no such symbol")

    trim = TrimAfterSessions(delay_s=0, release=broken)
    with caplog.at_level(logging.ERROR, logger="explorer.memory"):
        trim.session_destroyed(None)
        assert started.wait(10)
        ran_on[0].join(10)  # the timer thread logs after the release raised
    assert "releasing free memory after closed sessions failed" in caplog.text


def test_session_destroyed_is_accepted_as_a_bokeh_session_destroyed_callback():
    from bokeh.document import Document

    trim = TrimAfterSessions()
    Document().on_session_destroyed(trim.session_destroyed)  # Bokeh refuses other signatures
    trim.cancel()


def test_sessions_closing_without_pause_do_not_put_the_release_off_past_max_delay():
    done = threading.Event()
    trim = TrimAfterSessions(delay_s=0.2, max_delay_s=0.2, release=done.set)
    for _ in range(1000):  # a session closes every 10 ms, more often than delay_s
        trim.session_destroyed(None)
        if done.wait(0.01):
            break
    assert done.is_set()


@pytest.mark.parametrize("delay_s, max_delay_s", [(-1, 60), (10, 5)])
def test_delays_out_of_order_are_refused(delay_s, max_delay_s):
    with pytest.raises(ValueError, match="need 0 <= delay_s <= max_delay_s"):
        TrimAfterSessions(delay_s=delay_s, max_delay_s=max_delay_s)
