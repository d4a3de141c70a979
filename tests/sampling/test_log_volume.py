"""explorer.models.jacobian: exact decoder log-volumes and the projected baseline."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from explorer.models.jacobian import log_volume, log_volume_projected


def _mlp_decoder(latent_dim: int = 5) -> nn.Module:
    torch.manual_seed(0)
    return nn.Sequential(
        nn.Linear(latent_dim, 32), nn.Tanh(), nn.Linear(32, 3 * 6 * 6), nn.Sigmoid(), nn.Unflatten(1, (3, 6, 6))
    ).double()


def _conv_decoder(latent_dim: int = 4) -> nn.Module:
    torch.manual_seed(1)
    return nn.Sequential(
        nn.Linear(latent_dim, 8 * 4 * 4),
        nn.Unflatten(1, (8, 4, 4)),
        nn.BatchNorm2d(8),
        nn.LeakyReLU(0.2),
        nn.ConvTranspose2d(8, 2, 4, stride=2, padding=1),
        nn.Sigmoid(),
    ).double().eval()


def _svd_log_singular_values(decoder: nn.Module, latents: torch.Tensor) -> torch.Tensor:
    rows = []
    for latent in latents:
        jacobian = torch.autograd.functional.jacobian(lambda z: decoder(z[None]).reshape(-1), latent)
        rows.append(torch.log(torch.linalg.svdvals(jacobian)))
    return torch.stack(rows)


@pytest.mark.parametrize("make_decoder, latent_dim", [(_mlp_decoder, 5), (_conv_decoder, 4)])
def test_log_volume_equals_log_det_from_svd_of_autograd_jacobian(make_decoder, latent_dim):
    decoder = make_decoder(latent_dim)
    latents = torch.randn(7, latent_dim, dtype=torch.float64, generator=torch.Generator().manual_seed(2))
    expected = _svd_log_singular_values(decoder, latents).sum(dim=1)
    got = log_volume(decoder, latents, batch_size=3)
    assert got.dtype == torch.float64
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-6)


def test_log_singular_values_are_the_svd_ones_largest_first():
    decoder = _mlp_decoder()
    latents = torch.randn(4, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(3))
    volume, log_sv = log_volume(decoder, latents, return_singular_values=True)
    torch.testing.assert_close(log_sv, _svd_log_singular_values(decoder, latents), rtol=0, atol=1e-6)
    torch.testing.assert_close(volume, log_sv.sum(dim=1))


def test_collapsed_jacobian_gives_finite_log_volume():
    def constant_in_last_latent(latents: torch.Tensor) -> torch.Tensor:
        return torch.cat([latents[:, :1], latents[:, :1] ** 2], dim=1)

    volume = log_volume(constant_in_last_latent, torch.ones(2, 2, dtype=torch.float64))
    assert torch.isfinite(volume).all() and (volume < -10).all()


def test_projected_estimate_approaches_exact_with_many_projections():
    decoder = _mlp_decoder()
    latents = torch.randn(3, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(4))
    exact = log_volume(decoder, latents)
    projected = log_volume_projected(decoder, latents, n_projections=4000, seed=0)
    torch.testing.assert_close(projected, exact, rtol=0, atol=0.15)


@pytest.mark.parametrize(
    "latents",
    [torch.zeros(3), torch.zeros(0, 5), torch.tensor([[0.0, float("nan"), 0, 0, 0]], dtype=torch.float64)],
    ids=["1-d", "empty", "nan"],
)
def test_bad_latents_raise_value_error_naming_latents(latents):
    with pytest.raises(ValueError, match="latents"):
        log_volume(_mlp_decoder(), latents)


def test_too_few_projections_raise_value_error():
    with pytest.raises(ValueError, match="n_projections"):
        log_volume_projected(_mlp_decoder(), torch.zeros(1, 5, dtype=torch.float64), n_projections=4)
