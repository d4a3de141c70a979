"""Fixtures for the hosting and reliability tests: the tiny pack (from tests/app/conftest.py),
copies of it to break, the process-wide hosting limits reset around each test, and headless
Chromium with the page helper of tests/ui/conftest.py."""

from __future__ import annotations

import importlib.util
import shutil
from pathlib import Path

import pytest


def load_test_module(relative: str, name: str):
    """A module from tests/ by path (tests/ has no packages)."""
    path = Path(__file__).resolve().parent.parent / relative
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


tiny = load_test_module("app/conftest.py", "tiny_pack_builder")
ui_harness = load_test_module("ui/conftest.py", "ui_harness")


@pytest.fixture(scope="session")
def ui():
    """tests/ui/conftest.py: its `Page` (which collects console errors) and Chromium settings."""
    return ui_harness


# Per module: a second sync_playwright cannot start while one runs (see tests/ui/conftest.py).
@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (the tests skip without one)."""
    from explorer.benchmarks.harness import chromium_missing, launch_chromium

    missing = chromium_missing()
    if missing:
        pytest.skip(missing)
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def tiny_pack_env(tmp_path_factory) -> dict[str, str]:
    """Environment variables pointing at the tiny pack (built once per test session)."""
    return tiny.build_tiny_pack(tmp_path_factory.mktemp("hosting-packs"))


@pytest.fixture(scope="session")
def tiny_pack_name() -> str:
    """The tiny pack's name (for servers started in a subprocess)."""
    return tiny.PACK


@pytest.fixture
def tiny_pack(tiny_pack_env, monkeypatch) -> str:
    """The tiny pack's name, with the pack folders pointed at it for this test."""
    for key, value in tiny_pack_env.items():
        monkeypatch.setenv(key, value)
    return tiny.PACK


@pytest.fixture
def pack_copies(tiny_pack_env, tmp_path, monkeypatch):
    """A fresh root holding the tiny pack and a copy of it named 'broken', for a test to damage.

    Returns (assets, indexes) of the new root; the default pack stays the tiny one.
    """
    from explorer import resources

    source = Path(tiny_pack_env["LATENT_EXPLORER_ASSETS"]).parent
    assets, indexes = tmp_path / "assets", tmp_path / "indexes"
    for kind, target in (("assets", assets), ("indexes", indexes)):
        shutil.copytree(source / kind / tiny.PACK, target / tiny.PACK)
        shutil.copytree(source / kind / tiny.PACK, target / "broken")
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(assets))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(indexes))
    monkeypatch.setattr(resources, "_config", resources._Config(default_pack=tiny.PACK))
    return assets, indexes


@pytest.fixture(autouse=True)
def default_hosting(monkeypatch):
    """Each test starts with the single-user limits and an empty session gate."""
    from explorer.app import hosting

    monkeypatch.setattr(hosting, "_hosting", hosting.Hosting())
    monkeypatch.setattr(hosting.sessions, "limit", None)
    monkeypatch.setattr(hosting.sessions, "_active", 0)
