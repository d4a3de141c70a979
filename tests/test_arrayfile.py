"""Row-batch writing of one .npy file, read back memory-mapped."""

import numpy as np
import pytest

from explorer.arrayfile import RowWriter, file_sha256, open_rows


def test_rows_written_in_batches_read_back_as_a_memory_map(tmp_path):
    rows = np.random.default_rng(0).integers(0, 256, (25, 4, 3, 1), dtype=np.uint8)
    with RowWriter(tmp_path / "rows.npy", (4, 3, 1), capacity=25) as writer:
        for start in range(0, 25, 7):
            writer.append(rows[start : start + 7])
    mapped = open_rows(tmp_path / "rows.npy")
    assert isinstance(mapped, np.memmap) and not mapped.flags.writeable
    np.testing.assert_array_equal(mapped, rows)
    np.testing.assert_array_equal(np.load(tmp_path / "rows.npy"), rows)  # a plain .npy file


def test_fewer_rows_than_the_capacity_give_a_file_of_that_many(tmp_path):
    with RowWriter(tmp_path / "rows.npy", (2,), capacity=1_000_000) as writer:
        writer.append(np.ones((3, 2), np.uint8))
    assert open_rows(tmp_path / "rows.npy").shape == (3, 2)
    assert (tmp_path / "rows.npy").stat().st_size == 128 + 6


def test_a_failed_write_removes_the_file(tmp_path):
    with pytest.raises(RuntimeError, match="stop"):
        with RowWriter(tmp_path / "rows.npy", (2,), capacity=4) as writer:
            writer.append(np.ones((3, 2), np.uint8))
            raise RuntimeError("stop")
    assert not (tmp_path / "rows.npy").exists()


def test_rows_of_the_wrong_shape_or_beyond_the_capacity_are_refused(tmp_path):
    with RowWriter(tmp_path / "rows.npy", (2,), capacity=4) as writer:
        with pytest.raises(ValueError, match=r"rows must have shape \(n, 2\)"):
            writer.append(np.ones((3, 3), np.uint8))
        with pytest.raises(ValueError, match="exceed the writer's capacity of 4"):
            writer.append(np.ones((5, 2), np.uint8))


def test_file_sha256_is_the_sha256_of_the_bytes(tmp_path):
    import hashlib

    (tmp_path / "data").write_bytes(b"x" * 3_000_000)
    assert file_sha256(tmp_path / "data") == hashlib.sha256(b"x" * 3_000_000).hexdigest()
