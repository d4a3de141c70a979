"""What the end-to-end benchmarks and the browser tests share: a served app, headless Chromium,
the pack to serve, and meters of memory and CPU.

    with served(pack, env) as server:           # `latent-explorer serve --port 0` in a subprocess
        browser = launch_chromium(playwright)   # the system Chromium, headless
        with CpuMeter(server.pid) as cpu: ...   # server / clients / rest of the machine
        rss_mb(server.pid)                      # the server and its worker processes

`pack_to_serve` picks the default pack, or, when it cannot be opened, writes a stand-in (an
untrained emoji-sized ConvVAE: the cost of a decode does not depend on the weights' values).
Processes are read through psutil.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import psutil

CHROMIUM = os.environ.get("CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
OPEN_TIMEOUT_S = 120.0  # for the server to answer, and for a page to show its first picture
VIEWPORT = {"width": 1400, "height": 1000}  # every benchmark and browser test page
STAND_IN = "stand-in"


# --------------------------------------------------------------------------- Chromium
def chromium_missing() -> str | None:
    """Why headless Chromium cannot run here (a skip reason), or None when it can."""
    return None if Path(CHROMIUM).exists() else f"no Chromium at {CHROMIUM}; set $CHROMIUM"


def launch_chromium(playwright: Any) -> Any:
    """The system Chromium through Playwright (`playwright install` cannot run on these machines);
    with the async API, await the result."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)


def collect_page_errors(page: Any, errors: list[str]) -> None:
    """Append to `errors` what the page logs as an error, every uncaught exception and failed request."""
    page.on("console", lambda message: message.type == "error" and errors.append(f"console: {message.text}"))
    page.on("pageerror", lambda error: errors.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: errors.append(f"request failed: {request.url}"))


# --------------------------------------------------------------------------- the server
@dataclass
class Server:
    """A running `latent-explorer serve`: its base URL, process id and log file."""

    url: str
    pid: int
    log: Path

    def errors(self) -> list[str]:
        """Errors the server logged, each as its ERROR line, with the exception that ended its traceback
        and where it was raised; a traceback without an ERROR line comes with the line above it."""
        errors, lines = [], self.log.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines):
            if line.startswith("Traceback"):
                ending = _traceback_ending(lines[number + 1:])
                if errors and errors[-1].endswith(":"):
                    errors[-1] += " " + ending
                else:
                    above = lines[number - 1].strip() if number else ""
                    errors.append(f"{above} {ending}" if above else ending)
            elif re.search(r"\bERROR\b", line):
                errors.append(line.strip() + ":")
        return errors


def _traceback_ending(lines: list[str]) -> str:
    """'Exception: message (at package/module.py:line in function)' for the lines after 'Traceback'."""
    end = next((number for number, line in enumerate(lines) if line and not line[0].isspace()), None)
    if end is None:
        return "?"
    frames = [re.match(r'\s*File "(.*)", line (\d+), in (.*)', line) for line in lines[:end]]
    frames = [frame for frame in frames if frame]
    if not frames:
        return lines[end]
    path, line, function = frames[-1].groups()
    return f"{lines[end]} (at {path.split('site-packages/')[-1]}:{line} in {function})"


@contextlib.contextmanager
def served(pack: str | None, env: dict[str, str], serve_args: tuple[str, ...] = (),
           launcher: tuple[str, ...] = (sys.executable, "-m", "explorer"),
           ready_timeout: float = OPEN_TIMEOUT_S) -> Iterator[Server]:
    """`latent-explorer serve --port 0` on `pack` (None: the default) in a subprocess, stopped on
    exit whatever happens; `launcher` is the command before `serve` (e.g. an installed console script)."""
    with tempfile.TemporaryDirectory(prefix="latent-explorer-serve-") as folder:
        log = Path(folder) / "server.log"
        command = [*launcher, "serve", "--no-show", "--port", "0", "--address", "127.0.0.1",
                   *(("--pack", pack) if pack else ()), *serve_args]
        with open(log, "w") as output:  # a file, not a pipe nobody reads, which would fill and block the server
            process = subprocess.Popen(command, env={**os.environ, **env, "PYTHONUNBUFFERED": "1"},
                                       stdout=output, stderr=subprocess.STDOUT)
        try:
            yield Server(wait_until_serving(process, log, ready_timeout), process.pid, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def wait_until_serving(process: subprocess.Popen, log: Path, timeout: float = OPEN_TIMEOUT_S) -> str:
    """The base URL once the server printed it and answers 200 there (RuntimeError with its log if not)."""
    deadline = time.monotonic() + timeout
    url = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with {process.returncode}: {log.read_text()[-2000:]}")
        if url is None:
            printed = re.search(r"Latent Explorer at (http://\S+/)", log.read_text())
            url = printed.group(1) if printed else None
        if url is not None:
            try:
                with urllib.request.urlopen(url, timeout=10) as response:
                    if response.status == 200:
                        return url
            except OSError:
                pass
        time.sleep(0.3)
    raise RuntimeError(f"the server did not start within {timeout} s: {log.read_text()[-2000:]}")


# --------------------------------------------------------------------------- the pack
@contextlib.contextmanager
def pack_to_serve(name: str | None = None) -> Iterator[tuple[str, dict[str, str], str]]:
    """(pack name, environment that finds it, description) for the block: pack `name` as installed,
    else the default pack, else a stand-in written to a temporary folder removed afterwards."""
    if name:
        yield name, {}, f"pack {name!r}"
        return
    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        yield default_or_stand_in(Path(folder))


def default_or_stand_in(folder: Path) -> tuple[str, dict[str, str], str]:
    """(pack name, environment, description): the default pack, else a stand-in written to `folder`."""
    from explorer.packs import DEFAULT_PACK, PackError, open_pack

    try:
        pack = open_pack(DEFAULT_PACK)
        pack.index  # noqa: B018  (the app needs it; fail here if it is missing)
        return DEFAULT_PACK, {}, f"pack {DEFAULT_PACK!r}"
    except (PackError, OSError, ValueError) as error:
        why = f"{type(error).__name__}: {error}"
    return STAND_IN, write_stand_in(folder), f"stand-in: untrained ConvVAE 64x64x3, latent 32 ({why})"


def write_stand_in(root: Path, count: int = 256) -> dict[str, str]:
    """An untrained emoji-sized ConvVAE pack with an index of its own decodes and random labels,
    under `root`; returns the environment variables that point at it."""
    import hashlib
    import io
    import json

    import torch

    from explorer.index import PackIndex
    from explorer.models.base import ExplorableModel
    from explorer.models.vae import ConvVAE

    torch.manual_seed(0)
    config = dict(image_size=64, channels=3, latent_dim=32)
    model = ConvVAE(**config).eval()
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    weights = buffer.getvalue()
    assets = root / "assets" / STAND_IN
    assets.mkdir(parents=True)
    (assets / "model.pt").write_bytes(weights)
    card = {"dataset": {"name": STAND_IN},
            "model": {"architecture": "ConvVAE", "config": config, "weights_sha256": hashlib.sha256(weights).hexdigest()}}
    (assets / "card.json").write_text(json.dumps(card))
    explorable = ExplorableModel(model)
    # The index holds prior draws and their decodes (an untrained encoder maps every image to
    # about the same latent, which would make every attribute vector vanish).
    latents = np.random.default_rng(0).standard_normal((count, 32)).astype(np.float32)
    images = (explorable.decode_latents(latents) * 255).astype(np.uint8)
    # Labels tied to the latents, so attribute vectors are long enough to move the picture.
    labels = {"a": latents[:, 0] > 0, "b": latents[:, 1] > 0.5}
    PackIndex.create(latents, images, pack=STAND_IN, weights_hash=hashlib.sha256(weights).hexdigest()[:16],
                     labels=labels).save(root / "indexes" / STAND_IN)
    return {"LATENT_EXPLORER_ASSETS": str(root / "assets"), "LATENT_EXPLORER_INDEXES": str(root / "indexes")}


# --------------------------------------------------------------------------- meters
def process_tree(pid: int) -> list[psutil.Process]:
    """Process `pid` and its descendants (a --num-procs server's workers); empty once it has exited."""
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


def rss_mb(pid: int) -> float:
    """Resident set size of process `pid` and its descendants in MiB.

    Pages the workers still share with their parent after the fork count once per process, so
    this overstates what a multi-process server takes; it is exact for one process.
    """
    total = 0
    for process in process_tree(pid):
        with contextlib.suppress(psutil.Error):  # it exited meanwhile
            total += process.memory_info().rss
    return total / 2**20


def peak_rss_mb(pid: int) -> float | None:
    """The highest RSS the kernel saw for process `pid` since it started (Linux's VmHWM), in MiB;
    None where the system does not keep it. psutil does not report it on Linux, so /proc is read."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^VmHWM:\s+(\d+) kB", status, re.MULTILINE)
    return int(found.group(1)) / 1024 if found else None


def _cpu_s(process: psutil.Process) -> float | None:
    """CPU seconds (user + system) process has used so far, or None once it has exited."""
    try:
        times = process.cpu_times()
    except psutil.Error:
        return None
    return times.user + times.system


def machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy so far (all cores): neither idle nor waiting for I/O."""
    times = psutil.cpu_times()
    # Linux counts guest time inside user and nice as well, so it is not added twice.
    not_busy = ("idle", "iowait", "guest", "guest_nice")
    return sum(getattr(times, field) for field in times._fields if field not in not_busy)


class CpuMeter:
    """CPU seconds used by the server, by this process and its other children (the clients), and
    by everything else, over a `with` block; sampled twice a second so exited children still count."""

    def __init__(self, server_pid: int, interval: float = 0.5):
        self.server_pid = server_pid
        self.interval = interval
        self._first: dict[int, float] = {}
        self._last: dict[int, float] = {}
        self._roles: dict[int, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_until_stopped, name="cpu-meter", daemon=True)

    def __enter__(self) -> CpuMeter:
        self._started, self._busy = time.monotonic(), machine_busy_s()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.window_s = time.monotonic() - self._started
        self.busy_s = machine_busy_s() - self._busy

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        server = {process.pid for process in process_tree(self.server_pid)}
        for process in process_tree(os.getpid()):  # the server is one of this process's children
            cpu = _cpu_s(process)
            if cpu is None:
                continue
            if process.pid not in self._roles:
                self._roles[process.pid] = "server" if process.pid in server else "clients"
                self._first[process.pid] = cpu if first else 0.0  # born during the window: all its CPU counts
            self._last[process.pid] = cpu

    def figures(self) -> dict[str, Any]:
        """CPU seconds and shares of the machine's capacity (window × cores) over the block."""
        used = {"server": 0.0, "clients": 0.0}
        for pid, role in self._roles.items():
            used[role] += self._last[pid] - self._first[pid]
        capacity = self.window_s * (os.cpu_count() or 1)
        other = max(0.0, self.busy_s - used["server"] - used["clients"])
        return {
            "window_s": round(self.window_s, 1),
            "cores": os.cpu_count(),
            "server_cpu_s": round(used["server"], 1),
            "clients_cpu_s": round(used["clients"], 1),
            "other_cpu_s": round(other, 1),
            "server_share": round(used["server"] / capacity, 3),
            "clients_share": round(used["clients"] / capacity, 3),
            "other_share": round(other / capacity, 3),
            "idle_share": round(max(0.0, 1 - self.busy_s / capacity), 3),
        }
