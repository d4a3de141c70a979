"""Every place the app leans on Panel's, Bokeh's or Tornado's internals, each named and explained here.

Nothing else in explorer.app touches a private name of those libraries. Panel and Bokeh are pinned to
the minor versions these were checked against (pyproject.toml); tests/app/test_panel_internals.py
fails when one of them stops being what we rely on, so run it before moving a pin. Where Panel must
call us back, a mixin overrides exactly one of its hooks; everything else is a small function.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any, ClassVar

import param


class SkipDesignOnUpdate:
    """Mixin for a Panel component: a property update resolves the theme's stylesheets only when
    `stylesheets` itself changed.

    Panel's `Reactive._update_properties(*events, doc)` asks the design (the template's theme) for
    the component's stylesheets on every property update (0.3-0.5 ms of server time each, measured
    with py-spy under load) and uses them only when `stylesheets` changed; a picture that changes on
    every slider step pays that for nothing. The other updates go through `_process_param_change`,
    as Panel's own do.
    """

    def _update_properties(self, *events: param.parameterized.Event, doc) -> dict[str, Any]:
        if any(event.name == "stylesheets" for event in events):
            return super()._update_properties(*events, doc=doc)
        return self._process_param_change({event.name: event.new for event in events})


class PromptChanges:
    """Mixin for a Panel widget: a change from the browser runs at once (no debounce), leaves the page's
    busy indicator alone, and may be put off by `defer_change`.

    Panel holds a browser change for the class's `_debounce` ms (50) before it runs the watchers; it
    flips the busy indicator (two extra messages and a restyle) for every change not named in
    `_busy__ignore`; and it runs a change through `_change_coroutine(doc, event_id)`, after removing
    the change from `state._change_callbacks` (a Bokeh event may have run it first).
    """

    _debounce: ClassVar[int] = 0
    _busy__ignore: ClassVar[list[str]] = ["value", "value_throttled"]

    async def defer_change(self, doc) -> bool:
        """Whether to put the pending change off (it is retried in about 1 ms); never, unless overridden."""
        return False

    def pending_changes(self) -> dict[str, Any]:
        """The browser's changes that Panel has gathered for the next run (its `_events`): property -> value."""
        return self._events

    async def _change_coroutine(self, doc, event_id: str | None = None) -> None:
        if event_id is not None and not take_scheduled_change(doc, event_id):
            return  # already run: a Bokeh event flushed the pending changes first
        if await self.defer_change(doc):
            # Return (the document lock with it), so that waiting input is read and merged meanwhile.
            doc.add_timeout_callback(partial(self._change_coroutine, doc), 1)
            return
        await super()._change_coroutine(doc)


def take_scheduled_change(doc, event_id: str) -> bool:
    """Remove the scheduled change `event_id` from Panel's bookkeeping of `doc`; False if it already ran.

    A retried change (deferred by `PromptChanges`) runs without its id, so the bookkeeping Panel does
    at the start of `_change_coroutine` is done here, once, for the first try.
    """
    from panel.io.state import state

    pending = state._change_callbacks.get(doc, {})
    if event_id not in pending:
        return False
    del pending[event_id]
    if not pending:
        state._change_callbacks.pop(doc, None)
    return True


def session_websockets(doc) -> list:
    """The websocket handlers (Bokeh's `WSHandler`) of `doc`'s server session; none outside a server.

    Bokeh keeps a session's connections in `ServerSession._subscribed_connections` and each
    connection's handler in `ServerConnection._socket`; there is no public way to reach the socket,
    which TCP_NODELAY and the slider's look at waiting input need.
    """
    session = getattr(getattr(doc, "session_context", None), "session", None)
    connections = list(getattr(session, "_subscribed_connections", ()) or ())
    return [connection._socket for connection in connections if getattr(connection, "_socket", None) is not None]


def buffered_input_bytes(stream) -> int:
    """How many bytes Tornado's `IOStream` has read from its socket but not yet handed on.

    A slider drag is merged to its newest position only if the server sees that more input is
    waiting; part of it may already sit in Tornado's read buffer (`_read_buffer_size`).
    """
    return int(getattr(stream, "_read_buffer_size", 0) or 0)


def cleanup_document(doc) -> None:
    """Release a page built into `doc` outside a server, as Panel does when a session ends.

    Panel's `panel.io.document._cleanup_doc` runs the session-destroyed callbacks and drops the
    views, watchers and templates Panel holds for the document; the warm-up page needs exactly that.
    """
    from panel.io.document import _cleanup_doc

    _cleanup_doc(doc)


def serve_styles_locally(doc) -> None:
    """Point the page's stylesheets at this server, not Panel's CDN (offline servers cannot reach it).

    Panel does this when it renders the page for a GET: it sets the document's template variable
    `dist_url`, which its components read for their stylesheet URLs, and patches the roots with
    `panel.io.resources.patch_model_css`. With several server processes, the page's websocket may
    reach another process, which then builds the session anew without that step, and the browser
    would fetch the theme from the CDN.
    """
    if doc is None or doc.session_context is None:
        return
    import panel as pn
    from panel.io.resources import LOCAL_DIST, patch_model_css

    dist_url = f"{pn.state.rel_path}/{LOCAL_DIST}" if pn.state.rel_path else LOCAL_DIST
    doc.template_variables.setdefault("dist_url", dist_url)

    def patch_roots() -> None:
        for root in doc.roots:
            patch_model_css(root, dist_url=doc.template_variables["dist_url"])

    doc.add_next_tick_callback(patch_roots)


#: JavaScript for an ESM component: `pauseSync(model, attr, paused)` stops BokehJS from sending changes
#: of property `attr` of `model` to the server while `paused()` is true.
#:
#: BokehJS sends a change only for a property whose `syncable` getter (on `Property`'s prototype,
#: `!this.internal`) is true (`HasProps._push_changes`); an own getter on the one property instance
#: shadows it. The Explore slider's moves go to the side channel, and only its release
#: (`value_throttled`) to the server.
PAUSE_SYNC_JS = """
const pauseSync = (model, attr, paused) => {
  Object.defineProperty(model.properties[attr], "syncable", { get: () => !paused(), configurable: true });
};
"""


def set_session_location(doc, location) -> None:
    """Make `location` the session's Location: Panel 1.9 looks a document's Location up in
    `state._locations` before it builds one from the request (and parses its arguments)."""
    from panel.io.state import state

    state._locations[doc] = location


def inline_pulled_arrays() -> None:
    """Make the server's reply to a document pull carry numpy arrays inline (base64), not as buffers.

    BokehJS 3.9 drops a PULL-DOC-REPLY's binary buffers when a reconnection pulls the session's
    document again (bokeh#15347: "buffer for id=… not found", and the page stays as it was), so a
    page that reconnects to a session the server had let go never learns it is a new one (see
    reconnect.py). Bokeh's `pull_doc_reply.create` serializes with `Document.to_json()` (deferred
    buffers); this replaces it with one that uses `to_json(deferred=False)`. The first pull of a page
    gets the same document, its arrays a third larger as base64. Idempotent.
    """
    from bokeh.protocol.messages.pull_doc_reply import PullDoc, pull_doc_reply

    def create(cls, request_id, document, **metadata) -> pull_doc_reply:
        header = cls.create_header(request_id=request_id)
        return cls(header, metadata, PullDoc(doc=document.to_json(deferred=False)))

    create.inlines_arrays = True
    if not getattr(pull_doc_reply.create, "inlines_arrays", False):
        pull_doc_reply.create = classmethod(create)


def quiet_writes_to_closed_pages(loop) -> None:
    """Log a write that failed because its page went away as one line, not as a traceback.

    Panel sends a document's changes with Tornado's `WebSocketHandler.write_message`, which returns a
    task; when the page closes while the write is on its way, the task ends in WebSocketClosedError
    and, where Panel let the task go unawaited, asyncio logs "Task exception was never retrieved"
    with two tracebacks (holoviz/panel#3341). Nothing is lost: the page is gone. This installs an
    exception handler on `loop` (an asyncio loop) that says so in one debug line and hands every other
    error to the handler that was there before (asyncio's default where none was).
    """
    from tornado.websocket import WebSocketClosedError

    previous = loop.get_exception_handler()

    def handle(loop, context: dict) -> None:
        if isinstance(context.get("exception"), WebSocketClosedError):
            logging.getLogger(__name__).debug("a page went away while an update was being sent to it")
        elif previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handle)


def change_bokeh_models(doc, change) -> None:
    """Run `change()`, which sets properties of Bokeh models in `doc`, the way Panel updates its own.

    A served document may change only while its session holds the document lock: Bokeh raises
    "_pending_writes should be non-None when we have a document lock…" otherwise. Panel's
    `Reactive._update_model` checks `state._unblocked(doc)` (this server is processing `doc`, on
    `doc`'s thread, and the page has loaded): then it changes the models at once inside `unlocked()`
    (the patch is written straight to the websocket), else it schedules the change with
    `state.execute(..., schedule=True)` under `set_curdoc(doc)`. A document outside a server
    (None, or no session context) is changed at once.
    """
    from panel.io.document import unlocked
    from panel.io.state import set_curdoc, state

    if doc is None or doc.session_context is None:
        change()
    elif state._unblocked(doc):
        with unlocked():
            change()
    else:
        with set_curdoc(doc):
            state.execute(change, schedule=True)


def ignore_detached_connections() -> None:
    """Let a page close at any moment: a connection Bokeh has already detached from its session
    drops its messages and its close does nothing more, instead of failing an AssertionError.

    Bokeh detaches a connection (`ServerConnection.detach_session`) when the page's close is seen
    (`WSHandler.on_close`) or when its keep-alive ping finds the socket closed (`client_lost`).
    Afterwards `connection.session` fails `assert self._session is not None`, and Bokeh still asks
    for it in two places: handling a message that the page sent just before it closed (read before
    the close, handled after: "error handling message … AssertionError", one traceback per message,
    a fresh page's first patches under load) and in `on_close` itself when the ping got there first
    ("Uncaught exception GET /ws" from Tornado). The page is gone either way, so nothing is lost;
    this wraps `WSHandler._handle` and `WSHandler.on_close` to skip a detached connection with one
    debug line. Idempotent.
    """
    from bokeh.server.views.ws import WSHandler

    if getattr(WSHandler._handle, "ignores_detached", False):
        return
    handle_message, close_page = WSHandler._handle, WSHandler.on_close

    def detached(page) -> bool:
        return page.connection is not None and page.connection._session is None

    async def _handle(self, message):
        if detached(self):
            logging.getLogger(__name__).debug("a message from a page that went away was dropped")
            return None
        return await handle_message(self, message)

    def on_close(self) -> None:
        if detached(self):
            logging.getLogger(__name__).debug("a page closed after the server had let its connection go")
            return
        close_page(self)

    _handle.ignores_detached = True
    _handle.__wrapped__, on_close.__wrapped__ = handle_message, close_page  # Bokeh's own, for the tests
    WSHandler._handle, WSHandler.on_close = _handle, on_close
