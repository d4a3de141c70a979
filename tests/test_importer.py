"""Bring-your-own-model: `latent-explorer import` turns a factory spec and an image folder into a pack."""

import sys
import textwrap

import numpy as np
import pytest
from PIL import Image

from explorer.cli import main
from explorer.importer import import_pack
from explorer.packs import PackError, open_pack

FACTORY = """
import torch
from explorer.models.vae import ConvVAE

def make(channels=3):
    torch.manual_seed(SEED)
    return ConvVAE(image_size=32, channels=channels, latent_dim=6, base_width=8, max_width=16)

def make_grey():
    return make(channels=1)
"""


@pytest.fixture
def user_code(tmp_path, monkeypatch):
    """A user's package `usermodels` on sys.path, plus a folder of 40 images with a CelebA table."""
    package = tmp_path / "code"
    package.mkdir()
    (package / "usermodels.py").write_text(textwrap.dedent(FACTORY.replace("SEED", "0")))
    monkeypatch.syspath_prepend(str(package))
    monkeypatch.delitem(sys.modules, "usermodels", raising=False)
    images = tmp_path / "faces"
    images.mkdir()
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        bright = i % 2 == 0
        pixels = rng.integers(150 if bright else 0, 256 if bright else 100, (40, 40, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(images / f"{i:03d}.png")
        rows.append(f"{i:03d}.png {1 if bright else -1}")
    table = tmp_path / "list_attr.txt"
    table.write_text(f"{len(rows)}\nBright\n" + "\n".join(rows) + "\n")
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(tmp_path / "indexes"))
    monkeypatch.setenv("LATENT_EXPLORER_HOME", str(tmp_path / "home"))
    return package, images, table


def test_imported_pack_opens_with_its_model_index_and_labels(user_code):
    _, images, table = user_code
    import_pack("mine", "usermodels:make", images, table, progress=False)
    pack = open_pack("mine")
    assert pack.is_imported and pack.model.latent_dim == 6 and pack.model.image_shape == (32, 32, 3)
    assert len(pack.index) == 6  # the seeded 15% of 40 images
    assert pack.index.labels["Bright"].dtype == bool
    distances, ids = pack.index.search(pack.index.latents[0], 3)
    assert ids[0] == pack.index.ids[0] and distances[0] == pytest.approx(0, abs=1e-5)


def test_grey_model_gets_grey_images(user_code):
    _, images, _ = user_code
    pack = import_pack("grey", "usermodels:make_grey", images, progress=False)
    assert pack.index.thumbnails.shape[1:] == (32, 32, 1)


def test_changed_weights_are_refused_when_the_model_loads(user_code):
    package, images, _ = user_code
    import_pack("mine", "usermodels:make", images, progress=False)
    (package / "usermodels.py").write_text(textwrap.dedent(FACTORY.replace("SEED", "1")))
    sys.modules.pop("usermodels", None)
    from explorer.packs import Pack, user_root

    fresh = Pack("mine", user_root().assets / "mine", user_root().indexes / "mine")
    with pytest.raises(PackError, match="other weights than when it was imported"):
        fresh.model


def test_existing_pack_is_not_replaced_without_force(user_code):
    _, images, _ = user_code
    import_pack("mine", "usermodels:make", images, progress=False)
    with pytest.raises(PackError, match="already exists"):
        import_pack("mine", "usermodels:make", images, progress=False)


def test_import_command_reports_a_broken_spec_clearly(user_code, capsys):
    _, images, _ = user_code
    assert main(["import", "bad", "--model", "usermodels:nothing", "--images", str(images)]) == 1
    assert "has no callable 'nothing'" in capsys.readouterr().err


def test_import_command_makes_a_servable_pack(user_code, capsys):
    _, images, table = user_code
    assert main(["import", "cli", "--model", "usermodels:make", "--images", str(images),
                 "--attributes", str(table), "--device", "cpu"]) == 0
    assert "latent-explorer serve --pack cli" in capsys.readouterr().out


@pytest.mark.slow  # about 40 s: an import, then a server's start and warm-up
def test_a_raw_torchscript_vae_imports_with_a_prior_flag_and_serves(user_code, raw_torchscript_vae, tmp_path):
    import asyncio
    import json
    import os
    import urllib.request

    from explorer.benchmarks.harness import served
    from explorer.benchmarks.protocol import ProtocolClient

    _, images, table = user_code
    assert main(["import", "raw", "--model", str(raw_torchscript_vae), "--prior", "gaussian", "--images", str(images),
                 "--attributes", str(table), "--validation-fraction", "0.5", "--device", "cpu"]) == 0
    card = open_pack("raw").card
    assert card["model"]["supplied"] == {"latent_dim": 5, "prior": "gaussian", "image_shape": [16, 16, 3]}
    env = {key: os.environ[key] for key in ("LATENT_EXPLORER_ASSETS", "LATENT_EXPLORER_INDEXES",
                                            "LATENT_EXPLORER_HOME")}

    async def move_a_slider(url: str) -> float | None:
        client = ProtocolClient(url)
        try:
            await client.open()
            return await client.move(0, 0.5, release=True)
        finally:
            await client.close()

    with served("raw", env) as server:  # served() waits until the page answers 200
        with urllib.request.urlopen(server.url + "health", timeout=30) as response:
            health = json.loads(response.read())
        assert health["status"] == "ok" and [p["name"] for p in health["packs"]] == ["raw"]
        assert asyncio.run(move_a_slider(server.url)) is not None  # a slider move came back as a decoded picture
        assert server.errors() == []


def test_a_missing_prior_is_explained_by_the_import_command(user_code, raw_torchscript_vae, capsys):
    _, images, _ = user_code
    assert main(["import", "raw", "--model", str(raw_torchscript_vae), "--images", str(images)]) == 1
    error = capsys.readouterr().err
    assert "RawVAE has no 'prior'" in error and "--prior gaussian|uniform" in error and "def load():" in error


def test_every_image_counts_the_training_split_is_encoded_with_its_labels(user_code):
    from explorer.data import load_folder

    _, images, table = user_code
    pack = import_pack("mine", "usermodels:make", images, table, progress=False)
    training = open_pack("mine").training
    assert len(training) + len(pack.index) == 40 and training.latents.shape == (34, 6)
    assert training.latents.dtype == np.float32 and training.categories == {}
    expected = load_folder(images, "train", table, size=32)
    np.testing.assert_array_equal(training.labels["Bright"], expected.labels["Bright"])
    np.testing.assert_allclose(training.latents, pack.model.encode_images(expected.images), atol=5e-3)
    assert pack.card["dataset"]["train_images"] == 34 and pack.card["dataset"]["validation_images"] == 6


def test_a_separate_validation_folder_is_all_indexed_and_the_image_folder_all_training(user_code, tmp_path):
    _, images, table = user_code
    held_out = tmp_path / "held-out"
    held_out.mkdir()
    for path in sorted(images.iterdir())[:10]:
        path.rename(held_out / path.name)  # the table names them by file name: it labels both folders
    pack = import_pack("split", "usermodels:make", images, table, validation=held_out, progress=False)
    assert (len(pack.index), len(pack.training)) == (10, 30)
    np.testing.assert_array_equal(pack.index.labels["Bright"], np.arange(10) % 2 == 0)
    with pytest.raises(ValueError, match="not both"):
        import_pack("both", "usermodels:make", images, validation=held_out, validation_fraction=0.3,
                    progress=False)


def test_the_card_says_what_the_model_is(user_code, raw_torchscript_vae):
    _, images, _ = user_code
    card = import_pack("raw", str(raw_torchscript_vae), images, prior="gaussian", validation_fraction=0.5,
                       progress=False).card
    model = card["model"]
    assert (model["architecture"], model["format"], model["file"]) == ("RawVAE", "TorchScript",
                                                                       str(raw_torchscript_vae))
    assert (model["latent_dim"], model["prior"], model["image_shape"]) == (5, "gaussian", [16, 16, 3])
    assert model["parameters"] > 0 and card["dataset"]["name"] == images.name == "faces"
    factory = import_pack("factory", "usermodels:make", images, progress=False).card["model"]
    assert factory["architecture"] == "ConvVAE" and factory["file"].endswith("usermodels.py")
    assert factory["supplied"] == {}


def test_imported_packs_go_to_the_user_data_folder(user_code, tmp_path):
    from explorer.packs import list_packs

    _, images, _ = user_code
    pack = import_pack("mine", "usermodels:make", images, progress=False)
    assert pack.assets_dir == tmp_path / "home" / "assets" / "mine"
    assert pack.index_dir == tmp_path / "home" / "indexes" / "mine"
    assert not (tmp_path / "assets").exists() and list_packs() == ["mine"]


def test_a_shipped_packs_name_is_refused(user_code, tmp_path):
    _, images, _ = user_code
    (tmp_path / "assets" / "emoji").mkdir(parents=True)
    (tmp_path / "assets" / "emoji" / "card.json").write_text("{}")
    with pytest.raises(PackError, match="name of a shipped pack"):
        import_pack("emoji", "usermodels:make", images, progress=False)


def test_a_failed_import_leaves_no_pack_behind(user_code, monkeypatch):
    from explorer import training

    _, images, _ = user_code

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(training, "build_training_split", broken)
    with pytest.raises(OSError, match="disk full"):
        import_pack("mine", "usermodels:make", images, progress=False)
    with pytest.raises(PackError, match="unknown pack 'mine'"):
        open_pack("mine")


def test_a_reimport_replaces_the_index_folder_whole_and_one_that_fails_changes_nothing(user_code, monkeypatch):
    import explorer.index

    _, images, _ = user_code
    first = import_pack("mine", "usermodels:make", images, pool_size=4, progress=False)
    folder, card = first.index_dir, first.assets_dir / "card.json"
    before = {path.name: path.read_bytes() for path in folder.iterdir()}
    assert "pool.npz" in before

    def fails(*args, **kwargs):
        raise RuntimeError("encoder crashed")

    with monkeypatch.context() as patch:
        patch.setattr(explorer.index, "build_pack_index", fails)
        card_before = card.read_bytes()
        with pytest.raises(RuntimeError, match="encoder crashed"):
            import_pack("mine", "usermodels:make", images, metric="cosine", overwrite=True, progress=False)
    assert {path.name: path.read_bytes() for path in folder.iterdir()} == before and card.read_bytes() == card_before
    pack = import_pack("mine", "usermodels:make", images, metric="cosine", overwrite=True, progress=False)
    assert sorted(path.name for path in folder.iterdir()) == ["index.faiss", "index.json", "training.npz",
                                                              "validation.npz", "validation.thumbnails.npy"]
    assert pack.index.metric == "cosine" and open_pack("mine").card["index"]["metric"] == "cosine"
