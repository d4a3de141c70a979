"""The explorer app: one template per browser session; each tab is built on its first visit.

    latent-explorer serve              # programmatic pn.serve of `create_app`
    panel serve explorer/app/main.py   # also works: the module marks the app servable
"""

from __future__ import annotations

import logging
from urllib.parse import urlencode

import panel as pn
from bokeh.document.events import DocumentPatchedEvent

from explorer.app.components import LinkWriter
from explorer.app.hosting import Slot, hosting, sessions
from explorer.app.page_text import page_text
from explorer.app.panel_internals import cleanup_document, serve_styles_locally
from explorer.app.presenter import workshop_bar
from explorer.app.reconnect import Reconnector
from explorer.app.registry import Registry, ViewSpec, link_for
from explorer.app.request_args import checked_session_arguments
from explorer.app.session import Session
from explorer.app.urlstate import LATENT_KEYS, Link, read_link
from explorer.app.views import VIEWS
from explorer.app.workshop import ALONE_KEY, ALONE_VALUE, poller, workshop
from explorer.memory import TrimAfterSessions
from explorer.resources import PackUnavailable, default_pack, installed_packs, resources_for

log = logging.getLogger(__name__)
# Memory that closed sessions freed goes back to the system shortly after they close.
_trim_after_sessions = TrimAfterSessions()

CSS = """
.explore-image img, .jdiagram img, .sample-grid img { border-radius: 4px; }
.pack-links a { margin-right: 0.6em; }
"""


class ExplorerApp(pn.viewable.Viewer):
    """One session: the shared Session state, the registry's views (built lazily) and the link in the URL."""

    def __init__(self, query: dict[str, str] | None = None, seed: int | None = None, views: Registry = VIEWS,
                 **params):
        super().__init__(**params)
        self.registry = views
        link, messages = self.open_link(query or {}, views)
        self.link = link
        self.resources = resources_for(link.pack)
        self.session = Session(self.resources, seed=seed, view=link.view or views.first, latent=link.latents.get("z"))
        self.link_writer = LinkWriter(width=0, height=0, margin=0)
        self.url_extras: dict[str, str] = {}  # kept in this page's address bar and pack links, not in shared links
        self.pack_links = pn.pane.HTML("", margin=(5, 10))
        self.views: dict[str, pn.viewable.Viewer] = {}
        self._containers = {spec.name: pn.Column(sizing_mode="stretch_width", name=spec.title) for spec in views}
        # Not dynamic=True: Panel 1.9 then re-creates a hidden tab's updated models with CDN
        # stylesheets, which an offline server cannot serve. Views are built lazily instead.
        self.tabs = pn.Tabs(*self._containers.values(), active=views.index(self.session.view),
                            sizing_mode="stretch_width")
        self.tabs.param.watch(self._tab_changed, "active")
        session = self.session
        self.message = pn.pane.Alert(pn.bind(page_text, session.param.message),
                                     alert_type=pn.bind(_ALERT.get, session.param.level),
                                     visible=pn.bind(bool, session.param.message), css_classes=["app-message"],
                                     sizing_mode="stretch_width")
        self.link_anchor = pn.pane.HTML("", css_classes=["view-link"])
        if messages:
            self.session.notify(" ".join(messages), "warning")
        self._build_or_explain(self.session.view)
        self.session.param.watch(self._write_link, ["link_version", "view"])
        self._write_link()

    @staticmethod
    def open_link(query: dict[str, str], views: Registry) -> tuple[Link, list[str]]:
        """The link's state with its pack opened; a linked pack that cannot be opened gives way to
        the default one, with the reason (PackUnavailable only when the default fails too)."""
        def read(query: dict[str, str]) -> tuple[Link, list[str]]:
            link, messages = read_link(
                query, packs=installed_packs(), default_pack=default_pack(), views=views.names,
                latent_dim_of=lambda name: resources_for(name).latent_dim,
            )
            resources_for(link.pack)
            return link, messages

        try:
            return read(query)
        except PackUnavailable as error:
            asked = str(query.get("pack") or "")
            if not asked or asked == default_pack():
                raise
            link, messages = read({k: v for k, v in query.items() if k not in ("pack", *LATENT_KEYS)})
            return link, [f"Pack {asked!r} cannot be opened here: {error} Showing {link.pack!r} instead.", *messages]

    # ------------------------------------------------------------------ views
    def build(self, name: str) -> pn.viewable.Viewer:
        """The view `name`, constructed on first use (as the link says, if it is the linked view);
        UnknownView for a name that is not in the registry."""
        spec = self.registry[name]
        if name in self.views:
            return self.views[name]
        view = spec.build(self.session, self.link if self.link.view == name else None)
        self._show(name, view)
        return view

    def rebuild(self, name: str, link: Link) -> pn.viewable.Viewer:
        """The view `name` built anew with its state as `link` describes it (the one it replaces
        stops following the session)."""
        old = self.views.pop(name, None)
        if old is not None:
            old.state.release()
        view = self.registry[name].build(self.session, link)
        self._show(name, view)
        return view

    def _show(self, name: str, view: pn.viewable.Viewer) -> None:
        self.views[name] = view
        self._containers[name].objects = [*why_card(self.registry[name]), view]

    def _build_or_explain(self, name: str) -> None:
        try:
            self.build(name)
        except Exception as error:  # a view that cannot be built must not take the session down
            log.exception("building view %s", name)
            self.session.notify(f"The {self.registry[name].title} view could not be built: {error}", "error")

    def _tab_changed(self, event) -> None:
        name = self.registry.names[event.new]
        self._build_or_explain(name)
        self.session.view = name

    # ------------------------------------------------------------------ link and messages
    def link_query(self) -> dict[str, str]:
        """The query string of the link that reopens what this session shows."""
        view = self.views.get(self.session.view)
        return link_for(self.session, view.state if view is not None else None).to_query()

    def _write_link(self, *events) -> None:
        link = self.link_query()
        self.link_anchor.object = f'<a href="?{urlencode(link)}" class="view-link-anchor">Link to this view</a>'
        self.link_writer.query = urlencode({**link, **self.url_extras})

    def set_url_extras(self, extras: dict[str, str]) -> None:
        """Keep `extras` (the presenter's token, a participant's "on my own") in this page's address
        bar and pack links, so a reload or a pack switch keeps them; "Link to this view" leaves them out."""
        self.url_extras = dict(extras)
        self._write_link()
        self.pack_links.object = self._pack_links_html()

    def _pack_links_html(self) -> str:
        names = [name for name in installed_packs() if name != self.resources.name]
        if not names:
            return ""
        links = " ".join(f'<a href="?{urlencode({"pack": name, **self.url_extras})}">{name}</a>' for name in names)
        return f"<div class='pack-links'>Other packs: {links}</div>"

    # ------------------------------------------------------------------ page
    def sidebar(self) -> list:
        r = self.resources
        card = r.pack.card
        facts = [
            f"**Pack** `{r.name}`: {card.get('dataset', {}).get('name', '?')}, "
            f"{card.get('model', {}).get('architecture', '?')}, latent size {r.latent_dim}, {r.prior} prior, "
            f"images {'×'.join(map(str, r.image_shape))}, {len(r.ids)} held-out images indexed.",
        ]
        dismiss = pn.widgets.Button(label="Clear message", color="light", width=120)
        dismiss.on_click(lambda event: self.session.notify(""))
        self.pack_links.object = self._pack_links_html()
        return [pn.pane.Markdown("\n\n".join(facts)), self.pack_links, self.link_anchor, dismiss]

    def __panel__(self):
        return pn.Column(self.message, self.tabs, self.link_writer, sizing_mode="stretch_width")


_ALERT = {"info": "info", "warning": "warning", "error": "danger"}


def why_card(spec: ViewSpec) -> list[pn.Card]:
    """The view's "why" for a workshop, as a card the reader can fold away (none when it has no why)."""
    if not spec.why:
        return []
    return [pn.Card(pn.pane.Markdown(spec.why, margin=(0, 10)), title="Why look at this view", collapsed=False,
                    css_classes=["view-why"], sizing_mode="stretch_width", margin=(5, 5, 10, 5))]


def _query() -> tuple[dict[str, str], str]:
    """This session's link arguments as plain strings, within our limits, and a line on what was dropped.

    Read from the request itself, before Panel's Location parses them: a value of 5,000 digits
    made that raise (HTTP 500). The session keeps only what passed (see request_args).
    """
    return checked_session_arguments(pn.state.curdoc)


def server_full_page(limit: int | None) -> pn.viewable.Viewable:
    """The light page a visitor gets while every session place is taken."""
    return pn.Column(
        pn.pane.Markdown(
            f"## Latent Explorer is full\n\nAll {limit} places on this server are in use. Please try again "
            "in a minute: a place frees up shortly after someone closes their tab.",
            css_classes=["server-full"],
        ),
        pn.pane.HTML('<a href="" class="try-again">Try again</a>'),
        margin=(20, 40),
    )


def create_app() -> pn.viewable.Viewable:
    """A fresh page for one browser session, or the "server full" page when every place is taken."""
    query, note = _query()  # first: nothing reads the request's arguments before they are checked
    doc = pn.state.curdoc
    if doc is not None and doc.session_context is not None:
        pn.config.reconnect = True  # this session's: a dropped websocket reconnects (see reconnect.py)
    serve_styles_locally(doc)
    slot = sessions.enter()
    if slot is None:
        return server_full_page(sessions.limit)
    try:
        template, main, sidebar, _ = _explorer_page(query, note)
    except Exception as error:  # Panel would show the visitor the traceback, server paths and all
        slot.release()
        log.exception("building a page")
        return pn.pane.Alert(f"**This page could not be built.** {page_text(str(error))}", alert_type="danger")
    except BaseException:
        slot.release()
        raise
    template.main.append(Reconnector())
    _hold_place(slot, main, sidebar)
    return template


def warm_up() -> None:
    """Build and discard one page with every view, so that the imports, stylesheets and caches
    a first visitor would wait for happen now, before the server takes visitors (or forks)."""
    from bokeh.document import Document
    from panel.io.state import set_curdoc

    doc = Document()
    with set_curdoc(doc):
        template, _, _, app = _explorer_page()
        for name in app.registry.names if app is not None else ():
            app._build_or_explain(name)
        template.server_doc(doc)
        cleanup_document(doc)


def _explorer_page(query: dict[str, str] | None = None, note: str = "",
                   ) -> tuple[pn.template.BaseTemplate, pn.Column, pn.Column, ExplorerApp | None]:
    """The template, the columns that hold the session's main area and sidebar, and the app
    (None when no pack can be opened) for the link's `query`; `note` says what of the link was dropped."""
    pn.extension(raw_css=[CSS], notifications=False)
    # Bootstrap, not Fast or Material: those fetch Google fonts, which offline servers cannot.
    template = pn.template.BootstrapTemplate(
        title="Latent Explorer", sidebar_width=300, header_background="#0072B2",
    )
    main, sidebar = pn.Column(sizing_mode="stretch_width"), pn.Column(sizing_mode="stretch_width")
    template.main.append(main)
    template.sidebar.append(sidebar)
    query = query or {}
    room, room_state = workshop(), None
    if room is not None and not room.is_presenter(query) and query.get(ALONE_KEY) != ALONE_VALUE:
        room_state = poller().store.read()  # a participant who follows opens what the presenter shows
    try:
        app = ExplorerApp(room_state.query if room_state is not None else (query or {}))
    except PackUnavailable as error:
        main.append(pn.pane.Alert(f"**No pack to explore.** {page_text(str(error))}", alert_type="danger"))
        return template, main, sidebar, None
    if note:  # before the link's own messages
        level = "error" if app.session.level == "error" else "warning"
        app.session.notify(f"{note} {app.session.message}".strip(), level)
    sidebar.extend(app.sidebar())
    if room is not None:
        main.append(workshop_bar(app, room, poller(), query, room_state.version if room_state else 0))
    main.append(app)
    return template, main, sidebar, app


def _hold_place(slot: Slot, main: pn.Column, sidebar: pn.Column) -> None:
    """Keep the session's place until Bokeh destroys the session, or until it sits idle too long
    (then its views are dropped for a note, and the place is given back)."""
    doc = pn.state.curdoc
    if doc is None or doc.session_context is None:  # built outside a server (a test, a notebook)
        slot.release()
        return
    doc.on_session_destroyed(lambda session_context: slot.release())
    doc.on_session_destroyed(_trim_after_sessions.session_destroyed)
    timeout = hosting().idle_timeout_s
    if timeout is None:
        return
    # Changes to the page's models, from the browser or in answer to it; not Bokeh's own
    # bookkeeping of callbacks.
    doc.on_change(lambda event: isinstance(event, DocumentPatchedEvent) and slot.touch())

    def end_if_idle() -> None:
        if slot.released or slot.idle_seconds() < timeout:
            return
        doc.remove_periodic_callback(checker)
        slot.release()
        minutes = f"{timeout / 60:g} minute{'s' if timeout != 60 else ''}"
        sidebar.objects = []
        main.objects = [pn.pane.Alert(
            f"This session was closed after {minutes} without use, to make room for others. "
            "Reload the page to start again.", alert_type="info", css_classes=["session-ended"])]

    # Bokeh's own timer, not pn.state's: Panel's flips the page's busy indicator on every tick,
    # and that change would count as activity.
    checker = doc.add_periodic_callback(end_if_idle, int(1000 * min(60.0, max(1.0, timeout / 4))))


if __name__.startswith("bokeh"):  # `panel serve explorer/app/main.py`
    create_app().servable()
