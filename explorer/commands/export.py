"""`latent-explorer export`: the paper's figures for a pack, as PNG (or GIF), without a browser.

    latent-explorer export --pack emoji --figure jdiagram --out jdiagram.png
    latent-explorer export --pack emoji --figure paths --gif          # slerp animation too
    latent-explorer export --pack emoji --figure traversal --attribute "gender=woman"
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

FIGURES = ("jdiagram", "mine", "paths", "traversal", "atdot")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default=None, help="the pack (default: emoji, or the first installed)")
    parser.add_argument("--figure", required=True, choices=FIGURES, help="which figure to render")
    parser.add_argument("--out", default=None, help="output file (default: <figure>-<pack>.png in the current folder)")
    parser.add_argument("--seed", type=int, default=0, help="picks the held-out images / prior samples (default: 0)")
    parser.add_argument("--size", type=int, default=None, help="grid side or number of steps (default per figure)")
    parser.add_argument("--tile", type=int, default=96, help="tile size in pixels (default: 96)")
    parser.add_argument("--ids", type=int, nargs="+", default=None, metavar="ID",
                        help="held-out image ids to use (jdiagram: A B C; mine / traversal: starting images)")
    parser.add_argument("--attribute", default=None, help="traversal / atdot: the label (default: the first)")
    parser.add_argument("--method", default="plain", choices=("plain", "balanced"),
                        help="traversal / atdot: the attribute vector (default: plain)")
    parser.add_argument("--gif", action="store_true", help="paths / traversal: also write an animated GIF")
    parser.add_argument("--device", default="auto", help="decoder device: auto, cpu, cuda (default: auto)")


def run(args: argparse.Namespace) -> int:
    import numpy as np

    from explorer import attributes, figures
    from explorer.imaging import gif_bytes, png_bytes
    from explorer.latent.grids import mine_neighbour_count
    from explorer.latent.interpolate import typical_norm
    from explorer.latent.sampling import sample_prior
    from explorer.packs import DEFAULT_PACK, PackError, list_packs, open_pack
    from explorer.render import Renderer

    name = args.pack or (list_packs() or [DEFAULT_PACK])[0]  # list_packs puts the default first
    try:
        pack = open_pack(name)
        index = pack.index
    except (PackError, OSError, ValueError) as error:
        print(f"latent-explorer export: {error}", file=sys.stderr)
        return 2
    if args.tile < 8 or args.tile > 512:
        print(f"latent-explorer export: --tile must be between 8 and 512, got {args.tile}", file=sys.stderr)
        return 2
    renderer = Renderer(pack.model, device=args.device)
    decode = renderer.decode_images
    rng = np.random.default_rng(args.seed)
    latents = np.asarray(index.latents, dtype=np.float32)
    d = latents.shape[1]

    def rows_for(ids: list[int] | None, count: int) -> np.ndarray:
        if ids:
            try:
                return index.rows_of(np.asarray(ids[:count]))
            except ValueError as error:
                raise SystemExit(f"latent-explorer export: {error}") from None
        return rng.choice(len(latents), size=count, replace=False)

    masks = attributes.label_masks(index.labels, index.categories)
    attribute = args.attribute or (sorted(masks) or list(attributes.SYNTHETIC))[0]
    if args.figure in ("traversal", "atdot") and not attributes.is_synthetic(attribute) and attribute not in masks:
        choices = ", ".join([*attributes.SYNTHETIC, *sorted(masks)])
        print(f"latent-explorer export: no attribute {attribute!r}; choose from: {choices}", file=sys.stderr)
        return 2
    augmented = (attributes.edited_latents(attribute, index.thumbnails, pack.model.encode_images)
                 if args.figure in ("traversal", "atdot") and attributes.is_synthetic(attribute) else None)

    out = Path(args.out or f"{args.figure}-{pack.name}.png")
    extra: list[Path] = []
    if args.figure == "jdiagram":
        rows = rows_for(args.ids, 3)
        a, b, c = latents[rows]
        inputs = dict(zip("abc", np.asarray(index.thumbnails)[rows]))
        figure = figures.jdiagram(decode, a, b, c, args.size or 5, args.tile, inputs)
    elif args.figure == "mine":
        size = args.size or 7
        centre = latents[rows_for(args.ids, 1)[0]]
        _, ids = index.search(centre, k=mine_neighbour_count(size), exclude_self=True)
        figure = figures.mine(decode, centre, latents[index.rows_of(ids[ids >= 0])], size, args.tile)
    elif args.figure == "paths":
        prior = pack.model.prior
        a, b = sample_prior(prior, 2, d, args.seed)
        figure = figures.paths(decode, a, b, args.size or 9, args.tile, typical_norm(prior, d))
        if args.gif:
            from explorer.latent.interpolate import slerp

            extra.append(out.with_suffix(".gif"))
            extra[-1].write_bytes(gif_bytes(decode(slerp(a, b, np.linspace(0, 1, 16))), args.tile))
    elif args.figure == "traversal":
        built = attributes.attribute_vector(latents, masks, attribute, args.method, augmented=augmented)
        vector = built.vector
        strengths = np.linspace(-2.0, 2.0, args.size or 7)
        starts = latents[rows_for(args.ids, 4)]
        figure = figures.traversal(decode, starts, vector, strengths, args.tile, f"{attribute} ({built.method})")
        if args.gif:
            frames = decode(starts[0][None] + np.linspace(-2, 2, 16)[:, None] * vector[None])
            extra.append(out.with_suffix(".gif"))
            extra[-1].write_bytes(gif_bytes(frames, args.tile))
    else:
        try:
            result = attributes.judge_attribute(latents, masks, attribute, args.method, augmented=augmented)
        except ValueError as error:
            print(f"latent-explorer export: {error}", file=sys.stderr)
            return 2
        figure = figures.atdot(result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(png_bytes(figure))
    for path in [out, *extra]:
        print(path)
    return 0

