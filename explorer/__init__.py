"""Latent Explorer: browse the latent spaces of generative models in the browser."""

__version__ = "0.1.0"
