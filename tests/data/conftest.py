"""Every dataset test caches into its own temporary folder, never the user's cache."""

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def data_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    cache = tmp_path / "cache"
    monkeypatch.setenv("LATENT_EXPLORER_DATA", str(cache))
    return cache
