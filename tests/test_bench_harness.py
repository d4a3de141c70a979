"""Specifications of explorer.benchmarks.harness: the meters count the right processes, the server's
log is read for errors, and a server that dies is reported with its log. CPU is counted, not timed."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from explorer.benchmarks import harness

# A child that burns `seconds` of its own CPU time, says so, then waits to be stopped.
BURN = """
import sys, time
while time.process_time() < float(sys.argv[1]):
    pass
print("done", flush=True)
time.sleep(60)
"""


def _burn_own_cpu(seconds: float) -> None:
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


@pytest.fixture
def burner():
    processes = []

    def start(seconds: float = 0.0) -> subprocess.Popen:
        process = subprocess.Popen([sys.executable, "-c", BURN, str(seconds)], stdout=subprocess.PIPE, text=True)
        processes.append(process)
        return process

    yield start
    for process in processes:
        process.kill()
        process.wait()


def test_rss_of_a_process_tree_counts_its_children(burner):
    child = burner()
    assert child.stdout.readline() == "done\n"
    assert harness.rss_mb(os.getpid()) > harness.rss_mb(child.pid) > 0
    assert harness.peak_rss_mb(child.pid) >= harness.rss_mb(child.pid)


def test_a_process_that_has_exited_has_no_tree():
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert harness.process_tree(gone.pid) == [] and harness.rss_mb(gone.pid) == 0


def test_cpu_meter_tells_the_server_from_the_clients(burner):
    server = burner(1.0)
    with harness.CpuMeter(server.pid, interval=0.1) as cpu:
        assert server.stdout.readline() == "done\n"
        _burn_own_cpu(0.5)
    figures = cpu.figures()
    assert figures["server_cpu_s"] >= 0.9, figures
    assert figures["clients_cpu_s"] >= 0.4, figures
    assert figures["cores"] == os.cpu_count() and 0 <= figures["idle_share"] <= 1


def test_machine_busy_seconds_grow_while_this_process_works():
    before = harness.machine_busy_s()
    _burn_own_cpu(0.3)
    assert harness.machine_busy_s() - before >= 0.25


def test_server_errors_are_the_error_lines_with_the_exception_that_ended_each_traceback(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Latent Explorer at http://127.0.0.1:5006/\n"
                   "2026-01-01 ERROR: session failed\n"
                   "Traceback (most recent call last):\n"
                   '  File "x.py", line 1, in <module>\n'
                   "ValueError: bad latent\n"
                   "INFO all fine\n")
    server = harness.Server("http://127.0.0.1:5006/", os.getpid(), log)
    assert server.errors() == ["2026-01-01 ERROR: session failed: ValueError: bad latent (at x.py:1 in <module>)"]


def test_a_traceback_without_an_error_line_is_reported_with_the_line_above_it(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("Exception ignored in: <function Connection.__del__>\n"
                   "Traceback (most recent call last):\n"
                   '  File "/venv/lib/python3.11/site-packages/bokeh/server/connection.py", line 65, in session\n'
                   "    assert self._session is not None\n"
                   "AssertionError\n")
    server = harness.Server("http://127.0.0.1:5006/", os.getpid(), log)
    assert server.errors() == ["Exception ignored in: <function Connection.__del__> AssertionError "
                               "(at bokeh/server/connection.py:65 in session)"]


def test_a_server_that_exits_is_reported_with_its_log(tmp_path):
    log = tmp_path / "server.log"
    with open(log, "w") as output:
        process = subprocess.Popen([sys.executable, "-c", "print('no pack here'); raise SystemExit(3)"],
                                   stdout=output, stderr=subprocess.STDOUT)
    process.wait()
    with pytest.raises(RuntimeError, match="the server exited with 3: no pack here"):
        harness.wait_until_serving(process, log, timeout=30)


def test_missing_chromium_is_a_skip_reason_naming_where_it_looked(monkeypatch, tmp_path):
    monkeypatch.setattr(harness, "CHROMIUM", str(tmp_path / "no-chromium"))
    assert harness.chromium_missing() == f"no Chromium at {tmp_path / 'no-chromium'}; set $CHROMIUM"
    monkeypatch.setattr(harness, "CHROMIUM", sys.executable)
    assert harness.chromium_missing() is None


def test_a_named_pack_is_served_as_installed():
    with harness.pack_to_serve("emoji") as served:
        assert served == ("emoji", {}, "pack 'emoji'")


@pytest.mark.slow
def test_the_stand_in_is_a_pack_the_app_can_open(tmp_path, monkeypatch):
    from explorer.packs import open_pack

    for key, value in harness.write_stand_in(tmp_path, count=16).items():
        monkeypatch.setenv(key, value)
    pack = open_pack(harness.STAND_IN)
    assert len(pack.index) == 16 and pack.model.latent_dim == 32
