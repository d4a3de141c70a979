"""The DCGAN with its encoder meets the adapter contract."""

import torch

from explorer.models.base import check_contract
from explorer.models.gan import GAN, recalibrate_batchnorm
from explorer.train import RECIPES


def test_builtin_gan_meets_contract_with_outputs_in_unit_range():
    gan = GAN(image_size=28, channels=1, **RECIPES["fashion-gan"].model).eval()
    check_contract(gan)
    with torch.no_grad():
        images = gan.decode(torch.randn(4, gan.latent_dim) * 3)
        latents = gan.encode(images)
    assert gan.prior == "gaussian"
    assert images.shape == (4, 1, 28, 28) and images.min() >= 0 and images.max() <= 1
    assert latents.shape == (4, gan.latent_dim)


def test_builtin_gan_has_at_most_about_a_million_parameters():
    gan = GAN(image_size=28, channels=1, **RECIPES["fashion-gan"].model)
    assert sum(p.numel() for p in gan.parameters()) <= 1_100_000


def test_rgb_gan_meets_contract():
    check_contract(GAN(image_size=64, channels=3, latent_dim=8, base_width=8, max_width=16).eval())


def test_discriminator_gives_one_logit_per_image():
    critic = GAN(image_size=32, channels=1, latent_dim=4, base_width=8, max_width=16).make_discriminator()
    assert critic(torch.rand(5, 1, 32, 32)).shape == (5,)


def test_recalibrated_batchnorm_makes_eval_output_match_batch_statistics():
    torch.manual_seed(0)
    gan = GAN(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=16)
    latents = torch.randn(2048, 4)

    def gap() -> float:
        with torch.no_grad():
            return (gan.generator.eval()(latents) - gan.generator.train()(latents)).abs().mean().item()

    # Fresh running statistics (mean 0, var 1) do not describe this generator's activations.
    before = gap()
    for module in gan.generator.modules():
        if isinstance(module, torch.nn.BatchNorm2d):
            module.reset_running_stats()
    recalibrate_batchnorm(gan.generator, 4, batches=8)
    assert gap() < before / 5
    assert all(m.momentum == 0.1 for m in gan.generator.modules() if isinstance(m, torch.nn.BatchNorm2d))
