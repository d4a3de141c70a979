"""The hosting options on a real `latent-explorer serve`: the session cap and its "server full" page,
GET /health, --public's upload limit in the browser, basic auth, and the idle timeout."""

from __future__ import annotations

import http.client
import importlib.util
import json
import os
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from explorer.benchmarks.harness import served

pytestmark = pytest.mark.browser


def _ui_harness():
    """tests/ui/conftest.py, whose Page and browser fixture these tests share."""
    path = Path(__file__).resolve().parent.parent / "ui" / "conftest.py"
    spec = importlib.util.spec_from_file_location("ui_harness", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


ui = _ui_harness()
browser = ui.browser  # the same fixture, one Chromium for this module
PASSWORD = "workshop-pass-1"


def health(url: str) -> dict:
    with urllib.request.urlopen(url + "health", timeout=10) as response:
        assert response.headers["Content-Type"] == "application/json"
        return json.loads(response.read())


def wait_for(condition, timeout: float = 30.0, what: str = "the condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"{what} did not hold within {timeout} s")


def request(url: str, method: str = "GET", body: dict | None = None, cookie: str = "") -> http.client.HTTPResponse:
    """One request without following redirects."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    headers = {"Cookie": cookie} if cookie else {}
    data = None
    if body is not None:
        data = urllib.parse.urlencode(body)
        headers["Content-Type"] = "application/x-www-form-urlencoded"
    connection.request(method, parts.path + (f"?{parts.query}" if parts.query else ""), data, headers)
    response = connection.getresponse()
    response.read()
    return response


@pytest.fixture(scope="module")
def capped_server(tiny_pack_env, tiny_pack_name):
    """A --public server with one place; a closed tab frees it after 3 s (--session-expiry 0.05)."""
    options = ("--public", "--max-sessions", "1", "--session-expiry", "0.05")
    with served(tiny_pack_name, tiny_pack_env, options) as server:
        # served() waits for "/" to answer, and that visit holds the one place until it expires
        wait_for(lambda: health(server.url)["sessions"] == 0, what="the start-up visit's place being freed")
        yield server.url


@pytest.fixture(scope="module")
def guarded_server(tiny_pack_env, tiny_pack_name):
    """A server behind one basic-auth password whose sessions close after 3 s without use."""
    with served(tiny_pack_name, tiny_pack_env, ("--basic-auth", PASSWORD, "--idle-timeout", "0.05")) as server:
        yield server.url


@pytest.fixture(scope="module")
def two_process_server(tiny_pack_env, tiny_pack_name):
    """A server of two worker processes sharing one port."""
    with served(tiny_pack_name, tiny_pack_env, ("--num-procs", "2")) as server:
        yield server.url


def test_a_second_visitor_gets_the_full_page_until_the_first_leaves(capped_server, browser):
    first = ui.Page(browser.new_context().new_page(), capped_server)
    first.open()
    first.src(".explore-image")
    assert health(capped_server)["sessions"] == 1

    second_context = browser.new_context()
    second = second_context.new_page()
    second.goto(capped_server)
    second.get_by_text("Latent Explorer is full").wait_for(timeout=30_000)
    second.get_by_text("try again in a minute").wait_for(timeout=5_000)
    report = health(capped_server)
    assert (report["sessions"], report["max_sessions"], report["public"]) == (1, 1, True)
    assert report["turned_away"] >= 1 and report["packs"][0]["renderer"]["misses"] >= 1
    assert report["rss_mb"] > 0 and report["uptime_s"] > 0
    assert first.errors == []

    first.page.context.close()  # the first visitor leaves: the place frees once the session expires
    wait_for(lambda: health(capped_server)["sessions"] == 0, what="the place being freed")
    second.reload()
    second.locator(".explore-image img").first.wait_for(timeout=60_000)
    second_context.close()


def test_public_mode_refuses_a_large_upload_in_the_page(capped_server, browser, tmp_path):
    wait_for(lambda: health(capped_server)["sessions"] == 0, what="a free place")
    context = browser.new_context()
    page = ui.Page(context.new_page(), capped_server)
    try:
        page.open()
        big = tmp_path / "photo.png"
        big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(3 * 2**20))
        page.page.locator("input[type=file]").first.set_input_files(str(big))
        message = "photo.png is 3.0 MiB; the limit here is 2.0 MiB. Resize it first."
        page.page.locator(".app-message").get_by_text(message).wait_for(timeout=30_000)
        assert page.errors == []
    finally:
        context.close()


def test_basic_auth_sends_strangers_to_the_login_page_and_admits_the_password(guarded_server):
    stranger = request(guarded_server)
    assert stranger.status in (302, 303, 401) and "login" in (stranger.getheader("Location") or "login")
    wrong = request(guarded_server + "login", "POST", {"username": "x", "password": "wrong"})
    assert "error=" in wrong.getheader("Location", "")
    login = request(guarded_server + "login", "POST", {"username": "ada", "password": PASSWORD})
    assert login.status == 302
    cookies = "; ".join(header.split(";")[0] for name, header in login.getheaders() if name.lower() == "set-cookie")
    assert "user=" in cookies
    assert request(guarded_server, cookie=cookies).status == 200
    assert health(guarded_server)["status"] == "ok"  # a proxy's health check needs no login


def test_an_idle_session_is_closed_with_a_note_and_gives_its_place_back(guarded_server, browser):
    context = browser.new_context()
    try:
        login = context.request.post(guarded_server + "login", form={"username": "ada", "password": PASSWORD},
                                     max_redirects=0)
        assert login.status == 302
        page = ui.Page(context.new_page(), guarded_server)
        page.open()
        for _ in range(5):  # 7.5 s of use, over twice the 3 s timeout: the session stays
            before = page.src(".explore-image")
            page.page.locator(".random-start button").click()
            page.wait_src_change(".explore-image", before)
            time.sleep(1.5)
        assert page.page.locator(".session-ended").count() == 0
        note = page.page.locator(".session-ended")
        note.get_by_text("closed after 0.05 minutes without use").wait_for(timeout=30_000)
        assert page.page.locator(".explore-image").count() == 0
        wait_for(lambda: health(guarded_server)["sessions"] == 0, what="the idle session's place being freed")
    finally:
        context.close()


def test_two_worker_processes_serve_working_pages_that_fetch_nothing_from_outside(two_process_server, browser):
    # A page's websocket may reach the other worker, which then builds the session anew; here that
    # happened to about one page in three, and such pages fetched Panel's stylesheets from its CDN.
    for _ in range(8):
        context = browser.new_context()
        page = ui.Page(context.new_page(), two_process_server)
        outside: list[str] = []
        page.page.on("request", lambda r: not r.url.startswith(("data:", "blob:" + two_process_server[:-1], two_process_server)) and outside.append(r.url))
        try:
            page.open()
            before = page.src(".explore-image")
            handle = page.page.locator(".attribute-slider .noUi-handle").first
            handle.focus()
            handle.press("ArrowRight")
            page.wait_src_change(".explore-image", before)
            assert outside == [] and page.errors == []
        finally:
            context.close()
    workers = {health(two_process_server)["pid"] for _ in range(40)}
    assert len(workers) == 2, f"one worker answered every /health: {workers}"
