"""The explorer app: one template per browser session; each tab is built on its first visit.

    latent-explorer serve              # programmatic pn.serve of `create_app`
    panel serve explorer/app/main.py   # also works: the module marks the app servable
"""

from __future__ import annotations

import logging
from urllib.parse import parse_qsl, urlencode

import panel as pn

from explorer.app.components import LinkWriter
from explorer.app.resources import PackUnavailable, default_pack, installed_packs, resources_for
from explorer.app.state import VIEW_TITLES, VIEWS, Session, link_for
from explorer.app.urlstate import read_link

log = logging.getLogger(__name__)

CSS = """
.explore-image img, .jdiagram img, .sample-grid img { border-radius: 4px; }
.pack-links a { margin-right: 0.6em; }
"""


class ExplorerApp(pn.viewable.Viewer):
    """One session: the shared Session state, the six views (built lazily) and the link in the URL."""

    def __init__(self, query: dict[str, str] | None = None, seed: int | None = None, **params):
        super().__init__(**params)
        link, messages = read_link(
            query or {}, packs=installed_packs(), default_pack=default_pack(), views=VIEWS,
            latent_dim_of=lambda name: resources_for(name).latent_dim,
        )
        self.link = link
        self.resources = resources_for(link.pack)
        self.session = Session(self.resources, seed=seed, view=link.view or "explore", latent=link.latents.get("z"))
        self.link_writer = LinkWriter(width=0, height=0, margin=0)
        self.views: dict[str, pn.viewable.Viewer] = {}
        self._containers = {name: pn.Column(sizing_mode="stretch_width", name=VIEW_TITLES[name]) for name in VIEWS}
        # Not dynamic=True: Panel 1.9 then re-creates a hidden tab's updated models with CDN
        # stylesheets, which an offline server cannot serve. Views are built lazily instead.
        self.tabs = pn.Tabs(*self._containers.values(), active=VIEWS.index(self.session.view),
                            sizing_mode="stretch_width")
        self.tabs.param.watch(self._tab_changed, "active")
        self.message = pn.pane.Alert("", alert_type="info", visible=False, css_classes=["app-message"],
                                     sizing_mode="stretch_width")
        self.session.param.watch(self._show_message, ["message", "level"])
        self.link_anchor = pn.pane.HTML("", css_classes=["view-link"])
        if messages:
            self.session.notify(" ".join(messages), "warning")
        self._build_or_explain(self.session.view)
        self.session.param.watch(self._write_link, ["link_version", "view"])
        self._write_link()

    # ------------------------------------------------------------------ views
    def build(self, name: str) -> pn.viewable.Viewer:
        """The view `name`, constructed on first use (with what the link says about it)."""
        if name in self.views:
            return self.views[name]
        from explorer.app.analogy import AnalogyView
        from explorer.app.attributes import AttributesView
        from explorer.app.explore import ExploreView
        from explorer.app.interpolate import InterpolateView
        from explorer.app.mine import MineView
        from explorer.app.sampling import SamplingView

        linked = self.link if self.link.view == name else None
        latents = linked.latents if linked else {}
        settings = linked.settings if linked else {}
        if name == "explore":
            view = ExploreView(self.session)
        elif name == "interpolate":
            view = InterpolateView(self.session, a=latents.get("a"), b=latents.get("b"))
        elif name == "analogy":
            size = _int(settings.get("n"), 3, 9)
            view = AnalogyView(self.session, corners={k: latents[k] for k in "abc" if k in latents},
                               ids=settings.get("ids"), size=size)
        elif name == "mine":
            view = MineView(self.session)
        elif name == "attributes":
            view = AttributesView(self.session)
        else:
            view = SamplingView(self.session, settings=settings)
        self.views[name] = view
        self._containers[name].objects = [view]
        return view

    def _build_or_explain(self, name: str) -> None:
        try:
            self.build(name)
        except Exception as error:  # a view that cannot be built must not take the session down
            log.exception("building view %s", name)
            self.session.notify(f"The {VIEW_TITLES[name]} view could not be built: {error}", "error")

    def _tab_changed(self, event) -> None:
        name = VIEWS[event.new]
        self._build_or_explain(name)
        self.session.view = name

    # ------------------------------------------------------------------ link and messages
    def link_query(self) -> dict[str, str]:
        views = self.views
        get = lambda name: views[name].state if name in views else None  # noqa: E731
        return link_for(self.session, get("interpolate"), get("analogy"), get("sampling")).to_query()

    def _write_link(self, *events) -> None:
        query = urlencode(self.link_query())
        self.link_anchor.object = f'<a href="?{query}" class="view-link-anchor">Link to this view</a>'
        self.link_writer.query = query

    def _show_message(self, *events) -> None:
        self.message.param.update(object=self.session.message, alert_type=_ALERT[self.session.level],
                                  visible=bool(self.session.message))

    # ------------------------------------------------------------------ page
    def sidebar(self) -> list:
        r = self.resources
        card = r.pack.card
        packs = installed_packs()
        links = " ".join(f'<a href="?pack={name}">{name}</a>' for name in packs if name != r.name)
        facts = [
            f"**Pack** `{r.name}`: {card.get('dataset', {}).get('name', '?')}, "
            f"{card.get('model', {}).get('architecture', '?')}, latent size {r.latent_dim}, {r.prior} prior, "
            f"images {'×'.join(map(str, r.image_shape))}, {len(r.ids)} held-out images indexed.",
        ]
        dismiss = pn.widgets.Button(label="Clear message", color="light", width=120)
        dismiss.on_click(lambda event: self.session.notify(""))
        items = [pn.pane.Markdown("\n\n".join(facts))]
        if links:
            items.append(pn.pane.HTML(f"<div class='pack-links'>Other packs: {links}</div>"))
        items += [self.link_anchor, dismiss]
        return items

    def __panel__(self):
        return pn.Column(self.message, self.tabs, self.link_writer, sizing_mode="stretch_width")


_ALERT = {"info": "info", "warning": "warning", "error": "danger"}


def _int(text: str | None, low: int, high: int) -> int | None:
    try:
        value = int(str(text))
    except (TypeError, ValueError):
        return None
    return value if low <= value <= high else None


def _query() -> dict[str, str]:
    """This session's query parameters as plain strings (Panel's parser would turn '1e5' into a float)."""
    location = pn.state.location
    search = location.search if location is not None else ""
    return dict(parse_qsl(search.lstrip("?"), keep_blank_values=False))


def create_app() -> pn.template.BaseTemplate:
    """A fresh page for one browser session."""
    pn.extension(raw_css=[CSS], notifications=False)
    # Bootstrap, not Fast or Material: those fetch Google fonts, which offline servers cannot.
    template = pn.template.BootstrapTemplate(
        title="Latent Explorer", sidebar_width=300, header_background="#0072B2",
    )
    try:
        app = ExplorerApp(_query())
    except PackUnavailable as error:
        template.main.append(pn.pane.Alert(f"**No pack to explore.** {error}", alert_type="danger"))
        return template
    template.sidebar.extend(app.sidebar())
    template.main.append(app)
    return template


if __name__.startswith("bokeh"):  # `panel serve explorer/app/main.py`
    create_app().servable()
