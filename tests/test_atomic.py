"""explorer.atomic.replace_files: a folder's files replaced whole or not at all, also when the
writer is killed (SIGKILL at random moments of an index and pool save, 50 times)."""

from __future__ import annotations

import errno
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from explorer import atomic
from explorer.atomic import replace_files
from explorer.index import PackIndex
from explorer.pool import SamplerPool


def contents(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(folder.iterdir())}


def siblings(folder: Path) -> list[str]:
    """What stands beside `folder` in its parent (staged or old versions, were any left)."""
    return sorted(path.name for path in folder.parent.iterdir() if path != folder)


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.fixture
def folder(tmp_path) -> Path:
    folder = tmp_path / "indexes" / "pack"
    folder.mkdir(parents=True)
    for name, data in {"index.json": b"old json", "index.faiss": b"old faiss", "pool.npz": b"old pool"}.items():
        (folder / name).write_bytes(data)
    return folder


def test_several_files_replace_the_folder_as_a_whole_keeping_the_others_by_hard_link(folder):
    pool_inode = (folder / "pool.npz").stat().st_ino
    replace_files(folder, {"index.json": b"new json", "index.faiss": lambda stream: stream.write(b"new faiss")})
    assert contents(folder) == {"index.faiss": b"new faiss", "index.json": b"new json", "pool.npz": b"old pool"}
    assert (folder / "pool.npz").stat().st_ino == pool_inode and siblings(folder) == []


def test_without_keeping_others_the_folder_holds_only_the_new_files(folder):
    replace_files(folder, {"index.json": b"new json"}, keep_others=False)
    assert contents(folder) == {"index.json": b"new json"}


def test_one_file_among_others_is_one_rename_in_the_same_folder(folder):
    inode = folder.stat().st_ino
    replace_files(folder, {"pool.npz": b"new pool"})
    assert folder.stat().st_ino == inode and contents(folder)["pool.npz"] == b"new pool"


def test_a_folder_that_was_not_there_is_created_readable_by_others(tmp_path):
    folder = tmp_path / "new" / "pack"
    replace_files(folder, {"a": b"1", "b": b"2"})
    assert contents(folder) == {"a": b"1", "b": b"2"} and folder.stat().st_mode & 0o755 == 0o755
    assert siblings(folder) == []


def test_a_writer_that_fails_midway_leaves_the_old_folder_and_nothing_beside_it(folder):
    before = contents(folder)

    def fail(stream) -> None:
        stream.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        replace_files(folder, {"index.faiss": b"new faiss", "index.json": fail})
    assert contents(folder) == before and siblings(folder) == []


def test_where_folders_cannot_be_swapped_two_renames_give_the_same_result(folder, monkeypatch):
    def no_exchange(a, b):
        raise OSError(errno.EINVAL, "not supported here")

    monkeypatch.setattr(atomic, "_exchange", no_exchange)
    replace_files(folder, {"index.json": b"new json", "index.faiss": b"new faiss"})
    assert contents(folder) == {"index.faiss": b"new faiss", "index.json": b"new json", "pool.npz": b"old pool"}
    assert siblings(folder) == []


def test_what_killed_writers_left_is_cleared_and_a_folder_they_moved_aside_comes_back(folder):
    pid = dead_pid()
    (folder.parent / f".pack.{pid}.abc.staged").mkdir()  # killed while staging
    old = folder.parent / f".pack.{pid}.def.old"
    folder.rename(old)  # killed between the fallback's two renames: no folder, its old one aside
    live = folder.parent / f".pack.{os.getpid()}.ghi.staged"  # another writer, still at work
    live.mkdir()
    (old / ".pool.npz.x1y2.tmp").write_bytes(b"a killed atomic_file")
    replace_files(folder, {"index.json": b"new json", "index.faiss": b"new faiss"})
    assert contents(folder) == {"index.faiss": b"new faiss", "index.json": b"new json", "pool.npz": b"old pool"}
    assert siblings(folder) == [live.name]


# ---------------------------------------------------------------------- killed writers
RUNS = 50


def synthetic_index(seed: int) -> PackIndex:
    rng = np.random.default_rng(seed)
    latents = rng.standard_normal((30_000, 16)).astype(np.float32)
    thumbnails = rng.integers(0, 256, (30_000, 8, 8, 1), dtype=np.uint8)
    return PackIndex.create(latents, thumbnails, pack="pack", weights_hash=f"w{seed}",
                            labels={"even": np.arange(30_000) % 2 == seed % 2})


def synthetic_pool(seed: int) -> SamplerPool:
    rng = np.random.default_rng(seed)
    return SamplerPool(rng.standard_normal((60_000, 16)).astype(np.float32), rng.standard_normal(60_000),
                       "gaussian", seed, f"w{seed}")


def write_new(folder: Path, index: PackIndex, pool: SamplerPool) -> None:
    """What `latent-explorer index` and then `latent-explorer pool` write."""
    index.save(folder)
    pool.save(folder / "pool.npz")


FILE_SYSTEM_STEPS = ("replace", "rename", "link", "symlink", "fsync", "unlink", "rmdir", "mkdir", "chmod")


def writer(folder: Path, index: PackIndex, pool: SamplerPool, kill_after: float | None = None,
           die_at_step: int | None = None) -> tuple[float, int]:
    """Fork a process that writes `index` and `pool` into `folder`: SIGKILLed `kill_after` s after
    it started, or killing itself just before its `die_at_step`-th file-system call (os.replace,
    rename, link, fsync, unlink, ... and the folder swap); else it finishes.
    The seconds from its start to its end, and the file-system calls it made."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the writer
        os.close(read)
        try:
            steps = [0]

            def counted(function):
                def call(*args, **kwargs):
                    steps[0] += 1
                    if steps[0] == die_at_step:
                        os.kill(os.getpid(), signal.SIGKILL)
                    return function(*args, **kwargs)
                return call

            for name in FILE_SYSTEM_STEPS:
                setattr(os, name, counted(getattr(os, name)))
            atomic._exchange = counted(atomic._exchange)
            os.write(write, b"s")
            write_new(folder, index, pool)
            os.write(write, steps[0].to_bytes(4, "little"))
        finally:
            os._exit(0)
    os.close(write)
    os.read(read, 1)
    started = time.perf_counter()
    if kill_after is not None:
        time.sleep(kill_after)
        os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    duration = time.perf_counter() - started
    steps = os.read(read, 4)
    os.close(read)
    return duration, int.from_bytes(steps, "little") if len(steps) == 4 else -1


def which(loaded: np.ndarray, old: np.ndarray, new: np.ndarray) -> str:
    if np.array_equal(loaded, old):
        return "old"
    assert np.array_equal(loaded, new), "neither the old contents nor the new"
    return "new"


def loaded_state(folder: Path, old: tuple[PackIndex, SamplerPool], new: tuple[PackIndex, SamplerPool]):
    """("old" | "new", "old" | "new") of the index and the pool in `folder`; fails for anything else."""
    index = PackIndex.load(folder)  # raises for a missing, torn or mixed index
    pool = SamplerPool.load(folder / "pool.npz")
    state = (which(index.latents, old[0].latents, new[0].latents), which(pool.latents, old[1].latents, new[1].latents))
    assert index.metadata["weights_hash"] == (old if state[0] == "old" else new)[0].metadata["weights_hash"]
    return state


@pytest.fixture(scope="module")
def versions():
    """(old, new): each an index of 30,000 latents and a pool of 60,000."""
    return (synthetic_index(1), synthetic_pool(1)), (synthetic_index(2), synthetic_pool(2))


@pytest.fixture
def old_folder(tmp_path, versions):
    """A function that makes tmp_path/indexes/pack hold the old index and pool, afresh; it returns the folder."""
    template, folder = tmp_path / "template", tmp_path / "indexes" / "pack"
    write_new(template, *versions[0])

    def reset() -> Path:
        shutil.rmtree(folder, ignore_errors=True)
        shutil.copytree(template, folder)
        return folder
    return reset


def test_a_writer_killed_before_each_of_its_file_system_steps_leaves_the_old_index_or_the_new(old_folder, versions):
    old, new = versions
    folder = old_folder()
    _, steps = writer(folder, *new)
    assert loaded_state(folder, old, new) == ("new", "new") and steps > 10
    states = []
    for step in range(1, steps + 1):
        folder = old_folder()
        writer(folder, *new, die_at_step=step)
        states.append(loaded_state(folder, old, new))
    print(f"killed before each of its {steps} file-system steps, (index, pool): {states}")
    order = [("old", "old"), ("new", "old"), ("new", "new")]  # the index is saved first, then the pool
    ranks = [order.index(state) for state in states]
    assert ranks[0] == 0 and ranks == sorted(ranks) and ranks[-1] >= 1


def test_a_writer_killed_at_random_moments_leaves_the_old_index_and_pool_or_the_new(old_folder, versions):
    old, new = versions
    duration, _ = writer(old_folder(), *new)  # a whole save, in a process of its own
    rng = np.random.default_rng(0)
    outcomes: Counter = Counter()
    for _ in range(RUNS):
        folder = old_folder()
        writer(folder, *new, kill_after=rng.uniform(0.0, 1.3 * duration))
        outcomes[loaded_state(folder, old, new)] += 1
    print(f"a whole save took {duration * 1000:.0f} ms; (index, pool) after {RUNS} kills: {dict(outcomes)}")
    assert set(outcomes) <= {("old", "old"), ("new", "old"), ("new", "new")}  # the index is saved first
    assert outcomes[("old", "old")] and outcomes[("new", "new")], "no kill fell before, or none after, the save"
    replace_files(folder, new[0].files(folder))  # the next save clears what the killed writers left
    assert siblings(folder) == [] and sorted(contents(folder)) == ["index.faiss", "index.json", "pool.npz",
                                                                    "validation.npz", "validation.thumbnails.npy"]
