"""Named directions of one pack, kept as JSON with the pack's weights hash.

    store = DirectionStore(directory, pack="emoji", weights_hash=pack.weights_hash, latent_dim=32)
    store.save("smile-ish", vector, source="custom")
    store.load("smile-ish")                     # the vector, float64 (d,)
    text = store.export_json()                  # to a file a user downloads
    other_store.import_json(text)               # DirectionsMismatch when made for other weights

The file is `<directory>/<pack>.<weights_hash>.directions.json`; the caller chooses the directory
(a per-user data folder, or the folder beside the pack's index). Naming the file by the weights
means a retrained pack starts empty, and the directions of the old weights stay on disk for it. Each change re-reads the file and writes
it atomically under a per-file lock, so stores of one file in one process never lose each
other's changes and a crash never leaves a torn file. Vectors keep full float64 precision
(JSON floats round-trip exactly).
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from explorer.atomic import atomic_file

FORMAT = "latent-explorer directions"
FORMAT_VERSION = 1
SUFFIX = ".directions.json"
MAX_NAME_LENGTH = 80

_file_locks: dict[Path, threading.Lock] = {}
_file_locks_guard = threading.Lock()


class DirectionsError(ValueError):
    """A directions file or request is malformed; the message says what and what to do."""


class DirectionsMismatch(DirectionsError):
    """Directions made for other weights (or another latent size) than this pack's."""


@dataclass(frozen=True)
class SavedDirection:
    """A named direction as stored: its vector, where it came from and when it was saved."""

    name: str
    vector: np.ndarray  # (d,), float64
    source: str  # e.g. "custom", "pca", "sefa", "attribute"
    created: str  # ISO 8601, UTC
    details: dict[str, Any] = field(default_factory=dict)  # free JSON, e.g. the groups or the locks


class DirectionStore:
    """The saved directions of one pack, for one set of weights."""

    def __init__(self, directory: str | os.PathLike, pack: str, weights_hash: str, latent_dim: int):
        if not pack or Path(pack).name != pack or pack.startswith("."):
            raise DirectionsError(f"pack must be a plain pack name, got {pack!r}")
        if not weights_hash:
            raise DirectionsError("weights_hash must be the pack's weights hash, got an empty string")
        if isinstance(latent_dim, bool) or not isinstance(latent_dim, int) or latent_dim < 1:
            raise DirectionsError(f"latent_dim must be a positive int, got {latent_dim!r}")
        if Path(weights_hash).name != weights_hash or weights_hash.startswith("."):
            raise DirectionsError(f"weights_hash must be a plain hash string, got {weights_hash!r}")
        self.path = Path(directory) / f"{pack}.{weights_hash}{SUFFIX}"
        self.pack = pack
        self.weights_hash = weights_hash
        self.latent_dim = latent_dim
        with _file_locks_guard:
            self._lock = _file_locks.setdefault(self.path.resolve(), threading.Lock())

    def names(self) -> list[str]:
        """The saved directions' names, in the order they were saved."""
        with self._lock:
            return [saved.name for saved in self._read()]

    def all(self) -> list[SavedDirection]:
        """Every saved direction, in the order they were saved."""
        with self._lock:
            return self._read()

    def load(self, name: str) -> np.ndarray:
        """The vector of the direction called `name`."""
        for saved in self.all():
            if saved.name == name:
                return saved.vector.copy()
        raise KeyError(f"no direction {name!r} saved for pack {self.pack!r}; saved: {self.names() or 'none'}")

    def save(self, name: str, vector: ArrayLike, source: str = "custom", details: dict[str, Any] | None = None,
             overwrite: bool = False) -> SavedDirection:
        """Save `vector` (d,) as `name`; an existing name needs `overwrite`."""
        saved = SavedDirection(name=_check_name(name), vector=self._check_vector(name, vector), source=str(source),
                               created=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
                               details=_check_details(name, details or {}))
        with self._lock:
            self._write(_merged(self._read(), [saved], overwrite))
        return saved

    def delete(self, name: str) -> None:
        """Forget the direction `name` (KeyError when there is none)."""
        with self._lock:
            existing = self._read()
            kept = [saved for saved in existing if saved.name != name]
            if len(kept) == len(existing):
                raise KeyError(f"no direction {name!r} saved for pack {self.pack!r}")
            self._write(kept)

    def export_json(self, names: list[str] | None = None) -> str:
        """The saved directions (all, or those named) as a JSON document that `import_json` reads."""
        chosen = self.all()
        if names is not None:
            missing = sorted(set(names) - {saved.name for saved in chosen})
            if missing:
                raise KeyError(f"no direction {missing[0]!r} saved for pack {self.pack!r}")
            chosen = [saved for saved in chosen if saved.name in set(names)]
        return json.dumps(self._document(chosen), indent=2, ensure_ascii=False)

    def import_json(self, text: str, overwrite: bool = False) -> list[str]:
        """Add the directions of an exported document; refused when made for other weights. Returns their names."""
        incoming = self._parse(text, origin="the imported document")
        with self._lock:
            self._write(_merged(self._read(), incoming, overwrite))
        return [saved.name for saved in incoming]

    # ------------------------------------------------------------------ file format
    def _document(self, directions: list[SavedDirection]) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "pack": self.pack,
            "weights_hash": self.weights_hash,
            "latent_dim": self.latent_dim,
            "directions": [{"name": saved.name, "source": saved.source, "created": saved.created,
                            "details": saved.details, "vector": saved.vector.tolist()} for saved in directions],
        }

    def _read(self) -> list[SavedDirection]:
        if not self.path.is_file():
            return []
        try:
            text = self.path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            raise DirectionsError(f"{self.path} cannot be read ({error}); restore it or delete it") from error
        return self._parse(text, origin=str(self.path))

    def _write(self, directions: list[SavedDirection]) -> None:
        with atomic_file(self.path, "w") as stream:
            json.dump(self._document(directions), stream, indent=2, ensure_ascii=False)

    def _parse(self, text: str, origin: str) -> list[SavedDirection]:
        fix = "restore it or delete it" if origin == str(self.path) else "export it again from Latent Explorer"
        try:
            document = json.loads(text)
        except json.JSONDecodeError as error:
            raise DirectionsError(f"{origin} is not valid JSON ({error}); {fix}") from error
        if not isinstance(document, dict) or document.get("format") != FORMAT:
            raise DirectionsError(f"{origin} is not a Latent Explorer directions file (no \"format\": {FORMAT!r}); "
                                  f"{fix}")
        if document.get("version") != FORMAT_VERSION:
            raise DirectionsError(f"{origin} has version {document.get('version')!r}; this explorer reads "
                                  f"version {FORMAT_VERSION}")
        if document.get("weights_hash") != self.weights_hash or document.get("latent_dim") != self.latent_dim:
            raise DirectionsMismatch(
                f"{origin} holds directions for pack {document.get('pack')!r} with weights "
                f"{document.get('weights_hash')!r} (latent size {document.get('latent_dim')!r}), but pack "
                f"{self.pack!r} has weights {self.weights_hash!r} (latent size {self.latent_dim}); directions "
                "only mean something in the latent space they were made in: remake them on this pack"
            )
        entries = document.get("directions")
        if not isinstance(entries, list):
            raise DirectionsError(f"{origin} has no list of \"directions\"; {fix}")
        directions = []
        for position, entry in enumerate(entries):
            if not isinstance(entry, dict) or not {"name", "vector"} <= entry.keys():
                raise DirectionsError(f"{origin}: direction {position} lacks a name or a vector; {fix}")
            name = _check_name(entry["name"])
            directions.append(SavedDirection(
                name=name, vector=self._check_vector(name, entry["vector"]), source=str(entry.get("source", "custom")),
                created=str(entry.get("created", "")), details=_check_details(name, entry.get("details", {}))))
        return _merged([], directions, overwrite=False)

    def _check_vector(self, name: str, vector: ArrayLike) -> np.ndarray:
        try:
            array = np.asarray(vector, dtype=np.float64)
        except (TypeError, ValueError) as error:
            raise DirectionsError(f"direction {name!r}: the vector must be numbers ({error})") from None
        if array.shape != (self.latent_dim,):
            raise DirectionsError(f"direction {name!r}: the vector must have shape ({self.latent_dim},), "
                                  f"got {array.shape}")
        if not np.isfinite(array).all() or not np.any(array):
            raise DirectionsError(f"direction {name!r}: the vector must be finite and not all zero")
        return array


def _merged(existing: list[SavedDirection], incoming: list[SavedDirection], overwrite: bool) -> list[SavedDirection]:
    """`existing` with `incoming` added (replacing same names when `overwrite`); duplicate names refused."""
    result = list(existing)
    for saved in incoming:
        same = [i for i, old in enumerate(result) if old.name == saved.name]
        if same and not overwrite:
            raise DirectionsError(f"a direction called {saved.name!r} exists already; pick another name "
                                  "or overwrite it")
        if same:
            result[same[0]] = saved
        else:
            result.append(saved)
    return result


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > MAX_NAME_LENGTH:
        raise DirectionsError(f"a direction name must be a non-empty string of at most {MAX_NAME_LENGTH} "
                              f"characters, got {name!r}")
    return name.strip()


def _check_details(name: str, details: Any) -> dict[str, Any]:
    if not isinstance(details, dict):
        raise DirectionsError(f"direction {name!r}: details must be a JSON object, got {type(details).__name__}")
    try:
        json.dumps(details)
    except (TypeError, ValueError) as error:
        raise DirectionsError(f"direction {name!r}: details must be plain JSON ({error})") from None
    return details
