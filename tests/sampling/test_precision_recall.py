"""explorer.latent.metrics.precision_recall and the offline features it is computed on."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from explorer.latent import metrics
from explorer.latent.metrics import precision_recall
from explorer.models.base import ExplorableModel
from explorer.models.features import encoder_features, pixel_features


def _blobs(n: int, seed: int, centres: np.ndarray) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return centres[rng.integers(len(centres), size=n)] + 0.3 * rng.standard_normal((n, centres.shape[1]))


CENTRES = np.random.default_rng(0).standard_normal((10, 4)) * 10


def test_identical_sets_have_full_precision_and_recall():
    real = _blobs(300, 1, CENTRES)
    assert precision_recall(real, real.copy()) == (1.0, 1.0)


def test_disjoint_far_sets_have_zero_precision_and_recall():
    real = _blobs(300, 1, CENTRES)
    assert precision_recall(real, real + 1000.0) == (0.0, 0.0)


def test_samples_collapsed_on_a_few_modes_have_high_precision_and_low_recall():
    real = _blobs(1000, 1, CENTRES)
    collapsed = _blobs(1000, 2, CENTRES[:2])
    precision, recall = precision_recall(real, collapsed)
    assert precision > 0.85
    assert recall < 0.3


def test_memory_blocks_do_not_change_the_result(monkeypatch):
    real, generated = _blobs(200, 1, CENTRES), _blobs(150, 2, CENTRES[:5])
    whole = precision_recall(real, generated, k=5)
    monkeypatch.setattr(metrics, "_BLOCK_VALUES", 1000)
    assert precision_recall(real, generated, k=5) == whole


@pytest.mark.parametrize(
    "real, generated, k, argument",
    [
        (np.zeros((5, 2)), np.zeros((5, 3)), 3, "width"),
        (np.zeros((3, 2)), np.zeros((5, 2)), 3, "real"),
        (np.zeros((5, 2)), np.full((5, 2), np.nan), 3, "generated"),
        (np.zeros((5, 2)), np.zeros((5, 2)), 0, "k"),
    ],
)
def test_bad_inputs_raise_value_error(real, generated, k, argument):
    with pytest.raises(ValueError, match=argument):
        precision_recall(real, generated, k=k)


def test_pixel_features_average_blocks_of_pixels():
    images = np.zeros((1, 4, 4, 1), np.uint8)
    images[0, :2, :2, 0] = 255
    np.testing.assert_allclose(pixel_features(images, size=2), [[1.0, 0.0, 0.0, 0.0]])


class _TinyModel(nn.Module):
    latent_dim, prior, image_shape = 2, "gaussian", (4, 4, 1)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return images.mean(dim=(1, 2, 3))[:, None].repeat(1, 2)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(latents[:, :1, None, None].expand(-1, 1, 4, 4))


def test_encoder_features_are_the_encoder_latents_of_uint8_or_float_images():
    model = ExplorableModel(_TinyModel(), batch_size=2)
    images = np.full((3, 4, 4, 1), 51, np.uint8)
    np.testing.assert_allclose(encoder_features(model, images), np.full((3, 2), 0.2), atol=1e-6)
    np.testing.assert_allclose(encoder_features(model, images / 255.0), np.full((3, 2), 0.2), atol=1e-6)
