"""From a wheel in a fresh virtual environment (not editable): the shipped packs come with it, and
`latent-explorer import` writes to the user data folder, not into site-packages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from explorer.packs import REPO_ROOT

pytestmark = pytest.mark.slow  # about a minute: a wheel build, an install, a server start and an import
SOURCE_IGNORED = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__", ".*cache*",
                                        ".hypothesis", "*.tmp")


def run(command: list[str], env: dict[str, str], timeout: float = 300) -> str:
    # Elsewhere than the checkout: `python -c` / `-m` put the working folder first on sys.path.
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, cwd=env["HOME"])
    assert done.returncode == 0, f"{command} failed ({done.returncode}): {done.stdout[-2000:]}{done.stderr[-2000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict[str, Path]:
    """A wheel built from a copy of this source tree, installed without dependencies into a fresh
    venv that borrows this interpreter's packages (torch, panel, ...) through a .pth file."""
    if not (REPO_ROOT / "pyproject.toml").is_file():
        pytest.skip("not a source checkout")
    root = tmp_path_factory.mktemp("wheel")
    source = root / "source"
    shutil.copytree(REPO_ROOT, source, ignore=SOURCE_IGNORED)
    home = root / "home"  # the user's home: platformdirs puts the data folder under it
    home.mkdir()
    env = {key: value for key, value in os.environ.items() if not key.startswith(("PYTHON", "LATENT_EXPLORER_"))}
    env.update(HOME=str(home), PYTHONNOUSERSITE="1")
    env.pop("XDG_DATA_HOME", None)
    run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(root / "dist"),
         str(source)], env)
    wheel = next((root / "dist").glob("latent_explorer-*.whl"))
    venv = root / "venv"
    run([sys.executable, "-m", "venv", "--without-pip", str(venv)], env)
    python = venv / "bin" / "python"
    run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)], env)
    site_packages = Path(run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"], env)
                         .strip())
    (site_packages / "dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return {"venv": venv, "site_packages": site_packages, "home": home, "env": env}


def test_the_installed_package_is_the_wheel_and_lists_its_shipped_packs(installed):
    env, site_packages = installed["env"], installed["site_packages"]
    where = run([str(installed["venv"] / "bin" / "python"), "-c", "import explorer; print(explorer.__file__)"], env)
    assert Path(where.strip()) == site_packages / "explorer" / "__init__.py"
    listing = run([str(installed["venv"] / "bin" / "latent-explorer"), "packs"], env)
    assert f"shipped packs: {site_packages / 'explorer' / 'shipped' / 'assets'}" in listing
    assert "emoji (default)" in listing and "index=yes training=yes pool=yes" in listing


def test_serve_opens_the_default_pack(installed, monkeypatch):
    from explorer.benchmarks.harness import served

    for key in list(os.environ):
        if key.startswith(("PYTHON", "LATENT_EXPLORER_")):
            monkeypatch.delenv(key)
    monkeypatch.chdir(installed["home"])  # serve restarts itself with `python -m explorer`
    with served(None, installed["env"], launcher=(str(installed["venv"] / "bin" / "latent-explorer"),)) as server:
        with urllib.request.urlopen(server.url + "health", timeout=30) as response:
            health = json.loads(response.read())
        assert health["status"] == "ok" and [pack["name"] for pack in health["packs"]] == ["emoji"]
        assert server.errors() == []


def test_import_writes_to_the_user_data_folder_not_site_packages(installed, raw_torchscript_vae, tmp_path):
    images = tmp_path / "photos"
    images.mkdir()
    rng = np.random.default_rng(0)
    for i in range(20):
        Image.fromarray(rng.integers(0, 256, (24, 24, 3), dtype=np.uint8)).save(images / f"{i:02d}.png")
    site_packages = installed["site_packages"]
    before = sorted(str(path) for path in site_packages.rglob("*") if "__pycache__" not in path.parts)
    out = run([str(installed["venv"] / "bin" / "latent-explorer"), "import", "mine", "--model", str(raw_torchscript_vae),
               "--prior", "gaussian", "--images", str(images), "--validation-fraction", "0.5", "--device", "cpu"],
              installed["env"])
    data = installed["home"] / ".local" / "share" / "latent-explorer"
    assert f"in {data}" in out
    assert (data / "assets" / "mine" / "card.json").is_file()
    assert sorted(path.name for path in (data / "indexes" / "mine").iterdir()) == [
        "index.faiss", "index.json", "training.npz", "validation.npz", "validation.thumbnails.npy"]
    after = sorted(str(path) for path in site_packages.rglob("*") if "__pycache__" not in path.parts)
    assert after == before
    listing = run([str(installed["venv"] / "bin" / "latent-explorer"), "packs"], installed["env"])
    assert any(line.startswith("mine ") and " user " in line for line in listing.splitlines())
