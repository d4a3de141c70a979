"""Presenter mode in the page: the presenter's bar (it publishes the link, shows who follows) and a
participant's bar (it follows the presenter's link until "Explore on my own").

The shared state and its poller are in explorer.app.workshop. A participant applies the
presenter's link by the code that opens a link: another pack is another page (the browser goes
there); on the same pack the view, the current latent and the view's own state are set in place.
A participant's page never writes the room: only a page opened with the token publishes.
"""

from __future__ import annotations

import logging
import os
from urllib.parse import urlencode

import numpy as np
import panel as pn
import param
from panel.custom import JSComponent

from explorer.app.panel_internals import session_websockets
from explorer.app.registry import link_for
from explorer.app.urlstate import Link
from explorer.app.workshop import (
    ALONE_KEY,
    ALONE_VALUE,
    PRESENTER_KEY,
    Counts,
    Member,
    RoomPoller,
    RoomState,
    Workshop,
)

log = logging.getLogger(__name__)
_OWN_KEYS = ("pack", "view", "z")


class Navigator(JSComponent):
    """Sends the browser to `href` (replacing this page in its history) whenever `href` is set."""

    href = param.String(default="")

    _esm = """
    export function render({ model, el }) {
      el.style.display = "none";
      const go = () => { if (model.href) { window.location.replace(model.href); } };
      model.on("href", go);
    }
    """


def view_part(link: Link) -> dict[str, str]:
    """What a link says about its view's own state: everything but the pack, the view and `z`."""
    return {key: value for key, value in link.to_query().items() if key not in _OWN_KEYS}


def apply_link(app, query: dict[str, str]) -> str | None:
    """Make `app` show what `query` links to, as opening it would. Another pack needs another
    page: its href is returned (nothing changes here). Else None, with the view shown, the current
    latent set and the view rebuilt from the link where its own state differs."""
    link, messages = app.open_link(query, app.registry)
    if link.pack != app.resources.name:
        return "?" + urlencode(link.to_query())
    name = link.view or app.registry.first
    session = app.session
    z = link.latents.get("z")
    if z is not None and not np.array_equal(session.checked(z), session.latent):
        session.set_latent(z, "presenter")
    app.link = link
    view = app.views.get(name)
    if view is None or view_part(link_for(session, view.state)) != view_part(link):
        app.rebuild(name, link)
    app.tabs.active = app.registry.index(name)
    session.commit()  # this page's address bar shows the link it now follows
    if messages:
        session.notify(" ".join(messages), "warning")
    return None


def counts_text(counts: Counts) -> str:
    """The presenter's line about the room."""
    people = "participant follows" if counts.following == 1 else "participants follow"
    return (f"**Presenting.** {counts.following} {people} you; {counts.alone} exploring on their own. "
            "Participants open this server's address without the token.")


class PresenterBar(pn.viewable.Viewer):
    """The presenter's page: publishes its link on every change and shows how many follow."""

    def __init__(self, app, room: Workshop, poller: RoomPoller, **params):
        super().__init__(**params)
        self.app, self.poller = app, poller
        self._published: dict[str, str] | None = None
        app.set_url_extras({PRESENTER_KEY: room.token})
        self.text = pn.pane.Markdown(counts_text(poller.counts), css_classes=["workshop-presenter"],
                                     margin=(0, 10))
        self._layout = pn.Row(self.text, css_classes=["workshop-bar"], sizing_mode="stretch_width")
        app.session.param.watch(lambda *events: self.publish(), ["link_version", "view"])
        self.member = Member(pn.state.curdoc, show_counts=self.show_counts)
        _join_on_load(self.member, poller, self.publish)

    def publish(self) -> None:
        """Put this page's link into the room (unless it is what was put there last)."""
        query = self.app.link_query()
        if query != self._published:
            self._published = query
            self.poller.store.publish(query)

    def show_counts(self, counts: Counts) -> None:
        self.text.object = counts_text(counts)

    def __panel__(self):
        return self._layout


class ParticipantBar(pn.viewable.Viewer):
    """A participant's page: follows the presenter's link until "Explore on my own"; "Follow again" rejoins."""

    following = param.Boolean(default=True)

    def __init__(self, app, poller: RoomPoller, following: bool = True, applied: int = 0, **params):
        super().__init__(following=following, **params)
        self.app, self.poller = app, poller
        self.applied = applied
        self.navigator = Navigator(width=0, height=0, margin=0)
        self.status = pn.pane.HTML(self._status_html(), css_classes=["workshop-status"], margin=(0, 10))
        self.toggle = pn.widgets.Button(label=self._label(), color="light", css_classes=["workshop-toggle"])
        self.toggle.on_click(lambda event: self.set_following(not self.following))
        self._layout = pn.Row(self.status, self.toggle, self.navigator, css_classes=["workshop-bar"],
                              sizing_mode="stretch_width")
        self.member = Member(pn.state.curdoc, receive=self.receive)
        self.member.following = following
        self._url_extras()
        _join_on_load(self.member, poller, lambda: self.receive(poller.store.read()))

    def set_following(self, following: bool) -> None:
        """Break away from the presenter (False), or follow again (True: the latest link at once)."""
        self.following = self.member.following = following
        self.toggle.label = self._label()
        self.status.object = self._status_html()
        self._url_extras()
        if following:
            self.receive(self.poller.store.read(), again=True)

    def receive(self, state: RoomState | None, again: bool = False) -> None:
        """Show the presenter's link `state` if following and it is newer than the one shown (or `again`)."""
        if state is None or not self.following or (state.version <= self.applied and not again):
            return
        self.applied = state.version
        try:
            href = apply_link(self.app, state.query)
        except Exception as error:  # the presenter's link must never take a participant's page down
            log.exception("following the presenter's link")
            self.app.session.notify(f"Could not follow the presenter's view: {error}", "error")
            return
        if href is not None:
            self.navigator.href = href

    def _url_extras(self) -> None:
        self.app.set_url_extras({} if self.following else {ALONE_KEY: ALONE_VALUE})

    def _label(self) -> str:
        return "Explore on my own" if self.following else "Follow again"

    def _status_html(self) -> str:
        text = ("<b>Following the presenter</b>: this page shows what they show." if self.following
                else "<b>Exploring on your own</b>: the presenter's changes do not reach this page.")
        return f'<span data-worker="{os.getpid()}" data-following="{str(self.following).lower()}">{text}</span>'

    def __panel__(self):
        return self._layout


def _join_on_load(member: Member, poller: RoomPoller, then) -> None:
    """Put `member` in the room once its page has loaded in a browser (a page a worker built only to
    answer the GET, whose websocket went to another worker, never joins); leave when it ends."""
    doc = member.doc
    if doc is None or doc.session_context is None:  # built outside a server (a test)
        return
    member.connected = lambda: bool(session_websockets(doc))

    def joined() -> None:
        poller.join(member)
        then()

    pn.state.onload(joined)
    doc.on_session_destroyed(lambda session_context: poller.leave(member))


def workshop_bar(app, room: Workshop, poller: RoomPoller, query: dict[str, str], applied: int = 0):
    """The bar for a page opened with `query`: the presenter's (with the token), else a participant's."""
    if room.is_presenter(query):
        return PresenterBar(app, room, poller)
    return ParticipantBar(app, poller, following=query.get(ALONE_KEY) != ALONE_VALUE, applied=applied)
