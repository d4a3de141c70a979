"""Directions in Explore and the Map view, without a server: sliders for unsupervised and own
directions, locks and side effects, the per-user store, and what the map's clicks and lassos do."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

from explorer.app import directions as shared
from explorer.app.live_bars import LiveBars
from explorer.app.session import Session
from explorer.app.views.explore import OWN, ExploreState, ExploreView
from explorer.app.views.map import SCATTER_LIMIT, MapState, MapView, points_element, shown_points
from explorer.charts import BLUE, REFERENCE, hv, side_effect_rows
from explorer.resources import resources_for


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


@pytest.fixture
def resources(tiny_pack, home):
    return resources_for(tiny_pack)


@pytest.fixture
def session(resources):
    return Session(resources, seed=0)


def test_directions_live_under_latent_explorer_home_or_the_per_user_data_folder(home, monkeypatch):
    assert shared.directions_dir() == home / "directions"
    monkeypatch.delenv("LATENT_EXPLORER_HOME")
    import platformdirs

    assert str(shared.directions_dir()).startswith(platformdirs.user_data_dir("latent-explorer"))


def test_unsupervised_directions_are_named_and_computed_once_per_pack(resources):
    first = shared.unsupervised_directions(resources)
    assert shared.unsupervised_directions(resources) is first  # cached on the pack resources
    keys = [d.key for d in first]
    assert keys[:3] == ["PC1", "PC2", "PC3"]
    assert all(d.label.startswith(d.key) and ("\u2248" in d.label or "unnamed" in d.label) for d in first)
    assert shared.judges(resources) is shared.judges(resources)


def test_a_pca_slider_moves_the_latent_along_its_direction(session):
    explore = ExploreState(session)
    explore.directions = ["PC1"]
    asyncio.run(explore.move_slider("PC1", 1.5, final=True))
    pc1 = next(d for d in shared.unsupervised_directions(explore.resources) if d.key == "PC1").vector
    np.testing.assert_allclose(session.latent, explore.base + 1.5 * pc1, atol=1e-5)
    assert explore.focus == "PC1" and explore.effects


def test_locking_labels_zeroes_their_judges_drag_and_keeps_the_others(session):
    explore = ExploreState(session)
    explore.directions = ["PC1"]
    explore.focus = "PC1"
    plain = {(e.label, e.kind): e.drag for e in explore.effects}
    explore.locks = ["even", "loop"]
    locked = {(e.label, e.kind): e.drag for e in explore.effects}
    for label in ("even", "loop"):
        for kind in ("atdot", "logistic"):
            assert abs(locked[(label, kind)]) < 1e-9
    assert plain.keys() == locked.keys()
    assert abs(np.dot(explore.vector("PC1"), explore.raw_vector("PC1"))) > 0  # something of PC1 is left
    bars = side_effect_rows(explore.effects, explore.locks, "logistic")
    assert bars["label"] == [e.label for e in explore.effects if e.kind == "logistic"]
    assert {label: colour for label, colour in zip(bars["label"], bars["colour"])} == {
        label: REFERENCE if label in ("even", "loop") else BLUE for label in bars["label"]}


def test_the_sideeffect_charts_follow_the_focus_slider_and_the_locks(session):
    view = ExploreView(ExploreState(session))
    state = view.state
    state.directions = ["PC1", "PC2"]
    charts = view.effect_charts

    def shown(kind):
        return charts[kind].figure.title.text, dict(zip(charts[kind].source.data["label"],
                                                        charts[kind].source.data["value"]))

    for focus in ("PC1", "PC2"):
        state.focus = focus
        for kind in ("atdot", "logistic"):
            title, bars = shown(kind)
            assert title.startswith(f"{kind}: side effects of {focus}")
            assert bars == {e.label: e.drag for e in state.effects if e.kind == kind}
            assert charts[kind].figure.x_range.factors == list(bars)
    state.locks = ["even"]
    assert abs(shown("atdot")[1]["even"]) < 1e-9


def test_bars_the_same_under_another_focus_still_retitle_the_charts(session):
    view = ExploreView(ExploreState(session))
    state = view.state
    state.directions = ["PC1"]
    state.focus = "PC1"
    state._unsupervised["PC1 again"] = state._unsupervised["PC1"]  # a second slider with PC1's vector
    state.focus = "PC1 again"
    assert view.effect_charts["atdot"].figure.title.text.startswith("atdot: side effects of PC1 again")


def test_live_bars_refuse_columns_of_different_lengths():
    bars = LiveBars("drag", width=300)
    with pytest.raises(ValueError, match="a label, a value and a colour"):
        bars.show({"label": ["a", "b"], "value": [1.0], "colour": [BLUE, BLUE]}, "title")
    bars.show({"label": ["a"], "value": [0.5], "colour": [BLUE]}, "one bar")
    assert bars.source.data["label"] == ["a"] and bars.figure.title.text == "one bar"


def test_an_attribute_slider_is_not_locked_against_its_own_label(session):
    explore = ExploreState(session)
    explore.locks = ["even"]
    np.testing.assert_allclose(explore.vector("even"), explore.raw_vector("even"))


def test_a_direction_from_two_labels_is_saved_per_user_and_becomes_a_slider(session, home, resources):
    explore = ExploreState(session)
    explore.param.update(group_a="digit=1", group_b="digit=0", own_name="one to zero")
    assert explore.make_direction() == "one to zero"
    assert OWN + "one to zero" in explore.directions
    latents = np.asarray(resources.index.latents, dtype=np.float64)
    masks = resources.masks
    expected = latents[masks["digit=0"]].mean(axis=0) - latents[masks["digit=1"]].mean(axis=0)
    np.testing.assert_allclose(explore.raw_vector(OWN + "one to zero"), expected, rtol=1e-5)
    assert len(list((home / "directions").glob("*.directions.json"))) == 1
    assert not list(resources.pack.index_dir.glob("*.directions.json"))  # never beside the index
    # another session of the same user sees it among the directions on offer
    other = ExploreState(Session(resources, seed=1))
    assert OWN + "one to zero" in other.param.directions.objects.values()


def test_the_same_groups_twice_are_refused_with_a_message(session):
    explore = ExploreState(session)
    explore.param.update(group_a="even", group_b="even")
    assert explore.make_direction() is None
    assert session.level == "error" and "different labels" in session.message


def test_exported_directions_import_again_and_other_weights_are_refused(session):
    explore = ExploreState(session)
    explore.param.update(group_a="even", group_b="loop", own_name="loopy")
    explore.make_direction()
    document = json.loads(explore.export_directions())
    assert [d["name"] for d in document["directions"]] == ["loopy"]
    document["directions"][0]["name"] = "loopy again"
    assert explore.import_directions(json.dumps(document).encode(), "mine.json")
    assert OWN + "loopy again" in explore.directions
    document["weights_hash"] = "0123456789abcdef"
    assert not explore.import_directions(json.dumps(document).encode(), "theirs.json")
    assert session.level == "error" and "theirs.json" in session.message and "0123456789abcdef" in session.message
    assert OWN + "loopy" in explore.directions  # what was there stays


def test_a_click_on_the_map_makes_the_nearest_point_the_current_latent(session, resources):
    state = MapState(session)
    coords = state.coords
    image_id = state.click(*(coords[7] + 1e-6))
    assert image_id == int(resources.ids[7])
    np.testing.assert_array_equal(session.latent, resources.latent_of(image_id))
    before = session.latent.copy()
    far = coords.max(axis=0) + 10 * (coords.max(axis=0) - coords.min(axis=0))
    assert state.click(*far) is None
    np.testing.assert_array_equal(session.latent, before)


def test_two_lassos_make_a_direction_that_appears_as_an_explore_slider(session, resources):
    explore = ExploreState(session)
    state = MapState(session)
    coords = state.coords
    low, high = coords.min(axis=0) - 1, coords.max(axis=0) + 1
    middle = float(np.median(coords[:, 0]))
    left = np.array([[low[0], low[1]], [middle, low[1]], [middle, high[1]], [low[0], high[1]]])
    right = np.array([[middle, low[1]], [high[0], low[1]], [high[0], high[1]], [middle, high[1]]])
    state.lasso(left)
    state.use_selection("a")
    state.lasso(right)
    state.use_selection("b")
    assert len(state.group_a) + len(state.group_b) == len(coords)
    state.direction_name = "left to right"
    assert state.save_direction() == "left to right"
    assert OWN + "left to right" in explore.directions
    latents = np.asarray(resources.index.latents, dtype=np.float64)
    expected = latents[state.group_b].mean(axis=0) - latents[state.group_a].mean(axis=0)
    np.testing.assert_allclose(explore.raw_vector(OWN + "left to right"), expected, rtol=1e-5)


def test_saving_without_two_groups_says_what_to_do(session):
    state = MapState(session)
    assert state.save_direction() is None
    assert "lasso group A and group B" in session.message


def test_the_map_draws_one_scatter_point_per_held_out_image(session, resources):
    from bokeh.models import GlyphRenderer, Scatter

    view = MapView(MapState(session))
    root = view.plot.get_root()
    sizes = [len(r.data_source.data["x"]) for r in root.select({"type": GlyphRenderer}) if isinstance(r.glyph, Scatter)]
    assert sizes == [len(resources.ids)]


def test_the_atlas_is_the_decoded_cell_means_on_the_maps_bounds(session, resources):
    image, bounds = shared.atlas(resources, "PCA", cells=4)
    h, w, _ = resources.image_shape
    assert image.shape == (4 * h, 4 * w, 4)
    coords = shared.map_coords(resources)
    np.testing.assert_allclose(bounds, (*coords.min(axis=0), *coords.max(axis=0)))
    assert (image[..., 3] == 255).any()


def test_beyond_the_scatter_limit_the_points_are_rasterised():
    pytest.importorskip("datashader")
    coords = np.random.default_rng(0).normal(size=(SCATTER_LIMIT + 1, 2))
    points = points_element(coords, [""] * len(coords), np.arange(len(coords)), [], "none")
    shown = shown_points(points, len(coords))
    assert shown is not points
    rendered = hv.render(shown)
    from bokeh.models import GlyphRenderer, Image

    assert any(isinstance(r.glyph, Image) for r in rendered.select({"type": GlyphRenderer}))


def test_umap_is_offered_only_when_umap_learn_is_installed(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "umap" else real(name, *a))
    assert shared.map_methods() == ["PCA"]


def test_an_unknown_projection_is_refused_with_the_choices(resources):
    with pytest.raises(ValueError, match="no map projection 'tSNE'; choose from PCA"):
        shared.map_coords(resources, "tSNE")


def test_the_maps_hover_shows_each_points_thumbnail(resources):
    from bokeh.models import HoverTool

    thumbnails = shared.map_thumbnails(resources)
    assert len(thumbnails) == len(resources.ids) and all(t.startswith("data:image/jpeg;base64,") for t in thumbnails)
    coords = shared.map_coords(resources)
    plot = hv.render(points_element(coords, [""] * len(coords), resources.ids, thumbnails, "none"))
    hovers = [tool for tool in plot.tools if isinstance(tool, HoverTool)]
    assert len(hovers) == 1 and '<img src="@thumb"' in hovers[0].tooltips
    assert list(plot.renderers[0].data_source.data["thumb"]) == thumbnails
