"""A small convolutional VAE that meets the adapter contract, and the conv stacks it is built from.

The encoder halves the image with 4×4 stride-2 convolutions while the side is even and larger
than 4 (28 -> 14 -> 7, 32 -> 16 -> 8 -> 4, 64 -> 32 -> 16 -> 8 -> 4), then a linear layer maps the
feature map to the posterior mean and log-variance. The decoder mirrors it with transposed
convolutions and ends in logits, so training can use a stable BCE-with-logits; `decode` applies
the sigmoid. `encode` is the posterior mean, as the contract asks.

    vae = ConvVAE(image_size=64, channels=3, latent_dim=32)
    loss, parts = vae.loss(images)          # images float (N, C, H, W) in [0, 1]
    ConvVAE(**vae.config)                   # the same architecture
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

RECON_LOSSES = ("bce", "mse")


def stage_sizes(image_size: int) -> list[int]:
    """Feature-map sides after each stride-2 stage: halve while even and larger than 4."""
    sizes = []
    size = image_size
    while size % 2 == 0 and size > 4:
        size //= 2
        sizes.append(size)
    if not sizes:
        raise ValueError(f"image_size must be an even number above 4 (e.g. 28, 32, 64), got {image_size}")
    return sizes


def stage_widths(image_size: int, base_width: int, max_width: int) -> list[int]:
    """Channel widths per stage: doubling from base_width, capped at max_width."""
    return [min(base_width * 2**i, max_width) for i in range(len(stage_sizes(image_size)))]


class ConvEncoder(nn.Module):
    """Image (N, C, S, S) -> (N, out_dim): stride-2 convs, then one linear layer."""

    def __init__(self, *, image_size: int, channels: int, out_dim: int, base_width: int = 32,
                 max_width: int = 128, norm: bool = True):
        super().__init__()
        widths = stage_widths(image_size, base_width, max_width)
        layers: list[nn.Module] = []
        width_in = channels
        for i, width in enumerate(widths):
            # DCGAN leaves the first layer unnormalised: it sees raw pixels.
            use_norm = norm and i > 0
            layers += [nn.Conv2d(width_in, width, 4, 2, 1, bias=not use_norm)]
            layers += [nn.BatchNorm2d(width)] if use_norm else []
            layers += [nn.LeakyReLU(0.2)]
            width_in = width
        side = stage_sizes(image_size)[-1]
        self.net = nn.Sequential(*layers, nn.Flatten(), nn.Linear(width_in * side * side, out_dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """(N, C, S, S) -> (N, out_dim)."""
        return self.net(images)


class ConvDecoder(nn.Module):
    """(N, latent_dim) -> logits (N, C, S, S): one linear layer, then stride-2 transposed convs."""

    def __init__(self, *, image_size: int, channels: int, latent_dim: int, base_width: int = 32,
                 max_width: int = 128):
        super().__init__()
        widths = stage_widths(image_size, base_width, max_width)
        side = stage_sizes(image_size)[-1]
        layers: list[nn.Module] = [
            nn.Linear(latent_dim, widths[-1] * side * side, bias=False),
            nn.Unflatten(1, (widths[-1], side, side)),
            nn.BatchNorm2d(widths[-1]),
            nn.ReLU(),
        ]
        for width_in, width_out in zip(widths[:0:-1], widths[-2::-1]):
            layers += [nn.ConvTranspose2d(width_in, width_out, 4, 2, 1, bias=False)]
            layers += [nn.BatchNorm2d(width_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(widths[0], channels, 4, 2, 1)]
        self.net = nn.Sequential(*layers)

    def forward(self, latents: torch.Tensor) -> torch.Tensor:
        """(N, latent_dim) -> logits (N, C, S, S)."""
        return self.net(latents)


class ConvVAE(nn.Module):
    """A convolutional VAE with a standard Gaussian prior; `config` rebuilds it."""

    prior = "gaussian"

    def __init__(self, *, image_size: int = 64, channels: int = 3, latent_dim: int = 32, base_width: int = 32,
                 max_width: int = 128, recon_loss: str = "bce", beta: float = 1.0):
        super().__init__()
        if recon_loss not in RECON_LOSSES:
            raise ValueError(f"recon_loss must be one of {RECON_LOSSES}, got {recon_loss!r}")
        self.config = dict(image_size=image_size, channels=channels, latent_dim=latent_dim, base_width=base_width,
                           max_width=max_width, recon_loss=recon_loss, beta=beta)
        self.latent_dim = latent_dim
        self.image_shape = (image_size, image_size, channels)
        self.recon_loss = recon_loss
        self.beta = beta
        self.encoder = ConvEncoder(image_size=image_size, channels=channels, out_dim=2 * latent_dim,
                                   base_width=base_width, max_width=max_width)
        self.decoder = ConvDecoder(image_size=image_size, channels=channels, latent_dim=latent_dim,
                                   base_width=base_width, max_width=max_width)

    def posterior(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(mean, log-variance) of q(z | images), each (N, latent_dim)."""
        mean, logvar = self.encoder(images).chunk(2, dim=1)
        # Clamped so an early bad batch cannot overflow exp(logvar).
        return mean, logvar.clamp(-12.0, 8.0)

    def encode(self, images: torch.Tensor) -> torch.Tensor:
        """Posterior mean of float (N, C, H, W) images in [0, 1]."""
        return self.posterior(images)[0]

    def decode_logits(self, latents: torch.Tensor) -> torch.Tensor:
        """Pre-sigmoid decoder output, (N, C, H, W)."""
        return self.decoder(latents)

    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        """Latents (N, latent_dim) -> images (N, C, H, W) in [0, 1]."""
        return torch.sigmoid(self.decode_logits(latents))

    def loss(self, images: torch.Tensor) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """Negative ELBO (per image, beta-weighted KL) and its parts, for one training batch."""
        mean, logvar = self.posterior(images)
        latents = mean + torch.randn_like(mean) * (0.5 * logvar).exp()
        recon = reconstruction_error(self.decode_logits(latents), images, self.recon_loss).sum(dim=(1, 2, 3)).mean()
        kl = kl_per_dimension(mean, logvar).sum(dim=1).mean()
        return recon + self.beta * kl, {"recon": recon.detach(), "kl": kl.detach()}


def reconstruction_error(logits: torch.Tensor, images: torch.Tensor, kind: str) -> torch.Tensor:
    """Per-pixel BCE (from logits) or squared error (of the sigmoid), same shape as images."""
    if kind == "bce":
        return F.binary_cross_entropy_with_logits(logits, images, reduction="none")
    return (torch.sigmoid(logits) - images).square()


def kl_per_dimension(mean: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mean, exp(logvar)) || N(0, 1)) per sample and dimension, (N, latent_dim)."""
    return 0.5 * (mean.square() + logvar.exp() - 1.0 - logvar)
