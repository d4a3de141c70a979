"""The single-flight cache: each key computed once, concurrent callers of it wait, failures are not kept."""

from __future__ import annotations

import threading
import time

import pytest

from explorer.single_flight import SingleFlight


def test_a_value_is_computed_once_even_when_asked_for_concurrently():
    cache = SingleFlight()
    calls = []

    def slow():
        calls.append(1)
        time.sleep(0.2)
        return 42

    results = []
    threads = [threading.Thread(target=lambda: results.append(cache.get(("test-key",), slow))) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [42] * 4 and len(calls) == 1


def test_callers_of_another_key_do_not_wait():
    cache = SingleFlight()
    started, release = threading.Event(), threading.Event()

    def blocked():
        started.set()
        release.wait(5)
        return "slow"

    thread = threading.Thread(target=lambda: cache.get("slow", blocked))
    thread.start()
    started.wait(5)
    assert cache.get("fast", lambda: "fast") == "fast"  # while "slow" is still computing
    release.set()
    thread.join()
    assert sorted(cache.values()) == ["fast", "slow"]


def test_a_failed_compute_is_not_kept():
    cache = SingleFlight()

    def broken():
        raise ValueError("no")

    with pytest.raises(ValueError):
        cache.get("key", broken)
    assert cache.get("key", lambda: 7) == 7
