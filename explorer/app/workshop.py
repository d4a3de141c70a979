"""Presenter mode's shared state, with no panel import: the room file, the token check and the poller.

`latent-explorer serve --workshop` makes a run folder and a secret token before Bokeh forks its
worker processes. The presenter's session (on whichever worker its websocket reached) publishes
its link into one JSON file there, written atomically with a version that only grows. Each worker
runs ONE `RoomPoller` on its event loop: a few times a second it stats the file (microseconds),
reads it only when it changed, and hands a new version to that worker's following sessions on
their own documents' next tick. Each worker also writes how many of its sessions follow into a
small file of its own, which the presenter's worker sums.

Why files: forked Bokeh workers share nothing but the listening socket and the file system. A file
replaced by rename is always read whole, needs no broker (Redis, a manager process) to start, to
secure or to outlive, and polling it once per process costs the same for 3 sessions as for 300.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import psutil

from explorer.atomic import atomic_file

try:
    import fcntl
except ImportError:  # Windows: one process only (--num-procs needs fork), so no lock is needed
    fcntl = None

#: The query key of the presenter's token, and the one that keeps a participant on their own.
PRESENTER_KEY = "presenter"
ALONE_KEY = "follow"
ALONE_VALUE = "no"
POLL_MS = 250


def token_matches(given: object, token: str) -> bool:
    """Whether `given` is the presenter's token (a constant-time comparison; anything else is False)."""
    return isinstance(given, str) and bool(token) and secrets.compare_digest(given.encode(), token.encode())


@dataclass(frozen=True)
class RoomState:
    """One published version of the presenter's link: its query parameters."""

    version: int
    query: dict[str, str]


@dataclass(frozen=True)
class Counts:
    """Participants' sessions over all workers: following the presenter, or on their own."""

    following: int = 0
    alone: int = 0


class RoomStore:
    """The room's files in a run folder that every worker process shares."""

    def __init__(self, folder: str | os.PathLike):
        self.folder = Path(folder)
        self.path = self.folder / "room.json"
        self.counts_folder = self.folder / "followers"

    def publish(self, query: Mapping[str, str]) -> int:
        """Make `query` the room's link; returns its version (one more than the last, across processes)."""
        query = {str(key): str(value) for key, value in query.items()}
        with self._locked():
            current = self.read()
            version = (current.version if current else 0) + 1
            with atomic_file(self.path, "w") as stream:
                json.dump({"version": version, "query": query}, stream)
        return version

    def read(self) -> RoomState | None:
        """The latest published link, or None when the presenter has published none."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        version, query = data.get("version"), data.get("query")
        if not isinstance(version, int) or not isinstance(query, dict):
            raise ValueError(f"{self.path} is not a room file (version {version!r}); was it written by hand?")
        return RoomState(version, {str(k): str(v) for k, v in query.items()})

    def stamp(self) -> tuple[int, int, int] | None:
        """What changes whenever the room file is replaced (inode, mtime, size); None while it is absent."""
        return _stamp(self.path)

    def write_count(self, pid: int, counts: Counts) -> None:
        """Record how many of process `pid`'s sessions follow and how many are on their own (not once the
        server has removed the run folder: a worker outliving its parent must not make it again)."""
        if not self.counts_folder.is_dir():
            return
        with atomic_file(self.counts_folder / f"{pid}.json", "w") as stream:
            json.dump({"pid": pid, "following": counts.following, "alone": counts.alone}, stream)

    def counts_stamp(self) -> tuple[int, int, int] | None:
        """What changes whenever a worker's count file is replaced (the folder's own inode, mtime, size)."""
        return _stamp(self.counts_folder)

    def counts(self) -> Counts:
        """Participants over every living worker (a count file of an ended process is left out)."""
        following = alone = 0
        for path in self.counts_folder.glob("*.json"):
            with contextlib.suppress(OSError, ValueError, TypeError, AttributeError):
                data = json.loads(path.read_text(encoding="utf-8"))
                if psutil.pid_exists(int(data["pid"])):
                    following += int(data["following"])
                    alone += int(data["alone"])
        return Counts(following, alone)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        """Hold the room's lock: two presenter tabs on two workers must not publish the same version."""
        if fcntl is None:
            yield
            return
        with open(self.folder / "room.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return stat.st_ino, stat.st_mtime_ns, stat.st_size


class Member:
    """What the poller needs of one session in the room: its document and what to call on it."""

    def __init__(self, doc: Any, receive: Callable[[RoomState], None] | None = None,
                 show_counts: Callable[[Counts], None] | None = None):
        self.doc = doc
        self.receive = receive
        self.show_counts = show_counts
        self.following = receive is not None
        self.connected: Callable[[], bool] = lambda: True


class RoomPoller:
    """One per worker process: passes new room versions to the worker's following sessions and the
    participant counts to its presenter sessions, each on its own document's next tick."""

    def __init__(self, store: RoomStore, pid: int | None = None):
        self.store = store
        self.pid = pid or os.getpid()
        self._lock = threading.Lock()
        self._participants: dict[int, Member] = {}
        self._presenters: dict[int, Member] = {}
        self._stamp: tuple | None = None
        self._counts_stamp: tuple | None = None
        self._version = 0
        self._written: Counts | None = None
        self.counts = Counts()

    def join(self, member: Member) -> None:
        """Add a session: a participant (it has `receive`) or a presenter (it has `show_counts`)."""
        with self._lock:
            (self._participants if member.receive is not None else self._presenters)[id(member)] = member

    def leave(self, member: Member) -> None:
        """Drop a session (its document was destroyed)."""
        with self._lock:
            self._participants.pop(id(member), None)
            self._presenters.pop(id(member), None)

    def local_counts(self) -> Counts:
        """This worker's connected participants: following, and on their own."""
        with self._lock:
            members = [member for member in self._participants.values() if member.connected()]
        following = sum(member.following for member in members)
        return Counts(following, len(members) - following)

    def tick(self) -> None:
        """One poll: a new room version to the followers, this worker's count to its file, the
        total to the presenters (each only when it changed)."""
        stamp = self.store.stamp()
        if stamp is not None and stamp != self._stamp:
            self._stamp = stamp
            state = self.store.read()
            if state is not None and state.version > self._version:
                self._version = state.version
                with self._lock:
                    followers = [member for member in self._participants.values() if member.following and member.connected()]
                for member in followers:
                    member.doc.add_next_tick_callback(partial(member.receive, state))
        local = self.local_counts()
        if local != self._written:
            self.store.write_count(self.pid, local)
            self._written = local
        with self._lock:
            presenters = [member for member in self._presenters.values() if member.connected()]
        if not presenters:
            return
        counts_stamp = self.store.counts_stamp()
        if counts_stamp == self._counts_stamp:
            return
        self._counts_stamp = counts_stamp
        counts = self.store.counts()
        if counts == self.counts:
            return
        self.counts = counts
        for member in presenters:
            member.doc.add_next_tick_callback(partial(member.show_counts, counts))


@dataclass(frozen=True)
class Workshop:
    """This server's room: the run folder every worker shares and the presenter's secret token."""

    folder: Path
    token: str

    @classmethod
    def create(cls, folder: str | os.PathLike) -> Workshop:
        """A room in `folder` (made if missing) with a fresh token."""
        folder = Path(folder)
        (folder / "followers").mkdir(parents=True, exist_ok=True)
        return cls(folder, secrets.token_urlsafe(24))

    def is_presenter(self, query: Mapping[str, str]) -> bool:
        """Whether a page opened with `query` carries the presenter's token (a wrong or absent one: no)."""
        return token_matches(query.get(PRESENTER_KEY), self.token)


_workshop: Workshop | None = None
_poller: RoomPoller | None = None


def configure_workshop(room: Workshop | None) -> None:
    """Turn presenter mode on for this process (before the workers fork), or off with None."""
    global _workshop, _poller
    _workshop, _poller = room, None


def workshop() -> Workshop | None:
    """This process's room, or None when presenter mode is off."""
    return _workshop


def poller() -> RoomPoller | None:
    """This process's poller (made on first use, so after the fork each worker has its own)."""
    global _poller
    if _workshop is None:
        return None
    if _poller is None or _poller.pid != os.getpid():
        _poller = RoomPoller(RoomStore(_workshop.folder))
    return _poller
