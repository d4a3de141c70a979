"""Loading a user's model from a factory spec or TorchScript file, and built-ins from a card and state dict."""

import warnings

import pytest
import torch

from explorer.models import ContractError, load_builtin, load_model
from explorer.models.vae import ConvVAE

TINY_MODEL = '''
import torch


class Tiny(torch.nn.Module):
    def __init__(self, prior: str = "gaussian", out_side: int = 8):
        super().__init__()
        self.latent_dim = 4
        self.prior = prior
        self.image_shape = (8, 8, 1)
        self.out_side = out_side
        self.decoder = torch.nn.Linear(4, out_side * out_side)
        self.encoder = torch.nn.Linear(64, 4)

    @torch.jit.export
    def encode(self, images: torch.Tensor) -> torch.Tensor:
        return self.encoder(images.flatten(1))

    @torch.jit.export
    def decode(self, latents: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(self.decoder(latents)).view(-1, 1, self.out_side, self.out_side)


class NoEncode:
    latent_dim = 4
    prior = "gaussian"
    image_shape = (8, 8, 1)

    def decode(self, latents):
        return torch.zeros(len(latents), 1, 8, 8)


def make():
    return Tiny()


def make_uniform_typo():
    return Tiny(prior="uniformm")


def make_wrong_shape():
    return Tiny(out_side=7)


def make_no_encode():
    return NoEncode()
'''


@pytest.fixture
def tiny_module(tmp_path, monkeypatch):
    (tmp_path / "tiny_user_model.py").write_text(TINY_MODEL)
    monkeypatch.syspath_prepend(str(tmp_path))
    import tiny_user_model

    return tiny_user_model


def test_factory_spec_loads_a_contract_model(tiny_module):
    model = load_model("tiny_user_model:make")
    assert model.latent_dim == 4 and model.decode(torch.zeros(1, 4)).shape == (1, 1, 8, 8)


def test_torchscript_file_loads_with_its_attributes(tiny_module, tmp_path):
    path = tmp_path / "tiny.pt"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.jit.save(torch.jit.script(tiny_module.Tiny()), str(path))
    model = load_model(str(path))
    assert (model.latent_dim, model.prior, tuple(model.image_shape)) == (4, "gaussian", (8, 8, 1))
    assert model.encode(torch.rand(3, 1, 8, 8)).shape == (3, 4)


def test_wrong_decode_shape_names_decode_and_both_shapes(tiny_module):
    with pytest.raises(ContractError, match=r"decode.*\(2, 1, 7, 7\).*want \(2, 1, 8, 8\)"):
        load_model("tiny_user_model:make_wrong_shape")


def test_missing_encode_is_named(tiny_module):
    with pytest.raises(ContractError, match="'encode'"):
        load_model("tiny_user_model:make_no_encode")


def test_bad_prior_is_named_with_its_value(tiny_module):
    with pytest.raises(ContractError, match="prior.*uniformm"):
        load_model("tiny_user_model:make_uniform_typo")


def test_missing_factory_is_named(tiny_module):
    with pytest.raises(ContractError, match="no callable 'nothing'"):
        load_model("tiny_user_model:nothing")


def test_spec_that_is_neither_form_is_rejected():
    with pytest.raises(ValueError, match="package.module:factory"):
        load_model("just_a_module")


def test_state_dict_file_is_not_mistaken_for_torchscript(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(2)}, path)
    with pytest.raises(ContractError, match="not a TorchScript archive"):
        load_model(str(path))


def _tiny_vae_card(vae: ConvVAE) -> dict:
    return {"model": {"architecture": "ConvVAE", "config": vae.config}}


def test_builtin_loads_a_float16_state_dict_as_float32(tmp_path):
    vae = ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8).eval()
    path = tmp_path / "model.pt"
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in vae.state_dict().items()}, path)
    loaded = load_builtin(_tiny_vae_card(vae), path)
    latents = torch.randn(3, 4)
    assert all(p.dtype == torch.float32 for p in loaded.parameters())
    assert not loaded.training
    torch.testing.assert_close(loaded.decode(latents), vae.decode(latents), atol=1e-2, rtol=0)


class NotAStateDict:
    pass


def test_builtin_refuses_pickled_objects(tmp_path):
    vae = ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8)
    path = tmp_path / "model.pt"
    torch.save({"payload": NotAStateDict()}, path)
    with pytest.raises(ContractError, match="not a plain state dict"):
        load_builtin(_tiny_vae_card(vae), path)


def test_builtin_names_a_state_dict_that_does_not_fit(tmp_path):
    vae = ConvVAE(image_size=16, channels=1, latent_dim=4, base_width=8, max_width=8)
    path = tmp_path / "model.pt"
    torch.save(ConvVAE(image_size=16, channels=1, latent_dim=6, base_width=8, max_width=8).state_dict(), path)
    with pytest.raises(ContractError, match="does not fit ConvVAE"):
        load_builtin(_tiny_vae_card(vae), path)


def test_builtin_rejects_an_unknown_architecture(tmp_path):
    with pytest.raises(ContractError, match="'Transformer'.*ConvVAE"):
        load_builtin({"model": {"architecture": "Transformer", "config": {}}}, tmp_path / "model.pt")
