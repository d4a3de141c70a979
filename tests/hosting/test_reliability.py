"""Broken files and bad links: each gives a clear message, the session survives, other sessions
are unaffected, and an interrupted save leaves the previous files in place."""

from __future__ import annotations

import base64
import io
import json
import os

import numpy as np
import pytest
from PIL import Image

from explorer.resources import PackUnavailable, resources_for

BROKEN = "broken"


def damage(path, data: bytes | None = None, keep: float | None = None) -> None:
    """Overwrite `path` with `data`, or cut it to the fraction `keep` of its bytes."""
    if keep is not None:
        data = path.read_bytes()[: int(path.stat().st_size * keep)]
    path.write_bytes(data or b"")


def open_app(query: dict[str, str]):
    from explorer.app.main import ExplorerApp

    return ExplorerApp(query, seed=0)


# ---------------------------------------------------------------------- weights and card
def test_truncated_weights_are_refused_against_the_cards_checksum(pack_copies):
    assets, _ = pack_copies
    damage(assets / BROKEN / "model.pt", keep=0.5)
    with pytest.raises(PackUnavailable, match="model.pt does not match its card"):
        resources_for(BROKEN)


def test_corrupt_weights_without_a_checksum_name_the_file_and_what_to_do(pack_copies):
    assets, _ = pack_copies
    card_path = assets / BROKEN / "card.json"
    card = json.loads(card_path.read_text())
    del card["model"]["weights_sha256"]
    card_path.write_text(json.dumps(card))
    damage(assets / BROKEN / "model.pt", keep=0.5)
    with pytest.raises(PackUnavailable, match=r"its model cannot be built .*not a readable PyTorch file.*retrain"):
        resources_for(BROKEN)


def test_weights_that_hold_a_pickle_are_never_unpickled(pack_copies, tmp_path):
    import pickle

    assets, _ = pack_copies
    card_path = assets / BROKEN / "card.json"
    card = json.loads(card_path.read_text())
    del card["model"]["weights_sha256"]
    card_path.write_text(json.dumps(card))
    marker = tmp_path / "ran"
    payload = pickle.dumps(_Exploit(str(marker)))  # unpickling it would create `marker`
    damage(assets / BROKEN / "model.pt", payload)
    with pytest.raises(PackUnavailable, match="not a plain state dict"):
        resources_for(BROKEN)
    assert not marker.exists()


class _Exploit:
    def __init__(self, path: str):
        self.path = path

    def __reduce__(self):
        return (open, (self.path, "w"))


def test_a_corrupt_card_names_the_file(pack_copies):
    assets, _ = pack_copies
    damage(assets / BROKEN / "card.json", b"{not json")
    with pytest.raises(PackUnavailable, match="card.json is not valid JSON"):
        resources_for(BROKEN)


# ---------------------------------------------------------------------- index
@pytest.mark.parametrize("name, change, message", [
    ("index.json", None, "no index at .* build it with `latent-explorer index"),
    ("index.json", b"{", "index.json is not valid JSON"),
    ("validation.npz", 0.5, r"does not match index.json \(corrupt file or interrupted save\)"),
    ("index.faiss", b"\x00" * 64, r"does not match index.json"),
])
def test_a_missing_or_corrupt_index_file_is_named_with_the_rebuild_command(pack_copies, name, change, message):
    _, indexes = pack_copies
    path = indexes / BROKEN / name
    if change is None:
        path.unlink()
    elif isinstance(change, float):
        damage(path, keep=change)
    else:
        damage(path, change)
    with pytest.raises(PackUnavailable, match=message):
        resources_for(BROKEN)


def test_an_index_built_for_other_weights_is_refused(pack_copies):
    _, indexes = pack_copies
    metadata_path = indexes / BROKEN / "index.json"
    metadata = json.loads(metadata_path.read_text())
    metadata["weights_hash"] = "0123456789abcdef"
    metadata_path.write_text(json.dumps(metadata))
    with pytest.raises(PackUnavailable, match="index built for weights 0123456789abcdef"):
        resources_for(BROKEN)


def test_a_link_to_a_broken_pack_opens_the_default_pack_with_the_reason(pack_copies):
    _, indexes = pack_copies
    damage(indexes / BROKEN / "validation.npz", keep=0.5)
    app = open_app({"pack": BROKEN, "view": "mine", "z": base64.urlsafe_b64encode(b"\x00" * 16).decode()})
    assert app.resources.name != BROKEN and app.session.view == "mine" and "mine" in app.views
    assert app.session.level == "warning"
    assert f"Pack '{BROKEN}' cannot be opened here" in app.session.message
    assert "corrupt file or interrupted save" in app.session.message
    other = open_app({})  # another session is not affected
    assert other.session.message == "" and other.resources is app.resources


# ---------------------------------------------------------------------- sampler pool
def test_a_truncated_pool_turns_pool_sampling_off_with_the_reason_and_the_prior_still_works(pack_copies):
    from explorer.app.session import Session
    from explorer.app.views.sampling import SamplingState

    _, indexes = pack_copies
    damage(indexes / BROKEN / "pool.npz", keep=0.5)
    resources = resources_for(BROKEN)
    assert resources.pool is None and "cannot be read" in resources.pool_problem
    session = Session(resources, seed=0)
    state = SamplingState(session, sampler="magnet")
    assert session.level == "warning" and "MaGNET and polarity sampling are off" in session.message
    state.sampler = "prior"
    assert state.image[:2] == b"\xff\xd8" and state.ess is None


def test_a_missing_pool_says_how_to_build_one(pack_copies):
    _, indexes = pack_copies
    (indexes / BROKEN / "pool.npz").unlink()
    assert "latent-explorer pool --pack broken" in resources_for(BROKEN).pool_problem


def test_with_a_garbage_pool_every_view_still_builds_and_sampling_shows_the_problem(pack_copies):
    from explorer.app.views import VIEWS

    _, indexes = pack_copies
    damage(indexes / BROKEN / "pool.npz", b"PK\x03\x04 not really a zip")
    app = open_app({"pack": BROKEN})
    for position, name in enumerate(VIEWS.names):
        app.tabs.active = position
        assert name in app.views
    assert app.session.level != "error"
    alert = app.views["sampling"]._layout.objects[0]
    assert alert.visible and "cannot be read" in alert.object


# ---------------------------------------------------------------------- interrupted saves
def test_an_index_save_that_fails_midway_leaves_the_previous_index_serving(pack_copies, monkeypatch):
    from explorer.index import PackIndex

    _, indexes = pack_copies
    before = {path.name: path.read_bytes() for path in (indexes / BROKEN).iterdir()}
    index = PackIndex.load(indexes / BROKEN)
    real_fsync, calls = os.fsync, []

    def fail_on_the_last_file(fd: int) -> None:
        calls.append(fd)
        if len(calls) == 3:  # index.faiss and validation.npz staged; index.json fails
            raise OSError("no space left on device")
        real_fsync(fd)

    with monkeypatch.context() as patch, pytest.raises(OSError, match="no space left"):
        patch.setattr(os, "fsync", fail_on_the_last_file)
        index.save(indexes / BROKEN)
    assert {path.name: path.read_bytes() for path in (indexes / BROKEN).iterdir()} == before  # no temporaries
    assert len(resources_for(BROKEN).index) == len(index)


def test_a_pool_save_that_fails_midway_leaves_the_previous_pool_usable(pack_copies, monkeypatch):
    from explorer.pool import SamplerPool

    _, indexes = pack_copies
    path = indexes / BROKEN / "pool.npz"
    before = path.read_bytes()
    pool = SamplerPool.load(path)

    def broken_savez(file, **arrays) -> None:
        file.write(b"half a pool")
        raise KeyboardInterrupt  # the operator pressed Ctrl-C mid-write

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        pool.save(path)
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir() if p.suffix == ".tmp") == []
    assert resources_for(BROKEN).pool is not None


# ---------------------------------------------------------------------- links and uploads
def test_a_link_whose_latent_is_nan_starts_from_a_sample_and_says_why(tiny_pack):
    nan = base64.urlsafe_b64encode(np.full(8, np.nan, "<f2").tobytes()).decode().rstrip("=")
    app = open_app({"pack": tiny_pack, "z": nan})
    assert "contains NaN or inf" in app.session.message and np.isfinite(app.session.latent).all()


def test_a_link_made_for_another_pack_is_refused_by_its_latent_size(tiny_pack):
    from explorer.app.urlstate import encode_latent

    app = open_app({"pack": tiny_pack, "z": encode_latent(np.ones(32))})
    assert "has 32 numbers but this pack's latents have 8" in app.session.message
    assert "another pack" in app.session.message


@pytest.mark.parametrize("data, message", [
    (b"GIF89a" + b"\x00" * 10, "could not be opened|not an image|damaged"),
    (b"\xff\xd8\xff\xe0" + b"\x00" * 100, "could not be opened|not an image|damaged"),
    (b"%PDF-1.7\n", "not an image"),
])
def test_bad_uploads_leave_a_message_and_the_session_keeps_working(tiny_pack, data, message):
    app = open_app({"pack": tiny_pack})
    explore = app.views["explore"].state
    before = app.session.latent.copy()
    assert explore.start_from_upload(data, "upload.bin") is False
    assert app.session.level == "error" and __import__("re").search(message, app.session.message)
    np.testing.assert_array_equal(app.session.latent, before)
    image = Image.new("RGBA", (30, 40), (255, 0, 0, 100))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    assert explore.start_from_upload(buffer.getvalue(), "ok.png") is True


def test_an_upload_over_the_servers_limit_is_refused_before_decoding(tiny_pack, monkeypatch):
    from explorer.app import hosting

    monkeypatch.setattr(hosting, "_hosting", hosting.Hosting(upload_bytes=4096, public=True))
    app = open_app({"pack": tiny_pack})
    assert app.views["explore"].state.start_from_upload(b"\x89PNG" + b"\x00" * 5000, "big.png") is False
    assert "the limit here is 4 KiB" in app.session.message


@pytest.mark.parametrize("name", ["../assets/digits-tiny", "/etc", "..", ".hidden", "broken/../broken"])
def test_a_link_cannot_make_the_server_open_a_path(pack_copies, name):
    app = open_app({"pack": name})
    assert app.resources.name == "digits-tiny" and "not installed here" in app.session.message
