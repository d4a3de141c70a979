"""Build hook: the wheel carries the shipped packs, `assets/` and `indexes/`, as `explorer/shipped/`.

The repository keeps the packs at its top level (where `latent-explorer train` and `index` write
them); a wheel maps them into the package at build time, where `explorer.packs` finds them once
installed. Everything else about the build is in pyproject.toml.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PACK_FOLDERS = ("assets", "indexes")
SKIPPED = shutil.ignore_patterns(".*", "*.tmp", "checkpoint.pt", "__pycache__")  # staging files, training state


class BuildWithPacks(build_py):
    """build_py, plus a copy of the shipped packs into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):  # an editable install reads them from the checkout
            return
        for folder in PACK_FOLDERS:
            target = Path(self.build_lib) / "explorer" / "shipped" / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(Path(__file__).resolve().parent / folder, target, ignore=SKIPPED)


setup(cmdclass={"build_py": BuildWithPacks})
