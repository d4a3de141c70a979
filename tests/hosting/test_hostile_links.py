"""Hostile links: the request's arguments are checked before Bokeh, Panel or the app read them,
and what a link says is shown as text, never as markup. The property test runs against one
real `latent-explorer serve`."""

from __future__ import annotations

import http.client
import json
import re
import time
import urllib.parse
from urllib.parse import quote, quote_from_bytes

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tornado.httputil import HTTPHeaders, HTTPServerRequest, RequestStartLine

from explorer.app import hosting
from explorer.app.page_text import page_text, without_paths
from explorer.app.request_args import (
    MAX_ARGUMENTS,
    MAX_VALUE_CHARS,
    CheckedArguments,
    CheckedLocation,
    read_arguments,
)
from explorer.app.urlstate import LATENT_KEYS
from explorer.benchmarks.harness import served

# Every key the app reads (urlstate.py and the views' settings), and what Bokeh and Panel read.
APP_KEYS = ("pack", "view", *LATENT_KEYS, "n", "ids", "sampler", "rho", "seed", "trunc")
FRAMEWORK_KEYS = ("theme", "bokeh-session-id", "bokeh-absolute-url", "bokeh-app-path", "bokeh-autoload-element")
# Tornado refuses request heads over 64 KiB; the request line has to fit in them with its headers.
URL_LIMIT = 60_000


# ---------------------------------------------------------------------- the checks themselves
def test_a_value_of_5000_digits_is_dropped_and_named_in_one_line():
    query, note = read_arguments({"z": [b"1" * 5000], "view": [b"mine"]})
    assert query == {"view": "mine"}
    assert note == "Part of the link was ignored: 'z' (5,000 characters; a value may have at most 4,096)."


def test_the_last_of_repeated_values_counts_and_blank_values_are_skipped_silently():
    assert read_arguments({"view": [b"explore", b"mine"], "z": [b""], "pack": [b"  "]}) == ({"view": "mine"}, "")


@pytest.mark.parametrize("value, problem", [
    (b"\xff\xfe", "not UTF-8 text"),
    (b"ab\x00cd", "control characters"),
    ("x\u0085y".encode(), "control characters"),
    (b"9" * (4 * MAX_VALUE_CHARS + 1), "bytes; a value may have at most"),
])
def test_values_that_are_not_plain_text_are_dropped_with_the_reason(value, problem):
    query, note = read_arguments({"seed": [value]})
    assert query == {} and "'seed' (" in note and problem in note


@pytest.mark.parametrize("key", ["bokeh-session-id", "bokeh-absolute-url", "a b", "<img>", "k" * 33, "ü"])
def test_bokehs_own_arguments_and_odd_keys_are_not_taken_from_a_link(key):
    query, note = read_arguments({key: [b"value"], "view": [b"mine"]})
    assert query == {"view": "mine"} and "not a key a link uses" in note


def test_at_most_max_arguments_are_read_and_the_note_names_three_and_counts_the_rest():
    query, note = read_arguments({f"k{i}": [b"1"] for i in range(MAX_ARGUMENTS + 5)})
    assert len(query) == MAX_ARGUMENTS
    assert note.count("more than 32 arguments") == 3 and note.endswith("and 2 more.") and "\n" not in note


def test_the_transform_leaves_a_request_only_what_passed_with_its_note():
    uri = "/?z=" + "1" * 5000 + "&view=mine&view=sampling&bokeh-session-id=x"
    request = HTTPServerRequest(start_line=RequestStartLine("GET", uri, "HTTP/1.1"), headers=HTTPHeaders(Host="x"))
    CheckedArguments(request)
    assert request.query_arguments == request.arguments == {"view": [b"sampling"]}
    assert (request.query, request.uri) == ("view=sampling", "/?view=sampling")
    assert "'z' (5,000 characters" in request.link_note and "'bokeh-session-id'" in request.link_note


@settings(max_examples=100, deadline=None)
@given(search=st.text(max_size=300).map(lambda text: "?" + text))
def test_the_sessions_location_reads_any_address_without_raising(search):
    location = CheckedLocation()
    location.search = search  # the browser reports its address: this ran Panel's parse_query
    assert all(isinstance(value, str) for value in location.query_params.values())


def test_the_sessions_location_keeps_digits_as_text_whatever_their_length():
    location = CheckedLocation()
    location.search = "?seed=" + "7" * 5000 + "&n=12"
    assert location.query_params == {"n": "12"}


# ---------------------------------------------------------------------- what a page shows
def test_a_message_shows_markup_and_markdown_links_as_text():
    shown = page_text("The link asks for view '<img src=x onerror=alert(1)>' [log in](https://example.org)")
    assert "<img" not in shown and "&lt;img src=x onerror=alert(1)&gt;" in shown
    assert "[" not in shown and "&#91;log in&#93;(https://example.org)" in shown


def test_outside_public_mode_paths_are_shown_and_with_it_cut_to_their_last_part(monkeypatch, caplog):
    text = "no index at /srv/demo/indexes/emoji (index.json missing); sampler pool ~/packs/pool.npz"
    assert page_text(text) == text
    monkeypatch.setattr(hosting, "_hosting", hosting.Hosting(public=True))
    with caplog.at_level("WARNING", logger="explorer.app.page_text"):
        assert page_text(text) == "no index at emoji (index.json missing); sampler pool pool.npz"
    assert text in caplog.text


@pytest.mark.parametrize("text, shown", [
    ("C:\\Users\\ada\\model.pt is missing", "model.pt is missing"),
    ("read file:///etc/passwd", "read passwd"),
    ("see ./assets and ../indexes/", "see assets and indexes"),
    ("https://example.org/a/b stays, as do 1/2 and image/png", "https://example.org/a/b stays, as do 1/2 and image/png"),
])
def test_every_kind_of_rooted_path_is_cut_and_urls_and_ratios_are_not(text, shown):
    assert without_paths(text) == shown


def test_the_packs_folders_give_way_to_the_names_under_them_and_lookalike_folders_are_cut_too(monkeypatch):
    monkeypatch.setenv("LATENT_EXPLORER_INDEXES", "/srv/demo/idx")
    assert without_paths("/srv/demo/idx/emoji/a.npz, /srv/demo/idxold/b.npz, none under /srv/demo/idx") == (
        "emoji/a.npz, b.npz, none under idx")


# ---------------------------------------------------------------------- a real server
@pytest.fixture(scope="module")
def server(tiny_pack_env, tiny_pack_name):
    with served(tiny_pack_name, tiny_pack_env) as running:
        yield running


def get(server, target: str) -> tuple[int, str]:
    parts = urllib.parse.urlsplit(server.url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    try:
        connection.request("GET", target)
        response = connection.getresponse()
        return response.status, response.read().decode("utf-8", "replace")
    finally:
        connection.close()


def no_errors_logged(server) -> None:
    """No traceback and no ERROR line in the server's log (waiting briefly for late writes)."""
    time.sleep(0.05)
    assert server.errors() == [], server.log.read_text()[-3000:]


def encoded(value: str | bytes) -> str:
    return quote_from_bytes(value, safe="") if isinstance(value, bytes) else quote(value, safe="")


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                           lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner,
                                                                                     max_size=4), max_leaves=20)
values = st.one_of(
    st.integers(0, URL_LIMIT).map(lambda n: "9" * n),  # digits of any length: int() refuses > 4,300
    st.text(alphabet="0123456789", max_size=5000),
    st.integers(0, URL_LIMIT).map(lambda n: "A-_" * (n // 3)),  # long URL-safe base64 (a latent's alphabet)
    st.integers(1, 20_000).map(lambda n: "[" * n),  # nesting for json.loads and ast.literal_eval
    json_values.map(json.dumps),
    st.sampled_from(["1e999", "-1e-999", "nan", "inf", "-0", "0x1f", "1_000", "True", "false", "None", "{}", "[]"]),
    st.text(max_size=300),  # any unicode, control characters and lone surrogates' neighbours included
    st.binary(max_size=300),  # bytes that need not be UTF-8
)
keys = st.one_of(st.sampled_from(APP_KEYS + FRAMEWORK_KEYS), st.text(max_size=12), st.binary(max_size=6))
queries = st.lists(st.tuples(keys, values), max_size=6)  # repeated keys included


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(pairs=queries)
def test_any_query_string_loads_the_page_and_logs_no_traceback(server, pairs):
    query = "&".join(f"{encoded(key)}={encoded(value)}" for key, value in pairs)[:URL_LIMIT]
    status, page = get(server, "/?" + query)
    assert status == 200, page[-2000:]
    no_errors_logged(server)


def test_a_link_cannot_choose_the_session_or_fill_the_pages_token(server):
    from bokeh.util.token import get_session_id, get_token_payload

    status, page = get(server, "/?bokeh-session-id=chosen-by-the-link&z=" + "1" * 5000 + "&view=mine")
    assert status == 200
    token = re.search(r'"token":\s*"([\w.-]+)"', page).group(1)
    assert get_session_id(token) != "chosen-by-the-link"
    assert get_token_payload(token)["arguments"] == {"view": [b"mine"]}
    no_errors_logged(server)


@pytest.mark.browser
def test_in_the_browser_a_hostile_link_runs_no_script_and_gets_the_default_view_and_one_line(server, browser, ui):
    page = ui.Page(browser.new_context().new_page(), server.url)
    dialogs: list[str] = []
    page.page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    try:
        page.open("?view=" + quote("<img src=x onerror=alert(1)>") + "&z=" + "1" * 5000)
        message = page.page.locator(".app-message")
        message.get_by_text("Part of the link was ignored: 'z' (5,000 characters").wait_for(timeout=30_000)
        message.get_by_text("The link asks for view '<img src=x onerror=alert(1)>'").wait_for(timeout=5_000)
        assert page.page.locator(".app-message img").count() == 0
        assert page.src(".explore-image").startswith("data:image/")  # the default view, with a picture
        page.page.wait_for_timeout(1000)
        assert dialogs == [] and page.errors == []
        assert "z=1111" not in page.page.url  # the address bar now holds the page's own link
    finally:
        page.page.context.close()
    no_errors_logged(server)
