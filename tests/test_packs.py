"""Packs on disk: listing, opening, their lazy model / index / pool, and clear errors."""

import hashlib
import json
import sys
import threading
import types
from pathlib import Path

import numpy as np
import pytest
import torch

from explorer import packs
from explorer.commands import packs as packs_command
from explorer.models import ExplorableModel
from explorer.models.vae import ConvVAE
from explorer.packs import DEFAULT_PACK, PackError, list_packs, open_pack


def _write_pack(root, name: str, dataset: str = "digits") -> None:
    vae = ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8)
    pack_dir = root / name
    pack_dir.mkdir(parents=True)
    half = {k: v.half() if v.is_floating_point() else v for k, v in vae.state_dict().items()}
    torch.save(half, pack_dir / "model.pt")
    card = {
        "dataset": {"name": dataset},
        "model": {"type": "vae", "architecture": "ConvVAE", "config": vae.config, "latent_dim": 4,
                  "parameters": sum(p.numel() for p in vae.parameters()),
                  "weights_sha256": hashlib.sha256((pack_dir / "model.pt").read_bytes()).hexdigest()},
        "quality": {"recon_mse_per_pixel": 0.0123},
    }
    (pack_dir / "card.json").write_text(json.dumps(card))


@pytest.fixture
def roots(tmp_path, monkeypatch):
    assets, indexes = tmp_path / "assets", tmp_path / "indexes"
    for name in ("glyphs", DEFAULT_PACK, "fashion"):
        _write_pack(assets, name)
    (assets / "half-trained").mkdir()  # no card.json: not a pack
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(assets))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(indexes))
    monkeypatch.setenv("LATENT_EXPLORER_HOME", str(tmp_path / "home"))
    return assets, indexes


@pytest.fixture
def user_pack(roots, tmp_path):
    """A pack named 'mine' in the user data folder, and one that a shipped pack's name hides."""
    _write_pack(tmp_path / "home" / "assets", "mine")
    _write_pack(tmp_path / "home" / "assets", "glyphs", dataset="hidden")
    return tmp_path / "home"


def test_roots_follow_the_environment_at_access_time(roots):
    assets, indexes = roots
    assert (packs.ASSETS_DIR, packs.INDEXES_DIR) == (assets, indexes)


def test_roots_default_to_the_repository(monkeypatch):
    monkeypatch.delenv("LATENT_EXPLORER_ASSETS", raising=False)
    monkeypatch.delenv("LATENT_EXPLORER_INDEXES", raising=False)
    assert packs.ASSETS_DIR == packs.REPO_ROOT / "assets" and packs.INDEXES_DIR == packs.REPO_ROOT / "indexes"
    assert (packs.REPO_ROOT / "explorer" / "packs.py").is_file()


def test_roots_in_a_wheel_are_the_packaged_copies(monkeypatch, tmp_path):
    monkeypatch.delenv("LATENT_EXPLORER_ASSETS", raising=False)
    monkeypatch.delenv("LATENT_EXPLORER_INDEXES", raising=False)
    (tmp_path / "shipped" / "assets").mkdir(parents=True)
    monkeypatch.setattr(packs, "WHEEL_PACKS", tmp_path / "shipped")
    assert (packs.assets_root(), packs.indexes_root()) == (tmp_path / "shipped" / "assets",
                                                           tmp_path / "shipped" / "indexes")


def test_user_home_is_the_platform_data_folder_unless_overridden(monkeypatch, tmp_path):
    import platformdirs

    monkeypatch.delenv("LATENT_EXPLORER_HOME", raising=False)
    assert packs.user_home() == Path(platformdirs.user_data_dir("latent-explorer", appauthor=False))
    monkeypatch.setenv("LATENT_EXPLORER_HOME", str(tmp_path))
    assert packs.user_root() == packs.PackRoot("user", tmp_path / "assets", tmp_path / "indexes")


def test_user_packs_are_listed_after_shipped_ones_and_open_from_the_user_folder(user_pack):
    assert list_packs() == [DEFAULT_PACK, "fashion", "glyphs", "mine"]
    pack = open_pack("mine")
    assert pack.assets_dir == user_pack / "assets" / "mine" and pack.index_dir == user_pack / "indexes" / "mine"
    assert open_pack("glyphs").dataset_name == "digits"  # the shipped one wins


def test_list_packs_puts_the_default_first_and_skips_dirs_without_a_card(roots):
    assert list_packs() == [DEFAULT_PACK, "fashion", "glyphs"]


def test_open_pack_exposes_card_paths_and_weights_hash(roots):
    assets, indexes = roots
    pack = open_pack("glyphs")
    assert (pack.name, pack.assets_dir, pack.index_dir) == ("glyphs", assets / "glyphs", indexes / "glyphs")
    assert pack.dataset_name == "digits" and pack.card["model"]["latent_dim"] == 4
    assert pack.weights_hash == hashlib.sha256((assets / "glyphs" / "model.pt").read_bytes()).hexdigest()[:16]


def test_open_pack_is_cached_per_process(roots):
    assert open_pack("fashion") is open_pack("fashion")


def test_model_is_a_cpu_explorable_model_built_once_across_threads(roots, monkeypatch):
    pack = open_pack(DEFAULT_PACK)
    builds = []
    original = packs.Pack._load_model
    monkeypatch.setattr(packs.Pack, "_load_model", lambda self: builds.append(1) or original(self))
    models = []
    threads = [threading.Thread(target=lambda: models.append(pack.model)) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(builds) == 1 and all(model is models[0] for model in models)
    assert isinstance(models[0], ExplorableModel) and models[0].device == torch.device("cpu")
    assert models[0].decode_latents(np.zeros((2, 4))).shape == (2, 16, 16, 1)


def test_index_and_pool_load_lazily_with_the_weights_hash(roots, monkeypatch):
    calls = []
    index_module, pool_module = types.ModuleType("explorer.index"), types.ModuleType("explorer.pool")
    def loader(kind):
        return lambda path, weights_hash: calls.append((kind, path, weights_hash)) or kind

    index_module.PackIndex = types.SimpleNamespace(load=loader("index"))
    pool_module.SamplerPool = types.SimpleNamespace(load=loader("pool"))
    monkeypatch.setitem(sys.modules, "explorer.index", index_module)
    monkeypatch.setitem(sys.modules, "explorer.pool", pool_module)
    pack = open_pack("fashion")
    assert (pack.index, pack.index, pack.pool) == ("index", "index", "pool")
    assert calls == [("index", pack.index_dir, pack.weights_hash),
                     ("pool", pack.index_dir / "pool.npz", pack.weights_hash)]


def test_unknown_pack_lists_the_installed_ones(roots):
    with pytest.raises(PackError, match=r"unknown pack 'nope'; installed packs: emoji, fashion, glyphs"):
        open_pack("nope")


def test_path_like_pack_names_are_unknown(roots):
    with pytest.raises(PackError, match="unknown pack"):
        open_pack("../assets")


def test_missing_card_is_named(roots):
    with pytest.raises(PackError, match="no readable card.json.*installed packs: emoji"):
        open_pack("half-trained")


def test_corrupt_card_is_named(roots):
    assets, _ = roots
    (assets / "glyphs" / "card.json").write_text("{not json")
    with pytest.raises(PackError, match="glyphs.*not valid JSON"):
        open_pack("glyphs")


def test_missing_weights_are_named(roots):
    assets, _ = roots
    (assets / "glyphs" / "model.pt").unlink()
    with pytest.raises(PackError, match="no readable model.pt.*latent-explorer train --pack glyphs"):
        open_pack("glyphs")


def test_weights_that_do_not_match_the_card_are_refused(roots):
    assets, _ = roots
    (assets / "glyphs" / "model.pt").write_bytes(b"something else")
    with pytest.raises(PackError, match="does not match its card"):
        open_pack("glyphs")


def test_packs_command_prints_key_figures_per_pack(roots, capsys):
    _, indexes = roots
    (indexes / "fashion").mkdir(parents=True)
    (indexes / "fashion" / "pool.npz").write_bytes(b"")
    assert packs_command.run(None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0] == f"shipped packs: {roots[0]} (indexes: {indexes})"
    assert lines[1].startswith("user packs: ") and lines[1].split()[2].endswith("assets")
    lines = lines[2:]
    assert [line.split()[0] for line in lines] == [DEFAULT_PACK, "fashion", "glyphs"]
    assert "(default)" in lines[0] and "latent=4" in lines[0] and "recon_mse=0.0123/px" in lines[0]
    assert "index=no training=no pool=yes" in lines[1] and "dataset=digits" in lines[1]


def test_packs_command_says_where_each_pack_lives(user_pack, capsys):
    assert packs_command.run(None) == 0
    lines = capsys.readouterr().out.splitlines()
    assert f"user packs: {user_pack / 'assets'}" in lines[1]
    where = {line.split()[0]: line.replace("(default)", "").split()[1] for line in lines[2:]}
    assert where == {DEFAULT_PACK: "shipped", "fashion": "shipped", "glyphs": "shipped", "mine": "user"}
