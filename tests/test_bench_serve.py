"""Specifications of the serve benchmark (load and soak) in tiny configurations, untimed."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from explorer.bench import format_figures
from explorer.benchmarks import serve as serve_bench
from explorer.benchmarks.harness import chromium_missing


def _tiny_pack_module():
    """tests/app/conftest.py, where the tiny pack builder lives (tests/ has no packages)."""
    path = Path(__file__).resolve().parent / "app" / "conftest.py"
    spec = importlib.util.spec_from_file_location("tiny_pack_builder", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tiny_pack(tmp_path_factory) -> tuple[str, dict[str, str]]:
    """(pack name, environment pointing at it); a few training steps: the pictures need not be good."""
    module = _tiny_pack_module()
    return module.PACK, module.build_tiny_pack(tmp_path_factory.mktemp("serve-bench"), steps=60)


def test_slider_walk_moves_one_slider_per_gesture_and_comes_back():
    walk = serve_bench.SliderWalk(sliders=3)
    moves = [walk.next() for _ in range(2 * serve_bench.GESTURES_TO_END * 3 * serve_bench.FRAMES_PER_GESTURE)]
    assert [m[0] for m in moves[:11]] == [0] * 10 + [1]
    assert [m[2] for m in moves[:10]] == [False] * 9 + [True]
    assert max(m[1] for m in moves) == serve_bench.SLIDER_END and walk.values == [0.0, 0.0, 0.0]


@pytest.mark.browser
@pytest.mark.slow
def test_load_reports_step_latency_for_browser_and_protocol_clients_without_errors(tiny_pack):
    if missing := chromium_missing():
        pytest.skip(missing)
    pytest.importorskip("playwright.async_api")
    pack, env = tiny_pack

    load = serve_bench.measure_load(pack, env, browser_sessions=2, protocol_sessions=2, seconds=3.0)

    for path in serve_bench.PATHS:  # the side channel, and today's path (--server-decode) beside it
        for kind in ("browser", "protocol_2"):
            phase = load[path][kind]
            assert phase["sessions"] == 2 and phase["steps"] > 0, phase
            assert phase["errors"]["value"] == 0, phase["error_examples"]
            assert phase["step_ms"]["p50"] <= phase["step_ms"]["p95"]
            assert phase["fresh_page_first_image_s"]["idle"] is not None
            assert set(phase["cpu"]) >= {"server_cpu_s", "clients_cpu_s", "other_cpu_s", "server_share"}
            # every client stepped on the side channel on its path, none on the other
            assert phase["side_channel_clients"] == (2 if path == "side_channel" else 0), phase
    assert isinstance(load["side_channel"]["protocol_2"]["step_p95_ms"]["met"], bool)  # the workshop target
    assert load["side_channel"]["browser"]["step_p95_ms"] >= load["side_channel"]["browser"]["step_ms"]["p50"]
    assert set(load["ratios"]) == {"browser", "protocol_2"}
    assert load["ratios"]["protocol_2"]["p95_ms_server_decode_over_side_channel"] > 0
    assert "side_channel.browser.step_p95_ms" in format_figures(load)


@pytest.mark.slow
def test_soak_reports_server_memory_around_many_sessions_without_errors(tiny_pack):
    pack, env = tiny_pack

    soak = serve_bench.measure_soak(pack, env, sessions=5, settle_s=1.5, warmup=1)

    assert soak["sessions"] == 5 and soak["errors"]["value"] == 0, soak["error_examples"]
    assert soak["session_s"]["p50"] is not None
    assert 0 < soak["rss_mb"]["baseline"] <= soak["rss_mb"]["high_water_since_start"]
    assert set(soak["rss_mb"]) >= {"baseline", "peak", "final"}
    assert isinstance(soak["final_vs_baseline_pct"]["met"], bool)
