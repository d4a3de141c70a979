"""The `latent-explorer` command line: one sub-command per module under `explorer.commands`."""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module under explorer.commands, one-line help). Each module has
# `add_arguments(parser)` and `run(args) -> int`, and keeps heavy imports inside `run`.
COMMANDS: dict[str, tuple[str, str]] = {
    "serve": ("serve", "open the explorer in the browser"),
    "packs": ("packs", "list the installed model packs with their key figures"),
    "train": ("train", "train a built-in model and write its pack's weights and card"),
    "import": ("import_pack", "make a pack from your own model and a folder of images"),
    "index": ("index", "encode a pack's held-out images into its FAISS index"),
    "pool": ("pool", "precompute a pack's sampler pool (latents and decoder log-volumes)"),
    "bench": ("bench", "run the benchmarks and print or save a JSON report"),
    "export": ("export", "render the paper's figures for a pack as PNG / GIF"),
}


def build_parser(available: dict[str, tuple[str, str]] | None = None) -> argparse.ArgumentParser:
    """The top-level parser with every sub-command whose module is installed."""
    parser = argparse.ArgumentParser(prog="latent-explorer", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name, (module_name, help_text) in (available or COMMANDS).items():
        try:
            module = importlib.import_module(f"explorer.commands.{module_name}")
        except ModuleNotFoundError as error:
            if error.name != f"explorer.commands.{module_name}":
                raise
            continue
        command = sub.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(command)
        command.set_defaults(run=module.run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the console script and of `python -m explorer`."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
