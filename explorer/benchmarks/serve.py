"""Benchmark: the served app under a workshop's load, and its memory over many sessions.

load: N clients each move the Explore attribute sliders STEPS_PER_S times a second for a while,
against `latent-explorer serve` (a subprocess; the default pack, or browser.py's stand-in). Two
kinds of client, each kind against a fresh server:

- browser: one headless Chromium, one context (a separate user) per client; reported without
  the target, which is the workshop's (30 protocol clients). The page itself
  presses arrow keys on the sliders' handles and times key-down -> the next new picture painted
  (decoded, then the next animation frame, as browser.py counts it); the loop runs in the page,
  so the Python driver is off the measured path. Chromium shares the machine's cores with the
  server, so N is kept small.
- protocol: a Bokeh-protocol websocket client per session, no browser: it opens the page as a
  browser does (GET, then the websocket with the page's token, then "document ready"), sends
  slider values as a drag does (`value` per frame, `value_throttled` on release) and times
  send -> the picture's new `src` received (no decode, no paint). It costs almost no CPU, so it
  reaches workshop-sized N on a small machine.

Both walk the sliders the same way (SliderWalk), so latents seldom repeat and every step costs a
decode. A step waits for its picture (or STEP_TIMEOUT_S) before the next is due: a user who sees
a slow picture does not outrun it, and each latency belongs to exactly one step. While the load
runs, a fresh browser page is opened now and then and timed to its first picture. CPU seconds of
the server, of the clients (Chromium, Playwright's driver and this process) and of everything
else on the machine are read from /proc: on a small machine they all compete for the same cores.

soak: open and close many sessions (protocol clients, a few at a time; each opens, moves a
slider once, waits for the picture and closes) and read the server's RSS from /proc. Every
session opens the same link, so the renderer's tile cache stops growing after the warm-up and
what remains is what sessions leave behind. The sessions run in two halves: a leak grows again
in the second half, memory the allocator keeps after a peak of live sessions does not. Bokeh
discards a closed session only after 15 s unused (checking every 17 s) and Panel collects
garbage 5 s later, so each reading waits for the server's GET /health to count no live
sessions (or SETTLE_S where the server has no /health).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from explorer.bench import target
from explorer.benchmarks.browser import CHROMIUM, CHROMIUM_ARGS, _pack

# Browser clients are fewer: on a 2-core machine, 10 Chromium pages stepping 4 times a second take
# more than one core themselves, so they measure the clients' CPU as much as the server.
QUICK = {"browser_sessions": 4, "protocol_sessions": 8, "seconds": 15.0, "soak_sessions": 40}
FULL = {"browser_sessions": 8, "protocol_sessions": 30, "seconds": 60.0, "soak_sessions": 200}
# The load runs against the workshop recipe of docs/hosting.md: one server process per core.
# The soak runs one process: memory per session is what it measures, and with N processes the
# same sessions spread over N copies of it.
WORKSHOP_SERVE_ARGS = ("--num-procs", "0")
STEPS_PER_S = 4.0
STEP_TIMEOUT_S = 10.0
OPEN_TIMEOUT_S = 120.0
OPEN_AT_ONCE = 3  # clients that join at the same moment; a workshop fills up over a minute, not in one instant
FRESH_PAGE_PROBES = 3  # at most, evenly spaced through the load
SOAK_AT_ONCE = 4
SOAK_WARMUP_SESSIONS = 5
SETTLE_S = 45.0  # Bokeh's 15 s unused lifetime + its 17 s check + Panel's 5 s collection, with a margin
GC_AFTER_DISCARD_S = 7.0
TARGET_STEP_P95_MS = 250.0
TARGET_SOAK_GROWTH_PCT = 10.0
VIEWPORT = {"width": 1400, "height": 1000}

# How every client moves the sliders (see SliderWalk): gestures of FRAMES_PER_GESTURE steps of
# SLIDER_STEP, round-robin over the attribute sliders, every slider up to the end of its range, then
# every slider back to 0. Latents seldom repeat, so the renderer's tile cache does not flatter the
# figures: a step costs a decode, as a new position does for a real user.
FRAMES_PER_GESTURE = 10
SLIDER_STEP = 0.05  # the Explore sliders' step (explore.py), one arrow key
SLIDER_END = 3.0  # the Explore sliders' range is ±SLIDER_END
GESTURES_TO_END = round(SLIDER_END / (FRAMES_PER_GESTURE * SLIDER_STEP))

# Installed in a browser client's page: walks the attribute sliders with arrow keys `1000 /
# interval` times a second for `seconds`, timing key-down -> the next new picture of the Explore
# image painted (decoded, then the next animation frame, as browser.py counts it).
STEPPER = """
async ({seconds, interval, timeout, frames, gesturesToEnd}) => {
  const findAll = (root, selector, found = []) => {
    found.push(...root.querySelectorAll(selector));
    for (const el of root.querySelectorAll("*")) { if (el.shadowRoot) { findAll(el.shadowRoot, selector, found); } }
    return found;
  };
  const host = findAll(document, ".explore-image")[0];
  const root = host.shadowRoot || host;
  const handles = findAll(document, ".attribute-slider").map((el) => findAll(el.shadowRoot || el, ".noUi-handle")[0]);
  const result = {steps: [], timeouts: 0};  // steps: [epoch seconds at key-down, ms to paint]
  let last = (root.querySelector("img") || {}).src;
  let waiting = null;
  new MutationObserver(() => {
    const img = root.querySelector("img");
    if (img && img.src !== last) {
      const src = last = img.src;
      img.decode().then(() => requestAnimationFrame(() => {
        if (img.src === src && waiting) { const resolve = waiting; waiting = null; resolve(performance.now()); }
      }), () => {});
    }
  }).observe(root, { subtree: true, childList: true, attributes: true, attributeFilter: ["src"] });
  const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
  const painted = () => new Promise((resolve) => {
    waiting = resolve;
    setTimeout(() => { if (waiting === resolve) { waiting = null; resolve(null); } }, timeout);
  });
  const end = performance.now() + seconds * 1000;
  let next = performance.now() + Math.random() * interval;  // clients out of step with each other
  for (let step = 0; ; step++) {
    await sleep(next - performance.now());
    if (performance.now() >= end) { break; }
    const gesture = Math.floor(step / frames);
    const handle = handles[gesture % handles.length];
    const key = Math.floor(gesture / (gesturesToEnd * handles.length)) % 2 === 0 ? "ArrowRight" : "ArrowLeft";
    const paint = painted();
    const down = performance.now();
    handle.dispatchEvent(new KeyboardEvent("keydown", {key: key, code: key, bubbles: true, cancelable: true}));
    const at = await paint;
    if (at === null) { result.timeouts += 1; } else { result.steps.push([(performance.timeOrigin + down) / 1000, at - down]); }
    next = Math.max(next + interval, performance.now());
  }
  return result;
}
"""


class SliderWalk:
    """The protocol clients' slider moves, the same walk the browser clients make with arrow keys."""

    def __init__(self, sliders: int):
        if sliders < 1:
            raise ValueError(f"a walk needs at least one slider, got {sliders}")
        self.values = [0.0] * sliders
        self.step = 0

    def next(self) -> tuple[int, float, bool]:
        """(slider index, its new value, whether this step ends a gesture, i.e. a drag's release)."""
        gesture, frame = divmod(self.step, FRAMES_PER_GESTURE)
        slider = gesture % len(self.values)
        rising = (gesture // (GESTURES_TO_END * len(self.values))) % 2 == 0
        self.values[slider] = round(self.values[slider] + (SLIDER_STEP if rising else -SLIDER_STEP), 2)
        self.step += 1
        return slider, self.values[slider], frame == FRAMES_PER_GESTURE - 1


# --------------------------------------------------------------------------- entry points
def run(quick: bool) -> dict[str, Any]:
    """Load (browser and protocol clients) and soak figures on the default pack or the stand-in."""
    if not Path(CHROMIUM).exists():
        return {"skipped": f"no Chromium at {CHROMIUM}; set $CHROMIUM"}
    with tempfile.TemporaryDirectory(prefix="latent-explorer-bench-") as folder:
        pack, env, source = _pack(Path(folder))
        return {"pack": source, **benchmark(pack, env, **(QUICK if quick else FULL))}


def benchmark(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: int, seconds: float,
              soak_sessions: int, settle_s: float = SETTLE_S, soak_warmup: int = SOAK_WARMUP_SESSIONS,
              load_serve_args: tuple[str, ...] = WORKSHOP_SERVE_ARGS,
              soak_serve_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """The whole section for `pack` (found through `env`): {"load": {...}, "soak": {...}}."""
    return {
        "load": {"serve_args": " ".join(load_serve_args),
                 **measure_load(pack, env, browser_sessions, protocol_sessions, seconds, load_serve_args)},
        "soak": {"serve_args": " ".join(soak_serve_args),
                 **measure_soak(pack, env, soak_sessions, settle_s=settle_s, serve_args=soak_serve_args,
                                warmup=soak_warmup)},
    }


def measure_load(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: int, seconds: float,
                 serve_args: tuple[str, ...] = ()) -> dict[str, Any]:
    """Slider-to-picture latency under N browser clients, then N protocol clients (0 skips a kind)."""
    return asyncio.run(_load(pack, env, browser_sessions, protocol_sessions, seconds, serve_args))


def measure_soak(pack: str, env: dict[str, str], sessions: int, at_once: int = SOAK_AT_ONCE,
                 settle_s: float = SETTLE_S, fresh_start: bool = False, serve_args: tuple[str, ...] = (),
                 warmup: int = SOAK_WARMUP_SESSIONS) -> dict[str, Any]:
    """Server RSS before, during and after opening and closing `sessions` sessions.

    With `fresh_start` every session opens the plain address (a random held-out start, as a
    new visitor gets), so the tile cache grows too; otherwise all open one warm link.
    """
    with served(pack, env, serve_args) as server, RssSampler(server.pid, server.url) as rss:
        return asyncio.run(_soak(server, rss, sessions, at_once, settle_s, fresh_start, warmup))


# --------------------------------------------------------------------------- the server
@dataclass
class Server:
    url: str
    pid: int
    log: Path

    def errors(self) -> list[str]:
        """Errors the server logged, each as its ERROR line, with the exception that ended its traceback."""
        errors, lines = [], self.log.read_text(errors="replace").splitlines()
        for number, line in enumerate(lines):
            if line.startswith("Traceback"):
                ending = next((later for later in lines[number + 1:] if later and not later[0].isspace()), "?")
                if errors and errors[-1].endswith(":"):
                    errors[-1] += " " + ending
                else:
                    errors.append(ending)
            elif re.search(r"\bERROR\b", line):
                errors.append(line.strip() + ":")
        return errors


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
            yield Server(_wait_until_serving(process, log, ready_timeout), process.pid, log)
        finally:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_until_serving(process: subprocess.Popen, log: Path, timeout: float = OPEN_TIMEOUT_S) -> str:
    """The base URL once the server printed it and answers 200 there."""
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


# --------------------------------------------------------------------------- /proc readings
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int) -> float:
    """Resident set size of process `pid` and its descendants (a --num-procs server's workers) in MiB.

    Pages the workers still share with their parent after the fork count once per process, so
    this overstates what a multi-process server takes; it is exact for one process.
    """
    total = 0
    for member in _descendants(_process_table(), pid):
        with contextlib.suppress(OSError, ValueError):
            total += _status_kb(member, "VmRSS")
    return total / 1024


def _status_kb(pid: int, field: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise ValueError(f"/proc/{pid}/status has no {field}")


def _process_table() -> dict[int, tuple[int, float]]:
    """pid -> (parent pid, CPU seconds used so far) for every process we can read."""
    table = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            fields = Path(f"/proc/{entry.name}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # it exited meanwhile
        table[int(entry.name)] = (int(fields[1]), (int(fields[11]) + int(fields[12])) / CLOCK_TICKS)
    return table


def _machine_busy_s() -> float:
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, Path("/proc/stat").read_text().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / CLOCK_TICKS


def _descendants(table: dict[int, tuple[int, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in table.items():
        children.setdefault(parent, []).append(pid)
    found, todo = set(), [root]
    while todo:
        pid = todo.pop()
        found.add(pid)
        todo.extend(children.get(pid, []))
    return found


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
        self._started, self._busy = time.monotonic(), _machine_busy_s()
        self._sample(first=True)
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()
        self.window_s = time.monotonic() - self._started
        self.busy_s = _machine_busy_s() - self._busy

    def _sample_until_stopped(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self, first: bool = False) -> None:
        table = _process_table()
        server = _descendants(table, self.server_pid)
        clients = _descendants(table, os.getpid()) - server
        for pid in server | clients:
            cpu = table[pid][1]
            if pid not in self._roles:
                self._roles[pid] = "server" if pid in server else "clients"
                self._first[pid] = cpu if first else 0.0  # born during the window: all its CPU counts
            self._last[pid] = cpu

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


class RssSampler:
    """The server's RSS (and, where it serves GET /health, its live sessions) once a second in a thread."""

    def __init__(self, pid: int, url: str = "", interval: float = 1.0):
        self.pid = pid
        self.health = url + "health" if url else ""
        self.interval = interval
        self.samples: list[tuple[float, float]] = []  # (monotonic time, MiB)
        self.live: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        while True:
            with contextlib.suppress(OSError, ValueError):
                self.samples.append((time.monotonic(), rss_mb(self.pid)))
            if self.health:
                self._read_health()
            if self._stop.wait(self.interval):
                return

    def _read_health(self) -> None:
        try:
            with urllib.request.urlopen(self.health, timeout=5) as response:
                self.live.append(int(json.load(response)["sessions"]))
        except urllib.error.HTTPError:
            self.health = ""  # this server has no /health: stop asking
        except (OSError, ValueError, KeyError, TypeError):
            pass

    def live_now(self) -> int | None:
        """Live sessions at the last reading, or None when the server has no /health."""
        return self.live[-1] if self.health and self.live else None

    def live_peak(self) -> int | None:
        return max(self.live) if self.live else None

    def peak_mb(self, since: float = 0.0) -> float:
        """The highest RSS sampled since monotonic time `since`."""
        return max((mb for at, mb in self.samples if at >= since), default=float("nan"))

    def high_water_mb(self) -> float:
        """The highest RSS the kernel saw since the server started (VmHWM), peaks between samples included."""
        return _status_kb(self.pid, "VmHWM") / 1024


# --------------------------------------------------------------------------- protocol client
class ProtocolClient:
    """One app session through Bokeh's websocket protocol, opened as a browser opens it, minus the browser."""

    def __init__(self, url: str):
        self.url = url
        self.errors: list[str] = []
        self.link = ""
        self._socket = None
        self._reader: asyncio.Task | None = None
        self._picture: asyncio.Future | None = None
        self._closing = False

    async def open(self, query: str = "", timeout: float = OPEN_TIMEOUT_S) -> float:
        """GET the page, connect its websocket, pull the document; seconds until the first picture is in hand."""
        started = time.perf_counter()
        await asyncio.wait_for(self._open(query), timeout)
        return time.perf_counter() - started

    async def _open(self, query: str) -> None:
        from bokeh.protocol import Protocol
        from bokeh.protocol.receiver import Receiver
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        page = await AsyncHTTPClient().fetch(self.url + (f"?{query}" if query else ""), request_timeout=OPEN_TIMEOUT_S)
        found = re.search(r'"token":\s*"([^"]+)"', page.body.decode())
        if not found:
            raise RuntimeError(f"no session token in the page at {self.url}")
        origin = re.match(r"(http://[^/]+)", self.url).group(1)
        request = HTTPRequest(origin.replace("http", "ws", 1) + self._prefix() + "ws", headers={"Origin": origin})
        self._socket = await websocket_connect(request, subprotocols=["bokeh", found.group(1)], max_message_size=1 << 26)
        # As browsers do: without it, Nagle's algorithm holds a message's later frames until the
        # server's delayed acknowledgement (up to 40 ms) comes back.
        self._socket.protocol.set_nodelay(True)
        self._protocol, self._receiver = Protocol(), Receiver(Protocol())
        await self._read()  # ACK
        await self._send(self._protocol.create("PULL-DOC-REQ"))
        reply = await self._read()
        if reply is None or reply.msgtype != "PULL-DOC-REPLY":
            raise RuntimeError(f"expected PULL-DOC-REPLY from {self.url}, got {reply and reply.msgtype}")
        self._find_models(reply.content)
        # What bokehjs sends once the page is built; Panel holds some updates until then.
        await self._patch([{"kind": "MessageSent", "msg_type": "bokeh_event",
                            "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}}])
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())

    def _prefix(self) -> str:
        return re.match(r"http://[^/]+(/.*)", self.url).group(1)

    def _find_models(self, content: dict) -> None:
        objects: dict[str, dict] = {}
        _collect_objects(content, objects)
        sliders = [o["id"] for o in objects.values()
                   if o["name"] == "Slider" and "attribute-slider" in o["attributes"].get("css_classes", [])]
        pictures = [o for o in objects.values() if "explore-image" in o["attributes"].get("css_classes", [])]
        if not sliders or not pictures:
            raise RuntimeError(f"the page at {self.url} has no Explore attribute slider or picture")
        self.sliders = sliders
        self._picture_data = pictures[0]["attributes"]["data"]["id"]
        self.link = next((o["attributes"]["query"] for o in objects.values()
                          if o["name"].startswith("LinkWriter") and "query" in o["attributes"]), "")

    async def move(self, slider: int, value: float, release: bool = False,
                   timeout: float = STEP_TIMEOUT_S) -> float | None:
        """Set attribute slider number `slider` to `value` (as a drag frame; `release` also ends the
        drag); ms until the new picture arrived, or None when none came within `timeout`."""
        self._picture = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        events = [{"kind": "ModelChanged", "model": {"id": self.sliders[slider]}, "attr": "value", "new": value}]
        await self._patch(events)
        if release:
            await self._patch([{**events[0], "attr": "value_throttled"}])
        try:
            arrived = await asyncio.wait_for(asyncio.shield(self._picture), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._picture = None
        return (arrived - started) * 1e3

    async def close(self) -> None:
        self._closing = True
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)

    async def _read_forever(self) -> None:
        while True:
            message = await self._read()
            if message is None:
                if not self._closing:
                    self.errors.append("the server closed the websocket")
                return
            if message.msgtype == "ERROR":
                self.errors.append(f"server error: {message.content}")
            elif message.msgtype == "PATCH-DOC":
                for event in message.content.get("events", []):
                    if (event.get("attr") == "src" and event.get("model", {}).get("id") == self._picture_data
                            and self._picture is not None and not self._picture.done()):
                        self._picture.set_result(time.perf_counter())

    async def _read(self):
        while True:
            fragment = await self._socket.read_message()
            if fragment is None:
                return None
            message = await self._receiver.consume(fragment)
            if message is not None:
                return message

    async def _patch(self, events: list[dict]) -> None:
        from bokeh.protocol.messages.patch_doc import patch_doc

        await self._send(patch_doc(patch_doc.create_header(), {}, {"events": events}))

    async def _send(self, message) -> None:
        for part in (message.header_json, message.metadata_json, message.content_json):
            await self._socket.write_message(part)


def _collect_objects(node: object, found: dict[str, dict]) -> None:
    """Every serialized Bokeh model in a document (each appears once in full; later as {"id"})."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node and "attributes" in node:
            found[node["id"]] = node
        for value in node.values():
            _collect_objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_objects(value, found)


# --------------------------------------------------------------------------- load
async def _load(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: int, seconds: float,
                serve_args: tuple[str, ...]) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    result: dict[str, Any] = {"steps_per_s_per_client": STEPS_PER_S, "seconds": seconds}
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            for kind, count in (("browser", browser_sessions), ("protocol", protocol_sessions)):
                if count > 0:
                    with served(pack, env, serve_args) as server:
                        result[kind] = await _load_phase(kind, server, browser, count, seconds)
        finally:
            await browser.close()
    return result


async def _load_phase(kind: str, server: Server, browser, count: int, seconds: float) -> dict[str, Any]:
    """Open `count` clients of `kind`, let them all step for `seconds`, and summarise."""
    load_before = round(os.getloadavg()[0], 2)
    idle_first_image_s = (await _fresh_page(browser, server.url))[0]
    rss_before = rss_mb(server.pid)
    client = _BrowserClient if kind == "browser" else _ProtocolStepper
    clients = [client(browser, server.url) for _ in range(count)]
    gate = asyncio.Semaphore(OPEN_AT_ONCE)
    opened = time.perf_counter()
    open_s = await asyncio.gather(*(c.open(gate) for c in clients))
    ramp_s = time.perf_counter() - opened
    try:
        with CpuMeter(server.pid) as cpu:
            probe_count = max(1, min(FRESH_PAGE_PROBES, int(seconds // 10)))  # one per 10 s, at most 3
            probes = asyncio.gather(*(_fresh_page(browser, server.url, delay=seconds * (i + 1) / (probe_count + 1))
                                      for i in range(probe_count)))
            outcomes = await asyncio.gather(*(c.step_for(seconds) for c in clients))
            opened_pages = await probes
    finally:
        await asyncio.gather(*(c.close() for c in clients), return_exceptions=True)
    fresh_s = [seconds for seconds, _, _ in opened_pages]
    timed = [step for o in outcomes for step in o["steps"]]
    steps = np.asarray([ms for _, ms in timed], dtype=float)
    p95 = float(np.percentile(steps, 95)) if steps.size else float("inf")
    # A session being opened holds the server's one event loop: the steps that began then, or in
    # the second after, are the tail.
    opening = np.asarray([any(began <= at <= ended + 1.0 for _, began, ended in opened_pages) for at, _ in timed],
                         dtype=bool)
    timeouts = sum(o["timeouts"] for o in outcomes)
    client_errors = [error for c in clients for error in c.errors]
    server_errors = server.errors()
    errors = len(client_errors) + len(server_errors) + timeouts + sum(s is None for s in fresh_s)
    figures: dict[str, Any] = {
        "client": ("headless Chromium pages, one context each: arrow keys timed key-down -> new picture painted"
                   if kind == "browser" else "Bokeh-protocol websocket clients: drag frames timed send -> new picture received"),
        "sessions": count,
        "ramp_up_s": round(ramp_s, 1),
        "session_open_s": _summary([s for s in open_s if s is not None], 2),
        "steps": int(steps.size),
        "steps_per_s": round(steps.size / seconds, 1),
        "steps_per_client": [int(min(len(o["steps"]) for o in outcomes)), int(max(len(o["steps"]) for o in outcomes))],
        "step_ms": _summary(steps, 1),
        "step_ms_while_a_page_opens": {"steps": int(opening.sum()), **_summary(steps[opening], 1)},
        "step_ms_otherwise": {"steps": int((~opening).sum()), **_summary(steps[~opening], 1)},
        # The target is the workshop's (30 sessions, protocol clients). A few Chromium pages on the
        # server's own cores measure the browsers' appetite for CPU as much as the server.
        "step_p95_ms": (target(p95, TARGET_STEP_P95_MS) if kind == "protocol" else round(p95, 1)),
        "fresh_page_first_image_s": {"idle": idle_first_image_s,
                                     "under_load": [s for s in fresh_s],
                                     "worst_under_load": max((s for s in fresh_s if s is not None), default=None)},
        "errors": target(errors, 1, "errors"),
        "error_counts": {"step_timeouts": timeouts, "client": len(client_errors), "server_log": len(server_errors),
                         "fresh_page_failures": sum(s is None for s in fresh_s)},
        "error_examples": (client_errors + server_errors)[:5],
        "cpu": cpu.figures(),
        "server_rss_mb": {"before": round(rss_before, 1), "after": round(rss_mb(server.pid), 1)},
        "load_average_1m": {"before": load_before, "after": round(os.getloadavg()[0], 2)},
    }
    return figures


def _summary(values, digits: int) -> dict[str, float | None]:
    values = np.asarray(values, dtype=float)
    if values.size == 0:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    p50, p95, p99 = np.percentile(values, [50, 95, 99])
    return {"p50": round(float(p50), digits), "p95": round(float(p95), digits),
            "p99": round(float(p99), digits), "max": round(float(values.max()), digits)}


async def _fresh_page(browser, url: str, delay: float = 0.0) -> tuple[float | None, float, float]:
    """(seconds for a new browser session to show its first picture or None if it failed, and the
    epoch seconds it began and ended)."""
    await asyncio.sleep(delay)
    began = time.time()
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        page = await context.new_page()
        started = time.perf_counter()
        await page.goto(url, timeout=OPEN_TIMEOUT_S * 1000)
        await page.locator(".explore-image img").first.wait_for(timeout=OPEN_TIMEOUT_S * 1000)
        return round(time.perf_counter() - started, 2), began, time.time()
    except Exception:  # noqa: BLE001  (a failure is counted as an error by the caller)
        return None, began, time.time()
    finally:
        await context.close()


class _BrowserClient:
    """One user in their own browser context, stepping with the keyboard from inside the page."""

    def __init__(self, browser, url: str):
        self.browser = browser
        self.url = url
        self.errors: list[str] = []
        self.context = None

    async def open(self, gate: asyncio.Semaphore) -> float | None:
        async with gate:
            try:
                self.context = await self.browser.new_context(viewport=VIEWPORT)
                self.page = await self.context.new_page()
                self.page.on("console", lambda m: m.type == "error" and self.errors.append(f"console: {m.text}"))
                self.page.on("pageerror", lambda e: self.errors.append(f"page error: {e}"))
                self.page.on("requestfailed", lambda r: self.errors.append(f"request failed: {r.url}"))
                started = time.perf_counter()
                await self.page.goto(self.url, timeout=OPEN_TIMEOUT_S * 1000)
                await self.page.locator(".attribute-slider .noUi-handle").first.wait_for(timeout=OPEN_TIMEOUT_S * 1000)
                await self.page.locator(".explore-image img").first.wait_for(timeout=OPEN_TIMEOUT_S * 1000)
                return time.perf_counter() - started
            except Exception as error:
                self.errors.append(f"open failed: {type(error).__name__}: {error}")
                return None

    async def step_for(self, seconds: float) -> dict[str, Any]:
        if self.context is None or any(e.startswith("open failed") for e in self.errors):
            return {"steps": [], "timeouts": 0}
        try:
            return await self.page.evaluate(STEPPER, {"seconds": seconds, "interval": 1000 / STEPS_PER_S,
                                                      "timeout": STEP_TIMEOUT_S * 1000, "frames": FRAMES_PER_GESTURE,
                                                      "gesturesToEnd": GESTURES_TO_END})
        except Exception as error:
            self.errors.append(f"stepping failed: {type(error).__name__}: {error}")
            return {"steps": [], "timeouts": 0}

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class _ProtocolStepper:
    """One protocol client walking the attribute sliders STEPS_PER_S frames a second."""

    def __init__(self, browser, url: str):
        self.client = ProtocolClient(url)
        self.errors = self.client.errors

    async def open(self, gate: asyncio.Semaphore) -> float | None:
        async with gate:
            try:
                return await self.client.open()
            except Exception as error:
                self.errors.append(f"open failed: {type(error).__name__}: {error}")
                return None

    async def step_for(self, seconds: float) -> dict[str, Any]:
        if any(e.startswith("open failed") for e in self.errors):
            return {"steps": [], "timeouts": 0}
        interval = 1 / STEPS_PER_S
        steps, timeouts = [], 0
        walk = SliderWalk(len(self.client.sliders))
        now = time.perf_counter()
        end, due = now + seconds, now + random.uniform(0, interval)  # clients out of step with each other
        while True:
            await asyncio.sleep(max(0.0, due - time.perf_counter()))
            if time.perf_counter() >= end:
                break
            slider, value, release = walk.next()
            started = time.time()
            try:
                ms = await self.client.move(slider, value, release=release)
            except Exception as error:
                self.errors.append(f"step failed: {type(error).__name__}: {error}")
                break
            if ms is None:
                timeouts += 1
            else:
                steps.append((started, ms))
            due = max(due + interval, time.perf_counter())
        return {"steps": steps, "timeouts": timeouts}

    async def close(self) -> None:
        await self.client.close()


# --------------------------------------------------------------------------- soak
async def _soak(server: Server, rss: RssSampler, sessions: int, at_once: int, settle_s: float,
                fresh_start: bool, warmup: int) -> dict[str, Any]:
    started_mb = rss_mb(server.pid)
    errors: list[str] = []
    link = ""
    for _ in range(max(1, warmup)):  # at least one, for the link
        link = await _one_session(server.url, "", errors) or link
    query = "" if fresh_start else link
    settled = [await _settle(rss, settle_s)]
    baseline, baseline_at = rss_mb(server.pid), time.monotonic()
    gate = asyncio.Semaphore(at_once)
    session_s: list[float] = []

    async def visit() -> None:
        async with gate:
            begun = time.perf_counter()
            if await _one_session(server.url, query, errors) is not None:
                session_s.append(time.perf_counter() - begun)

    # Two halves, each followed by the settle: a leak keeps growing in the second half, while
    # memory that sessions only borrowed (allocator high water) is reused there.
    settled_mb, soak_s = [], 0.0
    for half in (sessions - sessions // 2, sessions // 2):
        began = time.perf_counter()
        await asyncio.gather(*(visit() for _ in range(half)))
        soak_s += time.perf_counter() - began
        settled.append(await _settle(rss, settle_s))
        settled_mb.append(rss_mb(server.pid))
    final = settled_mb[-1]
    server_errors = server.errors()
    return {
        "client": "Bokeh-protocol websocket clients: open, move a slider once, wait for the picture, close",
        "link": "fresh start per session (tile cache grows)" if fresh_start else "one warm link (tile cache steady)",
        "sessions": sessions,
        "at_once": at_once,
        "seconds": round(soak_s, 1),
        "session_s": _summary(session_s, 2),
        "live_sessions_peak": rss.live_peak(),
        "settled": settled,
        "rss_mb": {"at_start": round(started_mb, 1), "baseline": round(baseline, 1),
                   "peak": round(rss.peak_mb(since=baseline_at), 1), "after_first_half": round(settled_mb[0], 1),
                   "final": round(final, 1), "high_water_since_start": round(rss.high_water_mb(), 1)},
        "final_vs_baseline_pct": target(100 * (final - baseline) / baseline, TARGET_SOAK_GROWTH_PCT, "%"),
        "second_half_growth_pct": round(100 * (final - settled_mb[0]) / settled_mb[0], 2),
        "second_half_kb_per_session": round(1024 * (final - settled_mb[0]) / max(sessions // 2, 1), 1),
        "errors": target(len(errors) + len(server_errors), 1, "errors"),
        "error_examples": (errors + server_errors)[:5],
        "load_average_1m_after": round(os.getloadavg()[0], 2),
    }


async def _settle(rss: RssSampler, limit_s: float) -> str:
    """Wait until closed sessions are discarded and garbage-collected (at most `limit_s`); how it ended.

    With the server's GET /health, wait for 0 live sessions and then Panel's collection (5 s
    after the last discard); without it, wait the whole `limit_s`.
    """
    deadline = time.monotonic() + limit_s
    await asyncio.sleep(min(2.0, limit_s))  # let the last closes reach the server
    while time.monotonic() < deadline:
        live = rss.live_now()
        if live is None:
            await asyncio.sleep(max(0.0, deadline - time.monotonic()))
            return f"waited {limit_s:g} s"
        if live == 0:
            await asyncio.sleep(min(GC_AFTER_DISCARD_S, max(0.0, deadline - time.monotonic())))
            return "no live sessions"
        await asyncio.sleep(0.5)
    return f"{rss.live_now()} sessions still live after {limit_s:g} s"


async def _one_session(url: str, query: str, errors: list[str]) -> str | None:
    """Open a session, move its first slider once, wait for the picture, close; its link, or None."""
    client = ProtocolClient(url)
    try:
        await client.open(query)
        if await client.move(0, SLIDER_STEP, release=True) is None:
            errors.append(f"no picture within {STEP_TIMEOUT_S} s of a slider move")
            return None
        return client.link
    except Exception as error:
        errors.append(f"session failed: {type(error).__name__}: {error}")
        return None
    finally:
        await client.close()
        errors.extend(client.errors)


def as_json(figures: dict[str, Any]) -> str:
    """Figures as indented JSON, for the scripts."""
    return json.dumps(figures, indent=2, default=str)
