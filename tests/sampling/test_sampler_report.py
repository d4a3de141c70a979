"""Class balance helpers, the sampler report on a tiny pack and its bench section."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from PIL import Image

import explorer.benchmarks.samplers as samplers_bench
import explorer.packs
from explorer import bench, sampler_report
from explorer.index import PackIndex
from explorer.latent.metrics import class_histogram, entropy_bits, normalised_entropy
from explorer.latent.sampling import sample_prior
from explorer.models.base import ExplorableModel
from explorer.models.vae import ConvVAE
from explorer.pool import SamplerPool
from explorer.sampler_report import (
    evaluate_pack,
    majority_vote,
    report_figure,
    summary,
    transfer_labels,
)

RHOS = (-1.0, 0.0, 1.0)
TRUNCATIONS = (0.5, None)


# -- class balance ---------------------------------------------------------------------------


def test_class_histogram_counts_each_class_including_empty_ones():
    assert class_histogram(np.array([0, 2, 2, 3]), 5).tolist() == [1, 0, 2, 1, 0]


def test_class_histogram_sums_weights_when_given():
    np.testing.assert_allclose(class_histogram(np.array([0, 1, 1]), 2, np.array([0.5, 1.0, 2.0])), [0.5, 3.0])


def test_class_histogram_refuses_labels_outside_the_classes():
    with pytest.raises(ValueError, match=r"\[0, 3\).*3"):
        class_histogram(np.array([0, 3]), 3)


@pytest.mark.parametrize(
    ("histogram", "bits"),
    [([5, 5, 5, 5], 2.0), ([7, 0, 0], 0.0), ([1, 1, 0, 0], 1.0), ([0.5, 0.25, 0.25], 1.5)],
)
def test_entropy_in_bits_of_known_histograms(histogram, bits):
    assert entropy_bits(np.array(histogram)) == pytest.approx(bits)


def test_entropy_does_not_depend_on_counts_or_shares():
    assert entropy_bits(np.array([30, 10, 60])) == pytest.approx(entropy_bits(np.array([0.3, 0.1, 0.6])))


def test_a_flatter_histogram_has_higher_entropy():
    assert entropy_bits(np.array([25, 25, 25, 25])) > entropy_bits(np.array([40, 20, 20, 20])) > entropy_bits(
        np.array([70, 10, 10, 10])
    )


def test_normalised_entropy_is_one_when_flat_and_zero_for_one_class():
    assert normalised_entropy(np.array([3, 3, 3])) == pytest.approx(1.0)
    assert normalised_entropy(np.array([0, 9, 0])) == 0.0


def test_entropy_refuses_an_empty_histogram():
    with pytest.raises(ValueError, match="not all zero"):
        entropy_bits(np.zeros(4))


# -- label transfer ----------------------------------------------------------------------------


def test_majority_vote_takes_the_most_frequent_label():
    assert majority_vote(np.array([[2, 1, 2, 0, 2], [0, 0, 1, 1, 1]]), 3).tolist() == [2, 1]


def test_majority_vote_breaks_ties_toward_the_nearer_neighbour():
    assert majority_vote(np.array([[1, 0, 0, 1], [0, 1, 1, 0]]), 2).tolist() == [1, 0]


def _clustered_index() -> PackIndex:
    rng = np.random.default_rng(0)
    centres = np.array([[0.0, 0.0], [10.0, 0.0], [0.0, 10.0]])
    labels = np.repeat(np.arange(3), 20)
    latents = centres[labels] + 0.5 * rng.standard_normal((60, 2))
    return PackIndex.create(latents, np.zeros((60, 4, 4, 1), np.uint8), labels={"class": labels},
                            categories={"class": ["a", "b", "c"]})


def test_transfer_labels_gives_a_query_the_label_of_its_cluster():
    majority, shares = transfer_labels(_clustered_index(), np.array([[10.0, 0.2], [0.1, 9.8]]), ["class"])["class"]
    assert majority.tolist() == [1, 2]
    np.testing.assert_allclose(shares, [[0, 1, 0], [0, 0, 1]])


def test_leave_one_out_accuracy_is_perfect_on_separate_clusters():
    assert sampler_report.leave_one_out_accuracy(_clustered_index(), ["class"]) == {"class": 1.0}


# -- the report on a tiny pack -----------------------------------------------------------------


def _tiny_pack(with_pool: bool = True) -> SimpleNamespace:
    torch.manual_seed(0)
    model = ExplorableModel(ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8))
    rng = np.random.default_rng(1)
    images = rng.integers(0, 256, (80, 16, 16, 1), dtype=np.uint8)
    index = PackIndex.create(
        model.encode_images(images), images, pack="tiny",
        labels={"class": rng.integers(0, 3, 80), "flag": rng.random(80) < 0.3},
        categories={"class": ["cat", "dog", "owl"]},
    )
    latents = sample_prior("gaussian", 256, 4, seed=2)
    pool = SamplerPool(latents, rng.normal(0.0, 2.0, 256), "gaussian", 2, "tiny")
    return SimpleNamespace(name="tiny", model=model, index=index, has_pool=with_pool, pool=pool if with_pool else None)


@pytest.fixture(scope="module")
def tiny_report() -> dict:
    return evaluate_pack(_tiny_pack(), n=40, rhos=RHOS, truncations=TRUNCATIONS)


def test_report_has_every_sampler_and_sweep_point(tiny_report):
    assert list(tiny_report["runs"]) == [
        "prior", "magnet", "uniform-manifold", "polarity rho=-1", "polarity rho=0", "polarity rho=1", "truncation 0.5",
        "truncation none",
    ]
    assert tiny_report["names"] == {"class": ["cat", "dog", "owl"], "flag": ["no", "yes"]}
    assert tiny_report["pool_size"] == 256
    json.dumps(tiny_report)  # plain JSON types only


def test_each_run_classifies_every_sample_and_measures_precision_recall(tiny_report):
    for run in tiny_report["runs"].values():
        assert 0.0 <= run["precision"] <= 1.0 and 0.0 <= run["recall"] <= 1.0
        figures = run["labels"]["class"]
        assert sum(figures["counts"]) == 40
        assert 0.0 <= figures["entropy_bits"] <= np.log2(3) + 1e-9
        assert sum(figures["vote_shares"]) == pytest.approx(1.0, abs=1e-3)


def test_pool_runs_report_ess_and_truncation_runs_do_not(tiny_report):
    runs = tiny_report["runs"]
    assert runs["prior"]["ess"] == 256.0 and runs["polarity rho=0"]["ess"] == 256.0
    assert 1.0 <= runs["magnet"]["ess"] < 256.0
    assert runs["truncation none"]["ess"] is None and "target" not in runs["truncation none"]
    assert sum(runs["magnet"]["target"]["class"]["shares"]) == pytest.approx(1.0, abs=1e-3)


def test_summary_gives_the_entropy_difference_of_magnet_and_prior(tiny_report):
    figures = summary(tiny_report)
    entropies = figures["entropy_bits"]
    assert figures["label"] == "class"
    assert figures["magnet_minus_prior_entropy_bits"] == pytest.approx(entropies["magnet"] - entropies["prior"], abs=1e-3)


def test_a_pack_without_pool_gets_only_the_truncation_sweep():
    report = evaluate_pack(_tiny_pack(with_pool=False), n=20, truncations=(1.0, None), labels=["flag"])
    assert list(report["runs"]) == ["truncation 1", "truncation none"]
    assert report["pool_samplers"].startswith("skipped")
    assert report_figure(report).size == (1440, 560)


def test_unknown_labels_are_refused_with_the_ones_available():
    with pytest.raises(ValueError, match="class"):
        evaluate_pack(_tiny_pack(with_pool=False), n=20, labels=["colour"])


def test_markdown_table_has_a_row_per_run_and_the_held_out_images(tiny_report):
    table = sampler_report.markdown_table(tiny_report).splitlines()
    assert table[0].startswith("| sampler | ESS | class: H bits / top share (target H) | flag: H bits")
    assert len(table) == 2 + 1 + len(tiny_report["runs"])
    magnet = next(line for line in table if line.startswith("| magnet |"))
    run = tiny_report["runs"]["magnet"]
    assert f"| {run['ess']:.0f} |" in magnet and f"{run['labels']['class']['largest_share']:.2f}" in magnet


def test_label_histograms_compare_a_draw_with_prior_draws_and_held_out_images():
    pack = _tiny_pack()
    latents, _ = pack.pool.draw("magnet", 30, seed=0)
    histograms = sampler_report.label_histograms(pack, latents, "class", prior_draws=50)
    assert histograms["categories"] == ["cat", "dog", "owl"]
    for group in ("draw", "prior", "held-out"):
        assert sum(histograms[group]["shares"]) == pytest.approx(1.0, abs=1e-3)
        assert histograms[group]["largest_share"] == pytest.approx(max(histograms[group]["shares"]), abs=1e-4)
    held_out = np.bincount(pack.index.labels["class"], minlength=3) / len(pack.index)
    np.testing.assert_allclose(histograms["held-out"]["shares"], held_out, atol=1e-4)
    with pytest.raises(ValueError, match="colour"):
        sampler_report.label_histograms(pack, latents, "colour")


def test_report_figure_has_the_requested_size(tiny_report):
    assert report_figure(tiny_report, size=(1000, 400)).size == (1000, 400)


def test_module_command_writes_the_figure_and_the_json(monkeypatch, tmp_path, capsys):
    monkeypatch.setattr(explorer.packs, "open_pack", lambda name: _tiny_pack())
    png, report = tmp_path / "docs" / "figure.png", tmp_path / "report.json"
    argv = ["--pack", "tiny", "--n", "20", "--out", str(png), "--json", str(report)]
    assert sampler_report.main(argv) == 0
    assert Image.open(png).size == (1440, 560)
    assert set(json.loads(report.read_text())["runs"]) >= {"prior", "magnet", "truncation none"}
    assert '"magnet_minus_prior_entropy_bits"' in capsys.readouterr().out


# -- bench section -----------------------------------------------------------------------------


def test_samplers_is_a_bench_section_that_skips_missing_packs(monkeypatch):
    monkeypatch.setattr(samplers_bench, "QUICK", dict(samplers_bench.QUICK, packs=("no-such-pack",)))
    assert bench.SECTIONS["samplers"] == "explorer.benchmarks.samplers"
    assert "skipped" in bench.run_section("samplers", quick=True)["no-such-pack"]
