"""The serve command's options, and the app page built for one session (no server)."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.cli import build_parser, main


def test_serve_takes_the_panel_serving_options():
    args = build_parser().parse_args([
        "serve", "--pack", "emoji", "--port", "0", "--address", "0.0.0.0", "--no-show", "--num-threads", "4",
        "--allow-websocket-origin", "a.example:80", "--allow-websocket-origin", "b.example",
    ])
    assert (args.pack, args.port, args.address, args.no_show, args.num_threads) == ("emoji", 0, "0.0.0.0", True, 4)
    assert args.allow_websocket_origin == ["a.example:80", "b.example"]


def test_serving_an_unknown_pack_fails_fast_with_the_installed_ones(tiny_pack, capsys, monkeypatch):
    from explorer import resources

    monkeypatch.setattr(resources, "_config", resources._Config())  # serve configures the process
    assert main(["serve", "--pack", "nope", "--no-show", "--port", "0"]) == 2
    assert "unknown pack 'nope'" in capsys.readouterr().err


def test_the_app_opens_the_linked_view_with_the_linked_latent(tiny_pack):
    from explorer.app.main import ExplorerApp
    from explorer.app.urlstate import encode_latent

    z = np.linspace(-1, 1, 8).astype(np.float32)
    app = ExplorerApp({"pack": tiny_pack, "view": "mine", "z": encode_latent(z)}, seed=0)
    assert app.session.view == "mine" and "mine" in app.views and "explore" not in app.views
    np.testing.assert_allclose(app.session.latent, z, atol=1e-3)
    assert app.session.message == ""


def test_a_bad_link_opens_the_default_view_with_a_message(tiny_pack):
    from explorer.app.main import ExplorerApp

    app = ExplorerApp({"pack": tiny_pack, "z": "%%%", "view": "nope"}, seed=0)
    assert app.session.view == "explore" and app.session.level == "warning"
    assert "not URL-safe base64" in app.session.message


def test_every_view_can_be_built_and_rewrites_the_link(tiny_pack):
    from explorer.app.main import ExplorerApp
    from explorer.app.views import VIEWS

    app = ExplorerApp({"pack": tiny_pack}, seed=0)
    for position, name in enumerate(VIEWS.names):
        app.tabs.active = position
        assert name in app.views and app.session.view == name
        assert f"view={name}" in app.link_anchor.object


def test_the_warm_up_page_builds_every_view_and_the_attribute_table(tiny_pack, monkeypatch):
    from explorer.app import main as app_main
    from explorer.app.views import VIEWS
    from explorer.resources import configure, resources_for

    configure(default_pack=tiny_pack, device="cpu")
    built = []
    build = app_main.ExplorerApp.build
    monkeypatch.setattr(app_main.ExplorerApp, "build", lambda self, name: built.append(name) or build(self, name))
    summaries = []
    resources = resources_for(tiny_pack)
    summary = resources.attribute_summary
    monkeypatch.setattr(resources, "attribute_summary", lambda: summaries.append(1) or summary())

    app_main.warm_up()

    assert set(built) == set(VIEWS.names) and summaries


@pytest.mark.parametrize("settings, expected", [
    ({"sampler": "polarity", "rho": "1.5", "seed": "12"}, {"sampler": "polarity", "rho": 1.5, "seed": 12}),
    ({"sampler": "bogus", "rho": "nan", "trunc": "99"}, {}),
])
def test_sampling_settings_from_a_link_keep_only_valid_values(settings, expected):
    from explorer.app.views.sampling import sampling_settings

    assert sampling_settings(settings) == expected
