"""`latent-explorer packs`: list the installed model packs with their key figures."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The packs command takes no options."""


def run(args: argparse.Namespace) -> int:
    """Print one line per installed pack: dataset, model, latent size, parameters, error, index / pool."""
    from explorer.packs import DEFAULT_PACK, PackError, assets_root, list_packs, open_pack

    names = list_packs()
    if not names:
        print(f"no packs under {assets_root()}; train one with `latent-explorer train --pack emoji`")
        return 1
    for name in names:
        label = f"{name} (default)" if name == DEFAULT_PACK else name
        try:
            pack = open_pack(name)
        except PackError as error:
            print(f"{label:<22} unusable: {error}")
            continue
        model, quality = pack.card["model"], pack.card.get("quality", {})
        recon = quality.get("recon_mse_per_pixel")
        print(f"{label:<22} dataset={pack.dataset_name:<8} {model.get('type', '?'):<3} "
              f"latent={model.get('latent_dim', '?'):<3} "
              f"params={model.get('parameters', 0) / 1e6:.2f}M "
              f"recon_mse={'?' if recon is None else f'{recon:.4f}'}/px "
              f"index={'yes' if pack.has_index else 'no'} pool={'yes' if pack.has_pool else 'no'}")
    return 0
