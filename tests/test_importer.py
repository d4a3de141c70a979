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
    from explorer.packs import Pack, assets_root, indexes_root

    fresh = Pack("mine", assets_root() / "mine", indexes_root() / "mine")
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


def test_a_reimport_replaces_the_index_folder_whole_and_one_that_fails_changes_nothing(user_code, monkeypatch):
    import explorer.index
    from explorer.packs import assets_root, indexes_root

    _, images, _ = user_code
    import_pack("mine", "usermodels:make", images, pool_size=4, progress=False)
    folder, card = indexes_root() / "mine", assets_root() / "mine" / "card.json"
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
    assert sorted(path.name for path in folder.iterdir()) == ["index.faiss", "index.json", "validation.npz"]
    assert pack.index.metric == "cosine" and open_pack("mine").card["index"]["metric"] == "cosine"
