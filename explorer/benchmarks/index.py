"""Index benchmark: a pack's real index and clustered synthetic latents, HNSW against exact search.

For the synthetic set (1M 32-d latents, 100k when quick) it reports the build time, recall@10
against exact search, single-query latency (median, p95) over an efSearch sweep, and the
single-query latency of exact FAISS and of brute-force numpy measured in the same run.
"""

from __future__ import annotations

import time
from typing import Any, Callable

import faiss
import numpy as np

from explorer.bench import target, time_ms
from explorer.index import HNSW_EF_SEARCH, PackIndex, build_index

QUICK = {"pack": "fashion", "count": 100_000, "queries": 200, "brute_force_queries": 20}
FULL = {"pack": "fashion", "count": 1_000_000, "queries": 1000, "brute_force_queries": 50}
DIM = 32
K = 10
EF_SWEEP = (16, 32, 64, 128, 256)
TARGET_RECALL = 0.95
TARGET_MEDIAN_MS = 1.0


def run(quick: bool) -> dict[str, Any]:
    """The pack and synthetic figures at the quick or full configuration."""
    config = QUICK if quick else FULL
    return {
        config["pack"]: pack_figures(config["pack"], config["queries"]),
        "synthetic": synthetic_figures(config["count"], config["queries"], config["brute_force_queries"]),
    }


def clustered_latents(count: int, dim: int = DIM, clusters: int = 256, seed: int = 0) -> np.ndarray:
    """float32 (count, dim) draws from a Gaussian mixture with uneven weights and per-axis scales."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim)).astype(np.float32)
    scales = rng.uniform(0.15, 0.6, size=(clusters, dim)).astype(np.float32)
    members = rng.choice(clusters, size=count, p=rng.dirichlet(np.ones(clusters)))
    noise = rng.standard_normal(size=(count, dim), dtype=np.float32)
    return centres[members] + noise * scales[members]


def recall_at_k(found: np.ndarray, truth: np.ndarray) -> float:
    """Mean fraction of each query's true k nearest ids that were found."""
    hits = sum(len(np.intersect1d(a, b)) for a, b in zip(found, truth))
    return hits / truth.size


def numpy_brute_force(database: np.ndarray, k: int = K) -> Callable[[np.ndarray], np.ndarray]:
    """A single-query exact L2 search in plain numpy (matrix-vector product and argpartition)."""
    norms = np.einsum("ij,ij->i", database, database)

    def search(query: np.ndarray) -> np.ndarray:
        distances = norms - 2.0 * (database @ query)
        nearest = np.argpartition(distances, k)[:k]
        return nearest[np.argsort(distances[nearest])]

    return search


def synthetic_figures(count: int, queries: int, brute_force_queries: int) -> dict[str, Any]:
    """HNSW on `count` clustered latents: build time, recall@10, latency, against exact search."""
    data = clustered_latents(count + queries)
    database, probes = data[:count], data[count:]
    start = time.perf_counter()
    index = PackIndex.create(database, np.zeros((count, 1, 1, 1), np.uint8), metric="l2", kind="hnsw")
    build_s = time.perf_counter() - start
    exact = build_index(database, "l2", kind="flat")
    start = time.perf_counter()
    _, truth = exact.search(probes, K)
    exact_batch_s = time.perf_counter() - start

    hnsw = faiss.downcast_index(index.index).hnsw
    sweep = []
    for ef_search in EF_SWEEP:
        hnsw.efSearch = ef_search
        _, found = index.search(probes, K)
        latency = time_ms(lambda query: index.search(query, K), list(probes))
        sweep.append({"efSearch": ef_search, "recall@10": round(recall_at_k(found, truth), 4), **latency})
    hnsw.efSearch = HNSW_EF_SEARCH
    chosen = next(entry for entry in sweep if entry["efSearch"] == HNSW_EF_SEARCH)
    single_probes = list(probes[:brute_force_queries])
    brute_force = numpy_brute_force(database)
    return {
        "count": count,
        "dim": DIM,
        "metric": "l2",
        "index": index.metadata["index"],
        "faiss_omp_threads": faiss.omp_get_max_threads(),
        "build_s": round(build_s, 2),
        "exact_batch_search_s": round(exact_batch_s, 3),
        "hnsw": {"recall@10": chosen["recall@10"], "median_ms": chosen["median_ms"], "p95_ms": chosen["p95_ms"]},
        "ef_search_sweep": sweep,
        "exact_faiss_single": time_ms(lambda query: exact.search(query[None], K), single_probes),
        "numpy_brute_force_single": time_ms(brute_force, single_probes),
        "targets": {
            "recall@10": target(chosen["recall@10"], TARGET_RECALL, "", at_least=True),
            "median_query_ms": target(chosen["median_ms"], TARGET_MEDIAN_MS),
        },
    }


def pack_figures(pack_name: str, queries: int) -> dict[str, Any]:
    """Latency and recall of a shipped pack's index, or {"skipped": why} when it does not load."""
    try:
        from explorer.packs import open_pack

        index = open_pack(pack_name).index
    except (ImportError, OSError, ValueError, LookupError) as error:
        return {"skipped": f"pack {pack_name!r} index unavailable: {type(error).__name__}: {error}"}
    rng = np.random.default_rng(0)
    probes = index.latents[rng.choice(len(index), size=min(queries, len(index)), replace=False)]
    exact = build_index(index.latents, index.metric, kind="flat")
    query_probes = probes.copy()
    if index.metric == "cosine":
        faiss.normalize_L2(query_probes)
    _, truth_rows = exact.search(query_probes, K)
    _, found = index.search(probes, K)
    return {
        "count": len(index),
        "metric": index.metric,
        "index": index.metadata["index"],
        "recall@10": round(recall_at_k(found, index.ids[truth_rows]), 4),
        "single_query": time_ms(lambda query: index.search(query, K, exclude_self=True), list(probes)),
        "numpy_brute_force_single": time_ms(numpy_brute_force(index.latents), list(probes[:50])),
    }
