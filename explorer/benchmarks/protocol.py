"""A client of the served app through Bokeh's websocket protocol, as a browser talks to it, minus the browser.

It opens the page as a browser does (GET, then the websocket with the page's token, then
"document ready"), finds the Explore view's attribute sliders and picture, sends slider values as
a drag does (`value` per frame, `value_throttled` on release) and times send -> the picture's new
`src` received (no decode, no paint). It costs almost no CPU, so a small machine runs many.

With `side_channel=True` it moves the sliders as the page does when the picture's side channel
is open (explorer.app.live_picture): it computes base + Σ value · vector in float32, sends it on the
side channel's websocket and times send -> the JPEG received; only a release goes through Bokeh
(`value_throttled`). Where the page offers no side channel, it falls back to Bokeh, as the page does.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import re
import time

import numpy as np

from explorer.benchmarks.harness import OPEN_TIMEOUT_S

STEP_TIMEOUT_S = 10.0  # how long a slider move waits for its picture


class ProtocolClient:
    """One app session through Bokeh's websocket protocol, opened as a browser opens it, minus the browser."""

    def __init__(self, url: str, side_channel: bool = False):
        self.url = url
        self.side_channel = side_channel
        self.errors: list[str] = []
        self.link = ""
        self.picture = b""  # the newest JPEG received, by either path
        self.channel = None  # the side channel's websocket, once open
        self._socket = None
        self._reader: asyncio.Task | None = None
        self._picture: asyncio.Future | None = None
        self._closing = False

    async def open(self, query: str = "", timeout: float = OPEN_TIMEOUT_S) -> float:
        """GET the page, connect its websocket, pull the document; seconds until the first picture is in hand."""
        started = time.perf_counter()
        await asyncio.wait_for(self._open(query), timeout)
        return time.perf_counter() - started

    async def _open(self, query: str) -> None:
        from bokeh.protocol import Protocol
        from bokeh.protocol.receiver import Receiver
        from tornado.httpclient import AsyncHTTPClient, HTTPRequest
        from tornado.websocket import websocket_connect

        page = await AsyncHTTPClient().fetch(self.url + (f"?{query}" if query else ""), request_timeout=OPEN_TIMEOUT_S)
        found = re.search(r'"token":\s*"([^"]+)"', page.body.decode())
        if not found:
            raise RuntimeError(f"no session token in the page at {self.url}")
        origin = re.match(r"(http://[^/]+)", self.url).group(1)
        request = HTTPRequest(origin.replace("http", "ws", 1) + self._prefix() + "ws", headers={"Origin": origin})
        self._socket = await websocket_connect(request, subprotocols=["bokeh", found.group(1)], max_message_size=1 << 26)
        # As browsers do: without it, Nagle's algorithm holds a message's later frames until the
        # server's delayed acknowledgement (up to 40 ms) comes back.
        self._socket.protocol.set_nodelay(True)
        self._protocol, self._receiver = Protocol(), Receiver(Protocol())
        await self._read()  # ACK
        await self._send(self._protocol.create("PULL-DOC-REQ"))
        reply = await self._read()
        if reply is None or reply.msgtype != "PULL-DOC-REPLY":
            raise RuntimeError(f"expected PULL-DOC-REPLY from {self.url}, got {reply and reply.msgtype}")
        self._find_models(reply.content)
        # What bokehjs sends once the page is built; Panel holds some updates until then.
        await self._patch([{"kind": "MessageSent", "msg_type": "bokeh_event",
                            "msg_data": {"type": "event", "name": "document_ready", "values": {"type": "map"}}}])
        self._reader = asyncio.get_running_loop().create_task(self._read_forever())
        if self.side_channel and self.token:
            self.channel = await self.connect_channel(self.token)
            self.channel.protocol.set_nodelay(True)

    def channel_url(self, token: str | None) -> str:
        """The side channel's websocket URL with `token` (None: without one)."""
        origin = re.match(r"(http://[^/]+)", self.url).group(1)
        return (origin.replace("http", "ws", 1) + self._prefix() + self.channel_path
                + ("" if token is None else f"?token={token}"))

    async def connect_channel(self, token: str | None):
        """A websocket to the side channel, opened with `token` (Tornado's client connection)."""
        from tornado.httpclient import HTTPRequest
        from tornado.websocket import websocket_connect

        origin = re.match(r"(http://[^/]+)", self.url).group(1)
        return await websocket_connect(HTTPRequest(self.channel_url(token), headers={"Origin": origin}))

    def latent(self) -> np.ndarray:
        """base + Σ value · vector over the sliders, in float32 as the page computes it."""
        latent = np.array(self.base, dtype=np.float32)
        for slider, vector in zip(self.sliders, self.vectors):
            strength = self.values.get(slider, 0.0)
            if strength:
                latent = latent + np.float32(strength) * vector
        return latent

    def _prefix(self) -> str:
        return re.match(r"http://[^/]+(/.*)", self.url).group(1)

    def _find_models(self, content: dict) -> None:
        objects: dict[str, dict] = {}
        _collect_objects(content, objects)
        sliders = [o["id"] for o in objects.values()
                   if o["name"] == "Slider" and "attribute-slider" in o["attributes"].get("css_classes", [])]
        pictures = [o for o in objects.values() if "explore-image" in o["attributes"].get("css_classes", [])]
        if not sliders or not pictures:
            raise RuntimeError(f"the page at {self.url} has no Explore attribute slider or picture")
        self.sliders = sliders
        self._picture_data = pictures[0]["attributes"]["data"]["id"]
        self._read_channel(objects, sliders)
        self.link = next((o["attributes"]["query"] for o in objects.values()
                          if o["name"].startswith("LinkWriter") and "query" in o["attributes"]), "")

    def _read_channel(self, objects: dict[str, dict], sliders: list[str]) -> None:
        """The picture's side-channel token, base latent and each slider's vector (in `sliders`' order)."""
        data = objects.get(self._picture_data, {}).get("attributes", {})
        self.token = data.get("token", "")
        self.channel_path = data.get("channel_path", "latent-channel")  # relative to the page, as the page reads it
        self.base = np.asarray(_plain(data.get("base", [])), dtype=np.float32)
        by_class = {entry["slider"]: np.asarray(entry["vector"], np.float32)
                    for entry in _plain(data.get("vectors", []))}
        self.vectors = []
        for slider in sliders:
            classes = objects[slider]["attributes"].get("css_classes", [])
            self.vectors.append(next((by_class[name] for name in classes if name in by_class),
                                     np.zeros_like(self.base)))
        self.values: dict[str, float] = {}

    async def move(self, slider: int, value: float, release: bool = False,
                   timeout: float = STEP_TIMEOUT_S) -> float | None:
        """Set attribute slider number `slider` to `value` (as a drag frame; `release` also ends the
        drag); ms until the new picture arrived, or None when none came within `timeout`."""
        self.values[self.sliders[slider]] = float(value)
        events = [{"kind": "ModelChanged", "model": {"id": self.sliders[slider]}, "attr": "value", "new": value}]
        if self.channel is not None:
            return await self._move_on_channel(events[0], release, timeout)
        self._picture = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        await self._patch(events)
        if release:
            await self._patch([{**events[0], "attr": "value_throttled"}])
        try:
            arrived = await asyncio.wait_for(asyncio.shield(self._picture), timeout)
        except asyncio.TimeoutError:
            return None
        finally:
            self._picture = None
        return (arrived - started) * 1e3

    async def _move_on_channel(self, event: dict, release: bool, timeout: float) -> float | None:
        """A move as the page makes it with the side channel open: the latent on the channel, the
        release alone through Bokeh; ms until the channel's JPEG arrived."""
        started = time.perf_counter()
        await self.channel.write_message(self.latent().astype("<f4").tobytes(), binary=True)
        if release:
            await self._patch([{**event, "attr": "value_throttled"}])
        try:
            reply = await asyncio.wait_for(self.channel.read_message(), timeout)
        except asyncio.TimeoutError:
            return None
        if reply is None:
            self.errors.append(f"the side channel closed: {self.channel.close_code} {self.channel.close_reason}")
            self.channel = None
            return None
        self.picture = reply
        return (time.perf_counter() - started) * 1e3

    async def close(self) -> None:
        self._closing = True
        if self.channel is not None:
            self.channel.close()
        if self._socket is not None:
            self._socket.close()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._reader, 5)

    async def _read_forever(self) -> None:
        while True:
            message = await self._read()
            if message is None:
                if not self._closing:
                    self.errors.append("the server closed the websocket")
                return
            if message.msgtype == "ERROR":
                self.errors.append(f"server error: {message.content}")
            elif message.msgtype == "PATCH-DOC":
                for event in message.content.get("events", []):
                    if event.get("attr") == "src" and event.get("model", {}).get("id") == self._picture_data:
                        if self._picture is not None and not self._picture.done():
                            self._picture.set_result(time.perf_counter())
                        src = str(event.get("new", ""))
                        self.picture = base64.b64decode(src[src.index(",") + 1:]) if "," in src else b""

    async def _read(self):
        while True:
            fragment = await self._socket.read_message()
            if fragment is None:
                return None
            message = await self._receiver.consume(fragment)
            if message is not None:
                return message

    async def _patch(self, events: list[dict]) -> None:
        from bokeh.protocol.messages.patch_doc import patch_doc

        await self._send(patch_doc(patch_doc.create_header(), {}, {"events": events}))

    async def _send(self, message) -> None:
        for part in (message.header_json, message.metadata_json, message.content_json):
            await self._socket.write_message(part)


def _plain(node: object) -> object:
    """A value as Bokeh serialized it, with its {"type": "map", "entries": ...} dicts made plain."""
    if isinstance(node, dict):
        if node.get("type") == "map":
            return {key: _plain(value) for key, value in node.get("entries", [])}
        return {key: _plain(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_plain(value) for value in node]
    return node


def _collect_objects(node: object, found: dict[str, dict]) -> None:
    """Every serialized Bokeh model in a document (each appears once in full; later as {"id"})."""
    if isinstance(node, dict):
        if node.get("type") == "object" and "id" in node and "attributes" in node:
            found[node["id"]] = node
        for value in node.values():
            _collect_objects(value, found)
    elif isinstance(node, list):
        for value in node:
            _collect_objects(value, found)

