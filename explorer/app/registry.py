"""What a view is to the app, and the ordered registry of views that drives the tabs, the link and the build.

A view is one module in `explorer.app.views` that defines `VIEW = ViewSpec(name, title, State, View)`:
`State` is a `ViewState` (param only, no panel) that comes from a link (`from_link`) and says what it
adds to one (`to_link`); `View(state)` is the thin panel layout over it, keeping the state as `.state`.
`explorer.app.views.VIEWS` names the modules in tab order; the first is what a link without a view opens.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

import param

from explorer.app.urlstate import LATENT_KEYS, Link

if TYPE_CHECKING:
    from explorer.app.session import Session

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
#: The latents a view may add to the link (`z`, the current latent, is the session's).
VIEW_LATENT_KEYS = tuple(key for key in LATENT_KEYS if key != "z")


class UnknownView(LookupError):
    """A view name that is not in the registry; the message lists the views there are."""


class ViewState(param.Parameterized):
    """One view's state in one session: plain param, no panel, so that it is tested without a server."""

    def __init__(self, session: Session, **params):
        self.session = session
        self.resources = session.resources
        super().__init__(**params)

    @classmethod
    def from_link(cls, session: Session, link: Link) -> ViewState:
        """This view's state as `link` describes it; an empty Link gives a fresh one."""
        return cls(session)

    def to_link(self) -> Link:
        """What this view adds to the session's link: its own latents (a, b, c) and settings."""
        return Link()

    def release(self) -> None:
        """Stop following the session (a state replaced by another drops the watchers it set on it)."""
        for what in self.session.param.watchers.values():
            for watchers in what.values():
                for watcher in list(watchers):
                    if getattr(watcher.fn, "__self__", None) is self:
                        self.session.param.unwatch(watcher)


@dataclass(frozen=True)
class ViewSpec:
    """One view: its name in the link (`?view=name`), its tab title, its state class, its panel view,
    and why a workshop should look at it (one or two sentences, shown above the view)."""

    name: str
    title: str
    state: type[ViewState]
    view: Callable[[ViewState], Any]
    why: str = ""

    def build(self, session: Session, link: Link | None = None) -> Any:
        """The panel view for `session`, with its state as `link` describes it (None: a fresh one)."""
        return self.view(self.state.from_link(session, link if link is not None else Link()))


class Registry:
    """The views in tab order, looked up by name."""

    def __init__(self, specs: Iterable[ViewSpec]):
        self._specs = tuple(specs)
        names = [spec.name for spec in self._specs]
        if not names:
            raise ValueError("a view registry needs at least one view")
        for name in names:
            if not _NAME.match(name):
                raise ValueError(f"view name {name!r} must be lower-case letters, digits and _ (up to 32), "
                                 "starting with a letter: it is written into links")
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"view names must be unique; {', '.join(repeated)} appear(s) more than once")
        self._by_name = {spec.name: spec for spec in self._specs}

    @classmethod
    def from_modules(cls, package: str, modules: Iterable[str]) -> Registry:
        """The registry of `package.<module>.VIEW` for each module, in order; each VIEW is named after its module."""
        specs = []
        for module in modules:
            spec = getattr(importlib.import_module(f"{package}.{module}"), "VIEW", None)
            if not isinstance(spec, ViewSpec):
                raise TypeError(f"{package}.{module} must define VIEW = ViewSpec(...) to be listed as a view")
            if spec.name != module:
                raise ValueError(f"{package}.{module} defines the view {spec.name!r}; name it {module!r} after its module")
            specs.append(spec)
        return cls(specs)

    @property
    def names(self) -> tuple[str, ...]:
        """The view names in tab order."""
        return tuple(self._by_name)

    @property
    def first(self) -> str:
        """The view a link without a (valid) view opens."""
        return self._specs[0].name

    def index(self, name: str) -> int:
        """The tab position of view `name`."""
        return self._specs.index(self[name])

    def __getitem__(self, name: str) -> ViewSpec:
        try:
            return self._by_name[name]
        except (KeyError, TypeError):
            raise UnknownView(f"there is no view named {name!r}; the views are {', '.join(self.names)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __iter__(self) -> Iterator[ViewSpec]:
        return iter(self._specs)

    def __len__(self) -> int:
        return len(self._specs)


def link_for(session: Session, state: ViewState | None) -> Link:
    """The Link that reopens this session's view: the current latent, plus what the view's state adds."""
    link = Link(pack=session.resources.name, view=session.view, latents={"z": session.latent})
    if state is None:
        return link
    own = state.to_link()
    wrong = sorted(set(own.latents) - set(VIEW_LATENT_KEYS))
    if wrong:
        raise ValueError(f"view {session.view!r} puts latents {wrong} in its link; a view's latents are "
                         f"named {', '.join(VIEW_LATENT_KEYS)} (add another name to urlstate.LATENT_KEYS)")
    taken = sorted(set(own.settings) & {"pack", "view", *LATENT_KEYS})
    if taken:
        raise ValueError(f"view {session.view!r} uses the link keys {taken}, which pack, view and latents own")
    link.latents.update(own.latents)
    link.settings.update(own.settings)
    return link
