"""`latent-explorer export` on the tiny pack: each of the paper's figures, GIFs and clear refusals."""

from __future__ import annotations

import pytest
from PIL import Image

from explorer.cli import main


@pytest.mark.parametrize("figure", ["jdiagram", "mine", "paths", "traversal", "atdot"])
def test_the_export_command_writes_each_figure(tiny_pack, tmp_path, capsys, figure):
    out = tmp_path / f"{figure}.png"
    assert main(["export", "--pack", tiny_pack, "--figure", figure, "--out", str(out), "--tile", "32"]) == 0
    assert Image.open(out).format == "PNG" and str(out) in capsys.readouterr().out


def test_the_export_command_writes_a_gif_when_asked(tiny_pack, tmp_path):
    out = tmp_path / "paths.png"
    assert main(["export", "--pack", tiny_pack, "--figure", "paths", "--out", str(out), "--gif", "--tile", "24"]) == 0
    assert Image.open(out.with_suffix(".gif")).n_frames > 2


@pytest.mark.parametrize("method", ["plain", "balanced"])
def test_the_export_command_judges_the_synthetic_blur_vector_whatever_the_method(tiny_pack, tmp_path, method):
    out = tmp_path / "atdot.png"
    assert main(["export", "--pack", tiny_pack, "--figure", "atdot", "--attribute", "blur", "--method", method,
                 "--out", str(out)]) == 0
    assert Image.open(out).format == "PNG"


def test_the_export_command_refuses_an_unknown_attribute(tiny_pack, tmp_path, capsys):
    code = main(["export", "--pack", tiny_pack, "--figure", "atdot", "--attribute", "smiling", "--out",
                 str(tmp_path / "x.png")])
    assert code == 2 and "no attribute 'smiling'" in capsys.readouterr().err


def test_the_export_command_names_the_installed_packs_for_an_unknown_one(tiny_pack, capsys):
    assert main(["export", "--pack", "nope", "--figure", "atdot"]) == 2
    assert tiny_pack in capsys.readouterr().err
