"""`latent-explorer index`: encode a pack's held-out images into its FAISS index, and its training
images into the training split that attribute vectors are built on."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `latent-explorer index`."""
    parser.add_argument("--pack", required=True, help="name of the installed pack to index")
    parser.add_argument("--split", default="validation", choices=("train", "validation"),
                        help="the split to index (default: validation, the held-out images)")
    parser.add_argument("--no-training", action="store_true",
                        help="do not encode the training split (training.npz: latents and labels, no images)")
    parser.add_argument(
        "--metric", choices=("cosine", "l2"), default=None, help="default: the pack card's index.metric, else l2"
    )
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu, cuda or cuda:N")
    parser.add_argument("--batch-size", type=int, default=256, help="images encoded at once (default 256)")


def run(args: argparse.Namespace) -> int:
    """Build the pack's index from its dataset split and save it under the pack's index folder,
    then (unless --no-training) encode and save the training split beside it."""
    from explorer.data.base import DatasetUnavailable
    from explorer.devices import resolve_device
    from explorer.importer import pack_dataset
    from explorer.index import build_pack_index
    from explorer.packs import open_pack
    from explorer.training import build_training_split

    if args.batch_size < 1:
        print(f"--batch-size must be >= 1, got {args.batch_size}", file=sys.stderr)
        return 2
    try:
        device = resolve_device(args.device)
    except ValueError as error:
        print(f"latent-explorer index: {error}", file=sys.stderr)
        return 2
    pack = open_pack(args.pack)
    try:
        dataset = pack_dataset(pack, args.split)
        pack.index_dir.mkdir(parents=True, exist_ok=True)
        index = build_pack_index(pack, dataset, args.batch_size, device, metric=args.metric, stage_in=pack.index_dir)
        del dataset  # the training images need the memory next
        directory = index.save(pack.index_dir)
        params = index.metadata["index"]
        print(f"indexed {len(index)} {args.split} images of pack {pack.name!r} "
              f"({index.metric}, {params['kind']}) on {device}")
        if not args.no_training:
            training = build_training_split(pack, pack_dataset(pack, "train"), args.batch_size, device)
            print(f"encoded {len(training)} training images to {training.save(pack.index_dir)}")
    except DatasetUnavailable as error:
        print(f"cannot index pack {pack.name!r}: {error}", file=sys.stderr)
        return 1
    print(f"saved to {directory}")
    return 0
