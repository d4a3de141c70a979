"""With --public, what a page says about a broken pack, pool, upload or view names the pack and
never a server path; the server log keeps the whole message."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from explorer.app import hosting
from explorer.packs import REPO_ROOT

BROKEN = "broken"
ROOTED_PATH = re.compile(r"(?<![\w.:/])(?:~|\.{1,2})?/[\w.~-]")


@pytest.fixture
def public(monkeypatch):
    monkeypatch.setattr(hosting, "_hosting", hosting.Hosting(public=True))


def assert_no_paths(text: str, *folders: Path) -> None:
    assert text and not ROOTED_PATH.search(text), text
    for folder in (REPO_ROOT, Path.home(), *folders):
        assert str(folder) not in text, text


def open_app(query: dict[str, str]):
    from explorer.app.main import ExplorerApp

    return ExplorerApp(query, seed=0)


def shown(app) -> str:
    """The message the page shows (the alert's Markdown)."""
    assert app.message.visible
    return app.message.object


def truncate(path: Path) -> None:
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def change_card(card_path: Path, **model) -> None:
    card = json.loads(card_path.read_text())
    card["model"].update(model)
    card_path.write_text(json.dumps(card))


BREAKAGES = {
    "index.json missing": lambda assets, indexes: (indexes / BROKEN / "index.json").unlink(),
    "index.json not JSON": lambda assets, indexes: (indexes / BROKEN / "index.json").write_text("{"),
    "validation.npz torn": lambda assets, indexes: truncate(indexes / BROKEN / "validation.npz"),
    "index.faiss missing": lambda assets, indexes: (indexes / BROKEN / "index.faiss").unlink(),
    "index folder missing": lambda assets, indexes: [p.unlink() for p in (indexes / BROKEN).iterdir()],
    "card not JSON": lambda assets, indexes: (assets / BROKEN / "card.json").write_text("{not json"),
    "card without a model": lambda assets, indexes: (assets / BROKEN / "card.json").write_text('{"dataset": {}}'),
    "weights torn": lambda assets, indexes: truncate(assets / BROKEN / "model.pt"),
    "weights missing": lambda assets, indexes: (assets / BROKEN / "model.pt").unlink(),
    "weights unreadable, unchecked": lambda assets, indexes: (
        change_card(assets / BROKEN / "card.json", weights_sha256=None), truncate(assets / BROKEN / "model.pt")),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_a_link_to_a_broken_pack_names_the_pack_and_no_path(pack_copies, public, caplog, breakage):
    assets, indexes = pack_copies
    BREAKAGES[breakage](assets, indexes)
    with caplog.at_level("WARNING"):
        app = open_app({"pack": BROKEN})
        text = shown(app)
    assert f"Pack '{BROKEN}' cannot be opened here" in text
    assert_no_paths(text, assets, indexes)
    assert str(assets.parent) in caplog.text  # the log has the message with its paths


def test_without_public_mode_the_page_keeps_the_paths(pack_copies):
    _, indexes = pack_copies
    (indexes / BROKEN / "index.json").unlink()
    assert str(indexes / BROKEN) in shown(open_app({"pack": BROKEN}))


@pytest.mark.parametrize("damage", ["torn", "not a zip"])
def test_a_broken_pool_names_the_pack_and_no_path_in_the_sampling_view(pack_copies, public, caplog, damage):
    _, indexes = pack_copies
    pool = indexes / BROKEN / "pool.npz"
    truncate(pool) if damage == "torn" else pool.write_bytes(b"PK\x03\x04 not really a zip")
    app = open_app({"pack": BROKEN, "view": "sampling"})
    alert = app.views["sampling"]._layout.objects[0]
    assert alert.visible and f"pack '{BROKEN}' cannot be used" in alert.object
    assert_no_paths(alert.object, indexes)
    with caplog.at_level("WARNING"):
        app.views["sampling"].state.sampler = "magnet"
        text = shown(app)
    assert "MaGNET and polarity sampling are off" in text
    assert_no_paths(text, indexes)
    assert str(pool) in caplog.text


def test_bad_uploads_name_the_file_and_no_path(tiny_pack, public):
    app = open_app({"pack": tiny_pack})
    for data in (b"", b"%PDF-1.7\n", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64, b"GIF89a" + b"\x00" * 10):
        app.views["explore"].state.start_from_upload(data, "holiday.png")
        assert app.session.level == "error" and "holiday.png" in shown(app)
        assert_no_paths(shown(app))


def test_a_view_that_cannot_be_built_says_so_without_the_path_in_its_error(tiny_pack, public, monkeypatch, caplog):
    from explorer.app.views.mine import MineView

    hidden = Path(REPO_ROOT) / "secret" / "mine.cfg"

    def fails(*args, **kwargs):
        raise FileNotFoundError(2, "No such file or directory", str(hidden))

    monkeypatch.setattr(MineView, "__init__", fails)
    with caplog.at_level("WARNING"):
        app = open_app({"pack": tiny_pack, "view": "mine"})
        text = shown(app)
    assert "The MINE grid view could not be built" in text
    assert "mine.cfg" in text
    assert_no_paths(text)
    assert str(hidden) in caplog.text


def test_a_server_without_packs_says_so_without_its_folders(tmp_path, monkeypatch, public, caplog):
    from explorer import resources
    from explorer.app.main import create_app

    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(tmp_path / "assets"))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(tmp_path / "indexes"))
    monkeypatch.setattr(resources, "_config", resources._Config())
    with caplog.at_level("WARNING"):
        page = create_app()
    alert = page.main[0][0]
    assert "No pack to explore" in alert.object
    assert_no_paths(alert.object, tmp_path)
    assert str(tmp_path / "assets") in caplog.text


def test_a_page_that_cannot_be_built_shows_no_traceback_and_no_path(tiny_pack, public, monkeypatch, caplog):
    from explorer.app import main

    def fails(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(REPO_ROOT / "indexes" / tiny_pack / "index.json"))

    monkeypatch.setattr(main.ExplorerApp, "__init__", fails)
    with caplog.at_level("WARNING"):
        page = main.create_app()
    assert "This page could not be built" in page.object and "index.json" in page.object
    assert "Traceback" not in page.object
    assert_no_paths(page.object)
    assert "Traceback" in caplog.text and str(REPO_ROOT / "indexes") in caplog.text
