"""Bring your own model: a user's model plus a folder of held-out images become a pack.

    latent-explorer import mine --model mypkg.models:make_vae --images ~/faces/ --attributes list_attr.txt

The card records the model spec instead of shipping weights, with a fingerprint of the model's
parameters: if the model behind the spec changes, the pack refuses to open rather than show an
index built for other weights. Importing runs the user's code; it is an operator's command, never
something a web user can reach.
"""

from __future__ import annotations

import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from explorer.atomic import replace_files
from explorer.data.base import ImageDataset
from explorer.data.folder import load_folder
from explorer.packs import CARD_FILE, IMPORTED_TYPE, Pack, PackError, assets_root, indexes_root


def pack_dataset(pack: Pack, split: str) -> ImageDataset:
    """The images a pack is indexed from: its folder for an imported pack, else its named dataset."""
    if not pack.is_imported:
        from explorer.data import load_dataset

        return load_dataset(pack.dataset_name, split)
    dataset = pack.card["dataset"]
    height, _, channels = pack.card["model"]["image_shape"]
    images = load_folder(dataset["path"], split, dataset.get("attributes"), size=height)
    return images if channels == 3 else _to_grey(images)


def _to_grey(dataset: ImageDataset) -> ImageDataset:
    grey = (dataset.images.astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round()
    return ImageDataset(dataset.name, dataset.split, grey.astype(np.uint8)[..., None], dataset.labels,
                        dataset.categories, dataset.licence, dataset.source, dataset.image_names)


def import_pack(name: str, spec: str, images: str | Path, attributes: str | Path | None = None, *,
                metric: str = "l2", pool_size: int = 0, device: str = "cpu", overwrite: bool = False,
                progress: bool = True) -> Pack:
    """Write assets/<name>/card.json for the model at `spec`, then index the folder's held-out split."""
    from explorer.index import build_pack_index
    from explorer.models.load import fingerprint, load_model

    if not name or name.startswith(".") or Path(name).name != name:
        raise ValueError(f"pack name must be a plain folder name, got {name!r}")
    assets_dir, index_dir = assets_root() / name, indexes_root() / name
    if (assets_dir / CARD_FILE).exists() and not overwrite:
        raise PackError(f"pack {name!r} already exists in {assets_dir}; pass --force to replace it")
    if Path(spec).suffix:  # a TorchScript file: record where it is, wherever the server starts
        spec = str(Path(spec).expanduser().resolve())
    model = load_model(spec)
    height, width, channels = tuple(model.image_shape)
    if height != width:
        raise ValueError(f"imported models need square images (folders are centre-cropped), got {height}×{width}")
    images = Path(images).expanduser().resolve()
    if not images.is_dir():
        raise FileNotFoundError(f"image folder {str(images)!r} does not exist")
    card = {
        "format": 1,
        "pack": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "name": "folder",
            "path": str(images),
            "attributes": str(Path(attributes).expanduser().resolve()) if attributes else None,
            "licence": "provided by the user",
            "source": str(images),
        },
        "model": {
            "type": IMPORTED_TYPE,
            "spec": spec,
            "latent_dim": int(model.latent_dim),
            "prior": model.prior,
            "image_shape": [height, width, channels],
            "weights_sha256": fingerprint(model),
        },
        "index": {"metric": metric},
    }
    card_bytes = json.dumps(card, indent=1).encode()
    # The index folder is replaced as a whole (this pack's files only), then the card: killed on
    # the way, the pack is the old one (or none), or the new one. Only between those two renames
    # would a re-import (--force) leave the new index under the old card, which the pack refuses.
    with tempfile.TemporaryDirectory(prefix="latent-explorer-import-") as staged_assets:
        (Path(staged_assets) / CARD_FILE).write_bytes(card_bytes)
        pack = Pack(name, Path(staged_assets), index_dir)
        files = build_pack_index(pack, pack_dataset(pack, "validation"), device=device, progress=progress).files()
        if pool_size:
            from explorer.pool import build_pool

            files["pool.npz"] = build_pool(pack.model.model, pool_size, device=device, progress=progress,
                                           weights_hash=pack.weights_hash).write_npz
        replace_files(index_dir, files, keep_others=False)
    replace_files(assets_dir, {CARD_FILE: card_bytes})
    return Pack(name, assets_dir, index_dir)
