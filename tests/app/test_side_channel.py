"""The slider's side channel: tokens, message checks and the rate limit, then a real served app
(`serve --public` on the tiny pack) refusing bad input with clear close codes and answering a good
latent with the server path's picture."""

from __future__ import annotations

import asyncio
import io
import re
from collections.abc import Iterator

import numpy as np
import pytest
from PIL import Image

from explorer.app import sidechannel
from explorer.app.sidechannel import RateLimit, Refused, issue_token, parse_latent, read_token
from explorer.benchmarks.harness import Server, served
from explorer.benchmarks.protocol import ProtocolClient

PACK, LATENT_DIM = "digits-tiny", 8  # the tiny pack of tests/app/conftest.py


# --------------------------------------------------------------------------- pure parts
def test_a_token_names_its_pack_and_size_and_any_change_to_it_is_refused():
    token = issue_token("emoji", 256)
    assert read_token(token) == ("emoji", 256)
    assert issue_token("emoji", 256) != token  # a fresh nonce per page
    payload, signature = token.split(".")
    forged = sidechannel._b64(b"fashion\n256\n0000000000000000") + "." + signature
    for bad in (None, "", "no-dot", token + "x", payload + "." + signature[::-1], forged, "a.b.c"):
        assert read_token(bad) is None, bad


def test_a_message_must_be_exactly_the_latent_in_finite_float32_of_bounded_norm():
    good = np.arange(4, dtype=np.float32)
    assert np.array_equal(parse_latent(good.astype("<f4").tobytes(), 4, 10.0), good)
    cases = [
        ("text", sidechannel.CLOSE_LENGTH, "binary"),
        (good.tobytes()[:-1], sidechannel.CLOSE_LENGTH, "16 bytes (4 float32), got 15"),
        (np.zeros(5, np.float32).tobytes(), sidechannel.CLOSE_LENGTH, "got 20"),
        (np.array([0, np.nan, 0, 0], np.float32).tobytes(), sidechannel.CLOSE_NOT_FINITE, "NaN"),
        (np.array([0, np.inf, 0, 0], np.float32).tobytes(), sidechannel.CLOSE_NOT_FINITE, "infinite"),
        (np.full(4, 100, np.float32).tobytes(), sidechannel.CLOSE_NORM, "norm 200.0 is above the limit 10.0"),
    ]
    for message, code, words in cases:
        with pytest.raises(Refused, match=re.escape(words)) as refused:
            parse_latent(message, 4, 10.0)
        assert refused.value.code == code


def test_the_rate_limit_allows_a_burst_then_the_rate():
    limit = RateLimit(rate=8, burst=3)
    for _ in range(3):
        limit.take(0.0)
    with pytest.raises(Refused) as refused:
        limit.take(0.0)
    assert refused.value.code == sidechannel.CLOSE_RATE
    limit.take(0.125)  # one more an eighth of a second later
    for step in range(1, 50):
        limit.take(0.125 + step / 8)  # 8 a second go on for ever


# --------------------------------------------------------------------------- a served app
@pytest.fixture(scope="module")
def server(tiny_pack_env) -> Iterator[Server]:
    with served(PACK, tiny_pack_env, ("--public",)) as running:
        yield running
        assert running.errors() == [], "a refused message must never be a server error"


async def _opened(url: str, side_channel: bool = True, query: str = "") -> ProtocolClient:
    client = ProtocolClient(url, side_channel=side_channel)
    await client.open(query)
    return client


async def _closed_with(connection, messages: list) -> tuple[int | None, str | None]:
    """Send `messages`, read until the server closes; (close code, reason)."""
    for message in messages:
        await connection.write_message(message, binary=not isinstance(message, str))
    while await asyncio.wait_for(connection.read_message(), 30) is not None:
        pass
    return connection.close_code, connection.close_reason


def test_a_good_latent_gets_the_server_paths_picture(server):
    async def scenario():
        side = await _opened(server.url)
        assert side.channel is not None and len(side.base) == LATENT_DIM
        bokeh = await _opened(server.url, side_channel=False, query=side.link)
        other = await _opened(server.url, query=side.link)
        try:
            for value in (0.35, -0.6, 1.25):
                assert await other.move(0, value) is not None
                assert await bokeh.move(0, value) is not None
                decoded = [np.asarray(Image.open(io.BytesIO(c.picture)), float) / 255 for c in (other, bokeh)]
                assert np.abs(decoded[0] - decoded[1]).mean() < 2 / 255
                assert other.picture == bokeh.picture  # the very same latent, so the same cached JPEG
            assert other.errors == bokeh.errors == []
        finally:
            for client in (side, bokeh, other):
                await client.close()

    asyncio.run(scenario())


def test_no_token_or_a_wrong_one_is_refused(server):
    async def scenario():
        client = await _opened(server.url, side_channel=False)
        try:
            forged = client.token[:-2] + ("AA" if not client.token.endswith("AA") else "BB")
            for token in (None, "", "nonsense", forged):
                code, reason = await _closed_with(await client.connect_channel(token), [])
                assert code == sidechannel.CLOSE_TOKEN and "token" in reason, token
        finally:
            await client.close()

    asyncio.run(scenario())


@pytest.mark.parametrize("message, code, words", [
    (np.zeros(LATENT_DIM - 1, "<f4").tobytes(), sidechannel.CLOSE_LENGTH, f"{4 * LATENT_DIM} bytes"),
    (np.zeros(LATENT_DIM, "<f8").tobytes(), sidechannel.CLOSE_LENGTH, f"got {8 * LATENT_DIM}"),
    ("[0, 0, 0]", sidechannel.CLOSE_LENGTH, "binary"),
    (np.full(LATENT_DIM, np.nan, "<f4").tobytes(), sidechannel.CLOSE_NOT_FINITE, "NaN"),
    (np.full(LATENT_DIM, 1e6, "<f4").tobytes(), sidechannel.CLOSE_NORM, "above the limit"),
])
def test_a_bad_message_closes_the_channel_with_a_clear_code(server, message, code, words):
    async def scenario():
        client = await _opened(server.url)
        try:
            closed_with, reason = await _closed_with(client.channel, [message])
            assert closed_with == code and words in reason
        finally:
            await client.close()

    asyncio.run(scenario())


def test_a_flood_of_latents_is_cut_off_by_the_rate_limit(server):
    async def scenario():
        client = await _opened(server.url)
        try:
            latent = client.latent().astype("<f4").tobytes()
            code, reason = await _closed_with(client.channel, [latent] * (3 * sidechannel.BURST))
            assert code == sidechannel.CLOSE_RATE and "a second" in reason
        finally:
            await client.close()

    asyncio.run(scenario())


def test_with_server_decode_the_page_gets_no_token(tiny_pack):
    from explorer.app.session import Session
    from explorer.app.views.explore import ExploreState, ExploreView
    from explorer.resources import resources_for

    state = ExploreState(Session(resources_for(tiny_pack)))
    assert read_token(ExploreView(state).image.token) == (tiny_pack, state.size)
    sidechannel.configure(enabled=False)
    try:
        assert ExploreView(state).image.token == ""
    finally:
        sidechannel.configure(enabled=True)


def test_the_picture_gets_the_base_and_each_sliders_vector_and_follows_them(tiny_pack):
    from explorer.app.live_picture import slider_class
    from explorer.app.session import Session
    from explorer.app.views.explore import ExploreState, ExploreView
    from explorer.resources import resources_for

    state = ExploreState(Session(resources_for(tiny_pack), seed=3))
    view = ExploreView(state)
    first = state.attributes[0]
    assert [entry["slider"] for entry in view.image.vectors] == [slider_class(name) for name in state.attributes]
    assert slider_class(first) in view._sliders[first].css_classes  # the page finds the slider by it
    assert np.array_equal(np.asarray(view.image.vectors[0]["vector"], np.float32), state.vector(first))

    # The page's arithmetic (float32 at each step, as live_picture's JavaScript does it) gives the
    # very latent the server decodes, so both paths share one cached picture.
    state.strengths = {first: 0.35, state.attributes[1]: -1.2}
    latent = np.asarray(view.image.base, np.float32)
    for entry, name in zip(view.image.vectors, state.attributes):
        strength = state.strengths.get(name, 0.0)
        if strength:
            latent = latent + np.float32(strength) * np.asarray(entry["vector"], np.float32)
    assert np.array_equal(latent, state.current_latent())

    other = next(m for m in state.methods_for(first) if m != state.methods[first])
    state.set_method(first, other)
    assert np.array_equal(np.asarray(view.image.vectors[0]["vector"], np.float32), state.vector(first))
    state.start_random()
    assert np.array_equal(np.asarray(view.image.base, np.float32), state.base)
    state.attributes = state.attributes[1:]
    assert [entry["slider"] for entry in view.image.vectors] == [slider_class(name) for name in state.attributes]
