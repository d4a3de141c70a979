"""The view registry: one ordered list drives the tabs, the link and the build; a view is one module."""

from __future__ import annotations

import textwrap

import numpy as np
import panel as pn
import param
import pytest

from explorer.app.main import ExplorerApp
from explorer.app.registry import Registry, UnknownView, ViewSpec, ViewState, link_for
from explorer.app.session import Session
from explorer.app.urlstate import Link
from explorer.app.views import VIEWS


def test_the_tabs_are_the_registrys_views_in_its_order(tiny_pack):
    app = ExplorerApp({"pack": tiny_pack}, seed=0)
    assert [tab.name for tab in app.tabs.objects] == [spec.title for spec in VIEWS]
    app.tabs.active = VIEWS.names.index("sampling")
    assert app.session.view == "sampling" and isinstance(app.views["sampling"].state, VIEWS["sampling"].state)


def test_an_unknown_view_name_raises_and_builds_no_other_view(tiny_pack):
    app = ExplorerApp({"pack": tiny_pack}, seed=0)
    built = dict(app.views)
    with pytest.raises(UnknownView, match="no view named 'nope'; the views are explore, interpolate, "):
        app.build("nope")
    assert app.views == built
    with pytest.raises(UnknownView, match="no view named 'Sampling'"):
        VIEWS["Sampling"]


def change_interpolate(state, resources) -> None:
    state.endpoint_random("a")
    state.endpoint_from_id("b", int(resources.ids[5]))


def change_analogy(state, resources) -> None:
    state.pick(int(resources.ids[9]))
    state.size = 4


def change_sampling(state, resources) -> None:
    state.param.update(sampler="polarity", rho=1.5, seed=12, truncation=0.7)


def change_map(state, resources) -> None:
    state.color_by = "digit"


# How a user moves away from each view's defaults (a view without an entry is checked as it opens).
CHANGES = {"interpolate": change_interpolate, "analogy": change_analogy, "sampling": change_sampling,
           "map": change_map}


@pytest.mark.parametrize("name", VIEWS.names)
def test_a_link_round_trips_through_every_views_to_link_and_from_link(tiny_pack, name):
    first = ExplorerApp({"pack": tiny_pack, "view": name}, seed=0)
    state = first.views[name].state
    if name in CHANGES:
        before = first.link_query()
        CHANGES[name](state, first.resources)
        first.session.commit()
        assert first.link_query() != before
    query = first.link_query()
    again = ExplorerApp(query, seed=1)  # another seed: what the link does not say comes out differently
    assert again.session.view == name and again.session.message == ""
    assert again.link_query() == query


def test_link_for_refuses_a_latent_the_link_could_not_carry(tiny_pack):
    from explorer.resources import resources_for

    class Odd(ViewState):
        def to_link(self) -> Link:
            return Link(latents={"d": np.zeros(8)})

    session = Session(resources_for(tiny_pack), seed=0, view="odd")
    with pytest.raises(ValueError, match=r"puts latents \['d'\] in its link"):
        link_for(session, Odd(session))


NOTE_VIEW = '''
    """A trivial view, written as a new view would be: one module with its state, view and VIEW."""

    import panel as pn
    import param

    from explorer.app.registry import ViewSpec, ViewState
    from explorer.app.urlstate import Link


    class NoteState(ViewState):
        text = param.String(default="hello")

        @classmethod
        def from_link(cls, session, link):
            return cls(session, **({"text": link.settings["note"]} if "note" in link.settings else {}))

        def to_link(self):
            return Link(settings={"note": self.text})


    class NoteView(pn.viewable.Viewer):
        def __init__(self, state, **params):
            super().__init__(**params)
            self.state = state
            self._layout = pn.pane.Markdown(state.param.text, css_classes=["note"])

        def __panel__(self):
            return self._layout


    VIEW = ViewSpec("note", "Notes", NoteState, NoteView)
'''


def test_a_view_in_its_own_module_and_one_more_name_in_the_list_is_a_new_tab(tiny_pack, tmp_path, monkeypatch):
    package = tmp_path / "more_views"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "note.py").write_text(textwrap.dedent(NOTE_VIEW))
    monkeypatch.syspath_prepend(str(tmp_path))
    views = Registry([*VIEWS, *Registry.from_modules("more_views", ["note"])])

    app = ExplorerApp({"pack": tiny_pack, "view": "note", "note": "hi"}, seed=0, views=views)
    assert [tab.name for tab in app.tabs.objects] == [*(spec.title for spec in VIEWS), "Notes"]
    assert app.tabs.active == len(VIEWS) and app.views["note"].state.text == "hi"
    app.views["note"].state.text = "changed"
    app.session.commit()
    assert app.link_query()["view"] == "note" and app.link_query()["note"] == "changed"
    app.tabs.active = 0  # the shipped views still build and link as before
    assert "view=explore" in app.link_anchor.object and "note" not in VIEWS


def test_a_listed_module_must_define_a_view_named_after_it(tmp_path, monkeypatch):
    package = tmp_path / "broken_views"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "empty.py").write_text("")
    (package / "renamed.py").write_text(
        "from explorer.app.registry import ViewSpec, ViewState\n"
        "VIEW = ViewSpec('other', 'Other', ViewState, lambda state: state)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(TypeError, match="broken_views.empty must define VIEW = ViewSpec"):
        Registry.from_modules("broken_views", ["empty"])
    with pytest.raises(ValueError, match="defines the view 'other'; name it 'renamed'"):
        Registry.from_modules("broken_views", ["renamed"])


def test_view_names_are_unique_and_fit_in_a_link():
    spec = VIEWS["explore"]
    with pytest.raises(ValueError, match="explore appear"):
        Registry([spec, spec])
    with pytest.raises(ValueError, match="view name 'Big View' must be"):
        Registry([ViewSpec("Big View", "Big", ViewState, lambda state: pn.Column())])
    with pytest.raises(ValueError, match="at least one view"):
        Registry([])


def test_a_view_state_without_a_link_part_adds_nothing(tiny_pack):
    from explorer.resources import resources_for

    class Plain(ViewState):
        value = param.Integer(default=3)

    session = Session(resources_for(tiny_pack), seed=0, view="plain")
    state = Plain.from_link(session, Link(settings={"value": "9"}))
    assert state.value == 3 and state.to_link() == Link()
    assert set(link_for(session, state).to_query()) == {"pack", "view", "z"}
