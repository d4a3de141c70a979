"""A DCGAN (generator + discriminator) with a learned encoder, so a GAN can be explored like a VAE.

The encoder is trained *after* the GAN, with the generator frozen, rather than jointly as in
ALI/BiGAN. Each encoder step regresses the latent of generated pairs (z -> G(z) -> E should give
back z) and adds a reconstruction term on real images (G(E(x)) should look like x), so the encoder
covers the real data the explorer indexes, not only what the generator makes. We chose this over
ALI/BiGAN because it is simpler and stable: the GAN trains as a plain DCGAN, the encoder is an
ordinary regression, and BiGAN encoders are known to give loose reconstructions.

`GAN` is the explorable model: it holds the generator and the encoder (the discriminator is only
needed for training and is not shipped). `decode` is the generator's output in [0, 1]; `encode`
is the learned encoder. The prior is a standard Gaussian.

    gan = GAN(image_size=28, channels=1, latent_dim=32)
    critic = Discriminator(image_size=28, channels=1)
"""

from __future__ import annotations

import torch
from torch import nn

from explorer.models.vae import ConvDecoder, ConvEncoder


class Discriminator(nn.Module):
    """DCGAN discriminator: images (N, C, S, S) in [0, 1] -> real/fake logits (N,)."""

    def __init__(self, *, image_size: int = 28, channels: int = 1, base_width: int = 64, max_width: int = 128):
        super().__init__()
        self.net = ConvEncoder(image_size=image_size, channels=channels, out_dim=1, base_width=base_width,
                               max_width=max_width)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Real-vs-fake logits, (N,)."""
        return self.net(images * 2.0 - 1.0).squeeze(1)


class GAN(nn.Module):
    """A DCGAN generator with a learned encoder; `config` rebuilds it."""

    prior = "gaussian"

    def __init__(self, *, image_size: int = 28, channels: int = 1, latent_dim: int = 32, base_width: int = 64,
                 max_width: int = 128):
        super().__init__()
        self.config = dict(image_size=image_size, channels=channels, latent_dim=latent_dim, base_width=base_width,
                           max_width=max_width)
        self.latent_dim = latent_dim
        self.image_shape = (image_size, image_size, channels)
        self.generator = ConvDecoder(image_size=image_size, channels=channels, latent_dim=latent_dim,
                                     base_width=base_width, max_width=max_width)
        self.encoder = ConvEncoder(image_size=image_size, channels=channels, out_dim=latent_dim,
                                   base_width=base_width, max_width=max_width)

    def make_discriminator(self) -> Discriminator:
        """A discriminator sized for this generator."""
        keys = ("image_size", "channels", "base_width", "max_width")
        return Discriminator(**{key: self.config[key] for key in keys})

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Learned inverse of the generator for float (N, C, H, W) images in [0, 1]."""
        return self.encoder(images)

    def decode_logits(self, latents: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid generator output, (N, C, H, W)."""
        return self.generator(latents)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (N, latent_dim) -> generated images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.generator(latents))


@torch.no_grad()
def recalibrate_batchnorm(generator: nn.Module, latent_dim: int, *, batches: int = 50, batch_size: int = 256) -> None:
    """Reset the generator's BatchNorm statistics to exact averages over prior samples.

    The running averages kept during adversarial training trail a moving generator; decoding in
    eval mode with them gives washed-out images, so we measure them again on the final weights.
    """
    norms = [module for module in generator.modules() if isinstance(module, nn.modules.batchnorm._BatchNorm)]
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # cumulative average
    was_training = generator.training
    generator.train()
    device = next(generator.parameters()).device
    for _ in range(batches):
        generator(torch.randn(batch_size, latent_dim, device=device))
    for norm, momentum in zip(norms, momenta):
        norm.momentum = momentum
    generator.train(was_training)
