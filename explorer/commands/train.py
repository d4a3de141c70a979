"""`latent-explorer train`: train a built-in pack's model and write its weights, card and sample sheets."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the train command's options."""
    parser.add_argument("--pack", default="emoji",
                        help="the pack to train: emoji, glyphs, fashion or fashion-gan (default: emoji)")
    parser.add_argument("--epochs", type=int, default=None, metavar="N",
                        help="epochs (for a GAN: adversarial epochs; the encoder's follow) instead of the recipe's")
    parser.add_argument("--device", default=None,
                        help="torch device, e.g. cuda, cuda:1, cpu (default: CUDA if available)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    parser.add_argument("--limit", type=int, default=None, metavar="N",
                        help="use at most N images of each split (for quick trials)")
    parser.add_argument("--out", default=None, metavar="DIR",
                        help="write DIR/<pack>/ (default: $LATENT_EXPLORER_ASSETS or <repo>/assets)")
    parser.add_argument("--snapshots", type=int, default=0, metavar="K",
                        help="keep the weights of K evenly spaced epochs under DIR/<pack>/snapshots/ (float16, listed "
                        "in the card) for the app's checkpoint comparison (default: 0, none)")
    parser.add_argument("--resume", action=argparse.BooleanOptionalAction, default=True,
                        help="continue from DIR/<pack>/checkpoint.pt, left by an unfinished run with the same "
                        "settings (default: yes)")


def run(args: argparse.Namespace) -> int:
    """Train the pack and print where its files went and its measured quality."""
    from explorer.data.base import DatasetUnavailable
    from explorer.packs import assets_root
    from explorer.train import train_pack

    out = args.out or assets_root()
    try:
        card = train_pack(args.pack, out_dir=out, epochs=args.epochs, device=args.device, seed=args.seed,
                          limit=args.limit, resume=args.resume, snapshots=args.snapshots)
    except (ValueError, DatasetUnavailable) as error:
        print(f"latent-explorer train: {error}", file=sys.stderr)
        return 2
    training, quality = card["training"], card["quality"]
    epochs = f"{training['epochs']} epochs" + (f" + {training['encoder_epochs']} encoder epochs"
                                                if "encoder_epochs" in training else "")
    print(f"wrote {out}/{args.pack}/: {card['model']['architecture']} with {card['model']['parameters']:,} parameters, "
          f"{epochs} in {training['seconds']:.1f} s on {training['device_name']}")
    if card.get("snapshots"):
        print(f"kept {len(card['snapshots'])} snapshots (epochs {', '.join(str(s['epoch']) for s in card['snapshots'])}) "
              f"in {out}/{args.pack}/snapshots/")
    print("validation: " + ", ".join(f"{key}={value}" for key, value in quality.items() if key != "kl_per_dim"))
    return 0
