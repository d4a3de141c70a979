"""Large uint8 arrays as one `.npy` file: written row batch by row batch, read memory-mapped.

    with RowWriter(directory / ".thumbs.npy.tmp", (64, 64, 3), capacity=30_000) as rows:
        rows.append(batch)                      # sequential writes: the pages stay in the file cache
    thumbnails = open_rows(path)                # np.memmap: a server pages in only what it shows

The writer's file is a staging file: its owner renames it into place (explorer.atomic) once the
rows are complete, so a reader (which may have the previous file mapped) never sees it half written.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from types import TracebackType

import numpy as np

CHUNK_BYTES = 1 << 20
# Room in the header for any row count the capacity allowed: the shape is written once more at the end.
HEADER_BYTES = 128


class RowWriter:
    """Append (n, *row_shape) batches of one dtype to a .npy file; on a clean exit the header
    holds the rows written (at most `capacity`), else the file is removed."""

    def __init__(self, path: str | os.PathLike, row_shape: tuple[int, ...], capacity: int, dtype: str = "uint8"):
        self.path = Path(path)
        self.row_shape = tuple(int(side) for side in row_shape)
        self.capacity = int(capacity)
        self.dtype = np.dtype(dtype)
        self.count = 0
        self._stream = None

    def __enter__(self) -> "RowWriter":
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._stream = open(self.path, "wb")
        self._write_header(self.capacity)
        return self

    def append(self, rows: np.ndarray) -> None:
        """Write `rows` after those written so far."""
        rows = np.ascontiguousarray(rows, dtype=self.dtype)
        if rows.shape[1:] != self.row_shape:
            raise ValueError(f"rows must have shape (n, {', '.join(map(str, self.row_shape))}), got {rows.shape}")
        if self.count + len(rows) > self.capacity:
            raise ValueError(f"{self.count + len(rows)} rows exceed the writer's capacity of {self.capacity}")
        self._stream.write(rows.tobytes())
        self.count += len(rows)

    def __exit__(self, kind: type | None, error: BaseException | None, trace: TracebackType | None) -> None:
        stream, self._stream = self._stream, None
        if kind is not None:
            stream.close()
            self.path.unlink(missing_ok=True)
            return
        self._write_header(self.count, stream)
        stream.truncate(HEADER_BYTES + self.count * self.dtype.itemsize * int(np.prod(self.row_shape)))
        stream.flush()
        os.fsync(stream.fileno())
        stream.close()
        os.chmod(self.path, 0o644)

    def _write_header(self, count: int, stream=None) -> None:
        stream = stream or self._stream
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (count, *self.row_shape)}
        text = repr(header).encode("latin1")
        magic = np.lib.format.magic(1, 0)
        padding = HEADER_BYTES - len(magic) - 2 - len(text) - 1
        if padding < 0:
            raise ValueError(f"the header of {self.path} does not fit in {HEADER_BYTES} bytes")
        stream.seek(0)
        stream.write(magic + (HEADER_BYTES - len(magic) - 2).to_bytes(2, "little") + text + b" " * padding + b"\n")
        stream.seek(0, os.SEEK_END)


def open_rows(path: str | os.PathLike) -> np.ndarray:
    """A .npy file as a read-only memory map (no pickles)."""
    return np.load(path, mmap_mode="r", allow_pickle=False)


def file_sha256(path: str | os.PathLike) -> str:
    """sha256 hex of a file, read in chunks (a large file never sits in memory whole)."""
    digest = hashlib.sha256()
    with open(path, "rb") as stream:
        while chunk := stream.read(CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()
