"""Generative models behind the explorer: the adapter contract, built-in VAE / GAN, and loaders."""

from explorer.models.base import ContractError, ExplorableModel, LatentModel, check_contract
from explorer.models.load import load_builtin, load_model

__all__ = ["ContractError", "ExplorableModel", "LatentModel", "check_contract", "load_builtin", "load_model"]
