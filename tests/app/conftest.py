"""A tiny pack built in a temporary folder, for the app's state tests and the browser tests.

`build_tiny_pack(root)` writes `root/assets/digits-tiny/` and `root/indexes/digits-tiny/`: a
small ConvVAE on 16×16 grey scikit-learn digits, trained for a couple of seconds so pictures
differ visibly, its index of 400 held-out digits with labels (digit, even, loop, large), the
encoded training split (the other 1,397 digits, same labels) and a sampler pool. The
`tiny_pack` fixture builds it once per test session and points LATENT_EXPLORER_ASSETS /
LATENT_EXPLORER_INDEXES at it.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from pathlib import Path

import numpy as np
import pytest

PACK = "digits-tiny"
IMAGE_SIZE = 16
LATENT_DIM = 8
HELD_OUT = 400


def digits_images() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digits as uint8 (N, 16, 16, 1) and their classes."""
    from PIL import Image
    from sklearn.datasets import load_digits

    digits = load_digits()
    small = (digits.images / 16.0 * 255.0).astype(np.uint8)
    images = np.stack([np.asarray(Image.fromarray(x).resize((IMAGE_SIZE, IMAGE_SIZE), Image.Resampling.BILINEAR))
                       for x in small])
    return images[:, :, :, None], digits.target.astype(np.int64)


def build_tiny_pack(root: str | os.PathLike, steps: int = 300, seed: int = 0) -> dict[str, str]:
    """Write the tiny pack under root; returns the environment variables that point at it."""
    import torch

    from explorer.models.vae import ConvVAE
    from explorer.packs import open_pack

    root = Path(root)
    assets, indexes = root / "assets" / PACK, root / "indexes" / PACK
    env = {"LATENT_EXPLORER_ASSETS": str(root / "assets"), "LATENT_EXPLORER_INDEXES": str(root / "indexes")}
    if (indexes / "pool.npz").is_file():
        return env
    assets.mkdir(parents=True, exist_ok=True)
    images, classes = digits_images()
    held_out = np.arange(len(images)) % 4 == 0
    held_out &= np.cumsum(held_out) <= HELD_OUT

    torch.manual_seed(seed)
    config = dict(image_size=IMAGE_SIZE, channels=1, latent_dim=LATENT_DIM, base_width=8, max_width=16)
    model = ConvVAE(**config)
    optimiser = torch.optim.Adam(model.parameters(), lr=3e-3)
    train = torch.from_numpy(images[~held_out]).permute(0, 3, 1, 2).float() / 255.0
    generator = torch.Generator().manual_seed(seed)
    model.train()
    for _ in range(steps):
        batch = train[torch.randint(len(train), (64,), generator=generator)]
        loss, _ = model.loss(batch)
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
    model.eval()

    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    weights = buffer.getvalue()
    (assets / "model.pt").write_bytes(weights)
    card = {
        "pack": PACK,
        "dataset": {"name": "sklearn-digits", "licence": "BSD-3-Clause", "image_shape": [IMAGE_SIZE, IMAGE_SIZE, 1]},
        "model": {"type": "vae", "architecture": "ConvVAE", "config": config, "latent_dim": LATENT_DIM,
                  "prior": "gaussian", "weights_sha256": hashlib.sha256(weights).hexdigest()},
    }
    (assets / "card.json").write_text(json.dumps(card, indent=2))

    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)  # open_pack reads the roots from the environment
    try:
        pack = open_pack(PACK)
        _write_index_and_pool(pack, images, classes, held_out, seed, indexes)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    return env


def _write_index_and_pool(pack, images, classes, held_out, seed, indexes) -> None:
    from explorer.index import PackIndex
    from explorer.pool import build_pool
    from explorer.training import TrainingSplit

    def labels_of(digit: np.ndarray) -> dict[str, np.ndarray]:
        return {"digit": digit, "even": digit % 2 == 0, "loop": np.isin(digit, [0, 6, 8, 9]), "large": digit >= 5}

    categories = {"digit": [str(i) for i in range(10)]}
    kept = images[held_out]
    latents = pack.model.encode_images(kept)
    PackIndex.create(
        latents, kept, pack=PACK, weights_hash=pack.weights_hash, labels=labels_of(classes[held_out]),
        categories=categories, ids=np.flatnonzero(held_out),
    ).save(indexes)
    TrainingSplit.create(pack.model.encode_images(images[~held_out]), labels_of(classes[~held_out]), categories,
                         pack=PACK, weights_hash=pack.weights_hash).save(indexes)
    build_pool(pack.model.model, 256, seed=seed, device="cpu", progress=False,
               weights_hash=pack.weights_hash).save(indexes / "pool.npz")


@pytest.fixture(scope="session")
def tiny_pack_env(tmp_path_factory) -> dict[str, str]:
    """Environment variables pointing at the tiny pack (built once per test session)."""
    return build_tiny_pack(tmp_path_factory.mktemp("packs"))


@pytest.fixture
def tiny_pack(tiny_pack_env, monkeypatch) -> str:
    """The tiny pack's name, with the pack folders pointed at it for this test."""
    for key, value in tiny_pack_env.items():
        monkeypatch.setenv(key, value)
    return PACK
