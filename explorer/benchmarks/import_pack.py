"""Benchmark: `latent-explorer import` of a large folder, then the served pack beside the emoji pack.

A temporary folder of 200,000 64×64 PNGs (20,000 when quick) is drawn from the emoji dataset:
each file is a random emoji portrait, maybe mirrored, shifted by up to 3 px and darkened a little,
in subfolders of 1,000, with a CelebA-sized CSV attribute table (the emoji's binary labels). It
is imported as a user would, by `latent-explorer import` in a subprocess, with the emoji pack's
own ConvVAE brought as a factory spec (`MODEL_SPEC`), so that the served pack and the shipped
emoji pack decode with the same model and differ only in size. Reported:

- import: wall time, images/s over all images (held-out and training), the child's peak RSS
  (the kernel's ru_maxrss, and psutil samples every 0.2 s) against the machine's memory, and the
  pack's size on disk;
- serve, for the imported pack and the emoji pack in the same run: seconds until the page
  answers (start and warm-up), server RSS after start (and how much of it is mapped from files,
  such as the thumbnails), and the time from a slider move to its new picture over one
  Bokeh-protocol client (median, p95);
- the 9×9 MINE grid of each pack, computed as the MINE view computes it (FAISS search of the
  held-out index, 81 tiles decoded, the grid and the nearest-images strip as JPEG) in a fresh
  process on the served pack's files, hopping from centre to centre: the first grid (index and
  decoder loading in) and the median and p95 of the rest. Server time only, not the transfer.

Disk: about 1.1 GB of PNGs at full size (1.6 GB in 4 KiB blocks), removed afterwards.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

QUICK = {"images": 20_000, "slider_moves": 40, "mine_grids": 10}
FULL = {"images": 200_000, "slider_moves": 100, "mine_grids": 30}
MODEL_SPEC = "explorer.benchmarks.import_pack:emoji_model"
PACK = "bench-folder"
PER_FOLDER = 1000
MAX_SHIFT = 3
WRITE_THREADS = 4
RSS_INTERVAL_S = 0.2
IMPORT_TIMEOUT_S = 3 * 3600
SERVE_READY_TIMEOUT_S = 1800  # the warm-up encodes every held-out image blurred (the synthetic 'blur' vector)


def emoji_model():
    """The emoji pack's ConvVAE, brought as a user brings a model (a factory spec)."""
    from explorer.models.load import load_builtin
    from explorer.packs import WEIGHTS_FILE, open_pack

    pack = open_pack("emoji")
    return load_builtin(pack.card, pack.assets_dir / WEIGHTS_FILE)


def run(quick: bool) -> dict[str, Any]:
    """Generate, import and serve at the quick or full size."""
    config = QUICK if quick else FULL
    with tempfile.TemporaryDirectory(prefix="latent-explorer-import-bench-") as folder:
        root = Path(folder)
        started = time.perf_counter()
        table = write_folder(root / "images", config["images"])
        generated_s = time.perf_counter() - started
        env = {"LATENT_EXPLORER_HOME": str(root / "home")}
        result: dict[str, Any] = {"images": config["images"], "image_shape": [64, 64, 3], "model": MODEL_SPEC,
                                  "folder": {"generate_s": round(generated_s, 1),
                                             "disk_mb": round(_disk_mb(root / "images"), 1)}}
        result["import"] = measure_import(root / "images", table, env, root / "import.log")
        result["pack_disk_mb"] = {kind: round(_disk_mb(root / "home" / kind / PACK), 1)
                                  for kind in ("indexes", "assets")}
        result["serve"] = {pack: measure_serve(pack, env, config["slider_moves"]) for pack in (PACK, "emoji")}
        result["mine_9x9_ms"] = {pack: measure_mine(pack, env, config["mine_grids"]) for pack in (PACK, "emoji")}
        return result


def write_folder(directory: Path, count: int, seed: int = 0) -> Path:
    """`count` PNGs drawn from the emoji dataset under `directory`, and their CSV attribute table."""
    from PIL import Image

    from explorer.data import load_dataset

    sources = [load_dataset("emoji", split) for split in ("train", "validation")]
    images = np.concatenate([source.images for source in sources])
    masks = [source.binary_labels() for source in sources]
    names = sorted(set(masks[0]) & set(masks[1]))
    flags = np.stack([np.concatenate([mask[name] for mask in masks]) for name in names], axis=1)
    rng = np.random.default_rng(seed)
    picks = rng.integers(len(images), size=count)
    mirrored = rng.random(count) < 0.5
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(count, 2))
    shades = rng.uniform(0.85, 1.0, size=count)
    keys = [f"{i // PER_FOLDER:03d}/{i:06d}.png" for i in range(count)]
    for sub in range(0, count, PER_FOLDER):
        (directory / f"{sub // PER_FOLDER:03d}").mkdir(parents=True, exist_ok=True)

    def write(i: int) -> None:
        image = images[picks[i]][:, ::-1] if mirrored[i] else images[picks[i]]
        image = np.roll(image, tuple(shifts[i]), axis=(0, 1))
        Image.fromarray((image * shades[i]).astype(np.uint8)).save(directory / keys[i], compress_level=1)

    with ThreadPoolExecutor(WRITE_THREADS) as pool:  # Pillow's zlib releases the GIL
        for _ in pool.map(write, range(count), chunksize=256):
            pass
    table = directory.parent / "attributes.csv"
    with open(table, "w") as stream:
        stream.write(",".join(["filename", *names]) + "\n")
        for key, row in zip(keys, flags[picks].astype(np.uint8)):
            stream.write(key + "," + ",".join(map(str, row)) + "\n")
    return table


def measure_import(images: Path, table: Path, env: dict[str, str], log: Path) -> dict[str, Any]:
    """`latent-explorer import` in a subprocess: wall time, images/s and peak RSS."""
    import psutil

    # The child reports the kernel's record of its peak RSS as it exits.
    child = ("import resource, sys; from explorer.cli import main; code = main(sys.argv[1:]); "
             "print(f'peak_rss_kb={resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}'); sys.exit(code)")
    command = [sys.executable, "-c", child, "import", PACK, "--model", MODEL_SPEC, "--images", str(images),
               "--attributes", str(table), "--device", "cpu", "--force"]
    count = sum(1 for _ in images.rglob("*.png"))
    with open(log, "w") as output:
        started = time.perf_counter()
        process = subprocess.Popen(command, env={**os.environ, **env}, stdout=output, stderr=subprocess.STDOUT)
        sampled = _sample_rss(psutil.Process(process.pid), process)
        elapsed = time.perf_counter() - started
    text = log.read_text(errors="replace")
    if process.returncode != 0:
        raise RuntimeError(f"the import exited with {process.returncode}: {text[-2000:]}")
    peak_kb = int(text.rsplit("peak_rss_kb=", 1)[1].split()[0])
    return {
        "seconds": round(elapsed, 1),
        "images_per_s": round(count / elapsed, 1),
        "peak_rss_mb": round(peak_kb / 1024, 1),
        "peak_rss_sampled_mb": round(sampled / 2**20, 1),
        "machine_memory_mb": round(psutil.virtual_memory().total / 2**20),
        "summary": next((line for line in text.splitlines() if line.startswith(f"pack '{PACK}'")), ""),
    }


def _sample_rss(watched, process: subprocess.Popen) -> int:
    """The largest RSS of `watched` and its children seen until `process` exits (bytes)."""
    import psutil

    peak = 0
    deadline = time.monotonic() + IMPORT_TIMEOUT_S
    while process.poll() is None:
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError(f"the import took longer than {IMPORT_TIMEOUT_S} s")
        try:
            members = [watched, *watched.children(recursive=True)]
            peak = max(peak, sum(member.memory_info().rss for member in members))
        except psutil.Error:  # it exited meanwhile
            pass
        time.sleep(RSS_INTERVAL_S)
    return peak


def measure_serve(pack: str, env: dict[str, str], moves: int) -> dict[str, Any]:
    """Start and warm-up time, RSS and slider -> picture times of `latent-explorer serve --pack`."""
    import psutil

    from explorer.benchmarks.harness import rss_mb, served

    started = time.perf_counter()
    with served(pack, env, ready_timeout=SERVE_READY_TIMEOUT_S) as server:
        ready_s = time.perf_counter() - started
        rss_after_start = rss_mb(server.pid)
        # Linux: pages mapped from files (the thumbnails, the libraries), which the kernel can drop and reread
        file_backed = psutil.Process(server.pid).memory_info().shared / 2**20
        sampler = _PeakRss(server.pid)
        with sampler:
            times = asyncio.run(_slider_ms(server.url, moves))
        errors = server.errors()
    steps = np.asarray([ms for ms in times if ms is not None], dtype=float)
    return {
        "ready_s": round(ready_s, 1),
        "rss_mb_after_start": round(rss_after_start, 1),
        "rss_mb_after_start_file_backed": round(file_backed, 1),
        "rss_mb_peak_while_sliding": round(sampler.peak, 1),
        "slider_ms": {"moves": len(times), "pictures": int(steps.size),
                      "p50": round(float(np.median(steps)), 1) if steps.size else None,
                      "p95": round(float(np.percentile(steps, 95)), 1) if steps.size else None},
        "server_errors": errors[:3],
    }


async def _slider_ms(url: str, moves: int) -> list[float | None]:
    """One protocol client walking the attribute sliders: ms from each release to its picture."""
    from explorer.benchmarks.protocol import ProtocolClient
    from explorer.benchmarks.serve import SliderWalk

    client = ProtocolClient(url)
    try:
        await client.open()
        walk = SliderWalk(len(client.sliders))
        times = []
        for _ in range(moves):
            slider, value, _ = walk.next()
            times.append(await client.move(slider, value, release=True))
        return times
    finally:
        await client.close()


def measure_mine(pack: str, env: dict[str, str], grids: int) -> dict[str, Any]:
    """The MINE view's 9×9 grid on `pack`, timed in a subprocess (see the module docstring)."""
    import json

    child = f"from explorer.benchmarks.import_pack import mine_times; mine_times({pack!r}, {int(grids)})"
    done = subprocess.run([sys.executable, "-c", child], env={**os.environ, **env}, capture_output=True, text=True,
                          timeout=SERVE_READY_TIMEOUT_S)
    if done.returncode != 0:
        raise RuntimeError(f"timing the MINE grid of {pack!r} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def mine_times(pack: str, grids: int) -> None:
    """Print, as one JSON line, the first and the following 9×9 MINE grids' times (ms) on `pack`."""
    import json

    from explorer.app.session import Session
    from explorer.app.views.mine import MineState
    from explorer.resources import resources_for

    session = Session(resources_for(pack), seed=0)
    started = time.perf_counter()
    state = MineState(session, size=9)  # computes its first grid
    first_ms = (time.perf_counter() - started) * 1e3
    rng = np.random.default_rng(0)
    times = []
    for _ in range(grids):
        row, col = rng.integers(9, size=2)
        started = time.perf_counter()
        state.hop(int(row), int(col))  # a new centre: search, lay out, decode and encode anew
        times.append((time.perf_counter() - started) * 1e3)
    print(json.dumps({"first": round(first_ms, 1), "grids": len(times), "p50": round(float(np.median(times)), 1),
                      "p95": round(float(np.percentile(times, 95)), 1)}))


class _PeakRss:
    """The largest RSS (MiB) of a process and its children, sampled on a thread while inside `with`."""

    def __init__(self, pid: int):
        self.pid, self.peak = pid, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "_PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        from explorer.benchmarks.harness import rss_mb

        while not self._stop.wait(RSS_INTERVAL_S):
            self.peak = max(self.peak, rss_mb(self.pid))


def _disk_mb(path: Path) -> float:
    """Space the files under `path` take on disk (allocated blocks), in MiB."""
    return sum(entry.stat().st_blocks * 512 for entry in path.rglob("*") if entry.is_file()) / 2**20
