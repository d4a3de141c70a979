"""Each Panel, Bokeh or Tornado internal that explorer.app.panel_internals relies on, checked for what we rely on.

A failure here means the library changed under us: fix panel_internals (and its docstring) before
moving the version pins in pyproject.toml.
"""

from __future__ import annotations

import asyncio
import gc
import inspect
import logging
import socket
import weakref
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import panel as pn
import pytest
from bokeh.document import Document
from bokeh.io.doc import _PATCHED_CURDOCS
from bokeh.models import ColumnDataSource, ImportedStyleSheet
from bokeh.protocol import Protocol
from bokeh.protocol.messages.pull_doc_reply import pull_doc_reply
from panel.reactive import Reactive, Syncable
from tornado.websocket import WebSocketClosedError

from explorer.app import panel_internals
from explorer.app.components import LiveSlider, Picture


class FakeDoc:
    """A served document as far as Panel's change scheduling looks at it."""

    def __init__(self):
        self.session_context = SimpleNamespace()
        self.timeouts = []

    def add_timeout_callback(self, callback, timeout_ms):
        self.timeouts.append((callback, timeout_ms))


class Event:
    def __init__(self, name, new):
        self.name, self.new = name, new


# ---------------------------------------------------------------- SkipDesignOnUpdate (_update_properties)
def test_panel_still_updates_properties_through__update_properties_with_the_signature_we_override(monkeypatch):
    signature = inspect.signature(Reactive._update_properties)
    assert list(signature.parameters) == ["self", "events", "doc"]
    assert signature.parameters["doc"].kind is inspect.Parameter.KEYWORD_ONLY
    picture = Picture(src="a")
    doc = Document()
    doc.add_root(picture.get_root(doc))
    calls = []
    ours = Picture._update_properties
    monkeypatch.setattr(Picture, "_update_properties",
                        lambda self, *events, doc: calls.append((events[0].name, doc)) or ours(self, *events, doc=doc))
    picture.src = "b"
    assert calls == [("src", doc)]


def test_skipping_the_design_gives_panels_properties_without_asking_the_design():
    picture = Picture(src="a", design=pn.theme.Bootstrap)
    doc = Document()
    picture.get_root(doc)
    design = picture._design
    asked = []
    params = design.params
    design.params = lambda *args, **kwargs: asked.append(1) or params(*args, **kwargs)
    panels = super(panel_internals.SkipDesignOnUpdate, picture)._update_properties(Event("src", "b"), doc=doc)
    assert asked, "Panel no longer asks the design on every update: SkipDesignOnUpdate can go"
    asked.clear()
    ours = picture._update_properties(Event("src", "b"), doc=doc)
    assert ours == panels == {"src": "b"} and asked == []
    picture._update_properties(Event("stylesheets", []), doc=doc)
    assert asked  # a stylesheet change still gets the theme's stylesheets


# ---------------------------------------------------------------- PromptChanges (_debounce, _events, _change_callbacks, _change_coroutine)
def test_panel_schedules_a_browser_change_through__change_coroutine_after_the_class_debounce():
    assert list(inspect.signature(Syncable._change_coroutine).parameters) == ["self", "doc", "event_id"]
    slider, doc = LiveSlider(start=0, end=1, value=0.0), FakeDoc()
    slider._server_change(doc, "ref", None, "value", 0.0, 0.5)
    (callback, delay), = doc.timeouts
    assert delay == slider._debounce == 0
    assert slider.pending_changes() == {"value": 0.5}
    assert callback.func == slider._change_coroutine and set(callback.keywords) == {"event_id"}
    assert pn.state._change_callbacks[doc] == {callback.keywords["event_id"]: callback}
    assert panel_internals.take_scheduled_change(doc, callback.keywords["event_id"])
    assert doc not in pn.state._change_callbacks
    assert not panel_internals.take_scheduled_change(doc, callback.keywords["event_id"])


def test_panel_leaves_the_busy_indicator_alone_for_changes_named_in__busy__ignore(monkeypatch):
    added = []
    monkeypatch.setattr(pn.state, "_add_busy_event", added.append)
    live, plain = LiveSlider(start=0, end=1, value=0.0), pn.widgets.FloatSlider(start=0, end=1, value=0.0)
    live._process_events({"value": 0.5})
    assert added == [] and live.value == 0.5
    plain._process_events({"value": 0.5})
    assert len(added) == 1 and plain.value == 0.5


# ---------------------------------------------------------------- session_websockets (_subscribed_connections, _socket)
def test_a_bokeh_session_keeps_its_connections_and_their_websocket_handlers_where_we_look():
    from bokeh.server.connection import ServerConnection
    from bokeh.server.contexts import BokehSessionContext
    from bokeh.server.session import ServerSession

    doc = Document()
    session = ServerSession("session-id", doc, io_loop=None)
    handler = SimpleNamespace()
    ServerConnection(protocol=None, socket=handler, application_context=None, session=session)
    context = BokehSessionContext("session-id", None, doc)
    context._set_session(session)
    assert panel_internals.session_websockets(SimpleNamespace(session_context=context)) == [handler]
    assert panel_internals.session_websockets(Document()) == []


# ---------------------------------------------------------------- buffered_input_bytes (IOStream._read_buffer_size)
def test_tornado_counts_bytes_read_from_the_socket_but_not_handed_on():
    from tornado.iostream import IOStream

    async def scenario() -> int:
        ours, browser = socket.socketpair()
        stream = IOStream(ours)
        try:
            browser.send(b"hello")
            await stream.read_bytes(1)
            return panel_internals.buffered_input_bytes(stream)
        finally:
            stream.close()
            browser.close()

    with ThreadPoolExecutor(1) as pool:  # a fresh loop: the browser tests leave one running here
        assert pool.submit(asyncio.run, scenario()).result() == 4


# ---------------------------------------------------------------- cleanup_document (panel.io.document._cleanup_doc)
def test_cleaning_up_a_document_runs_its_session_callbacks_and_drops_panels_views_of_it():
    from panel.io.state import set_curdoc

    doc, ended = Document(), []
    doc.on_session_destroyed(ended.append)
    with set_curdoc(doc):
        pn.Column(pn.pane.Markdown("x")).server_doc(doc)
    assert any(view_doc is doc for _, _, view_doc, _ in pn.state._views.values())
    panel_internals.cleanup_document(doc)
    assert ended == [None] and not any(view_doc is doc for _, _, view_doc, _ in pn.state._views.values())


# ---------------------------------------------------------------- serve_styles_locally (template variable dist_url, patch_model_css)
def test_panel_takes_its_stylesheet_urls_from_the_documents_dist_url():
    doc = Document()
    doc.template_variables["dist_url"] = "/here/static/extensions/panel/"
    root = pn.pane.Markdown("x").get_root(doc)
    urls = [sheet.url for sheet in root.stylesheets if isinstance(sheet, ImportedStyleSheet)]
    assert urls and all(url.startswith("/here/static/extensions/panel/") for url in urls)


def test_serving_styles_locally_points_a_sessions_stylesheets_at_this_server():
    from bokeh.server.contexts import BokehSessionContext
    from panel.io.resources import LOCAL_DIST

    doc = Document()
    context = BokehSessionContext("session-id", None, doc)
    doc._session_context = weakref.ref(context)
    root = pn.pane.Markdown("x").get_root(doc)
    doc.add_root(root)
    assert any(sheet.url.startswith("https://") for sheet in root.select({"type": ImportedStyleSheet}))
    panel_internals.serve_styles_locally(doc)
    assert doc.template_variables["dist_url"] == LOCAL_DIST
    for callback in list(doc.session_callbacks):
        callback.callback()
    assert all(sheet.url.startswith(LOCAL_DIST) for sheet in root.select({"type": ImportedStyleSheet}))


def test_nothing_is_patched_outside_a_server_session():
    doc = Document()
    panel_internals.serve_styles_locally(doc)
    panel_internals.serve_styles_locally(None)
    assert "dist_url" not in doc.template_variables and not doc.session_callbacks



def test_bokehjs_sends_a_change_only_for_a_property_whose_syncable_getter_says_so():
    """PAUSE_SYNC_JS shadows `Property.syncable` on one property; BokehJS must still read it there."""
    import re
    from pathlib import Path

    import bokeh

    from explorer.app.panel_internals import PAUSE_SYNC_JS

    js = (Path(bokeh.__file__).parent / "server" / "static" / "js" / "bokeh.js").read_text()
    assert re.search(r"get syncable\(\) \{\s*return !this\.internal;", js)  # a getter on the prototype
    assert re.search(r"_push_changes\(changes, sync\) \{.*?if \(prop\.syncable\) \{", js, re.DOTALL)
    assert 'Object.defineProperty(model.properties[attr], "syncable"' in PAUSE_SYNC_JS


def test_panel_takes_a_documents_location_from_state_locations_before_building_one():
    from bokeh.document import Document
    from panel.io.location import Location
    from panel.io.state import set_curdoc, state

    from explorer.app.panel_internals import set_session_location

    doc, location = Document(), Location(search="?view=mine")
    set_session_location(doc, location)
    try:
        with set_curdoc(doc):
            assert state.location is location
    finally:
        state._locations.pop(doc, None)


def _document_with_an_array() -> tuple[Document, np.ndarray]:
    values = np.arange(1000, dtype=np.float64) / 7
    doc = Document()
    doc.add_root(ColumnDataSource(data={"x": values}))
    return doc, values


def test_bokeh_serializes_a_documents_arrays_as_buffers_where_a_repull_loses_them():
    doc, _ = _document_with_an_array()
    assert len(doc.to_json().buffers) == 1  # what pull_doc_reply.create sends as a binary buffer
    assert inspect.signature(pull_doc_reply.create).parameters.keys() >= {"request_id", "document"}


def test_an_inlined_pull_reply_has_no_buffers_and_gives_the_same_document(monkeypatch):
    monkeypatch.setattr(pull_doc_reply, "create", pull_doc_reply.__dict__["create"])  # Bokeh's own, after the test
    panel_internals.inline_pulled_arrays()
    panel_internals.inline_pulled_arrays()  # idempotent
    doc, values = _document_with_an_array()
    reply = Protocol().create("PULL-DOC-REPLY", "request-1", doc)
    assert reply.buffers == []
    pulled = Document()
    reply.push_to_document(pulled)
    (source,) = pulled.roots
    np.testing.assert_array_equal(np.asarray(source.data["x"]), values)


def _drop_a_failed_task(loop, error: BaseException) -> None:
    """A task that ends in `error` and that nobody awaits, garbage-collected: asyncio reports it."""
    async def fail():
        raise error

    task = loop.create_task(fail())
    loop.run_until_complete(asyncio.sleep(0))
    del task
    gc.collect()


def test_a_write_to_a_page_that_went_away_is_one_quiet_line_and_other_errors_still_reach_the_handler(caplog):
    loop = asyncio.new_event_loop()
    reported = []
    loop.set_exception_handler(lambda loop, context: reported.append(context["exception"]))
    try:
        panel_internals.quiet_writes_to_closed_pages(loop)
        with caplog.at_level(logging.DEBUG, logger=panel_internals.__name__):
            _drop_a_failed_task(loop, WebSocketClosedError())
            other = RuntimeError("a real failure")
            _drop_a_failed_task(loop, other)
    finally:
        loop.close()
    assert reported == [other]
    assert [record.getMessage() for record in caplog.records] == [
        "a page went away while an update was being sent to it"]


def test_without_a_handler_before_other_errors_go_to_asyncios_default(caplog):
    loop = asyncio.new_event_loop()
    try:
        panel_internals.quiet_writes_to_closed_pages(loop)
        with caplog.at_level(logging.ERROR, logger="asyncio"):
            _drop_a_failed_task(loop, RuntimeError("a real failure"))
    finally:
        loop.close()
    assert any("Task exception was never retrieved" in record.getMessage() for record in caplog.records)


# ---------------------------------------------------------------- change_bokeh_models (the document lock)

class SessionContext:
    """What Panel and Bokeh read of a served document's session context."""

    def __init__(self, session):
        self.session, self.request = session, None


async def _a_served_document():
    """A document with one ColumnDataSource ({"x": [1]}) in a Bokeh ServerSession: (doc, source, session)."""
    from bokeh.server.session import ServerSession
    from tornado.ioloop import IOLoop

    doc, source = Document(), ColumnDataSource({"x": [1]})
    doc.add_root(source)
    session = ServerSession("a-session", doc, IOLoop.current(), token="a-token")
    context = SessionContext(session)
    doc._session_context = lambda: context
    return doc, source, session


def test_bokeh_refuses_a_change_to_a_served_document_outside_its_lock_and_the_helper_schedules_it_inside():
    async def change_both_ways():
        doc, source, _ = await _a_served_document()
        patched = len(_PATCHED_CURDOCS)
        with pytest.raises(RuntimeError, match="_pending_writes should be non-None"):
            source.data = {"x": [2]}
        del _PATCHED_CURDOCS[patched:]  # Bokeh's patch_curdoc does not unwind when a callback raises
        panel_internals.change_bokeh_models(doc, lambda: setattr(source, "data", {"x": [3]}))
        scheduled = dict(source.data)
        await asyncio.sleep(0.05)
        return scheduled, dict(source.data)

    scheduled, later = asyncio.run(change_both_ways())
    assert scheduled == {"x": [2]} and later == {"x": [3]}


def test_a_document_outside_a_server_is_changed_at_once():
    doc, source = Document(), ColumnDataSource({"x": [1]})
    doc.add_root(source)
    panel_internals.change_bokeh_models(doc, lambda: setattr(source, "data", {"x": [2]}))
    panel_internals.change_bokeh_models(None, lambda: setattr(source, "data", {"x": [3]}))
    assert source.data == {"x": [3]}


# ---------------------------------------------------------------- ignore_detached_connections (WSHandler._handle, on_close)

async def _a_page_whose_connection_was_detached():
    """A stand-in for Bokeh's WSHandler whose real ServerConnection was detached, and a message it sent."""
    from bokeh.document.events import ModelChangedEvent
    from bokeh.server.connection import ServerConnection
    from bokeh.server.protocol_handler import ProtocolHandler

    doc, source, session = await _a_served_document()
    connection = ServerConnection(Protocol(), socket=None, application_context=None, session=session)
    connection.detach_session()  # what on_close, or a keep-alive ping that found the socket closed, does
    page = SimpleNamespace(connection=connection, handler=ProtocolHandler(), close_code=None, close_reason=None)
    return page, Protocol().create("PATCH-DOC", [ModelChangedEvent(doc, source, "name", "changed")])


def _handle_and_close(wshandler) -> object:
    async def both():
        page, message = await _a_page_whose_connection_was_detached()
        work = await wshandler._handle(page, message)
        wshandler.on_close(page)
        return work

    return asyncio.run(both())


def test_bokeh_fails_an_assert_on_a_detached_connection_and_the_patch_skips_it_with_debug_lines(caplog):
    from bokeh.server.views.ws import WSHandler

    before = WSHandler._handle, WSHandler.on_close  # serve, run earlier in this process, may have patched them
    bokehs_own = SimpleNamespace(**{name: getattr(method, "__wrapped__", method)
                                    for name, method in zip(("_handle", "on_close"), before)})
    with caplog.at_level(logging.ERROR), pytest.raises(AssertionError):
        _handle_and_close(bokehs_own)  # the message's AssertionError is logged, on_close raises
    assert "error handling message" in caplog.text and "AssertionError" in caplog.text
    caplog.clear()
    try:
        panel_internals.ignore_detached_connections()
        panel_internals.ignore_detached_connections()
        assert WSHandler._handle.__wrapped__ is bokehs_own._handle  # idempotent: wrapped once
        with caplog.at_level(logging.DEBUG):
            work = _handle_and_close(WSHandler)
    finally:
        WSHandler._handle, WSHandler.on_close = before
    assert work is None
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    assert "a message from a page that went away was dropped" in caplog.text
    assert "a page closed after the server had let its connection go" in caplog.text
