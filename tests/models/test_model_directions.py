"""The decoder's first linear map (for SeFa), found by tracing, and latents pushed through decode then encode."""

import re
import warnings

import numpy as np
import pytest
import torch
from torch import nn

from explorer.latent import sefa_directions
from explorer.models.base import ExplorableModel
from explorer.models.directions import first_linear_layer, round_trip_latents
from explorer.models.gan import GAN
from explorer.models.vae import ConvVAE


def _trained_looking(model: nn.Module) -> nn.Module:
    """Give the BatchNorms non-trivial statistics and scales, as training would."""
    generator = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, nn.BatchNorm2d):
            module.running_var.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
            module.running_mean.copy_(torch.randn(module.num_features, generator=generator))
            module.weight.data.copy_(torch.rand(module.num_features, generator=generator) + 0.5)
    return model.eval()


@pytest.fixture(params=["vae", "gan"])
def model(request) -> nn.Module:
    torch.manual_seed(0)
    if request.param == "vae":
        return _trained_looking(ConvVAE(image_size=16, channels=1, latent_dim=5, base_width=4, max_width=8))
    return _trained_looking(GAN(image_size=16, channels=1, latent_dim=5, base_width=4, max_width=8))


def _first_linear_and_norm(model: nn.Module) -> tuple[nn.Linear, nn.BatchNorm2d]:
    decoder = model.decoder if isinstance(model, ConvVAE) else model.generator
    return decoder.net[0], decoder.net[2]


def test_the_first_linear_layer_of_a_builtin_decoder_has_its_batchnorm_folded_in(model):
    linear, norm = _first_linear_and_norm(model)
    found = first_linear_layer(ExplorableModel(model))
    scale = (norm.weight / torch.sqrt(norm.running_var + norm.eps)).detach().numpy()
    per_feature = np.repeat(scale, linear.out_features // norm.num_features)
    np.testing.assert_allclose(found.weight, per_feature[:, None] * linear.weight.detach().numpy(), atol=1e-5)
    assert "Linear 5\u2192" in found.reason and "BatchNorm2d) folded in" in found.reason


def test_a_batchnorm_in_training_mode_is_not_folded(model):
    linear, _ = _first_linear_and_norm(model)
    found = first_linear_layer(model.train())
    np.testing.assert_allclose(found.weight, linear.weight.detach().numpy(), atol=1e-6)
    assert "folded" not in found.reason


def test_sefa_of_the_found_layer_gives_the_right_singular_vectors_of_the_layer():
    weight = torch.randn(12, 4, generator=torch.Generator().manual_seed(3))

    class Linear(nn.Module):
        latent_dim, prior, image_shape = 4, "gaussian", (2, 2, 3)

        def __init__(self):
            super().__init__()
            self.first = nn.Linear(4, 12)
            self.first.weight.data.copy_(weight)

        def decode(self, latents):
            return torch.sigmoid(self.first(latents)).reshape(-1, 3, 2, 2)

    found = first_linear_layer(Linear())
    right = np.linalg.svd(weight.double().numpy())[2]
    directions = sefa_directions(found.weight).directions
    np.testing.assert_allclose(np.abs(np.sum(directions * right, axis=1)), 1.0, atol=1e-5)


class _ConvFirst(nn.Module):
    latent_dim, prior, image_shape = 4, "gaussian", (4, 4, 1)

    def __init__(self):
        super().__init__()
        self.conv = nn.ConvTranspose2d(4, 1, 4)

    def decode(self, latents):
        return torch.sigmoid(self.conv(latents[:, :, None, None]))


class _ScaledFirst(nn.Module):
    latent_dim, prior, image_shape = 4, "gaussian", (4, 4, 1)

    def __init__(self):
        super().__init__()
        self.linear = nn.Linear(4, 16)

    def decode(self, latents):
        return torch.sigmoid(self.linear(latents * 2.0 + 1.0)).reshape(-1, 1, 4, 4)


@pytest.mark.parametrize(("model", "reason"), [
    (_ConvFirst(), r"the first layer decode calls is conv \(ConvTranspose2d\), not a linear layer"),
    (_ScaledFirst(), r"decode changes the latents before its first linear layer linear"),
])
def test_a_decoder_without_a_linear_first_layer_gives_no_weight_and_says_why(model, reason):
    found = first_linear_layer(model)
    assert found.weight is None
    assert re.search(reason, found.reason), found.reason


def test_a_torchscript_model_gives_no_weight():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # torch.jit is deprecated upstream, still loadable
        scripted = torch.jit.script(nn.Linear(2, 2))
    found = first_linear_layer(scripted)
    assert found.weight is None and "TorchScript" in found.reason


def test_round_trip_latents_are_encode_of_decode(model):
    explorable = ExplorableModel(model, batch_size=3)
    latents = np.random.default_rng(0).standard_normal((7, 5)).astype(np.float32)
    with torch.no_grad():
        expected = model.encode(model.decode(torch.from_numpy(latents))).numpy()
    np.testing.assert_allclose(round_trip_latents(explorable, latents), expected, atol=1e-6)


def test_round_trip_latents_of_the_wrong_size_are_refused(model):
    with pytest.raises(ValueError, match=r"latents must have shape \(N, 5\), got \(2, 3\)"):
        round_trip_latents(ExplorableModel(model), np.zeros((2, 3)))


def test_a_wrapped_torchscript_decoder_has_no_first_layer_and_says_why():
    import torch
    from torch import nn

    from explorer.models.directions import first_linear_layer

    class Wrapper(nn.Module):
        latent_dim = 3

        def __init__(self):
            super().__init__()
            self.scripted = torch.jit.script(nn.Sequential(nn.Linear(3, 4)))

        def decode(self, z):
            return self.scripted(z)

    found = first_linear_layer(Wrapper())
    assert found.weight is None and "TorchScript" in found.reason
