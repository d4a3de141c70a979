"""Workshop load on a served explorer: N clients step an Explore slider several times a second.

    python scripts/load_test.py                                # 8 browser, then 30 and 100 protocol clients, 60 s, emoji
    python scripts/load_test.py --browser-sessions 0 --protocol-sessions 100   # the room only
    python scripts/load_test.py --paths side_channel           # without today's path (--server-decode) alongside
    python scripts/load_test.py --sessions 8 --seconds 15      # the bench's quick size
    python scripts/load_test.py --browser-sessions 0           # protocol clients only (light on the CPU)
    python scripts/load_test.py --serve-args=""                # one server process instead of one per core
    python scripts/load_test.py --serve-args="--num-procs 0 --torch-threads 2"  # more decoding threads

Prints the figures as JSON (the same as `latent-explorer bench --only serve`'s "load" part).
"""

from __future__ import annotations

import argparse
import shlex
import sys

from explorer.benchmarks import serve as bench
from explorer.benchmarks.harness import pack_to_serve


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sessions", type=int, default=None, help="clients of each kind (overrides the two below)")
    parser.add_argument("--browser-sessions", type=int, default=bench.FULL["browser_sessions"],
                        help="headless Chromium clients (default: %(default)s; 0: none)")
    parser.add_argument("--protocol-sessions", type=int, nargs="+", default=list(bench.FULL["protocol_sessions"]),
                        help="Bokeh-protocol clients, one phase per number (default: %(default)s; 0: none)")
    parser.add_argument("--paths", nargs="+", choices=list(bench.PATHS), default=list(bench.PATHS),
                        help="how slider steps reach the picture, each measured back to back (default: both)")
    parser.add_argument("--seconds", type=float, default=bench.FULL["seconds"], help="load duration (default: %(default)s)")
    parser.add_argument("--pack", default=None, help="pack to serve (default: the default pack, else a stand-in)")
    parser.add_argument("--serve-args", default=" ".join(bench.WORKSHOP_SERVE_ARGS),
                        help="extra arguments for `latent-explorer serve`, quoted (default: %(default)r, "
                             "the workshop recipe of docs/hosting.md)")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an environment variable for the server, e.g. OMP_NUM_THREADS=1 (repeatable)")
    args = parser.parse_args(argv)
    if any("=" not in item for item in args.server_env):
        parser.error(f"--server-env takes NAME=VALUE, got {args.server_env}")
    browser = args.browser_sessions if args.sessions is None else args.sessions
    protocol = tuple(args.protocol_sessions) if args.sessions is None else (args.sessions,)
    if min(browser, *protocol) < 0 or args.seconds <= 0:
        parser.error("session counts must be >= 0 and --seconds > 0")
    with pack_to_serve(args.pack) as (pack, env, source):
        env = {**env, **dict(item.split("=", 1) for item in args.server_env)}
        figures = bench.measure_load(pack, env, browser, protocol, args.seconds, tuple(shlex.split(args.serve_args)),
                                     paths=tuple(args.paths))
    print(bench.as_json({"pack": source, "serve_args": args.serve_args, "server_env": args.server_env, **figures}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
