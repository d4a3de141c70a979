"""Fixtures for every test: imported packs go to a temporary user data folder, never the real one."""

import pytest


@pytest.fixture(scope="session", autouse=True)
def user_home(tmp_path_factory):
    """$LATENT_EXPLORER_HOME for the whole session (servers started by tests inherit it)."""
    with pytest.MonkeyPatch.context() as patch:
        home = tmp_path_factory.mktemp("latent-explorer-home")
        patch.setenv("LATENT_EXPLORER_HOME", str(home))
        yield home


RAW_VAE = '''
import torch


class RawVAE(torch.nn.Module):
    """A user's VAE as TorchScript saves it: encode and decode, no latent_dim / prior / image_shape."""

    def __init__(self):
        super().__init__()
        self.encoder = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 4, 2, 1), torch.nn.ReLU(), torch.nn.Flatten(),
                                           torch.nn.Linear(8 * 8 * 8, 2 * 5))
        self.decoder = torch.nn.Linear(5, 8 * 8 * 8)
        self.up = torch.nn.ConvTranspose2d(8, 3, 4, 2, 1)

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images)[:, :5]

    @torch.jit.export
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.up(torch.relu(self.decoder(latents)).view(-1, 8, 8, 8)))
'''


@pytest.fixture
def raw_torchscript_vae(tmp_path):
    """A TorchScript file of a 5-d latent VAE for 16×16 RGB images with nothing but encode / decode."""
    import importlib.util
    import warnings

    import torch

    module = tmp_path / "raw_vae_source.py"  # scripting reads the class's source, so it lives in a file
    module.write_text(RAW_VAE)
    spec = importlib.util.spec_from_file_location("raw_vae_source", module)
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    torch.manual_seed(0)
    path = tmp_path / "raw_vae.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(loaded.RawVAE()), str(path))
    return path
