"""The link codec: compact, round-trips a latent to float16 precision, and refuses bad input clearly."""

from __future__ import annotations

import numpy as np
import pytest

from explorer.app.urlstate import LinkError, decode_latent, encode_latent, read_link

VIEWS = ("explore", "interpolate")


def read(query, packs=("emoji",), dims=None):
    dims = dims or {"emoji": 4}
    return read_link(query, packs=list(packs), default_pack=packs[0], views=VIEWS, latent_dim_of=dims.__getitem__)


def test_a_latent_round_trips_to_float16_precision():
    latent = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    decoded = decode_latent(encode_latent(latent), 64)
    np.testing.assert_allclose(decoded, latent, rtol=1e-3, atol=1e-3)


def test_a_64_dimensional_latent_takes_172_url_safe_characters():
    text = encode_latent(np.linspace(-3, 3, 64))
    assert len(text) == 171  # 128 bytes of base64, padding dropped
    assert set(text) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_encoding_a_decoded_latent_gives_the_same_text():
    text = encode_latent(np.random.default_rng(1).standard_normal(16))
    assert encode_latent(decode_latent(text, 16)) == text


def test_huge_values_are_clipped_to_float16_range_not_turned_into_inf():
    decoded = decode_latent(encode_latent(np.array([1e9, -1e9, 0.5])), 3)
    assert np.isfinite(decoded).all()


def test_a_latent_with_nan_cannot_be_encoded():
    with pytest.raises(ValueError, match="NaN"):
        encode_latent(np.array([0.0, np.nan]))


@pytest.mark.parametrize(
    "text, message",
    [
        ("", "empty"),
        ("!!!!", "not URL-safe base64"),
        ("AA", "not whole float16"),
        ("AAAAAAAA", "has 3 numbers but this pack's latents have 4"),
        ("AAAA AAAA", "not URL-safe base64"),
    ],
)
def test_bad_latent_text_is_refused_with_the_reason(text, message):
    with pytest.raises(LinkError, match=message):
        decode_latent(text, 4)


def test_a_latent_with_inf_in_the_link_is_refused():
    inf_text = __import__("base64").urlsafe_b64encode(np.array([np.inf, 0, 0, 0], "<f2").tobytes()).decode()
    with pytest.raises(LinkError, match="NaN or inf"):
        decode_latent(inf_text, 4)


def test_an_absurdly_long_value_is_refused_before_decoding():
    with pytest.raises(LinkError, match="far too long"):
        decode_latent("A" * 100_000, 4)


def test_read_link_takes_pack_view_latents_and_settings():
    z = np.array([0.5, -1, 2, 0], np.float32)
    link, messages = read({"pack": "emoji", "view": "interpolate", "z": encode_latent(z), "seed": "3"})
    assert messages == []
    assert (link.pack, link.view, link.settings) == ("emoji", "interpolate", {"seed": "3"})
    np.testing.assert_array_equal(link.latents["z"], z)


def test_an_uninstalled_pack_falls_back_to_the_default_and_ignores_its_latents():
    link, messages = read({"pack": "faces", "z": encode_latent(np.zeros(4))})
    assert link.pack == "emoji" and link.latents == {}
    assert "not installed" in messages[0] and "other pack" in messages[1]


def test_a_bad_latent_is_dropped_with_a_message_and_the_rest_is_kept():
    link, messages = read({"view": "explore", "z": "AAAAAAAA", "a": encode_latent(np.ones(4))})
    assert set(link.latents) == {"a"} and link.view == "explore"
    assert "has 3 numbers" in messages[0]


def test_an_unknown_view_is_dropped_with_a_message():
    link, messages = read({"view": "<script>"})
    assert link.view is None and "the views are explore, interpolate" in messages[0]


def test_a_link_round_trips_through_its_query():
    z = np.array([1, 2, 3, 4], np.float32)
    link, _ = read({"pack": "emoji", "view": "explore", "z": encode_latent(z)})
    again, messages = read(link.to_query())
    assert messages == [] and again.to_query() == link.to_query()
