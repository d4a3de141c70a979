"""Fuzzing the link decoder: any text a browser can put in a URL gives a latent of the right size
or a LinkError, and `read_link` never raises at all."""

from __future__ import annotations

import base64

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from explorer.app.urlstate import LATENT_KEYS, LinkError, decode_latent, encode_latent, read_link

FUZZ = settings(max_examples=200, deadline=None)
PACKS = {"emoji": 32, "glyphs": 16, "tiny": 8}


def url_safe(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


texts = st.one_of(
    st.text(max_size=400),
    st.binary(max_size=300).map(lambda raw: raw.decode("latin-1")),
    st.binary(max_size=300).map(url_safe),  # valid base64 of any length, mostly the wrong one
    st.lists(st.sampled_from([0x7E00, 0x7C00, 0xFC00, 0x3C00, 0x0001, 0xFBFF]), min_size=1, max_size=40)
      .map(lambda bits: url_safe(np.array(bits, "<u2").tobytes())),  # NaN, inf, 1, tiny, huge
    st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/ %", max_size=200),
)


def check_decoded(latent: np.ndarray, dim: int) -> None:
    assert latent.shape == (dim,) and latent.dtype == np.float32 and np.isfinite(latent).all()


@FUZZ
@given(text=texts, dim=st.sampled_from(sorted(PACKS.values())), key=st.sampled_from(LATENT_KEYS))
def test_decoding_any_text_gives_a_finite_latent_or_a_link_error(text, dim, key):
    try:
        latent = decode_latent(text, dim, key)
    except LinkError as error:
        assert str(error) and repr(key) in str(error)
        return
    check_decoded(latent, dim)


@FUZZ
@given(values=st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=1, max_size=64))
def test_every_finite_latent_survives_the_round_trip_at_float16_precision(values):
    latent = np.array(values, dtype=np.float32)
    decoded = decode_latent(encode_latent(latent), len(values))
    expected = np.clip(latent, -65504, 65504).astype(np.float16).astype(np.float32)
    np.testing.assert_array_equal(decoded, expected)


query_values = st.one_of(texts, st.lists(texts, max_size=3), st.integers(), st.floats(), st.none(),
                         st.binary(max_size=50))
keys = st.one_of(st.sampled_from(["pack", "view", *LATENT_KEYS, "n", "ids", "sampler", "rho", "seed"]),
                 st.text(max_size=8))
queries = st.dictionaries(keys, query_values, max_size=8)


@FUZZ
@given(query=queries)
def test_read_link_never_raises_and_keeps_only_usable_latents(query):
    link, messages = read_link(query, packs=list(PACKS), default_pack="emoji",
                               views=("explore", "mine"), latent_dim_of=PACKS.__getitem__)
    assert link.pack in PACKS and link.view in (None, "explore", "mine")
    assert all(isinstance(message, str) and message for message in messages)
    for latent in link.latents.values():
        check_decoded(latent, PACKS[link.pack])
    assert all(isinstance(value, str) for value in link.settings.values())
