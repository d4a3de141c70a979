"""A model that lacks contract attributes gets them from flags or probes, or an error that says how."""

import sys
import textwrap

import pytest
import torch

from explorer.models import ContractError, load_model
from explorer.models.adapt import WRAPPER_EXAMPLE, Adapted, class_name, supplied_attributes
from explorer.models.load import fingerprint


def test_a_raw_torchscript_vae_loads_with_only_a_prior(raw_torchscript_vae):
    model = load_model(str(raw_torchscript_vae), prior="gaussian")
    assert isinstance(model, Adapted) and class_name(model) == "RawVAE"
    assert (model.latent_dim, model.prior, tuple(model.image_shape)) == (5, "gaussian", (16, 16, 3))
    assert supplied_attributes(model) == {"latent_dim": 5, "prior": "gaussian", "image_shape": [16, 16, 3]}
    assert model.decode(torch.zeros(1, 5)).shape == (1, 3, 16, 16)


def test_flags_override_what_a_probe_would_find(raw_torchscript_vae):
    model = load_model(str(raw_torchscript_vae), prior="uniform", latent_dim=5, image_shape=(16, 16, 3))
    assert (model.latent_dim, model.prior) == (5, "uniform")


def test_a_wrong_image_shape_flag_is_refused_by_the_decode_probe(raw_torchscript_vae):
    with pytest.raises(ContractError, match=r"want \(2, 3, 32, 32\)"):
        load_model(str(raw_torchscript_vae), prior="gaussian", image_shape=(32, 32, 3))


def test_a_missing_prior_names_the_attribute_the_flag_and_a_wrapper(raw_torchscript_vae):
    with pytest.raises(ContractError) as raised:
        load_model(str(raw_torchscript_vae))
    message = str(raised.value)
    assert "RawVAE has no 'prior'" in message and "--prior gaussian|uniform" in message
    assert "def load():" in message


def test_a_latent_size_beyond_the_probe_names_its_flag(raw_torchscript_vae, monkeypatch):
    from explorer.models import adapt

    monkeypatch.setattr(adapt, "MAX_PROBED_LATENT_DIM", 4)
    with pytest.raises(ContractError, match="no 'latent_dim'.*--latent-dim N"):
        load_model(str(raw_torchscript_vae), prior="gaussian")


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.jit.load, in the user's wrapper
def test_the_wrapper_in_the_error_message_works(raw_torchscript_vae, tmp_path, monkeypatch):
    code = textwrap.dedent("\n".join(WRAPPER_EXAMPLE.splitlines()[1:]))
    code = code.replace("'vae.pt'", repr(str(raw_torchscript_vae))).replace("32, 'gaussian', (64, 64, 3)",
                                                                             "5, 'gaussian', (16, 16, 3)")
    (tmp_path / "mymodel.py").write_text(code + "\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "mymodel", raising=False)
    model = load_model("mymodel:load")
    assert not isinstance(model, Adapted) and model.latent_dim == 5


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_the_fingerprint_names_the_weights_however_they_were_wrapped(raw_torchscript_vae):
    adapted = load_model(str(raw_torchscript_vae), prior="gaussian")
    assert fingerprint(adapted) == fingerprint(torch.jit.load(str(raw_torchscript_vae)))
