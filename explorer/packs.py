"""Model packs on disk: `assets/<pack>/` (model.pt, card.json, samples.png) and `indexes/<pack>/`.

    pack = open_pack("emoji")
    pack.model.decode_latents(latents)      # ExplorableModel on CPU, built once per process
    pack.index, pack.training, pack.pool    # loaded lazily, checked against pack.weights_hash

Packs are found in two places, each an `assets/` and an `indexes/` folder:

- shipped packs: `<repo>/assets` and `<repo>/indexes` in a source checkout, `explorer/shipped/`
  inside an installed wheel (setup.py copies them there); LATENT_EXPLORER_ASSETS and
  LATENT_EXPLORER_INDEXES override the two folders (tests, or packs installed elsewhere);
- user packs, which `latent-explorer import` writes: a per-user data folder
  (`platformdirs.user_data_dir("latent-explorer")`, e.g. ~/.local/share/latent-explorer), or
  $LATENT_EXPLORER_HOME. Never site-packages.

A name is looked up in the shipped packs first. Roots are read at call time, so the environment
variables take effect in a running process; `ASSETS_DIR` and `INDEXES_DIR` are module attributes
computed on access for the same reason. This module imports no torch until a model is asked for.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from explorer.index import PackIndex
    from explorer.models.base import ExplorableModel
    from explorer.pool import SamplerPool
    from explorer.training import TrainingSplit

PACKAGE_DIR = Path(__file__).resolve().parent
REPO_ROOT = PACKAGE_DIR.parent
WHEEL_PACKS = PACKAGE_DIR / "shipped"  # where a wheel carries assets/ and indexes/ (see setup.py)
APP_NAME = "latent-explorer"
DEFAULT_PACK = "emoji"
CARD_FILE = "card.json"
WEIGHTS_FILE = "model.pt"
IMPORTED_TYPE = "external"  # card model.type of a pack made by `latent-explorer import`


class PackError(ValueError):
    """A pack is unknown, or its card or weights are missing or corrupt; the message says which."""


def _shipped_base() -> Path:
    return WHEEL_PACKS if (WHEEL_PACKS / "assets").is_dir() else REPO_ROOT


def assets_root() -> Path:
    """Where shipped packs' weights and cards live: $LATENT_EXPLORER_ASSETS, else <repo>/assets
    (explorer/shipped/assets in a wheel)."""
    return Path(os.environ.get("LATENT_EXPLORER_ASSETS") or _shipped_base() / "assets")


def indexes_root() -> Path:
    """Where shipped packs' indexes and pools live: $LATENT_EXPLORER_INDEXES, else <repo>/indexes
    (explorer/shipped/indexes in a wheel)."""
    return Path(os.environ.get("LATENT_EXPLORER_INDEXES") or _shipped_base() / "indexes")


def user_home() -> Path:
    """The per-user data folder of imported packs: $LATENT_EXPLORER_HOME, else the platform's
    user data folder (e.g. ~/.local/share/latent-explorer)."""
    home = os.environ.get("LATENT_EXPLORER_HOME")
    if home:
        return Path(home).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


@dataclass(frozen=True)
class PackRoot:
    """One place packs live: an assets folder and an indexes folder, shipped or the user's."""

    kind: str  # "shipped" or "user"
    assets: Path
    indexes: Path


def pack_roots() -> list[PackRoot]:
    """Where packs are looked up, in order: the shipped packs, then the user's."""
    home = user_home()
    return [PackRoot("shipped", assets_root(), indexes_root()),
            PackRoot("user", home / "assets", home / "indexes")]


def user_root() -> PackRoot:
    """Where `latent-explorer import` writes packs."""
    return pack_roots()[1]


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
        self._locks = {key: threading.Lock() for key in ("model", "index", "training", "pool", "snapshots")}
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
        """Whether the index's metadata file exists."""
        from explorer.index import METADATA_FILE

        return (self.index_dir / METADATA_FILE).is_file()

    @property
    def has_training(self) -> bool:
        """Whether the encoded training split exists."""
        from explorer.training import TRAINING_FILE

        return (self.index_dir / TRAINING_FILE).is_file()

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
    def training(self) -> TrainingSplit:
        """The pack's encoded training split (latents and labels), loaded on first use.

        IndexMissing (a FileNotFoundError) when the pack has none, IndexMismatch (a ValueError)
        when it is corrupt or was encoded by other weights.
        """
        return self._cached("training", self._load_training)

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
        supplied = dict(self.card["model"].get("supplied", {}))  # what flags and probes gave it at import
        if "image_shape" in supplied:
            supplied["image_shape"] = tuple(supplied["image_shape"])
        try:
            model = load_model(spec, **supplied)
        except (ContractError, OSError, ImportError) as error:
            raise PackError(f"pack {self.name!r}: its model {spec!r} cannot be loaded ({error})") from error
        if fingerprint(model)[:16] != self.weights_hash:
            raise PackError(f"pack {self.name!r}: the model from {spec!r} has other weights than when it was "
                            f"imported; re-run `latent-explorer import {self.name} --force ...` to re-index it")
        return ExplorableModel(model, device="cpu")

    def _load_index(self) -> PackIndex:
        from explorer.index import PackIndex

        return PackIndex.load(self.index_dir, weights_hash=self.weights_hash)

    def _load_training(self) -> TrainingSplit:
        from explorer.training import TrainingSplit

        return TrainingSplit.load(self.index_dir, weights_hash=self.weights_hash)

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


def pack_locations() -> list[tuple[str, PackRoot]]:
    """(name, root) of every installed pack (a folder with a card.json), shipped before the user's,
    the default first; a user pack with a shipped pack's name is hidden by it."""
    found: dict[str, PackRoot] = {}
    for root in pack_roots():
        if root.assets.is_dir():
            for path in sorted(root.assets.iterdir()):
                if (path / CARD_FILE).is_file():
                    found.setdefault(path.name, root)
    order = {"shipped": 0, "user": 1}
    return sorted(found.items(), key=lambda item: (item[0] != DEFAULT_PACK, order[item[1].kind], item[0]))


def list_packs() -> list[str]:
    """Names of the installed packs, the default first, then shipped ones, then the user's."""
    return [name for name, _ in pack_locations()]


def _available() -> str:
    return ", ".join(list_packs()) or "none under " + " or ".join(str(root.assets) for root in pack_roots())


_packs: dict[tuple[str, Path, Path], Pack] = {}
_packs_lock = threading.Lock()


def open_pack(name: str) -> Pack:
    """The installed pack `name`, opened once per process (per assets / indexes root)."""
    if name.startswith(".") or Path(name).name != name:
        raise PackError(f"unknown pack {name!r}; installed packs: {_available()}")
    root = next((root for root in pack_roots() if (root.assets / name).is_dir()), None)
    if root is None:
        raise PackError(f"unknown pack {name!r}; installed packs: {_available()}")
    key = (name, root.assets, root.indexes)
    with _packs_lock:
        if key not in _packs:
            _packs[key] = Pack(name, root.assets / name, root.indexes / name)
        return _packs[key]
