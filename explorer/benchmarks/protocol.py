"""A client of the served app through Bokeh's websocket protocol, as a browser talks to it, minus the browser.

It opens the page as a browser does (GET, then the websocket with the page's token, then
"document ready"), finds the Explore view's attribute sliders and picture, sends slider values as
a drag does (`value` per frame, `value_throttled` on release) and times send -> the picture's new
`src` received (no decode, no paint). It costs almost no CPU, so a small machine runs many.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time

from explorer.benchmarks.harness import OPEN_TIMEOUT_S

STEP_TIMEOUT_S = 10.0  # how long a slider move waits for its picture


class ProtocolClient:
    """One app session through Bokeh's websocket protocol, opened as a browser opens it, minus the browser."""

    def __init__(self, url: str):
        self.url = url
        self.errors: list[str] = []
        self.link = ""
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
        self.link = next((o["attributes"]["query"] for o in objects.values()
                          if o["name"].startswith("LinkWriter") and "query" in o["attributes"]), "")

    async def move(self, slider: int, value: float, release: bool = False,
                   timeout: float = STEP_TIMEOUT_S) -> float | None:
        """Set attribute slider number `slider` to `value` (as a drag frame; `release` also ends the
        drag); ms until the new picture arrived, or None when none came within `timeout`."""
        self._picture = asyncio.get_running_loop().create_future()
        started = time.perf_counter()
        events = [{"kind": "ModelChanged", "model": {"id": self.sliders[slider]}, "attr": "value", "new": value}]
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

    async def close(self) -> None:
        self._closing = True
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
                    if (event.get("attr") == "src" and event.get("model", {}).get("id") == self._picture_data
                            and self._picture is not None and not self._picture.done()):
                        self._picture.set_result(time.perf_counter())

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

