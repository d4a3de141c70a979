"""Bring your own model: a user's model plus a folder of images become a pack in the user data folder.

    latent-explorer import mine --model vae.pt --prior gaussian --images ~/faces/ --attributes list_attr.txt

Every image counts: a seeded `validation_fraction` of the folder (or all of a separate
`validation` folder) is the held-out split, indexed with its thumbnails; the rest is the
training split, encoded to latents and labels only (explorer.training), which attribute vectors
are built on. Both are read and encoded in batches, so a folder of any size imports in bounded
memory; thumbnails go straight to one memory-mapped file.

The card records the model spec instead of shipping weights, with a fingerprint of the model's
parameters: if the model behind the spec changes, the pack refuses to open rather than show an
index built for other weights. Importing runs the user's code; it is an operator's command, never
something a web user can reach.
"""

from __future__ import annotations

import importlib
import json
import tempfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from explorer.atomic import replace_files
from explorer.data.base import ImageSource
from explorer.data.folder import FolderImages
from explorer.packs import CARD_FILE, IMPORTED_TYPE, Pack, PackError, assets_root, user_root

DEFAULT_VALIDATION_FRACTION = 0.15


def pack_dataset(pack: Pack, split: str) -> ImageSource:
    """The images a pack is indexed from: its folder(s) for an imported pack, else its named dataset."""
    if not pack.is_imported:
        from explorer.data import load_dataset

        return load_dataset(pack.dataset_name, split)
    dataset = pack.card["dataset"]
    height, _, channels = pack.card["model"]["image_shape"]
    if dataset.get("validation_path"):
        path, table, fraction = ((dataset["path"], dataset.get("attributes"), 0.0) if split == "train" else
                                 (dataset["validation_path"], dataset.get("validation_attributes"), 1.0))
    else:
        path, table = dataset["path"], dataset.get("attributes")
        fraction = dataset.get("validation_fraction", DEFAULT_VALIDATION_FRACTION)
    return FolderImages(path, split, table, size=height, channels=channels, validation_fraction=fraction)


def import_pack(name: str, spec: str, images: str | Path, attributes: str | Path | None = None, *,
                validation: str | Path | None = None, validation_attributes: str | Path | None = None,
                validation_fraction: float | None = None, prior: str | None = None,
                image_shape: tuple[int, int, int] | None = None, latent_dim: int | None = None,
                metric: str = "l2", pool_size: int = 0, device: str = "cpu", batch_size: int = 256,
                overwrite: bool = False, progress: bool = True) -> Pack:
    """Write the user data folder's assets/<name>/card.json for the model at `spec`, index the
    held-out images and encode the training ones; on failure nothing is left installed."""
    from explorer.models.adapt import class_name, supplied_attributes
    from explorer.models.load import TORCHSCRIPT_SUFFIXES, fingerprint, load_model

    root = user_root()
    if not name or name.startswith(".") or Path(name).name != name:
        raise ValueError(f"pack name must be a plain folder name, got {name!r}")
    if (assets_root() / name / CARD_FILE).is_file():
        raise PackError(f"{name!r} is the name of a shipped pack (in {assets_root()}); choose another name")
    assets_dir, index_dir = root.assets / name, root.indexes / name
    if (assets_dir / CARD_FILE).exists() and not overwrite:
        raise PackError(f"pack {name!r} already exists in {assets_dir}; pass --force to replace it")
    if validation is not None and validation_fraction is not None:
        raise ValueError("give a validation folder or a validation fraction, not both: with a folder, all of it is "
                         "held out and all of the image folder is training")
    fraction = DEFAULT_VALIDATION_FRACTION if validation_fraction is None else float(validation_fraction)
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"validation fraction must be between 0 and 1 (exclusive), got {fraction:g}")
    torchscript = Path(spec).suffix in TORCHSCRIPT_SUFFIXES
    if torchscript:  # record where it is, wherever the server starts
        spec = str(Path(spec).expanduser().resolve())
    model = load_model(spec, latent_dim=latent_dim, prior=prior, image_shape=image_shape)
    weights = fingerprint(model)  # refuses a model that is no nn.Module before anything is read
    height, width, channels = tuple(model.image_shape)
    if height != width:
        raise ValueError(f"imported models need square images (folders are centre-cropped), got {height}×{width}; "
                         "pass --image-shape if the probe got it wrong")
    images, attributes = _existing(images, "image folder"), _existing(attributes, "attribute table")
    validation = _existing(validation, "validation folder")
    validation_attributes = _existing(validation_attributes, "validation attribute table") or attributes
    # Read the folders' file lists and tables before anything is written: a mismatch fails here.
    training_source = FolderImages(images, "train", attributes, size=height, channels=channels,
                                   validation_fraction=0.0 if validation else fraction)
    held_out = (FolderImages(validation, "validation", validation_attributes, size=height, channels=channels,
                             validation_fraction=1.0) if validation else
                FolderImages(images, "validation", attributes, size=height, channels=channels,
                             validation_fraction=fraction))
    if training_source.attribute_names != held_out.attribute_names:
        raise ValueError(f"the attribute tables name different attributes: {training_source.attribute_names} for "
                         f"training, {held_out.attribute_names} for validation")
    card = {
        "format": 1,
        "pack": name,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "dataset": {
            "name": images.name,
            "kind": "folder",
            "path": str(images),
            "attributes": str(attributes) if attributes else None,
            "validation_path": str(validation) if validation else None,
            "validation_attributes": str(validation_attributes) if validation and validation_attributes else None,
            "validation_fraction": None if validation else fraction,
            "train_images": len(training_source),
            "validation_images": len(held_out),
            "licence": "provided by the user",
            "source": str(images),
        },
        "model": {
            "type": IMPORTED_TYPE,
            "architecture": class_name(model),  # what the sidebar and `latent-explorer packs` show
            "format": "TorchScript" if torchscript else "factory",
            "spec": spec,
            "file": spec if torchscript else _module_file(spec),
            "latent_dim": int(model.latent_dim),
            "prior": model.prior,
            "image_shape": [height, width, channels],
            "supplied": supplied_attributes(model),
            "parameters": sum(parameter.numel() for parameter in model.parameters()),
            "weights_sha256": weights,
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
        files = _encoded_files(pack, held_out, training_source, device, batch_size, progress, pool_size)
        replace_files(index_dir, files, keep_others=False)
    replace_files(assets_dir, {CARD_FILE: card_bytes})
    return Pack(name, assets_dir, index_dir)


def _encoded_files(pack: Pack, held_out: FolderImages, training_source: FolderImages, device: str, batch_size: int,
                   progress: bool, pool_size: int) -> dict:
    """The pack's index folder as files by name: the index (thumbnails staged in the folder), the
    training split and, with `pool_size`, the sampler pool."""
    from explorer.index import build_pack_index
    from explorer.training import TRAINING_FILE, build_training_split

    pack.index_dir.mkdir(parents=True, exist_ok=True)
    files = build_pack_index(pack, held_out, batch_size, device, progress, stage_in=pack.index_dir).files(pack.index_dir)
    try:
        files[TRAINING_FILE] = build_training_split(pack, training_source, batch_size, device, progress).write_npz
        if pool_size:
            from explorer.pool import build_pool

            files["pool.npz"] = build_pool(pack.model.model, pool_size, device=device, progress=progress,
                                           weights_hash=pack.weights_hash).write_npz
    except BaseException:
        for contents in files.values():
            if isinstance(contents, Path):
                contents.unlink(missing_ok=True)  # the staged thumbnails
        raise
    return files


def _existing(path: str | Path | None, what: str) -> Path | None:
    if path is None:
        return None
    resolved = Path(path).expanduser().resolve()
    if not (resolved.is_dir() if what.endswith("folder") else resolved.is_file()):
        raise FileNotFoundError(f"{what} {str(resolved)!r} does not exist")
    return resolved


def _module_file(spec: str) -> str | None:
    module: Any = importlib.import_module(spec.partition(":")[0])  # already imported by load_model
    return getattr(module, "__file__", None)
