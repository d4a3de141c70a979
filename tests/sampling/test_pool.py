"""explorer.pool (build, save, load, draw) and the `latent-explorer pool` command."""

from __future__ import annotations

import argparse
import sys
import types
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from explorer.commands import pool as pool_command
from explorer.models.base import ExplorableModel
from explorer.pool import SamplerPool, build_pool


class _TinyDecoder(nn.Module):
    latent_dim, prior, image_shape = 3, "gaussian", (4, 4, 1)

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.linear = nn.Linear(3, 16)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images.reshape(len(images), -1)[:, :3]

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.linear(latents)).reshape(-1, 1, 4, 4)


@pytest.fixture(scope="module")
def pool() -> SamplerPool:
    return build_pool(_TinyDecoder(), 64, seed=3, batch_size=10, device="cpu", progress=False, weights_hash="abc")


def test_build_pool_stores_prior_latents_with_finite_log_volumes(pool):
    assert pool.latents.shape == (64, 3) and pool.latents.dtype == np.float32
    assert pool.log_volume.shape == (64,) and np.isfinite(pool.log_volume).all()
    assert (pool.prior, pool.seed, pool.weights_hash) == ("gaussian", 3, "abc")
    assert np.ptp(pool.log_volume) > 0


def test_save_then_load_round_trips(pool, tmp_path):
    pool.save(tmp_path / "pool.npz")
    loaded = SamplerPool.load(tmp_path / "pool.npz", weights_hash="abc")
    np.testing.assert_array_equal(loaded.latents, pool.latents)
    np.testing.assert_array_equal(loaded.log_volume, pool.log_volume)
    assert (loaded.prior, loaded.seed, loaded.weights_hash) == (pool.prior, pool.seed, pool.weights_hash)


def test_failed_save_keeps_the_old_file_and_leaves_no_temporary(pool, tmp_path, monkeypatch):
    path = tmp_path / "pool.npz"
    path.write_bytes(b"old pool")

    def broken_savez(file, **arrays):
        file.write(b"half a pool")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        pool.save(path)
    assert path.read_bytes() == b"old pool"
    assert [p.name for p in tmp_path.iterdir()] == ["pool.npz"]


def test_load_refuses_a_pool_built_for_other_weights(pool, tmp_path):
    pool.save(tmp_path / "pool.npz")
    with pytest.raises(ValueError, match="built for weights 'abc'.*'other'.*latent-explorer pool"):
        SamplerPool.load(tmp_path / "pool.npz", weights_hash="other")


@pytest.mark.parametrize("sampler", ["prior", "magnet", "polarity"])
def test_draw_returns_distinct_pool_latents_and_their_ess(pool, sampler):
    latents, ess = pool.draw(sampler, 10, seed=0, rho=-1.0)
    assert latents.shape == (10, 3)
    assert len({row.tobytes() for row in latents}) == 10
    assert all(any(np.array_equal(row, member) for member in pool.latents) for row in latents)
    assert 1.0 <= ess <= 64.0


def test_prior_draw_has_the_full_pool_as_ess(pool):
    assert pool.draw("prior", 5, seed=0)[1] == pytest.approx(64.0)


def test_draw_refuses_an_unknown_sampler(pool):
    with pytest.raises(ValueError, match="sampler"):
        pool.draw("truncated", 5, seed=0)


def test_pool_command_writes_the_pack_pool(tmp_path, monkeypatch, capsys):
    fake_pack = types.SimpleNamespace(
        model=ExplorableModel(_TinyDecoder()), index_dir=tmp_path / "tiny", weights_hash="w1", has_index=False
    )
    packs = types.ModuleType("explorer.packs")
    packs.open_pack = {"tiny": fake_pack}.__getitem__
    monkeypatch.setitem(sys.modules, "explorer.packs", packs)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", torch.backends.cudnn.allow_tf32)  # run() turns it off

    parser = argparse.ArgumentParser()
    pool_command.add_arguments(parser)
    args = parser.parse_args(["--pack", "tiny", "--method", "importance", "--n", "20", "--device", "cpu", "--seed", "5"])
    assert pool_command.run(args) == 0

    written = SamplerPool.load(Path(tmp_path / "tiny" / "pool.npz"), weights_hash="w1")
    assert written.latents.shape == (20, 3) and written.seed == 5
    assert "pool.npz" in capsys.readouterr().out


def _run_pool_command(tmp_path, monkeypatch, argv: list[str]) -> int:
    fake_pack = types.SimpleNamespace(
        model=ExplorableModel(_TinyDecoder()), index_dir=tmp_path / "tiny", weights_hash="w1", has_index=False
    )
    packs = types.ModuleType("explorer.packs")
    packs.open_pack = {"tiny": fake_pack}.__getitem__
    monkeypatch.setitem(sys.modules, "explorer.packs", packs)
    monkeypatch.setattr(torch.backends.cudnn, "allow_tf32", torch.backends.cudnn.allow_tf32)
    parser = argparse.ArgumentParser()
    pool_command.add_arguments(parser)
    return pool_command.run(parser.parse_args(["--pack", "tiny", "--device", "cpu", *argv]))


def test_pool_command_builds_an_adaptive_pool_by_default(tmp_path, monkeypatch, capsys):
    assert _run_pool_command(tmp_path, monkeypatch, ["--n", "64", "--draws", "32", "--rounds", "1", "--rhos=-1,1"]) == 0
    written = SamplerPool.load(tmp_path / "tiny" / "pool.npz", weights_hash="w1")
    assert written.method == "adaptive" and 1 <= written.default_k <= 3
    assert written.build["log_volumes_measured"] == len(written.latents) > 64
    output = capsys.readouterr().out
    assert "adaptive pool" in output and "ESS of a draw: prior" in output


def test_pool_command_refuses_rhos_that_are_not_numbers(tmp_path, monkeypatch, capsys):
    assert _run_pool_command(tmp_path, monkeypatch, ["--rhos=-1,one"]) == 2
    assert "--rhos" in capsys.readouterr().err
