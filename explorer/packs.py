"""Model packs on disk: `assets/<pack>/` (model.pt, card.json, samples.png) and `indexes/<pack>/`.

    pack = open_pack("emoji")
    pack.model.decode_latents(latents)      # ExplorableModel on CPU, built once per process
    pack.index, pack.pool                   # loaded lazily, checked against pack.weights_hash

The roots default to `<repo>/assets` and `<repo>/indexes` and are read at call time, so the
environment variables LATENT_EXPLORER_ASSETS / LATENT_EXPLORER_INDEXES override them (tests, or
packs installed elsewhere). `ASSETS_DIR` and `INDEXES_DIR` are module attributes computed on
access for the same reason. This module imports no torch until a model is asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from explorer.index import PackIndex
    from explorer.models.base import ExplorableModel
    from explorer.pool import SamplerPool

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PACK = "emoji"
CARD_FILE = "card.json"
WEIGHTS_FILE = "model.pt"
IMPORTED_TYPE = "external"  # card model.type of a pack made by `latent-explorer import`


class PackError(ValueError):
    """A pack is unknown, or its card or weights are missing or corrupt; the message says which."""


def assets_root() -> Path:
    """Where packs' weights and cards live: $LATENT_EXPLORER_ASSETS or <repo>/assets."""
    return Path(os.environ.get("LATENT_EXPLORER_ASSETS") or REPO_ROOT / "assets")


def indexes_root() -> Path:
    """Where packs' indexes and pools live: $LATENT_EXPLORER_INDEXES or <repo>/indexes."""
    return Path(os.environ.get("LATENT_EXPLORER_INDEXES") or REPO_ROOT / "indexes")


def __getattr__(name: str) -> Path:
    """ASSETS_DIR / INDEXES_DIR, resolved against the environment at each access."""
    if name == "ASSETS_DIR":
        return assets_root()
    if name == "INDEXES_DIR":
        return indexes_root()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class Pack:
    """One installed model pack: its card, weights hash, and lazily its model, index and pool."""

    def __init__(self, name: str, assets_dir: Path, index_dir: Path):
        self.name = name
        self.assets_dir = Path(assets_dir)
        self.index_dir = Path(index_dir)
        self.card = _read_card(self.assets_dir / CARD_FILE)
        self.weights_hash = self._imported_weights_hash() if self.is_imported else self._shipped_weights_hash()
        # One lock per cached item: loading the index does not hold up the model.
        self._locks = {key: threading.Lock() for key in ("model", "index", "pool", "snapshots")}
        self._cache: dict[str, Any] = {}

    def _shipped_weights_hash(self) -> str:
        name, weights = self.name, self.assets_dir / WEIGHTS_FILE
        try:
            digest = hashlib.sha256(weights.read_bytes()).hexdigest()
        except OSError as error:
            raise PackError(f"pack {name!r} has no readable {WEIGHTS_FILE} in {self.assets_dir} ({error.strerror}); "
                            f"retrain it with `latent-explorer train --pack {name}`") from error
        expected = self.card.get("model", {}).get("weights_sha256")
        if expected and expected != digest:
            raise PackError(f"pack {name!r}: {weights} does not match its card (sha256 {digest[:16]}, card says "
                            f"{expected[:16]}); restore both files from the same training run")
        return digest[:16]

    def _imported_weights_hash(self) -> str:
        expected = self.card["model"].get("weights_sha256")
        if not isinstance(expected, str) or not self.card["model"].get("spec"):
            raise PackError(f"pack {self.name!r}: an imported pack's card needs model.spec and model.weights_sha256; "
                            f"re-run `latent-explorer import {self.name} --force ...`")
        return expected[:16]

    @property
    def is_imported(self) -> bool:
        """Whether the pack wraps a user's model (by spec) rather than shipped weights."""
        return self.card["model"].get("type") == IMPORTED_TYPE

    def __repr__(self) -> str:
        return f"Pack({self.name!r}, {str(self.assets_dir)!r})"

    @property
    def dataset_name(self) -> str:
        """The name of the dataset the model was trained on."""
        return self.card["dataset"]["name"]

    @property
    def has_index(self) -> bool:
        """Whether the index directory holds anything besides the sampler pool."""
        return self.index_dir.is_dir() and any(path.name != "pool.npz" for path in self.index_dir.iterdir())

    @property
    def has_pool(self) -> bool:
        """Whether the sampler pool file exists."""
        return (self.index_dir / "pool.npz").is_file()

    @property
    def model(self) -> ExplorableModel:
        """The pack's model on CPU, built on first use."""
        return self._cached("model", self._load_model)

    @property
    def index(self) -> PackIndex:
        """The pack's index of encoded held-out images, loaded on first use."""
        return self._cached("index", self._load_index)

    @property
    def pool(self) -> SamplerPool:
        """The pack's precomputed sampler pool, loaded on first use."""
        return self._cached("pool", self._load_pool)

    @property
    def snapshot_epochs(self) -> list[int]:
        """The training epochs whose weights the pack keeps (`latent-explorer train --snapshots K`), in order."""
        return sorted(int(entry["epoch"]) for entry in self.card.get("snapshots", []))

    def snapshot_model(self, epoch: int) -> ExplorableModel:
        """The pack's architecture with the weights it had after `epoch` training epochs, on CPU, built once."""
        entries = {int(entry["epoch"]): entry for entry in self.card.get("snapshots", [])}
        if epoch not in entries:
            kept = ", ".join(map(str, sorted(entries))) or "none"
            raise PackError(f"pack {self.name!r} keeps no snapshot of epoch {epoch}; it keeps epochs: {kept} "
                            f"(train with `latent-explorer train --pack {self.name} --snapshots K` to keep some)")
        return self._cached(f"snapshot-{epoch}", lambda: self._load_snapshot(entries[epoch]), lock="snapshots")

    def _load_snapshot(self, entry: dict) -> ExplorableModel:
        from explorer.models.base import ContractError, ExplorableModel
        from explorer.models.load import load_builtin

        path = self.assets_dir / entry["file"]
        try:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError as error:
            raise PackError(f"pack {self.name!r}: snapshot {path} cannot be read ({error.strerror})") from error
        if entry.get("sha256") and digest != entry["sha256"]:
            raise PackError(f"pack {self.name!r}: snapshot {path} does not match its card (sha256 {digest[:16]}, "
                            f"card says {entry['sha256'][:16]}); restore it from the same training run")
        try:
            return ExplorableModel(load_builtin(self.card, path), device="cpu")
        except ContractError as error:
            raise PackError(f"pack {self.name!r}: snapshot {path} cannot be built ({error})") from error

    def _cached(self, key: str, load: Callable[[], Any], lock: str | None = None) -> Any:
        # A second thread waits for the first build rather than repeating it.
        with self._locks[lock or key]:
            if key not in self._cache:
                self._cache[key] = load()
            return self._cache[key]

    def _load_model(self) -> ExplorableModel:
        from explorer.models.base import ContractError, ExplorableModel
        from explorer.models.load import fingerprint, load_builtin, load_model

        if not self.is_imported:
            try:
                return ExplorableModel(load_builtin(self.card, self.assets_dir / WEIGHTS_FILE), device="cpu")
            except (ContractError, OSError) as error:
                raise PackError(f"pack {self.name!r}: its model cannot be built ({error}); restore {WEIGHTS_FILE} "
                                f"and {CARD_FILE} from one training run, or retrain the pack") from error
        spec = self.card["model"]["spec"]
        try:
            model = load_model(spec)
        except (ContractError, OSError, ImportError) as error:
            raise PackError(f"pack {self.name!r}: its model {spec!r} cannot be loaded ({error})") from error
        if fingerprint(model)[:16] != self.weights_hash:
            raise PackError(f"pack {self.name!r}: the model from {spec!r} has other weights than when it was "
                            f"imported; re-run `latent-explorer import {self.name} --force ...` to re-index it")
        return ExplorableModel(model, device="cpu")

    def _load_index(self) -> PackIndex:
        from explorer.index import PackIndex

        return PackIndex.load(self.index_dir, weights_hash=self.weights_hash)

    def _load_pool(self) -> SamplerPool:
        from explorer.pool import SamplerPool

        return SamplerPool.load(self.index_dir / "pool.npz", weights_hash=self.weights_hash)


def _read_card(path: Path) -> dict:
    name = path.parent.name
    try:
        card = json.loads(path.read_text())
    except OSError as error:
        raise PackError(f"pack {name!r} has no readable {CARD_FILE} in {path.parent} ({error.strerror}); "
                        f"installed packs: {_available()}") from error
    except json.JSONDecodeError as error:
        raise PackError(f"pack {name!r}: {path} is not valid JSON ({error}); restore it or retrain the pack") from error
    if not isinstance(card, dict) or not isinstance(card.get("dataset"), dict) or "name" not in card["dataset"] \
            or not isinstance(card.get("model"), dict):
        raise PackError(f"pack {name!r}: {path} lacks the 'dataset' / 'model' sections of a model card; "
                        "restore it or retrain the pack")
    return card


def list_packs() -> list[str]:
    """Names of the installed packs (directories with a card.json), the default first."""
    root = assets_root()
    names = sorted(path.name for path in root.iterdir() if (path / CARD_FILE).is_file()) if root.is_dir() else []
    return sorted(names, key=lambda name: name != DEFAULT_PACK)


def _available() -> str:
    return ", ".join(list_packs()) or f"none under {assets_root()}"


_packs: dict[tuple[str, Path, Path], Pack] = {}
_packs_lock = threading.Lock()


def open_pack(name: str) -> Pack:
    """The installed pack `name`, opened once per process (per assets / indexes root)."""
    assets, indexes = assets_root(), indexes_root()
    key = (name, assets, indexes)
    with _packs_lock:
        if key not in _packs:
            if name.startswith(".") or Path(name).name != name or not (assets / name).is_dir():
                raise PackError(f"unknown pack {name!r}; installed packs: {_available()}")
            _packs[key] = Pack(name, assets / name, indexes / name)
        return _packs[key]
