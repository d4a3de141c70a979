"""The convolutional VAE meets the adapter contract at every built-in size."""

import pytest
import torch

from explorer.models.base import check_contract
from explorer.models.vae import ConvVAE, kl_per_dimension, stage_sizes
from explorer.train import RECIPES

BUILTIN_SHAPES = {"fashion": (28, 1), "glyphs": (32, 1), "emoji": (64, 3)}


@pytest.fixture(params=sorted(BUILTIN_SHAPES))
def builtin_vae(request) -> ConvVAE:
    size, channels = BUILTIN_SHAPES[request.param]
    return ConvVAE(image_size=size, channels=channels, **RECIPES[request.param].model).eval()


def test_builtin_vae_meets_contract(builtin_vae):
    check_contract(builtin_vae)
    assert builtin_vae.prior == "gaussian"


def test_builtin_vae_encode_and_decode_shapes_and_range(builtin_vae):
    size, _, channels = builtin_vae.image_shape
    with torch.no_grad():
        images = builtin_vae.decode(torch.randn(3, builtin_vae.latent_dim) * 3)
        latents = builtin_vae.encode(images)
    assert images.shape == (3, channels, size, size)
    assert images.min() >= 0 and images.max() <= 1
    assert latents.shape == (3, builtin_vae.latent_dim)


def test_builtin_vae_has_at_most_about_a_million_parameters(builtin_vae):
    assert sum(p.numel() for p in builtin_vae.parameters()) <= 1_100_000


def test_config_rebuilds_the_same_architecture():
    vae = ConvVAE(image_size=32, channels=1, latent_dim=8, base_width=8, max_width=16, recon_loss="mse", beta=2.0)
    twin = ConvVAE(**vae.config)
    twin.load_state_dict(vae.state_dict())
    assert twin.config == vae.config


def test_encode_is_the_deterministic_posterior_mean():
    vae = ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8).eval()
    images = torch.rand(5, 1, 16, 16)
    with torch.no_grad():
        assert torch.equal(vae.encode(images), vae.posterior(images)[0])
        assert torch.equal(vae.encode(images), vae.encode(images))


def test_loss_is_finite_and_reports_recon_and_kl():
    vae = ConvVAE(image_size=16, channels=3, latent_dim=4, base_width=8, max_width=8)
    loss, parts = vae.loss(torch.rand(8, 3, 16, 16))
    loss.backward()
    assert torch.isfinite(loss)
    assert loss.item() == pytest.approx((parts["recon"] + parts["kl"]).item(), rel=1e-5)


def test_kl_per_dimension_is_zero_at_the_prior_and_positive_elsewhere():
    zeros = torch.zeros(2, 3)
    assert torch.equal(kl_per_dimension(zeros, zeros), zeros)
    assert (kl_per_dimension(torch.ones(2, 3), torch.full((2, 3), -1.0)) > 0).all()


def test_image_size_without_a_stride_two_stage_is_rejected():
    with pytest.raises(ValueError, match="image_size"):
        stage_sizes(7)


def test_unknown_reconstruction_loss_is_rejected():
    with pytest.raises(ValueError, match="recon_loss"):
        ConvVAE(image_size=16, channels=1, recon_loss="l1")
