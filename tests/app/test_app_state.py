"""Each view's state, without a server: what the user sees changes as the user acts."""

from __future__ import annotations

import asyncio
import io
import threading

import numpy as np
import panel as pn
import pytest
from PIL import Image

from explorer.app.registry import link_for
from explorer.app.session import Gallery, Session
from explorer.app.views.analogy import AnalogyState
from explorer.app.views.attributes import AttributesState
from explorer.app.views.explore import ExploreState
from explorer.app.views.interpolate import InterpolateState
from explorer.app.views.mine import MineState, MineView
from explorer.app.views.sampling import SamplingState
from explorer.resources import resources_for


@pytest.fixture
def resources(tiny_pack):
    return resources_for(tiny_pack)


@pytest.fixture
def session(resources):
    return Session(resources, seed=0)


def png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


# ---------------------------------------------------------------- session
def test_a_session_starts_from_a_held_out_images_latent(session, resources):
    assert session.latent.shape == (resources.latent_dim,)
    assert np.isclose(resources.index.latents, session.latent).all(axis=1).any()


def test_sessions_do_not_share_their_latent(resources):
    one, two = Session(resources, seed=1), Session(resources, seed=2)
    one.set_latent(np.zeros(resources.latent_dim), "test")
    assert not np.array_equal(one.latent, two.latent)


def test_set_latent_refuses_a_wrong_length_or_nan(session):
    with pytest.raises(ValueError, match="has 8 numbers, got 3"):
        session.set_latent(np.zeros(3), "test")
    with pytest.raises(ValueError, match="NaN"):
        session.set_latent(np.full(8, np.nan), "test")


def test_a_bad_upload_becomes_a_message_not_an_exception(session):
    assert session.encode_upload(b"not an image", "x.png") is None
    assert session.level == "error" and "not an image" in session.message


# ---------------------------------------------------------------- explore
def test_explore_renders_a_jpeg_of_the_current_latent(session):
    explore = ExploreState(session)
    explore.render()
    assert explore.image[:2] == b"\xff\xd8"


def move(explore: ExploreState, name: str, value: float, final: bool = False) -> None:
    """One slider move as the Explore view makes it (its picture decoded on a render thread)."""
    asyncio.run(explore.move_slider(name, value, final=final))


def test_moving_a_slider_changes_the_picture_off_the_event_loop_but_commits_only_on_release(session):
    explore = ExploreState(session)
    explore.render()
    before, version, name = explore.image, session.link_version, explore.attributes[0]
    threads = []
    jpeg = explore.resources.jpeg

    def spy(*args, **kwargs):
        threads.append(threading.current_thread())
        return jpeg(*args, **kwargs)

    explore.resources.jpeg = spy
    try:
        move(explore, name, 2.0)
        assert explore.image != before and session.link_version == version
        move(explore, name, 2.0, final=True)
    finally:
        del explore.resources.jpeg
    assert threads and all(thread is not threading.main_thread() for thread in threads)
    assert session.link_version == version + 1
    np.testing.assert_allclose(session.latent, explore.base + 2.0 * explore.vector(name), rtol=1e-5)


def test_a_picture_that_finishes_late_never_replaces_a_newer_one(session):
    explore = ExploreState(session)
    older, newer = explore._next_ticket(), explore._next_ticket()
    explore._show(newer, b"newer")
    explore._show(older, b"older")
    explore._show(explore._next_ticket(), None)  # superseded: nothing to show
    assert explore.image == b"newer"


def test_a_slider_commit_does_not_reset_the_sliders(session):
    explore = ExploreState(session)
    name = explore.attributes[0]
    move(explore, name, 1.5, final=True)
    assert explore.strengths[name] == 1.5


def test_a_latent_from_another_view_resets_the_sliders_and_becomes_the_base(session):
    explore = ExploreState(session)
    move(explore, explore.attributes[0], 1.0)
    target = np.ones(session.latent_dim, np.float32)
    session.set_latent(target, "mine")
    assert explore.strengths == {} and np.array_equal(explore.base, target)


def test_balanced_and_synthetic_vectors_are_offered_where_they_exist(session):
    explore = ExploreState(session)
    assert explore.methods_for("blur") == ["synthetic"]
    assert explore.methods_for("even") == ["plain", "balanced"]
    with pytest.raises(ValueError, match="no 'synthetic' vector"):
        explore.set_method("even", "synthetic")


def test_starting_from_a_held_out_image_uses_its_stored_latent(session, resources):
    explore = ExploreState(session)
    image_id = int(resources.ids[3])
    explore.start_from_id(image_id)
    np.testing.assert_array_equal(session.latent, resources.latent_of(image_id))


def test_starting_from_an_upload_encodes_it(session):
    explore = ExploreState(session)
    before = session.latent.copy()
    assert explore.start_from_upload(png(Image.new("RGB", (50, 50), (255, 255, 255))), "white.png")
    assert not np.array_equal(session.latent, before)


def test_explore_exports_a_png(session):
    assert ExploreState(session).png()[:4] == b"\x89PNG"


# ---------------------------------------------------------------- interpolate
def test_slerp_keeps_the_norm_between_the_endpoint_norms_while_lerp_dips(session):
    interpolate = InterpolateState(session, a=np.r_[3.0, np.zeros(7)], b=np.r_[0.0, 3.0, np.zeros(6)])
    norms = interpolate.norms
    assert norms["slerp"].min() == pytest.approx(3.0)
    assert norms["lerp"][50] == pytest.approx(3.0 / np.sqrt(2), rel=1e-6)


def test_changing_an_endpoint_redraws_both_strips_and_commits(session, resources):
    interpolate = InterpolateState(session)
    before, version = (interpolate.lerp_strip, interpolate.slerp_strip), session.link_version
    interpolate.endpoint_from_id("b", int(resources.ids[0]))
    assert interpolate.lerp_strip != before[0] and interpolate.slerp_strip != before[1]
    assert session.link_version == version + 1


def test_interpolation_exports_an_animated_gif(session):
    data = InterpolateState(session).gif(frames=5, size=32)
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.n_frames == 8  # forth and back


# ---------------------------------------------------------------- analogy
def test_picking_a_corner_fills_the_slot_advances_it_and_redraws(session, resources):
    analogy = AnalogyState(session)
    before = analogy.image
    image_id = int(resources.ids[10])
    analogy.pick(image_id)
    assert analogy.corners["a"] == image_id and analogy.slot == "b" and analogy.image != before


def test_the_j_diagram_has_the_corners_and_the_analogy(session):
    analogy = AnalogyState(session, size=4)
    grid = analogy.grid_latents()
    a, b, c = (analogy.latents[k] for k in "abc")
    assert grid.shape == (4, 4, session.latent_dim)
    np.testing.assert_allclose(grid[0, 0], a, atol=1e-5)
    np.testing.assert_allclose(grid[-1, 0], b, atol=1e-5)
    np.testing.assert_allclose(grid[0, -1], c, atol=1e-5)
    np.testing.assert_allclose(grid[-1, -1], b + c - a, atol=1e-4)


def test_the_grid_size_changes_the_picture(session):
    analogy = AnalogyState(session, size=3)
    small = Image.open(io.BytesIO(analogy.image)).size
    analogy.size = 6
    assert Image.open(io.BytesIO(analogy.image)).size[0] > small[0]


# ---------------------------------------------------------------- mine
def test_the_mine_grid_is_centred_on_the_current_latent(session):
    mine = MineState(session)
    np.testing.assert_allclose(mine.grid[2, 2], session.latent, atol=1e-6)


def test_hopping_moves_the_centre_and_back_and_forward_walk_the_history(session):
    mine = MineState(session)
    start = session.latent.copy()
    target = mine.grid[0, 0].copy()
    mine.hop(0, 0)
    np.testing.assert_allclose(session.latent, target, atol=1e-6)
    assert (mine.position, mine.history_length) == (1, 2)
    mine.back()
    np.testing.assert_allclose(session.latent, start, atol=1e-6)
    mine.forward()
    np.testing.assert_allclose(session.latent, target, atol=1e-6)


def test_a_hop_after_going_back_drops_the_forward_history(session):
    mine = MineState(session)
    mine.hop(0, 0)
    mine.back()
    mine.hop(1, 1)
    assert mine.history_length == 2 and mine.position == 1


def test_a_click_outside_the_grid_does_nothing(session):
    mine = MineState(session)
    mine.hop(99, 0)
    assert mine.history_length == 1


def test_the_mine_grid_size_is_odd_and_its_slider_offers_only_the_states_sizes(session):
    with pytest.raises(ValueError, match="'size' must be odd, so that the grid has a centre tile; got 4"):
        MineState(session, size=4)
    mine = MineState(session)
    with pytest.raises(ValueError, match="must be odd"):
        mine.size = 6
    slider = MineView(mine)._layout.select(pn.widgets.IntSlider)[0]
    assert (slider.start, slider.end, slider.step) == (3, 9, 2)
    slider._process_events({"value": 7, "value_throttled": 7})  # what a release in the browser sends
    assert mine.size == 7 and mine.grid.shape[:2] == (7, 7)


def test_the_nearest_real_images_are_the_index_neighbours(session, resources):
    mine = MineState(session)
    _, ids = resources.index.search(session.latent, k=8)
    np.testing.assert_array_equal(mine.nearest_ids, ids)


# ---------------------------------------------------------------- attributes
def test_an_atdot_classifier_for_a_learnable_attribute_beats_chance(session):
    attributes = AttributesState(session, attribute="digit=0")
    result = attributes.result
    assert result["auc"] > 0.8 and result["accuracy"] > 0.8
    assert len(result["positives"]) + len(result["negatives"]) == result["test_size"]


def test_a_balanced_vector_reports_its_cell_counts(session):
    attributes = AttributesState(session, attribute="even")
    attributes.param.update(method="balanced", confounders=["large"])
    cells = attributes.result["cell_counts"]
    assert len(cells) == 4 and {row["after_balancing"] for row in cells} == {max(r["images"] for r in cells)}


def test_a_confounder_that_leaves_a_cell_empty_gives_a_message(session):
    attributes = AttributesState(session, attribute="digit=0")
    attributes.param.update(method="balanced", confounders=["loop"])  # every 0 has a loop
    assert session.level == "warning" and "no latent has" in session.message


def test_the_blur_attribute_uses_the_synthetic_vector(session):
    attributes = AttributesState(session, attribute="blur")
    assert attributes.method == "synthetic" and attributes.result["auc"] > 0.5


def test_the_summary_lists_every_attribute(session, resources):
    rows = AttributesState(session).summary()
    assert [row["attribute"] for row in rows] == resources.attribute_names
    assert all("plain AUC" in row for row in rows)


# ---------------------------------------------------------------- sampling
def test_prior_samples_fill_the_grid_and_have_no_ess(session):
    sampling = SamplingState(session, size=3)
    assert sampling.image[:2] == b"\xff\xd8" and sampling.ess is None and sampling.ess_warning == ""


def test_polarity_sampling_reports_its_ess_and_warns_when_it_is_low(session):
    sampling = SamplingState(session, sampler="polarity", rho=0.0, size=3)
    assert sampling.ess == pytest.approx(256) and sampling.ess_warning == ""
    sampling.rho = 3.0
    assert sampling.ess < 9 and "is under the 9 latents drawn" in sampling.ess_warning


def test_the_class_histogram_compares_the_sampler_with_the_prior(session):
    sampling = SamplingState(session, label="digit", size=3)
    histogram = sampling.histogram
    assert histogram["categories"] == [str(i) for i in range(10)]
    assert sum(histogram["this sampler"]) == pytest.approx(1) and sum(histogram["prior"]) == pytest.approx(1)


def test_truncation_keeps_every_prior_component_inside_the_bound(session):
    sampling = SamplingState(session, truncation=0.5, size=3)
    latents, _ = sampling.latents(50)
    assert np.abs(latents).max() <= 0.5


# ---------------------------------------------------------------- links
def test_the_link_holds_the_views_own_latents(session):
    interpolate = InterpolateState(session)
    session.view = "interpolate"
    query = link_for(session, interpolate).to_query()
    assert set(query) == {"pack", "view", "z", "a", "b"}


def test_an_analogy_link_restores_held_out_corners_with_their_images(session, resources):
    first = AnalogyState(session)
    first.pick(int(resources.ids[7]))
    session.view = "analogy"
    link = link_for(session, first)
    again = AnalogyState(Session(resources, seed=5))
    again.apply_link(link.latents, link.settings["ids"])
    assert again.corners == first.corners and set(again.inputs) == {"a", "b", "c"}
    assert again.image == first.image


def test_an_analogy_link_with_unknown_ids_falls_back_to_the_latents(session, resources):
    analogy = AnalogyState(session)
    latent = np.full(session.latent_dim, 0.25, np.float32)
    analogy.apply_link({"a": latent}, "999999,-,x")
    assert analogy.corners["a"] == "latent" and "a" not in analogy.inputs
    np.testing.assert_array_equal(analogy.latents["a"], latent)


def test_the_gallery_pages_through_a_labels_images_and_wraps_around(resources):
    gallery = Gallery(resources, rows=2, cols=5)
    gallery.label = "digit=3"
    pages = []
    for _ in range(3):
        pages.append(set(gallery.ids.tolist()))
        gallery.next_page()
    threes = set(resources.ids[resources.masks["digit=3"]].tolist())
    assert all(page <= threes for page in pages) and pages[0].isdisjoint(pages[1])
    gallery.page = 0
    assert gallery.id_at(0, 0) in threes and gallery.id_at(5, 5) is None


def test_a_held_out_centre_is_not_placed_again_as_its_own_neighbour(session, resources):
    session.set_latent(resources.latent_of(int(resources.ids[0])), "test")
    mine = MineState(session)
    same = np.all(np.isclose(mine.grid, session.latent, atol=1e-6), axis=-1)
    assert same.sum() == 1 and same[2, 2]


def test_the_sampling_view_says_what_each_sampler_targets_and_shows_the_held_out_labels(session):
    sampling = SamplingState(session, sampler="magnet", label="digit", size=3)
    assert "singular values" in sampling.description and sampling.k == sampling.resources.pool.default_k
    assert set(sampling.histogram) >= {"this sampler", "prior", "held-out"}
    assert sum(sampling.histogram["held-out"]) == pytest.approx(1.0)
    sampling.k = 1 if sampling.k != 1 else 2  # another top-k is another target
    assert sampling.description != "" and sampling.to_link().settings["k"] == str(sampling.k)
    sampling.sampler = "uniform-manifold"
    assert sampling.ess is not None and "prior" in sampling.description.lower()
