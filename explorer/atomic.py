"""Atomic writes: a file, or a folder's set of files, replaced whole or not at all.

`atomic_file`: a temporary file beside the target, fsynced, then renamed into place.
`replace_files`: several files of one folder (an index, its pool, an imported pack's folder),
swapped in as a new version of the whole folder.
A crash, a kill or an exception mid-write leaves the previous contents untouched.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import glob
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import psutil


def _stage(path: Path) -> tuple[int, str]:
    path.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")


@contextmanager
def atomic_file(path: str | os.PathLike, mode: str = "wb") -> Iterator[IO]:
    """Open a temporary file for writing; on a clean exit it replaces `path`, else it is removed."""
    path = Path(path)
    handle, temp_name = _stage(path)
    try:
        with os.fdopen(handle, mode) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(temp_name, 0o644)  # mkstemp makes files private; ours are read by servers and users
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


# The bytes of a file, a function that writes them, or a file already written beside the folder's
# files (`staging_path`), which is moved into place.
Contents = bytes | Callable[[IO[bytes]], object] | Path


def staging_path(path: str | os.PathLike) -> Path:
    """A new, empty temporary file beside `path`, for a writer that streams into it and hands it
    to `replace_files` as the contents of `path`'s name."""
    handle, temp_name = _stage(Path(path))
    os.close(handle)
    return Path(temp_name)


def replace_files(directory: str | os.PathLike, files: Mapping[str, Contents], *, keep_others: bool = True) -> None:
    """Give `directory` the new `files` at once: killed at any point, it holds its old files or all the new ones.

    One file among others kept is one rename (`atomic_file`). Otherwise the folder is replaced as a
    whole: a sibling folder gets the new files and, with `keep_others`, hard links to the files that
    stay; then one renameat2(RENAME_EXCHANGE) swaps the two folders, and the old one is removed. A
    folder cannot be renamed over a full one, and the alternative, a pointer file naming versioned
    subfolders, would change the layout every reader and every shipped index knows. Where the
    system cannot swap folders (not Linux, or a file system without it) two renames do it, and a
    kill between them leaves the old folder beside the missing one (the next call puts it back).
    Writers of one folder take turns (a lock on its parent), so that one does not swap out what
    another just wrote; siblings that killed writers left behind are removed by the next call.
    """
    directory = Path(directory)
    with _writers_lock(directory):
        if keep_others and len(files) == 1:
            (name, contents), = files.items()
            if isinstance(contents, Path):
                _move_staged(contents, directory / name)
                return
            with atomic_file(directory / name) as stream:
                _write(stream, contents)
            return
        _recover(directory)
        staging = Path(tempfile.mkdtemp(dir=directory.parent, prefix=f".{directory.name}.{os.getpid()}.",
                                        suffix=_STAGED))
        try:
            if directory.is_dir():
                os.chmod(staging, directory.stat().st_mode & 0o7777)
                if keep_others:
                    _link_others(directory, staging, set(files))
            else:
                os.chmod(staging, 0o755)  # mkdtemp makes folders private; ours are read by servers and users
            for name, contents in files.items():
                if isinstance(contents, Path):
                    _move_staged(contents, staging / name)
                    continue
                with open(staging / name, "xb") as stream:
                    _write(stream, contents)
                    stream.flush()
                    os.fsync(stream.fileno())
            _fsync_folder(staging)
            _swap_in(staging, directory)
        except BaseException:
            shutil.rmtree(staging, ignore_errors=True)
            for contents in files.values():
                if isinstance(contents, Path):
                    contents.unlink(missing_ok=True)
            raise
        _fsync_folder(directory.parent)
        shutil.rmtree(staging, ignore_errors=True)  # now the old folder (gone when there was none)


_STAGED = ".staged"
_OLD = ".old"
RENAME_EXCHANGE = 2
_AT_FDCWD = -100


@contextmanager
def _writers_lock(directory: Path) -> Iterator[None]:
    """An exclusive lock for the writers of `directory`: flock on its parent folder, which is never
    swapped (none where there is no fcntl, or the folder cannot be opened)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    try:
        import fcntl

        handle = os.open(directory.parent, os.O_RDONLY)
    except (ImportError, OSError):  # Windows
        yield
        return
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)  # released when closed, or when the process ends
        yield
    finally:
        os.close(handle)


def _move_staged(staged: Path, target: Path) -> None:
    """Move a file written by a streaming writer (`staging_path`) to `target`, readable by all."""
    with open(staged, "rb") as stream:
        os.fsync(stream.fileno())
    os.chmod(staged, 0o644)
    os.replace(staged, target)


def _write(stream: IO[bytes], contents: Contents) -> None:
    if isinstance(contents, (bytes, bytearray, memoryview)):
        stream.write(contents)
    else:
        contents(stream)


def _link_others(directory: Path, staging: Path, replaced: set[str]) -> None:
    """Hard links (copies where the file system has none) in `staging` to what `directory` keeps,
    less the temporaries of `atomic_file` writers that were killed (".NAME.*.tmp")."""
    for entry in directory.iterdir():
        if entry.name in replaced or (entry.name.startswith(".") and entry.name.endswith(".tmp")):
            continue
        target = staging / entry.name
        if entry.is_symlink():
            os.symlink(os.readlink(entry), target)
        elif entry.is_dir():
            shutil.copytree(entry, target, symlinks=True, copy_function=_link_or_copy)
        else:
            _link_or_copy(entry, target)


def _link_or_copy(source: str | os.PathLike, target: str | os.PathLike) -> None:
    try:
        os.link(source, target)
    except OSError:
        shutil.copy2(source, target)


def _swap_in(staging: Path, directory: Path) -> None:
    """Put `staging` where `directory` is, in one step where the system can; afterwards `staging` holds the old folder."""
    try:
        _exchange(staging, directory)
        return
    except FileNotFoundError:  # no folder there yet
        os.rename(staging, directory)
        return
    except OSError as error:
        if error.errno not in (errno.ENOSYS, errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
    old = staging.with_name(staging.name[: -len(_STAGED)] + _OLD)
    os.rename(directory, old)
    try:
        os.rename(staging, directory)
    except BaseException:
        os.rename(old, directory)
        raise
    os.rename(old, staging)


def _exchange(a: Path, b: Path) -> None:
    """Swap two paths in one step (Linux renameat2 with RENAME_EXCHANGE); OSError where the system cannot."""
    renameat2 = getattr(_libc(), "renameat2", None)
    if renameat2 is None:
        raise OSError(errno.ENOSYS, "renameat2 is not available here")
    if renameat2(_AT_FDCWD, os.fsencode(a), _AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) != 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code), str(a), None, str(b))


@functools.cache
def _libc():
    if not sys.platform.startswith("linux"):
        return None
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


def _recover(directory: Path) -> None:
    """Undo what killed writers left beside `directory`: a folder moved aside by the fallback goes
    back where it was missing, and their staged and old folders are removed."""
    for sibling in directory.parent.glob(f".{glob.escape(directory.name)}.*"):
        suffix = _STAGED if sibling.name.endswith(_STAGED) else _OLD if sibling.name.endswith(_OLD) else None
        pid = sibling.name[len(directory.name) + 2:].split(".", 1)[0]
        if suffix is None or not pid.isdigit() or psutil.pid_exists(int(pid)):
            continue
        if suffix == _OLD and not directory.exists():
            os.rename(sibling, directory)
        else:
            shutil.rmtree(sibling, ignore_errors=True)


def _fsync_folder(folder: Path) -> None:
    """Make a folder's entries durable (no-op where folders cannot be opened, as on Windows)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)
