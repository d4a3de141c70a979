"""Training loops: one-epoch runs, resumption, atomic checkpoints and the model card."""

import hashlib
import json

import numpy as np
import pytest
import torch
from PIL import Image
from sklearn.datasets import load_digits

from explorer import train as training
from explorer.cli import main
from explorer.data.base import ImageDataset
from explorer.models import check_contract, load_builtin
from explorer.train import Recipe, atomic_write, train_model

TINY_VAE = Recipe("digits", "vae", dict(latent_dim=4, base_width=8, max_width=16), epochs=1, batch_size=64)
TINY_GAN = Recipe("digits", "gan", dict(latent_dim=4, base_width=8, max_width=16), epochs=1, batch_size=64,
                  learning_rate=2e-4, encoder_epochs=1)


def _digits(split: str, rows: slice) -> ImageDataset:
    digits = load_digits()
    # 8×8 in 0..16 -> 16×16 uint8, the smallest size the conv stacks take.
    images = np.kron(digits.images[rows], np.ones((2, 2))) * (255 / 16)
    return ImageDataset(name="digits", split=split, images=images.round().astype(np.uint8)[..., None],
                        labels={"digit": digits.target[rows].astype(np.int64)},
                        categories={"digit": [str(d) for d in range(10)]},
                        licence="BSD-3-Clause", source="scikit-learn load_digits")


@pytest.fixture(scope="module")
def splits() -> tuple[ImageDataset, ImageDataset]:
    return _digits("train", slice(0, 256)), _digits("validation", slice(256, 336))


@pytest.fixture(scope="module")
def vae_pack(tmp_path_factory, splits):
    pack_dir = tmp_path_factory.mktemp("out") / "tiny"
    card = train_model(TINY_VAE, *splits, pack_dir=pack_dir, device="cpu", seed=3, progress=False)
    return pack_dir, card


def _state(pack_dir) -> dict:
    return torch.load(pack_dir / "model.pt", weights_only=True)


def test_vae_epoch_writes_the_pack_files_and_no_checkpoint(vae_pack):
    pack_dir, _ = vae_pack
    assert sorted(p.name for p in pack_dir.iterdir()) == ["card.json", "model.pt", "reconstructions.png", "samples.png"]


def test_trained_weights_are_float16_and_rebuild_into_a_contract_model(vae_pack):
    pack_dir, card = vae_pack
    assert all(v.dtype == torch.float16 for v in _state(pack_dir).values() if v.is_floating_point())
    check_contract(load_builtin(card, pack_dir / "model.pt"))


def test_card_describes_data_model_training_and_quality(vae_pack):
    pack_dir, card = vae_pack
    assert json.loads((pack_dir / "card.json").read_text()) == card
    assert card["dataset"] == {"name": "digits", "licence": "BSD-3-Clause", "source": "scikit-learn load_digits",
                               "image_shape": [16, 16, 1], "train_images": 256, "validation_images": 80, "limit": None}
    model = card["model"]
    assert (model["type"], model["architecture"], model["latent_dim"]) == ("vae", "ConvVAE", 4)
    assert model["prior"] == "gaussian"
    assert model["config"]["base_width"] == 8
    assert model["parameters"] == sum(p.numel() for p in load_builtin(card, pack_dir / "model.pt").parameters())
    assert model["weights_sha256"] == hashlib.sha256((pack_dir / "model.pt").read_bytes()).hexdigest()
    run = card["training"]
    assert (run["epochs"], run["seed"], run["device"], run["batch_size"]) == (1, 3, "cpu", 64)
    assert run["seconds"] > 0
    quality = card["quality"]
    assert quality["split"] == "validation" and quality["images"] == 80
    assert 0 < quality["recon_mse_per_pixel"] < 1 and quality["recon_bce_per_pixel"] > 0
    assert len(quality["kl_per_dim"]) == 4
    assert quality["kl_total"] == pytest.approx(sum(quality["kl_per_dim"]), abs=1e-3)
    assert 0 <= quality["active_dims"] <= 4


def test_sample_sheet_is_eight_by_eight_upscaled_tiles(vae_pack):
    pack_dir, _ = vae_pack
    assert Image.open(pack_dir / "samples.png").size == (8 * 64, 8 * 64)
    assert Image.open(pack_dir / "reconstructions.png").size == (8 * 64, 8 * 64)


def test_gan_trains_then_its_encoder_and_reports_encoder_error(tmp_path, splits):
    card = train_model(TINY_GAN, *splits, pack_dir=tmp_path / "gan", device="cpu", progress=False)
    assert card["model"]["architecture"] == "GAN"
    assert card["training"]["encoder_epochs"] == 1 and card["training"]["discriminator_parameters"] > 0
    final = card["training"]["final_losses"]
    assert set(final) == {"gan", "encoder"}
    assert set(final["gan"]) == {"d_loss", "g_loss"} and set(final["encoder"]) == {"latent_mse", "recon_mse"}
    assert card["quality"]["latent_mse"] > 0 and 0 < card["quality"]["recon_mse_per_pixel"] < 1
    check_contract(load_builtin(card, tmp_path / "gan" / "model.pt"))


class Interrupted(Exception):
    """Stands in for a killed run (KeyboardInterrupt would stop pytest itself)."""


ORIGINAL_TRAIN_EPOCH = training._Run.train_epoch


def _interrupt_on_call(monkeypatch, call: int) -> list[int]:
    """Make _Run.train_epoch raise Interrupted on its `call`-th call; returns the epochs it ran."""
    original, epochs = ORIGINAL_TRAIN_EPOCH, []

    def train_epoch(self, epoch, batches, bar):
        if len(epochs) + 1 == call:
            raise Interrupted
        epochs.append(epoch)
        return original(self, epoch, batches, bar)

    monkeypatch.setattr(training._Run, "train_epoch", train_epoch)
    return epochs


def test_interrupted_run_resumes_at_the_next_epoch_with_identical_result(tmp_path, splits, monkeypatch):
    settings = dict(epochs=2, device="cpu", seed=5, progress=False)
    train_model(TINY_VAE, *splits, pack_dir=tmp_path / "straight", **settings)

    _interrupt_on_call(monkeypatch, call=2)
    with pytest.raises(Interrupted):
        train_model(TINY_VAE, *splits, pack_dir=tmp_path / "resumed", **settings)
    assert torch.load(tmp_path / "resumed" / "checkpoint.pt", weights_only=True)["epoch"] == 1

    resumed_epochs = _interrupt_on_call(monkeypatch, call=0)
    card = train_model(TINY_VAE, *splits, pack_dir=tmp_path / "resumed", **settings)
    assert resumed_epochs == [1]
    assert card["training"]["epochs"] == 2
    straight, resumed = _state(tmp_path / "straight"), _state(tmp_path / "resumed")
    assert all(torch.equal(straight[key], resumed[key]) for key in straight)


def test_resuming_with_different_settings_is_refused(tmp_path, splits, monkeypatch):
    _interrupt_on_call(monkeypatch, call=2)
    with pytest.raises(Interrupted):
        train_model(TINY_VAE, *splits, pack_dir=tmp_path, epochs=2, device="cpu", seed=1, progress=False)
    with pytest.raises(ValueError, match="seed.*--no-resume"):
        train_model(TINY_VAE, *splits, pack_dir=tmp_path, epochs=2, device="cpu", seed=2, progress=False)
    started = _interrupt_on_call(monkeypatch, call=0)
    train_model(TINY_VAE, *splits, pack_dir=tmp_path, epochs=2, device="cpu", seed=2, resume=False, progress=False)
    assert started == [0, 1]


def test_failed_checkpoint_write_leaves_the_previous_checkpoint_intact(tmp_path, splits, monkeypatch):
    real_save, saves = torch.save, []

    def save_then_fail(obj, file, *args, **kwargs):
        saves.append(1)
        if len(saves) == 2:
            file.write(b"half a checkpoint")
            raise OSError("disk full")
        real_save(obj, file, *args, **kwargs)

    monkeypatch.setattr(torch, "save", save_then_fail)
    with pytest.raises(OSError, match="disk full"):
        train_model(TINY_VAE, *splits, pack_dir=tmp_path, epochs=2, device="cpu", progress=False)
    assert torch.load(tmp_path / "checkpoint.pt", weights_only=True)["epoch"] == 1
    assert [p.name for p in tmp_path.iterdir()] == ["checkpoint.pt"]


def test_atomic_write_keeps_the_old_file_when_writing_fails(tmp_path):
    path = tmp_path / "card.json"
    atomic_write(path, lambda file: file.write(b"old"))

    def fail(file):
        file.write(b"ne")
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        atomic_write(path, fail)
    assert path.read_bytes() == b"old" and [p.name for p in tmp_path.iterdir()] == ["card.json"]


def test_train_command_rejects_an_unknown_pack(tmp_path, capsys):
    assert main(["train", "--pack", "nope", "--out", str(tmp_path)]) == 2
    assert "known packs: emoji, glyphs, fashion, fashion-gan" in capsys.readouterr().err


def test_train_command_trains_a_pack_into_out(tmp_path, monkeypatch, capsys):
    import explorer.data

    calls = []

    def load_dataset(name, split, *, limit=None):
        calls.append((name, split, limit))
        return _digits(split, slice(0, 128) if split == "train" else slice(128, 160))

    monkeypatch.setattr(explorer.data, "load_dataset", load_dataset)
    monkeypatch.setitem(training.RECIPES, "fashion", TINY_VAE)
    args = ["train", "--pack", "fashion", "--epochs", "1", "--device", "cpu", "--seed", "4", "--limit", "128",
            "--out", str(tmp_path), "--no-resume"]
    assert main(args) == 0
    assert calls == [("digits", "train", 128), ("digits", "validation", 128)]
    card = json.loads((tmp_path / "fashion" / "card.json").read_text())
    assert (card["pack"], card["training"]["seed"], card["dataset"]["limit"]) == ("fashion", 4, 128)
    assert f"wrote {tmp_path}/fashion/: ConvVAE" in capsys.readouterr().out


def test_mirroring_flips_a_random_part_of_each_batch_left_right():
    torch.manual_seed(0)
    images = torch.randint(0, 256, (64, 3, 8, 8), dtype=torch.uint8)
    (batch,) = list(training._batches(images, 64, mirror=True))
    originals = images.float() / 255
    # Batches come shuffled: match each image to its source as-is or mirrored.
    as_is = (batch[:, None] == originals[None]).flatten(2).all(2).any(1)
    mirrored = (batch[:, None] == originals.flip(3)[None]).flatten(2).all(2).any(1)
    assert (as_is | mirrored).all() and 10 < mirrored.sum() < 54


def test_snapshot_epochs_are_evenly_spaced_and_end_at_the_last():
    assert training.snapshot_epochs(4, 4) == [1, 2, 3, 4]
    assert training.snapshot_epochs(20, 4) == [5, 10, 15, 20]
    assert training.snapshot_epochs(3, 10) == [1, 2, 3]
    assert training.snapshot_epochs(5, 0) == []
    with pytest.raises(ValueError, match="snapshots must be 0 or more"):
        training.snapshot_epochs(5, -1)


def test_snapshots_are_float16_listed_in_the_card_and_load_as_the_pack_architecture(tmp_path, splits):
    from explorer.packs import Pack, PackError

    recipe = Recipe("digits", "vae", TINY_VAE.model, epochs=2, batch_size=64)
    card = train_model(recipe, *splits, pack_dir=tmp_path / "tiny", device="cpu", seed=3, progress=False, snapshots=2)
    assert [entry["epoch"] for entry in card["snapshots"]] == [1, 2]
    files = sorted(p.name for p in (tmp_path / "tiny" / "snapshots").iterdir())
    assert files == ["epoch-001.pt", "epoch-002.pt"]
    first = torch.load(tmp_path / "tiny" / "snapshots" / "epoch-001.pt", weights_only=True)
    assert all(v.dtype == torch.float16 for v in first.values() if v.is_floating_point())
    # the last snapshot is the shipped model
    assert (tmp_path / "tiny" / "snapshots" / "epoch-002.pt").read_bytes() == (tmp_path / "tiny" / "model.pt").read_bytes()
    pack = Pack("tiny", tmp_path / "tiny", tmp_path / "no-index")
    assert pack.snapshot_epochs == [1, 2]
    early, late = pack.snapshot_model(1), pack.snapshot_model(2)
    assert early.latent_dim == late.latent_dim == 4
    assert not np.allclose(early.decode_latents(np.zeros((1, 4))), late.decode_latents(np.zeros((1, 4))))
    with pytest.raises(PackError, match="keeps no snapshot of epoch 7; it keeps epochs: 1, 2"):
        pack.snapshot_model(7)
