"""Figures without a browser: the composition helpers, and `latent-explorer export` on the tiny pack."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from explorer import export
from explorer.cli import main


def grey(value: int, shape=(8, 8, 1)) -> np.ndarray:
    return np.full(shape, value, np.uint8)


def test_a_grid_image_places_tiles_with_gaps():
    images = np.stack([np.stack([grey(0), grey(255)])] * 2)  # 2 x 2 tiles
    picture = export.grid_image(images, size=10, gap=2)
    assert picture.size == (22, 22)
    assert picture.getpixel((0, 0)) == (0, 0, 0) and picture.getpixel((21, 0)) == (255, 255, 255)


def test_the_j_diagram_puts_each_input_beside_its_corner():
    grid = np.zeros((3, 3, 8, 8, 1), np.uint8)
    inputs = {"a": grey(50), "b": grey(100), "c": grey(150)}
    picture = export.jdiagram_figure(grid, inputs, size=10, gap=4)
    margin = 10 + 8
    assert picture.getpixel((4 + 5, margin + 5))[0] == 50  # A left of the top-left corner
    assert picture.getpixel((4 + 5, margin + 30 - 5))[0] == 100  # B left of the bottom-left corner
    assert picture.getpixel((margin + 30 + 4 + 5, margin + 5))[0] == 150  # C right of the top-right corner


def test_a_gif_bounces_forth_and_back():
    frames = [grey(v) for v in (0, 100, 200)]
    gif = Image.open(io.BytesIO(export.gif_bytes(frames, 16)))
    assert gif.n_frames == 4 and gif.info["loop"] == 0


def test_line_and_histogram_plots_draw_something():
    plot = export.line_plot({"a": (np.arange(5), np.arange(5) ** 2)}, title="t", hlines={"h": 3.0})
    histogram = export.histogram_plot({"x": np.random.default_rng(0).normal(size=100)}, vline=0.0)
    for picture in (plot, histogram):
        assert len(np.unique(np.asarray(picture).reshape(-1, 3), axis=0)) > 3


def test_label_masks_split_categories_and_drop_constant_labels():
    labels = {"kind": np.array([0, 1, 2, 1, 0, 1]), "odd": np.array([1, 0, 1, 0, 1, 0]), "all": np.ones(6)}
    masks = export.label_masks(labels, {"kind": ["a", "b", "c"]})
    assert sorted(masks) == ["kind=a", "kind=b", "odd"]  # kind=c has one image, "all" no negatives


def test_default_confounders_skip_labels_that_leave_a_cell_empty():
    rng = np.random.default_rng(0)
    target = rng.random(400) < 0.5
    nested = target & (rng.random(400) < 0.9)  # every nested image is a target: a cell is empty
    related = np.where(rng.random(400) < 0.7, target, ~target)
    masks = {"target": target, "nested": nested, "related": related, "noise": rng.random(400) < 0.5}
    assert export.default_confounders(masks, "target") == ["related"]


def test_judging_a_perfect_attribute_gives_auc_one():
    rng = np.random.default_rng(0)
    mask = rng.random(200) < 0.5
    latents = rng.normal(size=(200, 4)) + 5.0 * mask[:, None] * np.array([1, 0, 0, 0])
    result = export.judge_attribute(latents, {"x": mask}, "x")
    assert result["auc"] > 0.99 and result["accuracy"] > 0.95 and result["test_size"] == 100


def test_judging_an_attribute_absent_from_a_half_explains_why():
    mask = np.zeros(10, bool)
    mask[0] = True
    with pytest.raises(ValueError, match="cannot be judged"):
        export.judge_attribute(np.zeros((10, 2)), {"x": mask}, "x", seed=3)


@pytest.mark.parametrize("figure", ["jdiagram", "mine", "paths", "traversal", "atdot"])
def test_the_export_command_writes_each_figure(tiny_pack, tmp_path, capsys, figure):
    out = tmp_path / f"{figure}.png"
    assert main(["export", "--pack", tiny_pack, "--figure", figure, "--out", str(out), "--tile", "32"]) == 0
    assert Image.open(out).format == "PNG" and str(out) in capsys.readouterr().out


def test_the_export_command_writes_a_gif_when_asked(tiny_pack, tmp_path):
    out = tmp_path / "paths.png"
    assert main(["export", "--pack", tiny_pack, "--figure", "paths", "--out", str(out), "--gif", "--tile", "24"]) == 0
    assert Image.open(out.with_suffix(".gif")).n_frames > 2


def test_the_export_command_refuses_an_unknown_attribute(tiny_pack, tmp_path, capsys):
    code = main(["export", "--pack", tiny_pack, "--figure", "atdot", "--attribute", "smiling", "--out",
                 str(tmp_path / "x.png")])
    assert code == 2 and "no attribute 'smiling'" in capsys.readouterr().err


def test_the_export_command_names_the_installed_packs_for_an_unknown_one(tiny_pack, capsys):
    assert main(["export", "--pack", "nope", "--figure", "atdot"]) == 2
    assert tiny_pack in capsys.readouterr().err
