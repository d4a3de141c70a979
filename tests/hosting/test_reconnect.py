"""A page whose websocket drops comes back by itself with the same latent: through a TCP proxy
between Chromium and a real `latent-explorer serve`, the connections are cut (not the server)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import parse_qs, urlparse

import pytest

from explorer.benchmarks.harness import served

pytestmark = pytest.mark.browser
SESSION_EXPIRY_MINUTES = 0.05  # the server lets a session without a connection go after 3 s


class CuttableProxy:
    """A TCP proxy from a free local port to `target_port`: `cut()` closes every connection through
    it at once, and while `refusing` is set new ones are closed as soon as they arrive."""

    def __init__(self, target_port: int | None = None):
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.target_port = target_port
        self.refusing = threading.Event()
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:  # closed
                return
            if self.refusing.is_set() or self.target_port is None:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for source, target in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        for end in (source, target):
            self._close(end)

    def _close(self, end: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(end)
        try:
            end.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        end.close()

    def cut(self) -> int:
        """Close every connection through the proxy; how many sockets were open."""
        with self._lock:
            ends = list(self._sockets)
        for end in ends:
            self._close(end)
        return len(ends)

    def close(self) -> None:
        self.listener.close()
        self.cut()


@pytest.fixture(scope="module")
def proxied(tiny_pack_env, tiny_pack_name):
    """(the server's URL through the proxy, the proxy)."""
    proxy = CuttableProxy()
    # --server-decode: these tests are about the Bokeh websocket, which alone carries the session.
    options = ("--session-expiry", str(SESSION_EXPIRY_MINUTES), "--allow-websocket-origin", f"127.0.0.1:{proxy.port}",
               "--server-decode")
    with served(tiny_pack_name, tiny_pack_env, options) as server:
        proxy.target_port = urlparse(server.url).port
        try:
            yield f"http://127.0.0.1:{proxy.port}/", proxy
        finally:
            proxy.close()


def latent_in_link(page) -> str:
    return parse_qs(urlparse(page.url).query)["z"][0]


def moved_page(ui, browser, url: str):
    """A page on `url` whose latent was moved by a slider step, once its link says so; and its sockets."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = ui.Page(context.new_page(), url)
    sockets: list = []
    page.page.on("websocket", lambda socket: sockets.append(socket))
    page.open()
    before, link = page.src(".explore-image"), page.page.url
    handle = page.page.locator(".attribute-slider .noUi-handle").first
    handle.focus()
    handle.press("ArrowRight")
    page.wait_src_change(".explore-image", before)
    page.page.wait_for_function("(link) => window.location.href !== link", arg=link, timeout=30_000)
    return page, sockets


def page_errors(page) -> list[str]:
    """Script errors only: a cut connection makes Chromium log the failed websocket as well."""
    return [error for error in page.errors if error.startswith("page error")]


def test_a_dropped_connection_comes_back_to_the_same_session_and_latent(proxied, browser, ui):
    url, proxy = proxied
    page, sockets = moved_page(ui, browser, url)
    try:
        latent, picture = latent_in_link(page.page), page.src(".explore-image")
        assert proxy.cut() >= 2
        deadline = time.monotonic() + 20
        while len(sockets) < 2 and time.monotonic() < deadline:
            page.page.wait_for_timeout(100)
        assert len(sockets) == 2 and sockets[0].is_closed(), "the page did not open a second websocket"
        page.page.locator(".explore-image img").first.wait_for(timeout=30_000)
        assert latent_in_link(page.page) == latent and page.src(".explore-image") == picture
        handle = page.page.locator(".attribute-slider .noUi-handle").first  # and it is live again
        handle.focus()
        handle.press("ArrowRight")
        page.wait_src_change(".explore-image", picture)
        assert page_errors(page) == []
    finally:
        page.page.context.close()


def test_a_page_whose_session_the_server_let_go_reloads_its_link(proxied, browser, ui):
    url, proxy = proxied
    page, _ = moved_page(ui, browser, url)
    try:
        latent, opened_with = latent_in_link(page.page), page.page.url
        proxy.refusing.set()
        proxy.cut()
        time.sleep(SESSION_EXPIRY_MINUTES * 60 + 4)  # the server lets the session go meanwhile
        proxy.refusing.clear()
        # Bokeh's next attempt finds a session built from the link the page first had; the page
        # then reloads the link it had when the connection dropped.
        with page.page.expect_navigation(timeout=60_000):
            pass
        page.page.locator(".explore-image img").first.wait_for(timeout=60_000)
        assert page.page.url == opened_with and latent_in_link(page.page) == latent
        shown = page.src(".explore-image")
        fresh = ui.Page(page.page.context.new_page(), opened_with)  # the same link, opened anew
        fresh.open()
        assert fresh.src(".explore-image") == shown
        assert page_errors(page) == []
    finally:
        page.page.context.close()


def test_a_page_whose_reconnections_all_failed_reloads_its_link_once_the_server_answers(proxied, browser, ui):
    url, proxy = proxied
    page, _ = moved_page(ui, browser, url)
    try:
        opened_with = page.page.url
        proxy.refusing.set()
        proxy.cut()
        time.sleep(35)  # Bokeh tries 5 times over 30 s (0, 2, 4, 8 and 16 s apart), then gives up
        assert page.page.url == opened_with
        with page.page.expect_navigation(timeout=30_000):
            proxy.refusing.clear()  # the page asks for /health every 5 s meanwhile
        page.page.locator(".explore-image img").first.wait_for(timeout=60_000)
        assert page.page.url == opened_with and page_errors(page) == []
    finally:
        proxy.refusing.clear()
        page.page.context.close()
