"""The Compare, Exemplars and Diagnostics views' states, and the Explore view's on-manifold meter:
on the tiny pack, and (where a figure needs real models) on every shipped pack."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app import manifold
from explorer.app.registry import link_for
from explorer.app.session import Session
from explorer.app.urlstate import read_link
from explorer.app.views import VIEWS
from explorer.app.views.compare import CompareState, fitting_packs
from explorer.app.views.diagnostics import DiagnosticsState, summary_text
from explorer.app.views.exemplars import ExemplarsState, pixel_arithmetic
from explorer.app.views.explore import ExploreState
from explorer.packs import REPO_ROOT
from explorer.resources import resources_for

SHIPPED = ["emoji", "fashion", "fashion-gan", "glyphs"]


@pytest.fixture
def shipped(monkeypatch):
    """Point the pack folders at the repository's shipped packs."""
    monkeypatch.setenv("LATENT_EXPLORER_ASSETS", str(REPO_ROOT / "assets"))
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", str(REPO_ROOT / "indexes"))


def session_of(pack: str) -> Session:
    return Session(resources_for(pack), seed=0)


# ---------------------------------------------------------------- compare
def test_compare_draws_fashion_and_fashion_gan_from_the_first_three_validation_images(shipped):
    state = CompareState(session_of("fashion"))
    fashion, gan = resources_for("fashion"), resources_for("fashion-gan")
    assert state.image_ids == sorted(int(i) for i in fashion.ids)[:3]
    assert state.other == "fashion-gan" and state.figure == "jdiagram" and state.problem == ""
    assert state.left[:2] == state.right[:2] == b"\xff\xd8" and state.left != state.right
    assert (state.left_title, state.right_title) == ("fashion (shipped model)", "fashion-gan (shipped model)")
    # the GAN encodes fashion's own thumbnails: the same images, not its own index's latents
    np.testing.assert_array_equal(state.images, np.stack([fashion.thumbnail_of(i) for i in state.image_ids]))
    assert state.images.shape[1:] == gan.image_shape


def test_compare_offers_only_packs_whose_images_fit(shipped):
    assert fitting_packs("fashion", (28, 28, 1), SHIPPED) == ["fashion-gan"]
    assert fitting_packs("emoji", (64, 64, 3), SHIPPED) == []


def test_compare_without_a_fitting_pack_says_why_and_draws_one_side(shipped):
    state = CompareState(session_of("emoji"))
    assert state.other is None and state.right == b"" and state.left[:2] == b"\xff\xd8"
    assert "No other installed pack has 64×64×3 images" in state.problem


def test_each_compare_figure_draws_both_sides(shipped):
    state = CompareState(session_of("fashion"))
    pictures = {}
    for figure in ("jdiagram", "interpolation", "mine"):
        state.figure = figure
        assert state.left[:2] == state.right[:2] == b"\xff\xd8"
        pictures[figure] = state.left
    assert len(set(pictures.values())) == 3


def test_the_checkpoint_slider_changes_the_diagram(shipped):
    state = CompareState(session_of("fashion"))
    state.mode = "checkpoints"
    assert state.param.epoch.objects == [1, 2, 3, 4]
    assert state.left_title == "fashion after epoch 1" and state.right_title == "fashion (shipped model)"
    first = state.left
    state.epoch = 4
    assert state.left[:2] == b"\xff\xd8" and state.left != first


def test_checkpoints_of_a_pack_without_snapshots_say_how_to_make_them(tiny_pack):
    state = CompareState(session_of(tiny_pack))
    state.mode = "checkpoints"
    assert state.left == b"" and "--snapshots" in state.problem


def test_a_compare_link_reopens_mode_figure_and_epoch(shipped):
    session = session_of("fashion")
    state = CompareState(session)
    state.param.update(mode="checkpoints", figure="mine", epoch=3)
    session.view = "compare"
    link, messages = read_link(link_for(session, state).to_query(), packs=SHIPPED, default_pack="fashion",
                               views=VIEWS.names, latent_dim_of=lambda pack: resources_for(pack).latent_dim)
    assert messages == []
    again = CompareState.from_link(session_of("fashion"), link)
    assert (again.mode, again.figure, again.epoch, again.other) == ("checkpoints", "mine", 3, "fashion-gan")


# ---------------------------------------------------------------- exemplars
def test_pixel_arithmetic_is_a_minus_b_plus_c_on_mean_images_clipped():
    a = np.full((2, 2, 2, 1), 200, np.uint8)
    b = np.stack([np.full((2, 2, 1), 50, np.uint8), np.full((2, 2, 1), 150, np.uint8)])
    c = np.full((1, 2, 2, 1), 100, np.uint8)
    np.testing.assert_array_equal(pixel_arithmetic([a, b, c], (1.0, -1.0, 1.0)), np.full((2, 2, 1), 200))
    np.testing.assert_array_equal(pixel_arithmetic([a, a, a], (1.0, 1.0, 1.0)), np.full((2, 2, 2, 1), 255)[0])


def test_exemplar_clicks_add_to_and_remove_from_the_current_concept(tiny_pack):
    state = ExemplarsState(session_of(tiny_pack))
    before, jitter = list(state.exemplars["b"]), state.jitter
    new = next(int(i) for i in state.resources.ids if int(i) not in before)
    state.slot = "b"
    state.toggle(new)
    assert state.exemplars["b"] == before + [new] and state.jitter != jitter
    state.toggle(new)
    assert state.exemplars["b"] == before


def test_a_concept_keeps_at_least_one_exemplar(tiny_pack):
    state = ExemplarsState(session_of(tiny_pack))
    only = int(state.resources.ids[0])
    state.replace([only])
    state.toggle(only)
    assert state.exemplars["a"] == [only] and "at least one exemplar" in state.session.message


def test_an_exemplars_link_reopens_the_concepts(tiny_pack):
    session = session_of(tiny_pack)
    state = ExemplarsState(session)
    state.replace(state.resources.ids[:4])
    again = ExemplarsState.from_link(session_of(tiny_pack), state.to_link())
    assert again.exemplars == state.exemplars


@pytest.mark.parametrize("pack", SHIPPED)
def test_exemplars_render_real_arithmetic_on_every_shipped_pack(shipped, pack):
    state = ExemplarsState(session_of(pack))
    r = state.resources
    means = [np.mean([r.latent_of(i) for i in state.exemplars[key]], axis=0) for key in "abc"]
    np.testing.assert_allclose(state.result(), means[0] - means[1] + means[2], rtol=1e-5, atol=1e-5)
    grid = state.jitter_latents()
    middle = grid[grid.shape[0] // 2, grid.shape[1] // 2]
    np.testing.assert_allclose(middle, state.result(), atol=1e-6)
    assert 0 < np.abs(grid - state.result()).max() <= 0.25 + 1e-6
    assert state.pixel_result().shape == r.image_shape
    for picture in (state.jitter, state.centre, state.pixels, *state.strips.values()):
        assert picture[:2] == b"\xff\xd8"


# ---------------------------------------------------------------- diagnostics
@pytest.mark.parametrize("pack", SHIPPED)
def test_diagnostics_report_real_numbers_on_every_shipped_pack(shipped, pack):
    state = DiagnosticsState(session_of(pack))
    report, r = state.report, state.resources
    assert report["count"] == len(r.ids) and report["latent_dim"] == r.latent_dim
    assert 0.0 <= report["share_outside"] <= 1.0 and report["threshold"] > 0
    assert np.isfinite(report["kl"]).all() and (report["kl"] >= 0).all()
    assert len(state.rows) == r.latent_dim
    assert report["histogram"].counts.sum() == len(r.ids)
    assert f"{100 * report['share_outside']:.1f} %" in summary_text(report)


def test_diagnostics_are_computed_once_per_pack(tiny_pack):
    one, two = DiagnosticsState(session_of(tiny_pack)), DiagnosticsState(session_of(tiny_pack))
    assert one.report is two.report


# ---------------------------------------------------------------- explore's on-manifold meter
def test_the_on_manifold_meter_reads_zero_on_a_held_out_image_and_high_far_away(tiny_pack):
    r = resources_for(tiny_pack)
    distance, percentile = manifold.on_manifold(r, r.latent_of(int(r.ids[0])))
    assert distance == pytest.approx(0.0, abs=1e-4) and percentile == 0.0
    far = manifold.on_manifold(r, np.full(r.latent_dim, 10.0, np.float32))
    assert far[1] == 100.0


def test_the_explore_meter_follows_the_picture(tiny_pack):
    explore = ExploreState(session_of(tiny_pack))
    explore.render()
    before = explore.on_manifold
    explore.start_from(np.full(explore.resources.latent_dim, 10.0, np.float32))
    assert explore.on_manifold != before and explore.on_manifold.startswith("percentile 100 (off the data")


@pytest.mark.parametrize("name", ["compare", "exemplars", "diagnostics"])
def test_each_new_view_builds_its_panel_layout(tiny_pack, name):
    view = VIEWS[name].build(session_of(tiny_pack))
    assert view.state.resources.name == tiny_pack
    assert view.__panel__().get_root() is not None
