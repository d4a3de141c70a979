"""`latent-explorer serve`: the explorer as a Panel server, one independent state per browser tab."""

from __future__ import annotations

import argparse
import sys
import threading


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default=None, help="the pack a new session opens (default: emoji)")
    parser.add_argument("--port", type=int, default=5006, help="port to listen on; 0 picks a free one (default: 5006)")
    parser.add_argument("--address", default=None, help="address to listen on (default: all interfaces)")
    parser.add_argument("--no-show", action="store_true", help="do not open a browser tab")
    parser.add_argument(
        "--num-threads", type=int, default=None, metavar="N",
        help="run callbacks on N threads so one user's slow decode does not block the others",
    )
    parser.add_argument(
        "--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
        help="a host allowed to connect (repeatable; needed behind a proxy or on a remote machine)",
    )
    parser.add_argument("--prefix", default="", help="URL prefix when served behind a proxy")
    parser.add_argument("--device", default="auto", help="decoder device: auto, cpu, cuda (default: auto)")
    parser.add_argument("--no-warm", action="store_true", help="do not load the pack before the first visit")


def run(args: argparse.Namespace) -> int:
    import panel as pn

    from explorer.app.main import create_app
    from explorer.app.resources import PackUnavailable, configure, resources_for

    configure(default_pack=args.pack, device=args.device)
    if not args.no_warm:
        try:
            resources = resources_for(args.pack)
        except PackUnavailable as error:
            print(f"latent-explorer serve: {error}", file=sys.stderr)
            return 2
        # The attribute table (every vector judged) is shared by all sessions: build it while
        # the first visitor is still on the Explore view.
        threading.Thread(target=resources.attribute_summary, name="warm-attributes", daemon=True).start()
    if args.num_threads is not None:
        if args.num_threads < 0:
            print(f"latent-explorer serve: --num-threads must be >= 0, got {args.num_threads}", file=sys.stderr)
            return 2
        pn.config.nthreads = args.num_threads
    address = args.address
    if args.allow_websocket_origin is None and address not in (None, "", "localhost", "127.0.0.1"):
        print(
            "note: browsers on other machines can connect only with --allow-websocket-origin HOST:PORT",
            file=sys.stderr,
        )
    server = pn.serve(
        create_app,
        port=args.port,
        address=address,
        websocket_origin=args.allow_websocket_origin,
        show=not args.no_show,
        start=False,
        title="Latent Explorer",
        verbose=False,
        prefix=args.prefix,
    )
    # Printed only once the socket is bound: tests and scripts wait for this line.
    print(f"Latent Explorer at http://{address or 'localhost'}:{server.port}{server.prefix}/", flush=True)
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0
