"""A micro-batcher: concurrent single-item requests from many threads decoded as one batch.

    batcher = MicroBatcher(decode_many, window_s=0.003)
    image = batcher.submit(latent)      # from any thread; blocks until its batch is done

Whoever finds the batcher idle becomes the leader: it waits until the oldest queued request is
`window_s` old (or `max_batch` are queued), takes the queue and runs `fn` once on the stacked items.
Requests that arrive while a batch runs queue up and leave together in the next one, so even
with `window_s == 0` a busy decoder batches its backlog, and an idle one adds no delay.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import Callable

import numpy as np


class MicroBatcher:
    """Coalesces concurrent `submit(item)` calls into calls of `fn(stacked items)`; thread-safe."""

    def __init__(self, fn: Callable[[np.ndarray], np.ndarray], window_s: float = 0.0, max_batch: int = 64):
        if not window_s >= 0:
            raise ValueError(f"window_s must be >= 0 seconds, got {window_s!r}")
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.fn = fn
        self.window_s = float(window_s)
        self.max_batch = int(max_batch)
        self._queue: list[tuple[np.ndarray, Future, float]] = []
        self._queue_changed = threading.Condition()
        self._leader = threading.Lock()  # one batch runs at a time
        self.requests = 0
        self.batches = 0
        self.largest = 0

    def submit(self, item: np.ndarray) -> np.ndarray:
        """fn(item[None])[0], computed in a batch with whatever other items are waiting."""
        future: Future = Future()
        with self._queue_changed:
            self._queue.append((item, future, time.monotonic()))
            self.requests += 1
            self._queue_changed.notify_all()
        while not future.done():
            with self._leader:
                if future.done():  # a leader took it while this thread waited for its turn
                    break
                self._run(self._take())
        return future.result()

    def stats(self) -> dict[str, float]:
        """Requests, batches, the largest batch and the mean batch size so far."""
        with self._queue_changed:
            return {
                "window_ms": self.window_s * 1000.0,
                "requests": self.requests,
                "batches": self.batches,
                "largest": self.largest,
                "mean": round(self.requests / self.batches, 2) if self.batches else 0.0,
            }

    def _take(self) -> list[tuple[np.ndarray, Future, float]]:
        with self._queue_changed:
            while self._queue and len(self._queue) < self.max_batch:
                left = self._queue[0][2] + self.window_s - time.monotonic()
                if left <= 0 or not self._queue_changed.wait(left):
                    break
            batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            if batch:
                self.batches += 1
                self.largest = max(self.largest, len(batch))
            return batch

    def _run(self, batch: list[tuple[np.ndarray, Future, float]]) -> None:
        if not batch:
            return
        try:
            results = self.fn(np.stack([item for item, _, _ in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"the batch function returned {len(results)} results for {len(batch)} items")
        except BaseException as error:  # every waiter gets the failure, and none waits forever
            for _, future, _ in batch:
                future.set_exception(error)
            if not isinstance(error, Exception):
                raise
            return
        for (_, future, _), result in zip(batch, results):
            future.set_result(result)
