"""Specifications of the benchmark suite and `latent-explorer bench` (tiny configurations, untimed)."""

from __future__ import annotations

import json
import sys
import types

import pytest

import explorer.bench as bench
import explorer.benchmarks.index as index_bench
import explorer.benchmarks.render as render_bench
from explorer import cli


@pytest.fixture
def tiny_sections(monkeypatch):
    monkeypatch.setattr(
        index_bench, "QUICK", {"pack": "no-such-pack", "count": 2000, "queries": 20, "brute_force_queries": 5}
    )
    monkeypatch.setattr(
        render_bench, "QUICK", {"pack": "no-such-pack", "singles": 4, "hits": 4, "grids": 1, "batch_repeats": 1}
    )


def test_bench_quick_writes_one_valid_json_report(tiny_sections, tmp_path, capsys):
    path = tmp_path / "reports" / "bench.json"
    assert cli.main(["bench", "--quick", "--only", "index,render", "--json", str(path)]) == 0
    report = json.loads(path.read_text())
    assert report["quick"] is True and list(report["sections"]) == ["index", "render"]
    index, render = report["sections"]["index"], report["sections"]["render"]
    assert "skipped" in index["no-such-pack"]
    assert index["synthetic"]["count"] == 2000 and index["synthetic"]["index"]["kind"] == "hnsw"
    assert 0.0 <= index["synthetic"]["hnsw"]["recall@10"] <= 1.0
    assert render["model"].startswith("stand-in") and render["device"] == "cpu"
    for section in (index["synthetic"], render):
        assert all(isinstance(entry["met"], bool) for entry in section["targets"].values())
    assert "synthetic.hnsw.recall@10" in capsys.readouterr().out
    assert [p.name for p in path.parent.iterdir()] == ["bench.json"]


def test_bench_json_dash_prints_only_the_report_on_stdout(monkeypatch, capsys):
    monkeypatch.setitem(bench.SECTIONS, "fake", "explorer.benchmarks.fake")
    monkeypatch.setitem(sys.modules, "explorer.benchmarks.fake", types.SimpleNamespace(run=lambda quick: {"x": 1}))
    assert cli.main(["bench", "--only", "fake", "--json", "-"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["sections"]["fake"]["x"] == 1
    assert "fake" in captured.err


def test_a_section_whose_module_is_missing_is_skipped(monkeypatch):
    monkeypatch.setitem(bench.SECTIONS, "ghost", "explorer.benchmarks.ghost_section")
    assert bench.run_section("ghost", quick=True) == {"skipped": "explorer.benchmarks.ghost_section is not installed"}


def test_a_failing_section_is_reported_and_fails_the_command(monkeypatch, capsys):
    def broken(quick: bool) -> dict:
        raise RuntimeError("boom")

    monkeypatch.setitem(bench.SECTIONS, "broken", "explorer.benchmarks.broken")
    monkeypatch.setitem(sys.modules, "explorer.benchmarks.broken", types.SimpleNamespace(run=broken))
    assert cli.main(["bench", "--only", "broken"]) == 1
    assert "RuntimeError: boom" in capsys.readouterr().out


def test_an_unknown_section_is_refused(capsys):
    assert cli.main(["bench", "--only", "index,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err


def test_missed_targets_are_shown_not_hidden():
    report = {"sections": {"a": {"fast": bench.target(5.0, 1.0), "good": bench.target(0.99, 0.95, "", at_least=True)}}}
    assert bench.targets_missed(report) == ["a.fast"]
    text = bench.format_figures(report["sections"]["a"])
    assert "fast: 5.0 (target < 1.0 ms: MISSED)" in text and "good: 0.99 (target >= 0.95 : met)" in text


def test_a_failed_report_write_keeps_the_previous_report(tmp_path, monkeypatch):
    path = bench.write_report({"first": True}, tmp_path / "bench.json")

    def failing_dump(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(bench.json, "dump", failing_dump)
    with pytest.raises(OSError):
        bench.write_report({"second": True}, path)
    assert json.loads(path.read_text()) == {"first": True}
    assert [p.name for p in tmp_path.iterdir()] == ["bench.json"]
