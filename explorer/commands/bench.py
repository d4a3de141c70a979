"""`latent-explorer bench`: run the benchmarks, print their figures and write one JSON report."""

from __future__ import annotations

import argparse
import json
import sys

from explorer.bench import SECTIONS


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of `latent-explorer bench`."""
    parser.add_argument("--json", metavar="PATH", help="write the JSON report to PATH ('-': stdout)")
    parser.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats (100k synthetic latents)")
    parser.add_argument(
        "--only", metavar="SECTIONS", help=f"comma-separated sections to run (default all: {','.join(SECTIONS)})"
    )


def run(args: argparse.Namespace) -> int:
    """Run the chosen sections; exit 1 if a section failed, 2 for an unknown section."""
    from explorer.bench import run_sections, write_report

    names = [name.strip() for name in args.only.split(",") if name.strip()] if args.only else list(SECTIONS)
    unknown = [name for name in names if name not in SECTIONS]
    if unknown or not names:
        print(f"unknown benchmark sections {unknown}: choose from {', '.join(SECTIONS)}", file=sys.stderr)
        return 2
    to_stdout = args.json == "-"
    figures_stream = sys.stderr if to_stdout else sys.stdout
    report = run_sections(names, args.quick, echo=lambda line: print(line, file=figures_stream))
    if to_stdout:
        print(json.dumps(report, indent=2))
    elif args.json:
        print(f"report written to {write_report(report, args.json)}")
    return 1 if any("error" in section for section in report["sections"].values()) else 0
