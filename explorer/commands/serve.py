"""`latent-explorer serve`: the explorer as a Panel server, one independent state per browser tab.

For a workshop or an open demo (see docs/hosting.md): --workshop (presenter mode), --num-procs, --public,
--max-sessions, --session-expiry, --idle-timeout, --basic-auth or --oauth-provider, and GET /health.
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from explorer.app.hosting import Hosting

# What --public means unless an option says otherwise.
PUBLIC_UPLOAD_BYTES = 2 * 2**20
PUBLIC_NUM_THREADS = 4
PUBLIC_IDLE_TIMEOUT_MINUTES = 30.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--pack", default=None, help="the pack a new session opens (default: emoji)")
    parser.add_argument("--port", type=int, default=5006, help="port to listen on; 0 picks a free one (default: 5006)")
    parser.add_argument("--address", default=None, help="address to listen on (default: all interfaces)")
    parser.add_argument("--no-show", action="store_true", help="do not open a browser tab")
    parser.add_argument(
        "--num-threads", type=int, default=None, metavar="N",
        help="run callbacks on N threads so one user's slow decode does not block the others "
             f"(default: {PUBLIC_NUM_THREADS} with --public, else none)",
    )
    parser.add_argument(
        "--num-procs", type=int, default=1, metavar="N",
        help="serve from N processes sharing the port, each with its own event loop and copy of the model, "
             "so that N sessions are answered at once (0: one per CPU core; default: 1; not on Windows)",
    )
    parser.add_argument(
        "--torch-threads", type=int, default=None, metavar="N",
        help="threads per process for decoding on the CPU (default: half the CPU cores per process, at least 1: "
             "the other half is left to the event loops)",
    )
    parser.add_argument(
        "--allow-websocket-origin", action="append", default=None, metavar="HOST[:PORT]",
        help="a host allowed to connect (repeatable; needed behind a proxy or on a remote machine)",
    )
    parser.add_argument("--prefix", default="", help="URL prefix when served behind a proxy")
    parser.add_argument("--device", default="auto", help="decoder device: auto, cpu, cuda (default: auto)")
    parser.add_argument(
        "--batch-window-ms", type=float, default=None, metavar="MS",
        help="how long a decode waits for other sessions' decodes to share a batch (default: 3 on CUDA, "
             "0 on the CPU, where only decodes that queued while the decoder was busy are batched)",
    )
    parser.add_argument("--no-warm", action="store_true", help="do not load the pack before the first visit")
    parser.add_argument(
        "--server-decode", action="store_true",
        help="send every Explore slider step through Bokeh's protocol, as before the side channel "
             "(default: the page sends the latent on a binary websocket and gets the JPEG back)",
    )

    hosting = parser.add_argument_group("hosting for demos and workshops")
    hosting.add_argument(
        "--public", action="store_true",
        help="an open demo: uploads at most 2 MiB (held in memory only), websocket messages capped to match, "
             f"{PUBLIC_NUM_THREADS} worker threads, sessions idle {PUBLIC_IDLE_TIMEOUT_MINUTES:g} minutes closed, "
             "no /admin without a login",
    )
    hosting.add_argument("--max-sessions", type=int, default=None, metavar="N",
                         help="at most N sessions at once; later visitors get a 'server full, try again' page")
    hosting.add_argument(
        "--session-expiry", type=float, default=None, metavar="MINUTES",
        help="keep a session this long after its tab closed or lost its connection, then free its place "
             "(default: Bokeh's 15 s)",
    )
    hosting.add_argument(
        "--idle-timeout", type=float, default=None, metavar="MINUTES",
        help="close an open session after this long without any change on its page "
             f"(default: {PUBLIC_IDLE_TIMEOUT_MINUTES:g} with --public, else never)",
    )
    hosting.add_argument("--max-upload-mb", type=float, default=None, metavar="MIB",
                         help=f"largest image upload (default: {PUBLIC_UPLOAD_BYTES // 2**20} with --public, else 10)")
    hosting.add_argument("--admin", action="store_true", help="serve Panel's admin dashboard at /admin")
    hosting.add_argument(
        "--workshop", action="store_true",
        help="presenter mode: prints a presenter link (with a secret token) and a participant link; participants' "
             "pages follow the presenter's view, pack and latents until they choose to explore on their own",
    )

    access = parser.add_argument_group("access (Panel's auth; secrets may come from PANEL_* environment variables)")
    access.add_argument("--basic-auth", default=None, metavar="PASSWORD|FILE.json",
                        help='one shared password, or a JSON file of {"user": "password"} (keeps it out of `ps`)')
    access.add_argument("--oauth-provider", default=None, help="an OAuth provider Panel knows: github, google, ...")
    access.add_argument("--oauth-key", default=None, help="OAuth client id (or $PANEL_OAUTH_KEY)")
    access.add_argument("--oauth-secret", default=None, help="OAuth client secret (or $PANEL_OAUTH_SECRET)")
    access.add_argument("--oauth-redirect-uri", default=None, help="the redirect URI registered with the provider")
    access.add_argument("--oauth-encryption-key", default=None,
                        help="encrypts OAuth tokens in cookies (or $PANEL_OAUTH_ENCRYPTION; `panel oauth-secret`)")
    access.add_argument("--cookie-secret", default=None,
                        help="signs login cookies (or $PANEL_COOKIE_SECRET); give every process the same one")


def process_count(requested: int, cores: int | None = None) -> int:
    """Processes to serve from: `requested`, or one per core for 0 (ValueError when negative)."""
    if requested < 0:
        raise ValueError(f"--num-procs must be >= 0, got {requested}")
    if requested > 1 and sys.platform == "win32":
        raise ValueError("--num-procs above 1 needs fork(), which Windows lacks; run several servers behind a proxy")
    return requested or (cores or os.cpu_count() or 1)


def torch_threads(requested: int | None, processes: int, cores: int | None = None) -> int:
    """Decoding threads per process: `requested`, else half the cores per process, at least 1."""
    if requested is not None:
        if requested < 1:
            raise ValueError(f"--torch-threads must be >= 1, got {requested}")
        return requested
    return max(1, (cores or os.cpu_count() or 1) // (2 * processes))


def hosting_limits(args: argparse.Namespace, processes: int = 1) -> Hosting:
    """The `Hosting` limits of one of `processes` server processes, --public defaults filled in
    (ValueError when invalid): --max-sessions is shared out among the processes."""
    from explorer.app.hosting import Hosting
    from explorer.app.uploads import MAX_UPLOAD_BYTES

    idle = args.idle_timeout if args.idle_timeout is not None else (
        PUBLIC_IDLE_TIMEOUT_MINUTES if args.public else None)
    upload = args.max_upload_mb * 2**20 if args.max_upload_mb is not None else (
        PUBLIC_UPLOAD_BYTES if args.public else MAX_UPLOAD_BYTES)
    per_process = None if args.max_sessions is None else math.ceil(args.max_sessions / processes)
    return Hosting(max_sessions=per_process, idle_timeout_s=None if idle is None else idle * 60.0,
                   upload_bytes=int(upload), public=args.public)


def server_options(args: argparse.Namespace, limits: Hosting) -> tuple[dict, list[str]]:
    """Keywords for pn.serve beyond the basics (auth, session lifetimes, limits, /health), and notes."""
    from explorer.app import sidechannel
    from explorer.app.access import Access, auth_options
    from explorer.app.health import HealthHandler
    from explorer.app.request_args import CheckedArguments

    access = Access(args.basic_auth, args.oauth_provider, args.oauth_key, args.oauth_secret, args.cookie_secret,
                    args.oauth_encryption_key, args.oauth_redirect_uri)
    options, notes = auth_options(access)
    if args.admin and args.public and not access.protected:
        raise ValueError("--admin with --public would show every visitor the server's admin page; "
                         "add --basic-auth or --oauth-provider")
    if args.num_threads is not None and args.num_threads < 0:
        raise ValueError(f"--num-threads must be >= 0, got {args.num_threads}")
    if args.batch_window_ms is not None and not 0 <= args.batch_window_ms <= 100:
        raise ValueError(f"--batch-window-ms must be between 0 and 100, got {args.batch_window_ms:g}")
    if args.session_expiry is not None:
        if not args.session_expiry > 0:
            raise ValueError(f"--session-expiry must be a positive number of minutes, got {args.session_expiry:g}")
        lifetime_ms = int(args.session_expiry * 60_000)
        options["unused_session_lifetime_milliseconds"] = lifetime_ms
        options["check_unused_sessions_milliseconds"] = min(17_000, max(1_000, lifetime_ms // 2))
    options["websocket_max_message_size"] = limits.websocket_max_message_bytes
    options["extra_patterns"] = [(r"/health", HealthHandler)]
    options["transforms"] = [CheckedArguments]  # hostile links are cut down before Bokeh and Panel read them
    # Imported here, before the workers fork, so that they share the key that signs its tokens.
    sidechannel.configure(enabled=not args.server_decode)
    if not args.server_decode:
        options["extra_patterns"].append((sidechannel.PATH, sidechannel.LatentChannelHandler))
    options["admin"] = args.admin
    if args.public and args.max_sessions is None:
        notes.append("--public without --max-sessions: every visitor gets a session, however many come")
    return options, notes


def run(args: argparse.Namespace) -> int:
    _restart_on_the_system_allocator()
    import panel as pn
    import torch

    from explorer.app.hosting import configure_hosting
    from explorer.app.main import create_app, warm_up
    from explorer.app.panel_internals import (
        ignore_detached_connections,
        inline_pulled_arrays,
        quiet_writes_to_closed_pages,
    )
    from explorer.app.workshop import PRESENTER_KEY
    from explorer.devices import resolve_device
    from explorer.resources import PackUnavailable, configure, resources_for

    try:
        resolve_device(args.device)  # a device that cannot work fails here, not in the first session
        processes = process_count(args.num_procs)
        threads = torch_threads(args.torch_threads, processes)
        limits = hosting_limits(args, processes)
        options, notes = server_options(args, limits)
    except ValueError as error:
        print(f"latent-explorer serve: {error}", file=sys.stderr)
        return 2
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    configure_hosting(limits)
    inline_pulled_arrays()  # a reconnection's repull would lose the document's arrays (see panel_internals)
    ignore_detached_connections()  # else an AssertionError traceback when a page closes at the wrong moment
    room = _open_room() if args.workshop else None
    configure(default_pack=args.pack, device=args.device, batch_window_ms=args.batch_window_ms)
    # Before the worker processes fork, torch must not have started a thread pool: a forked
    # copy of one hangs. One thread here; each worker sets its own count after the fork.
    torch.set_num_threads(1 if processes > 1 else threads)
    if not args.no_warm:
        try:
            resources_for(args.pack)
        except PackUnavailable as error:
            print(f"latent-explorer serve: {error}", file=sys.stderr)
            return 2
        # Every view once, the attribute table (every vector judged) with it: computed before the
        # workers fork, and shared by them.
        warm_up()
    num_threads = args.num_threads if args.num_threads is not None else (PUBLIC_NUM_THREADS if args.public else None)
    if num_threads is not None:
        pn.config.nthreads = num_threads
    address = args.address
    if args.allow_websocket_origin is None and address not in (None, "", "localhost", "127.0.0.1"):
        print(
            "note: browsers on other machines can connect only with --allow-websocket-origin HOST:PORT",
            file=sys.stderr,
        )
    # What is loaded by now lives as long as the server: keep it out of the garbage collector's
    # full passes (Panel runs one after sessions close; over everything a page had imported, one
    # took 100-280 ms here) and, with --num-procs, shared with the workers.
    gc.collect()
    gc.freeze()
    parent = os.getpid()
    server = pn.serve(
        create_app,
        port=args.port,
        address=address,
        websocket_origin=args.allow_websocket_origin,
        show=False,
        start=False,
        title="Latent Explorer",
        verbose=False,
        prefix=args.prefix,
        num_procs=processes,
        **options,
    )
    if processes > 1:  # from here on, this is one of the worker processes
        _exit_with_parent(parent)
        torch.set_num_threads(threads)
    quiet_writes_to_closed_pages(server.io_loop.asyncio_loop)  # a page that closes mid-write is no error
    if room is not None:
        _poll_room(server.io_loop)
    # Printed only once the socket is bound: tests and scripts wait for this line.
    if _first_worker():
        base = f"http://{address or 'localhost'}:{server.port}{server.prefix}/"
        if room is not None:
            print(f"Presenter link (keep it to yourself): {base}?{PRESENTER_KEY}={room.token}\n"
                  f"Participant link: {base}", flush=True)
        print(f"Latent Explorer at {base}" + (f" ({processes} processes)" if processes > 1 else ""), flush=True)
        if not args.no_show:
            server.io_loop.add_callback(server.show, "/")
    server.start()
    try:
        server.io_loop.start()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


def _open_room():
    """Presenter mode's room in a fresh private run folder, made before the workers fork (they all
    share it) and removed when the process that made it ends."""
    import atexit
    import shutil
    import signal
    import tempfile

    from explorer.app.workshop import Workshop, configure_workshop

    folder = tempfile.mkdtemp(prefix="latent-explorer-workshop-")
    maker = os.getpid()
    atexit.register(lambda: os.getpid() == maker and shutil.rmtree(folder, ignore_errors=True))
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:  # a plain `kill` must clean up too
        signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(0))
    room = Workshop.create(folder)
    configure_workshop(room)
    return room


def _poll_room(io_loop) -> None:
    """Start this worker's one room poller on its event loop."""
    from tornado.ioloop import PeriodicCallback

    from explorer.app.workshop import POLL_MS, poller

    io_loop.add_callback(lambda: PeriodicCallback(poller().tick, POLL_MS).start())


def _restart_on_the_system_allocator() -> None:
    """Run the server with Python's objects on the C library's allocator (PYTHONMALLOC=malloc).

    Python's own allocator keeps the memory of closed sessions in partly used arenas, which
    the system never gets back: 200 sessions opened and closed left a server 33% larger. On
    malloc, what explorer.memory trims after sessions close is returned: +0.7%. Only the command
    line restarts itself, and only where PYTHONMALLOC is unset (set it to keep another allocator).
    """
    if os.environ.get("PYTHONMALLOC") or sys.argv[1:2] != ["serve"] or not sys.platform.startswith("linux"):
        return
    os.environ["PYTHONMALLOC"] = "malloc"
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "explorer", *sys.argv[1:]])


def _first_worker() -> bool:
    """True in a single-process server and in the first of several worker processes."""
    from tornado.process import task_id

    return task_id() in (None, 0)


def _exit_with_parent(parent: int) -> None:
    """Ask Linux to end this worker when the process that forked it ends (it only waits on them)."""
    import ctypes
    import signal

    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent ended before the request took effect
        os.kill(os.getpid(), signal.SIGTERM)
