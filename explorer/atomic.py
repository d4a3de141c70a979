"""Atomic file writes: a temporary file beside the target, fsynced, then renamed into place.

A crash or an exception mid-write leaves the previous file untouched and no temporary behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO


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


def staging_path(path: str | os.PathLike) -> Path:
    """A new, empty temporary file beside `path`, for a writer that streams into it and hands it
    to `write_all_or_nothing` (or removes it)."""
    handle, temp_name = _stage(Path(path))
    os.close(handle)
    return Path(temp_name)


def write_all_or_nothing(directory: str | os.PathLike, files: list[tuple[str, bytes | Path]]) -> None:
    """Stage every (name, bytes) in `directory`, then rename each into place; a staging failure
    removes what was staged and leaves the previous files untouched. A Path instead of bytes is a
    file already staged in `directory` (see `staging_path`): it is renamed, or removed on failure."""
    directory = Path(directory)
    staged: list[tuple[str, str]] = []
    try:
        for name, data in files:
            if isinstance(data, Path):
                staged.append((str(data), name))
                continue
            handle, temp_name = _stage(directory / name)
            staged.append((temp_name, name))
            with os.fdopen(handle, "wb") as stream:
                stream.write(data)
                stream.flush()
                os.fsync(stream.fileno())
            os.chmod(temp_name, 0o644)
    except BaseException:
        for temp_name in {temp for temp, _ in staged} | {str(data) for _, data in files if isinstance(data, Path)}:
            Path(temp_name).unlink(missing_ok=True)
        raise
    for temp_name, name in staged:
        os.replace(temp_name, directory / name)
