"""The benchmark suite: one section per module `explorer.benchmarks.<section>`, one JSON report.

Each section module exposes `run(quick: bool) -> dict`. A figure with a target is written as
`target(...)`: {"value", "target", "met"}, so a report shows misses as plainly as passes.
Sections whose module is not installed are reported as skipped.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import platform
import time
import traceback
from importlib import metadata
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence, TypeVar

import numpy as np

from explorer.atomic import atomic_file

log = logging.getLogger(__name__)

SECTIONS: dict[str, str] = {
    "index": "explorer.benchmarks.index",
    "render": "explorer.benchmarks.render",
    "sampling": "explorer.benchmarks.sampling",
    "samplers": "explorer.benchmarks.samplers",
    "serve": "explorer.benchmarks.serve",
    "browser": "explorer.benchmarks.browser",
    "import": "explorer.benchmarks.import_pack",
    "map": "explorer.benchmarks.map",
}
REPORT_FORMAT = 1
T = TypeVar("T")


def time_ms(fn: Callable[[T], object], inputs: Sequence[T], warmup: int = 3) -> dict[str, float]:
    """Median, 95th percentile and mean wall time in ms of fn(x) over `inputs` (after warm-up calls)."""
    for value in inputs[:warmup]:
        fn(value)
    seconds = []
    for value in inputs:
        start = time.perf_counter()
        fn(value)
        seconds.append(time.perf_counter() - start)
    millis = np.asarray(seconds) * 1e3
    return {
        "median_ms": round(float(np.median(millis)), 4),
        "p95_ms": round(float(np.percentile(millis, 95)), 4),
        "mean_ms": round(float(millis.mean()), 4),
        "n": len(millis),
    }


def target(value: float, limit: float, unit: str = "ms", at_least: bool = False) -> dict[str, Any]:
    """A measured figure against its target: below `limit` (or at least `limit` if `at_least`)."""
    met = value >= limit if at_least else value < limit
    return {"value": round(float(value), 4), "target": f"{'>=' if at_least else '<'} {limit} {unit}", "met": bool(met)}


def _load_average() -> float | None:
    # Timings on a shared machine depend on what else runs: keep the load beside them.
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def machine_info() -> dict[str, Any]:
    """Where the figures were measured: Python, OS, CPU count and library versions."""
    versions = {}
    for package in ("numpy", "torch", "faiss-cpu", "pillow"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "affinity_cpus": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
        "load_average_1m": _load_average(),
        "versions": versions,
    }


def run_section(name: str, quick: bool) -> dict[str, Any]:
    """One section's figures, or {"skipped": why} when its module is missing, or {"error": ...}."""
    module_name = SECTIONS[name]
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name != module_name:
            return {"error": f"{module_name} needs {error.name}, which is not installed"}
        return {"skipped": f"{module_name} is not installed"}
    load = _load_average()
    start = time.perf_counter()
    try:
        result = dict(module.run(quick))
    except Exception as error:  # a broken section is reported and the others still run
        log.debug("section %s failed:\n%s", name, traceback.format_exc())
        return {"error": f"{type(error).__name__}: {error}"}
    result["seconds"] = round(time.perf_counter() - start, 2)
    result["load_average_1m_before"] = load
    return result


def run_sections(names: Iterable[str], quick: bool, echo: Callable[[str], None] = print) -> dict[str, Any]:
    """Run the named sections in order, echoing each one's figures; return the whole report."""
    report: dict[str, Any] = {
        "format": REPORT_FORMAT,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "quick": quick,
        "machine": machine_info(),
        "sections": {},
    }
    for name in names:
        echo(f"== {name}")
        result = run_section(name, quick)
        report["sections"][name] = result
        echo(format_figures(result))
    missed = targets_missed(report)
    echo(f"targets missed: {', '.join(missed)}" if missed else "all measured targets met")
    return report


def _is_target(value: object) -> bool:
    return isinstance(value, dict) and set(value) == {"value", "target", "met"}


def _walk(value: object, path: str) -> Iterable[tuple[str, object]]:
    if isinstance(value, dict) and not _is_target(value):
        for key, item in value.items():
            yield from _walk(item, f"{path}.{key}" if path else str(key))
    else:
        yield path, value


def format_figures(result: dict[str, Any]) -> str:
    """One `path: value` line per figure; targets read `value (target < x ms: met|MISSED)`."""
    lines = []
    for path, value in _walk(result, ""):
        if _is_target(value):
            verdict = "met" if value["met"] else "MISSED"  # type: ignore[index]
            value = f"{value['value']} (target {value['target']}: {verdict})"  # type: ignore[index]
        elif isinstance(value, list):
            value = json.dumps(value)
        lines.append(f"  {path}: {value}")
    return "\n".join(lines)


def targets_missed(report: dict[str, Any]) -> list[str]:
    """Paths of every target in the report that was measured and missed."""
    figures = _walk(report["sections"], "")
    return [path for path, value in figures if _is_target(value) and not value["met"]]  # type: ignore[index]


def write_report(report: dict[str, Any], path: str | os.PathLike) -> Path:
    """Write the report as JSON atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    with atomic_file(path, "w") as stream:
        json.dump(report, stream, indent=2)
        stream.write("\n")
    return path
