"""Benchmark: the served app under a workshop's load, and its memory over many sessions.

load: N clients each move the Explore attribute sliders STEPS_PER_S times a second for a while,
against `latent-explorer serve` (a subprocess; the default pack, or the harness's stand-in). Two
kinds of client, each kind against a fresh server:

- browser: one headless Chromium, one context (a separate user) per client; reported without
  the target, which is the workshop's (30 protocol clients). The page itself
  presses arrow keys on the sliders' handles and times key-down -> the next new picture painted
  (decoded, then the next animation frame, as browser.py counts it); the loop runs in the page,
  so the Python driver is off the measured path. Chromium shares the machine's cores with the
  server, so N is kept small.
- protocol: a Bokeh-protocol websocket client per session (protocol.py), no browser: it sends
  slider values as a drag does and times send -> the picture's new `src` received (no decode,
  no paint). It costs almost no CPU, so it reaches workshop-sized N (30) and a room (100) on a
  small machine.

Every phase runs twice, back to back, each against a fresh server: with the slider's side channel
(the default: the page sends the latent, gets the JPEG on a binary websocket, explorer.app.sidechannel)
and with `--server-decode` (every step through Bokeh, as before it); `ratios` compares the two.

Both walk the sliders the same way (SliderWalk), so latents seldom repeat and every step costs a
decode. A step waits for its picture (or STEP_TIMEOUT_S) before the next is due: a user who sees
a slow picture does not outrun it, and each latency belongs to exactly one step. While the load
runs, a fresh browser page is opened now and then and timed to its first picture. CPU seconds of
the server, of the clients (Chromium, Playwright's driver and this process) and of everything
else on the machine are metered (harness.CpuMeter): on a small machine they all compete for
the same cores.

soak: open and close many sessions (protocol clients, a few at a time; each opens, moves a
slider once, waits for the picture and closes) and read the server's RSS. Every session
opens the same link, so the renderer's tile cache stops growing after the warm-up and
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
import threading
import time
import urllib.error
import urllib.request
from typing import Any

import numpy as np

from explorer.bench import target
from explorer.benchmarks.harness import (
    OPEN_TIMEOUT_S,
    VIEWPORT,
    CpuMeter,
    Server,
    chromium_missing,
    collect_page_errors,
    launch_chromium,
    pack_to_serve,
    peak_rss_mb,
    rss_mb,
    served,
)
from explorer.benchmarks.protocol import STEP_TIMEOUT_S, ProtocolClient

# Browser clients are fewer: on a 2-core machine, 10 Chromium pages stepping 4 times a second take
# more than one core themselves, so they measure the clients' CPU as much as the server.
QUICK = {"browser_sessions": 4, "protocol_sessions": (8, 30), "seconds": 15.0, "soak_sessions": 40}
FULL = {"browser_sessions": 8, "protocol_sessions": (30, 100), "seconds": 60.0, "soak_sessions": 200}
# The two ways a slider step reaches the picture, measured side by side: extra `serve` arguments.
PATHS = {"side_channel": (), "server_decode": ("--server-decode",)}
# The load runs against the workshop recipe of docs/hosting.md: one server process per core.
# The soak runs one process: memory per session is what it measures, and with N processes the
# same sessions spread over N copies of it.
WORKSHOP_SERVE_ARGS = ("--num-procs", "0")
STEPS_PER_S = 4.0
OPEN_AT_ONCE = 3  # clients that join at the same moment; a workshop fills up over a minute, not in one instant
FRESH_PAGE_PROBES = 3  # at most, evenly spaced through the load
SOAK_AT_ONCE = 4
SOAK_WARMUP_SESSIONS = 5
SETTLE_S = 45.0  # Bokeh's 15 s unused lifetime + its 17 s check + Panel's 5 s collection, with a margin
GC_AFTER_DISCARD_S = 7.0
# p95 step-to-picture of protocol clients on the side channel (issue 17): a workshop, and a room.
TARGET_STEP_P95_MS = {30: 60.0, 100: 150.0}
TARGET_SOAK_GROWTH_PCT = 10.0

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
    if missing := chromium_missing():
        return {"skipped": missing}
    with pack_to_serve() as (pack, env, source):
        return {"pack": source, **benchmark(pack, env, **(QUICK if quick else FULL))}


def benchmark(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: tuple[int, ...],
              seconds: float,
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


def measure_load(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: int | tuple[int, ...],
                 seconds: float, serve_args: tuple[str, ...] = (), paths: tuple[str, ...] = tuple(PATHS)
                 ) -> dict[str, Any]:
    """Slider-to-picture latency under N browser clients, then each N of protocol clients (0 skips
    one), each on every one of `paths` back to back: {path: {"browser" | "protocol_N": figures},
    "ratios": ...}."""
    counts = (protocol_sessions,) if isinstance(protocol_sessions, int) else tuple(protocol_sessions)
    return asyncio.run(_load(pack, env, browser_sessions, counts, seconds, serve_args, paths))


def step_target_ms(sessions: int) -> float:
    """The p95 step-to-picture target for `sessions` protocol clients on the side channel."""
    return TARGET_STEP_P95_MS[30] if sessions <= 30 else TARGET_STEP_P95_MS[100]


def ratios(load: dict[str, Any]) -> dict[str, Any]:
    """Today's path (server_decode) over the side channel, per phase measured on both."""
    side, server = load.get("side_channel", {}), load.get("server_decode", {})
    compared = {}
    for phase in sorted(set(side) & set(server)):
        a, b = side[phase], server[phase]
        p95 = (_plain_value(b["step_p95_ms"]), _plain_value(a["step_p95_ms"]))
        compared[phase] = {
            "p95_ms_server_decode_over_side_channel": _ratio(*p95),
            "p50_ms_server_decode_over_side_channel": _ratio(b["step_ms"]["p50"], a["step_ms"]["p50"]),
            "steps_per_s_side_channel_over_server_decode": _ratio(a["steps_per_s"], b["steps_per_s"]),
            "server_cpu_ms_per_step_server_decode_over_side_channel": _ratio(b["server_cpu_ms_per_step"],
                                                                           a["server_cpu_ms_per_step"]),
        }
    return compared


def _plain_value(figure: Any) -> float:
    return figure["value"] if isinstance(figure, dict) else figure


def _ratio(a: float | None, b: float | None) -> float | None:
    return None if a is None or not b else round(a / b, 2)


def measure_soak(pack: str, env: dict[str, str], sessions: int, at_once: int = SOAK_AT_ONCE,
                 settle_s: float = SETTLE_S, fresh_start: bool = False, serve_args: tuple[str, ...] = (),
                 warmup: int = SOAK_WARMUP_SESSIONS) -> dict[str, Any]:
    """Server RSS before, during and after opening and closing `sessions` sessions.

    With `fresh_start` every session opens the plain address (a random held-out start, as a
    new visitor gets), so the tile cache grows too; otherwise all open one warm link.
    """
    with served(pack, env, serve_args) as server, RssSampler(server.pid, server.url) as rss:
        return asyncio.run(_soak(server, rss, sessions, at_once, settle_s, fresh_start, warmup))


# --------------------------------------------------------------------------- the soak's sampler
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

    def high_water_mb(self) -> float | None:
        """The highest RSS the kernel saw since the server started, peaks between samples included
        (None where the system does not keep it)."""
        return peak_rss_mb(self.pid)


# --------------------------------------------------------------------------- load
async def _load(pack: str, env: dict[str, str], browser_sessions: int, protocol_sessions: tuple[int, ...],
                seconds: float, serve_args: tuple[str, ...], paths: tuple[str, ...]) -> dict[str, Any]:
    from playwright.async_api import async_playwright

    unknown = [path for path in paths if path not in PATHS]
    if unknown:
        raise ValueError(f"unknown paths {unknown}; choose from {list(PATHS)}")
    result: dict[str, Any] = {"steps_per_s_per_client": STEPS_PER_S, "seconds": seconds,
                              **{path: {} for path in paths}}
    phases = [("browser", browser_sessions, "browser")] + [("protocol", n, f"protocol_{n}") for n in protocol_sessions]
    async with async_playwright() as playwright:
        browser = await launch_chromium(playwright)
        try:
            for kind, count, name in phases:
                for path in paths if count > 0 else ():  # the two paths back to back, each on a fresh server
                    with served(pack, env, serve_args + PATHS[path]) as server:
                        result[path][name] = await _load_phase(kind, server, browser, count, seconds,
                                                               side_channel=path == "side_channel")
        finally:
            await browser.close()
    result["ratios"] = ratios(result)
    return result


async def _load_phase(kind: str, server: Server, browser, count: int, seconds: float,
                      side_channel: bool = True) -> dict[str, Any]:
    """Open `count` clients of `kind`, let them all step for `seconds`, and summarise; the target is
    for protocol clients on the side channel."""
    load_before = round(os.getloadavg()[0], 2)
    idle_first_image_s = (await _fresh_page(browser, server.url))[0]
    rss_before = rss_mb(server.pid)
    client = _BrowserClient if kind == "browser" else _ProtocolStepper
    clients = [client(browser, server.url, side_channel) for _ in range(count)]
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
    cpu_figures = cpu.figures()
    figures: dict[str, Any] = {
        "client": ("headless Chromium pages, one context each: arrow keys timed key-down -> new picture painted"
                   if kind == "browser" else "Bokeh-protocol websocket clients: drag frames timed send -> new picture received"),
        "path": "side channel" if side_channel else "server decode (--server-decode)",
        "side_channel_clients": sum(c.on_side_channel() for c in clients),
        "sessions": count,
        "ramp_up_s": round(ramp_s, 1),
        "session_open_s": _summary([s for s in open_s if s is not None], 2),
        "steps": int(steps.size),
        "steps_per_s": round(steps.size / seconds, 1),
        "steps_per_client": [int(min(len(o["steps"]) for o in outcomes)), int(max(len(o["steps"]) for o in outcomes))],
        "step_ms": _summary(steps, 1),
        "step_ms_while_a_page_opens": {"steps": int(opening.sum()), **_summary(steps[opening], 1)},
        "step_ms_otherwise": {"steps": int((~opening).sum()), **_summary(steps[~opening], 1)},
        # The targets are for protocol clients on the side channel. A few Chromium pages on the
        # server's own cores measure the browsers' appetite for CPU as much as the server.
        "step_p95_ms": (target(p95, step_target_ms(count)) if kind == "protocol" and side_channel else round(p95, 1)),
        "fresh_page_first_image_s": {"idle": idle_first_image_s,
                                     "under_load": [s for s in fresh_s],
                                     "worst_under_load": max((s for s in fresh_s if s is not None), default=None)},
        "errors": target(errors, 1, "errors"),
        "error_counts": {"step_timeouts": timeouts, "client": len(client_errors), "server_log": len(server_errors),
                         "fresh_page_failures": sum(s is None for s in fresh_s)},
        "error_examples": (client_errors + server_errors)[:5],
        "cpu": cpu_figures,
        "server_cpu_ms_per_step": round(1e3 * cpu_figures["server_cpu_s"] / steps.size, 2) if steps.size else None,
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

    def __init__(self, browser, url: str, side_channel: bool = True):
        self.browser = browser
        self.url = url
        self.errors: list[str] = []
        self.context = None
        self._side_channel = False

    def on_side_channel(self) -> bool:
        """Whether the page's picture had its side channel open when stepping ended."""
        return self._side_channel

    async def open(self, gate: asyncio.Semaphore) -> float | None:
        async with gate:
            try:
                self.context = await self.browser.new_context(viewport=VIEWPORT)
                self.page = await self.context.new_page()
                collect_page_errors(self.page, self.errors)
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
            stepped = await self.page.evaluate(STEPPER, {"seconds": seconds, "interval": 1000 / STEPS_PER_S,
                                                         "timeout": STEP_TIMEOUT_S * 1000, "frames": FRAMES_PER_GESTURE,
                                                         "gesturesToEnd": GESTURES_TO_END})
            channel = await self.page.locator(".explore-image img").first.get_attribute("data-channel")
            self._side_channel = channel == "open"
            return stepped
        except Exception as error:
            self.errors.append(f"stepping failed: {type(error).__name__}: {error}")
            return {"steps": [], "timeouts": 0}

    async def close(self) -> None:
        if self.context is not None:
            await self.context.close()


class _ProtocolStepper:
    """One protocol client walking the attribute sliders STEPS_PER_S frames a second."""

    def __init__(self, browser, url: str, side_channel: bool = True):
        self.client = ProtocolClient(url, side_channel=side_channel)
        self.errors = self.client.errors

    def on_side_channel(self) -> bool:
        """Whether the client still stepped on the side channel at the end."""
        return self.client.channel is not None

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
    final, high_water = settled_mb[-1], rss.high_water_mb()
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
                   "final": round(final, 1), "high_water_since_start": None if high_water is None else round(high_water, 1)},
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
