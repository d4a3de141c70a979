"""Soak a served explorer: open and close many sessions and follow the server's memory (RSS).

    python scripts/soak_test.py                       # 200 sessions, 4 at a time, emoji
    python scripts/soak_test.py --sessions 40 --settle 40
    python scripts/soak_test.py --fresh-start         # every session starts from a new image (tile cache grows)

Prints the figures as JSON (the same as `latent-explorer bench --only serve`'s "soak" part).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from explorer.benchmarks import serve as bench
from explorer.benchmarks.harness import pack_to_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=bench.FULL["soak_sessions"], help="sessions (default: %(default)s)")
    parser.add_argument("--at-once", type=int, default=bench.SOAK_AT_ONCE, help="sessions open at a time (default: %(default)s)")
    parser.add_argument("--settle", type=float, default=bench.SETTLE_S,
                        help="seconds to wait for closed sessions to be discarded before reading RSS (default: %(default)s)")
    parser.add_argument("--fresh-start", action="store_true",
                        help="open the plain address (a new start image per session) instead of one warm link")
    parser.add_argument("--pack", default=None, help="pack to serve (default: the default pack, else a stand-in)")
    parser.add_argument("--serve-args", default="", help="extra arguments for `latent-explorer serve`, quoted")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server, e.g. OMP_NUM_THREADS=1 (repeatable)")
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.server_env):
        parser.error(f"--server-env takes NAME=VALUE, got {args.server_env}")
    if args.sessions < 1 or args.at_once < 1 or args.settle < 0:
        parser.error("--sessions and --at-once must be >= 1 and --settle >= 0")
    with pack_to_serve(args.pack) as (pack, env, source):
        env = {**env, **dict(item.split("=", 1) for item in args.server_env)}
        figures = bench.measure_soak(pack, env, args.sessions, args.at_once, args.settle, args.fresh_start,
                                     tuple(shlex.split(args.serve_args)))
    print(bench.as_json({"pack": source, "serve_args": args.serve_args, "server_env": args.server_env, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
