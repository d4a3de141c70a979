"""`latent-explorer packs`: list the installed model packs, where they live and their key figures."""

from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The packs command takes no options."""


def run(args: argparse.Namespace) -> int:
    """Print the pack folders, then one line per pack: dataset, model, latent size, parameters,
    error, index / training split / pool and whether it is shipped or the user's."""
    from explorer.packs import DEFAULT_PACK, PackError, open_pack, pack_locations, pack_roots

    for root in pack_roots():
        print(f"{root.kind} packs: {root.assets} (indexes: {root.indexes})")
    located = pack_locations()
    if not located:
        print("no packs installed; train one with `latent-explorer train --pack emoji` or bring your own with "
              "`latent-explorer import`")
        return 1
    for name, root in located:
        label = f"{name} (default)" if name == DEFAULT_PACK else name
        try:
            pack = open_pack(name)
        except PackError as error:
            print(f"{label:<22} {root.kind:<7} unusable: {error}")
            continue
        model, quality = pack.card["model"], pack.card.get("quality", {})
        recon = quality.get("recon_mse_per_pixel")
        print(f"{label:<22} {root.kind:<7} dataset={pack.dataset_name:<8} {model.get('type', '?'):<3} "
              f"{model.get('architecture', '?')} latent={model.get('latent_dim', '?'):<3} "
              f"params={model.get('parameters', 0) / 1e6:.2f}M "
              f"recon_mse={'?' if recon is None else f'{recon:.4f}'}/px "
              f"index={'yes' if pack.has_index else 'no'} training={'yes' if pack.has_training else 'no'} "
              f"pool={'yes' if pack.has_pool else 'no'}")
    return 0
