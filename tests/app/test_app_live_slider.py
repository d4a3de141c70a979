"""The Explore view's latency plumbing: a slider without Panel's 50 ms debounce that still draws
only the newest of a burst of moves, TCP_NODELAY on the session's sockets, and a norm readout that
sends only its changed strings."""

from __future__ import annotations

import asyncio
import socket
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import panel as pn
import pytest
from tornado.locks import Lock

from explorer.app import components
from explorer.app.components import LiveSlider, Readout, input_waiting, no_delay, writes_finished


def run(coroutine):
    """Run `coroutine` on a fresh event loop in its own thread (the browser tests leave
    Playwright's loop running in this one)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


class FakeHandler:
    def __init__(self, stream=None):
        self.nodelay_calls = 0
        self.write_lock = Lock()
        self.ws_connection = SimpleNamespace(stream=stream)

    def set_nodelay(self, value: bool) -> None:
        assert value is True
        self.nodelay_calls += 1


class FakeDoc:
    """What the helpers read of a served Bokeh Document: its session's connections."""

    def __init__(self, *handlers):
        connections = [SimpleNamespace(_socket=handler) for handler in handlers]
        self.session_context = SimpleNamespace(session=SimpleNamespace(_subscribed_connections=connections))
        self.timeouts = []

    def add_timeout_callback(self, callback, timeout_ms):
        self.timeouts.append((callback, timeout_ms))


def test_the_live_slider_skips_the_debounce_and_the_busy_indicator():
    slider = LiveSlider(start=-3, end=3, step=0.05, value=0.0)
    assert isinstance(slider, pn.widgets.FloatSlider)
    assert slider._debounce == 0
    assert {"value", "value_throttled"} <= set(slider._busy__ignore)


def test_no_delay_sets_tcp_nodelay_once_per_socket_and_ignores_documents_without_a_server():
    one, two = FakeHandler(), FakeHandler()
    doc = FakeDoc(one, two)
    no_delay(doc)
    no_delay(doc)
    assert (one.nodelay_calls, two.nodelay_calls) == (1, 1)
    no_delay(SimpleNamespace(session_context=None))  # a document outside a server: nothing to do
    no_delay(None)


def test_writes_finished_waits_for_a_message_being_written():
    handler = FakeHandler()

    async def scenario():
        await handler.write_lock.acquire()  # a message is half-written
        waiting = asyncio.ensure_future(writes_finished(FakeDoc(handler)))
        await asyncio.sleep(0.02)
        assert not waiting.done()
        handler.write_lock.release()
        await asyncio.wait_for(waiting, 1.0)

    run(scenario())


def test_input_waiting_sees_bytes_the_server_has_not_read():
    ours, browser = socket.socketpair()
    try:
        stream = SimpleNamespace(socket=ours, _read_buffer_size=0)
        doc = FakeDoc(FakeHandler(stream))
        assert not input_waiting(doc)
        browser.send(b"x")
        assert input_waiting(doc)
        ours.recv(1)
        stream._read_buffer_size = 12  # read from the socket, not yet handled
        assert input_waiting(doc)
    finally:
        ours.close()
        browser.close()
    assert not input_waiting(FakeDoc())


def test_a_change_waits_while_newer_input_is_waiting_then_runs_with_the_newest_value(monkeypatch):
    slider = LiveSlider(start=-3, end=3, step=0.05, value=0.0)
    seen = []
    slider.param.watch(lambda event: seen.append(event.new), "value")
    doc = FakeDoc()
    waiting = [True]
    monkeypatch.setattr(components, "input_waiting", lambda doc: waiting[0])

    slider._events = {"value": 0.5}  # the first move of a drag runs at once
    run(slider._change_coroutine(doc))
    assert seen == [0.5] and doc.timeouts == []
    slider._events = {"value": 0.7}  # the next one, with more moves waiting, waits for them
    run(slider._change_coroutine(doc))
    assert seen == [0.5] and len(doc.timeouts) == 1  # deferred, a retry scheduled
    slider._events["value"] = 1.0  # what Panel does with the move that was waiting
    waiting[0] = False
    retry, _ = doc.timeouts[0]
    run(retry())
    assert seen == [0.5, 1.0] and slider.value == 1.0


def test_a_keyboard_step_never_waits_for_more_input(monkeypatch):
    slider = LiveSlider(start=-3, end=3, step=0.05, value=0.0)
    doc = FakeDoc()
    waiting = [True]
    monkeypatch.setattr(components, "input_waiting", lambda doc: waiting[0])
    for value in (0.05, 0.1, 0.15):
        waiting[0] = True  # the step's release is on its way
        slider._events = {"value": value}
        run(slider._change_coroutine(doc))
        assert slider.value == value
        waiting[0] = False
        slider._events = {"value_throttled": value}
        run(slider._change_coroutine(doc))
    assert doc.timeouts == []


def test_a_change_runs_anyway_after_too_many_deferrals(monkeypatch):
    slider = LiveSlider(start=-3, end=3, step=0.05, value=0.0)
    slider.max_deferrals = 2
    slider._dragging = True
    doc = FakeDoc()
    monkeypatch.setattr(components, "input_waiting", lambda doc: True)
    slider._events = {"value": 2.0}
    for _ in range(3):
        run(slider._change_coroutine(doc))
    assert slider.value == 2.0 and len(doc.timeouts) == 2


def test_a_change_already_flushed_by_panel_does_not_run_twice(monkeypatch):
    slider = LiveSlider(start=-3, end=3, step=0.05, value=0.0)
    seen = []
    slider.param.watch(lambda event: seen.append(event.new), "value")
    doc = FakeDoc()
    monkeypatch.setattr(components, "input_waiting", lambda doc: False)
    monkeypatch.setitem(pn.state._change_callbacks, doc, {"abc": None})
    slider._events = {"value": 1.5}
    run(slider._change_coroutine(doc, "abc"))
    assert seen == [1.5] and doc not in pn.state._change_callbacks
    run(slider._change_coroutine(doc, "abc"))  # the same scheduled change, again
    assert seen == [1.5]


@pytest.fixture
def explore_view(tiny_pack):
    from explorer.app.session import Session
    from explorer.app.views.explore import ExploreState, ExploreView
    from explorer.resources import resources_for

    return ExploreView(ExploreState(Session(resources_for(tiny_pack), seed=0)))


def test_the_explore_sliders_are_live_sliders_and_the_norm_readout_follows_the_picture(explore_view):
    view = explore_view
    assert view._sliders and all(isinstance(s, LiveSlider) for s in view._sliders.values())
    assert isinstance(view.norm, Readout) and view.norm.label == "latent norm"
    assert "typical norm" in view.norm.note
    name, slider = next(iter(view._sliders.items()))
    slider.value = 1.5
    norm = float(np.linalg.norm(view.state.current_latent()))
    assert view.state.strengths[name] == 1.5
    assert view.norm.value == f"{norm:.2f}"
