"""`latent-explorer import`: make a pack from your own model and a folder of images."""

from __future__ import annotations

import argparse
import sys


def image_shape(text: str) -> tuple[int, int, int]:
    """'H,W,C' -> (H, W, C), for --image-shape."""
    try:
        shape = tuple(int(part) for part in text.replace("x", ",").split(","))
    except ValueError:
        shape = ()
    if len(shape) != 3 or min(shape) < 1 or shape[2] not in (1, 3):
        raise argparse.ArgumentTypeError(f"want H,W,C with C 1 or 3 (e.g. 64,64,3), got {text!r}")
    return shape  # type: ignore[return-value]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", help="the new pack's name (a folder under the user data folder's assets/ and indexes/)")
    parser.add_argument("--model", required=True, metavar="SPEC",
                        help="'package.module:factory' (importable) or a TorchScript file with encode/decode")
    parser.add_argument("--images", required=True, metavar="DIR",
                        help="folder of images: its seeded held-out fraction is indexed, the rest encoded as the "
                             "training split that attribute vectors are built on")
    parser.add_argument("--attributes", metavar="FILE",
                        help="attribute table: CelebA's list_attr_celeba.txt format or a CSV with a filename column")
    parser.add_argument("--validation", metavar="DIR",
                        help="a separate folder of held-out images, all indexed (then all of --images is training)")
    parser.add_argument("--validation-attributes", metavar="FILE",
                        help="attribute table of the --validation folder (default: the --attributes table)")
    parser.add_argument("--validation-fraction", type=float, default=None, metavar="F",
                        help="the fraction of --images held out and indexed, seeded (default: 0.15)")
    model = parser.add_argument_group("what the model does not say itself (each overrides the model's attribute)")
    model.add_argument("--prior", choices=("gaussian", "uniform"), default=None,
                       help="the distribution latents are drawn from")
    model.add_argument("--image-shape", type=image_shape, default=None, metavar="H,W,C",
                       help="the decoded image size (default: probed with one decode)")
    model.add_argument("--latent-dim", type=int, default=None, metavar="N",
                       help="the latent size (default: probed, the size decode accepts and encode returns)")
    parser.add_argument("--metric", choices=("l2", "cosine"), default="l2", help="neighbour metric (default: l2)")
    parser.add_argument("--pool", type=int, default=0, metavar="N",
                        help="also build a sampler pool of N prior latents for MaGNET / polarity (default: none)")
    parser.add_argument("--device", default="auto", help="device for encoding and the pool: auto, cpu, cuda")
    parser.add_argument("--batch-size", type=int, default=256, help="images read and encoded at once (default 256)")
    parser.add_argument("--force", action="store_true", help="replace an existing pack of that name")


def run(args: argparse.Namespace) -> int:
    """Import the model, index its images and print where the pack went."""
    from explorer.data.folder import AttributeTableError
    from explorer.devices import resolve_device
    from explorer.importer import import_pack
    from explorer.models.base import ContractError
    from explorer.packs import PackError

    for flag, value, least in (("--pool", args.pool, 0), ("--batch-size", args.batch_size, 1),
                               ("--latent-dim", args.latent_dim, 1)):
        if value is not None and value < least:
            print(f"latent-explorer import: {flag} must be >= {least}, got {value}", file=sys.stderr)
            return 2
    try:
        pack = import_pack(args.name, args.model, args.images, args.attributes, validation=args.validation,
                           validation_attributes=args.validation_attributes,
                           validation_fraction=args.validation_fraction, prior=args.prior,
                           image_shape=args.image_shape, latent_dim=args.latent_dim, metric=args.metric,
                           pool_size=args.pool, device=str(resolve_device(args.device)), batch_size=args.batch_size,
                           overwrite=args.force)
    except (ContractError, PackError, AttributeTableError, ValueError, FileNotFoundError, ImportError) as error:
        print(f"latent-explorer import: {error}", file=sys.stderr)
        return 1
    print(f"pack {pack.name!r}: {len(pack.index)} held-out images indexed, {len(pack.training)} training images "
          f"encoded, in {pack.assets_dir.parent.parent}; serve it with `latent-explorer serve --pack {pack.name}`")
    return 0
