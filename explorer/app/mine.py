"""MINE grid: the current latent's neighbours laid out on a grid; a click hops to a tile."""

from __future__ import annotations

import panel as pn

from explorer.app.components import TileGrid, download, jpeg_src
from explorer.app.state import MineState, Session


class MineView(pn.viewable.Viewer):
    """The clickable grid, history buttons, grid size, and the nearest real images."""

    def __init__(self, session: Session, **params):
        super().__init__(**params)
        self.state = state = MineState(session)
        self.grid = TileGrid(src=jpeg_src(state.image), rows=state.size, cols=state.size, tile=state.tile,
                             highlight=[[state.size // 2, state.size // 2]],
                             alt="MINE grid: click a tile to hop there", css_classes=["mine-grid"])
        self.grid.on_click(state.hop)
        state.param.watch(lambda event: self.grid.param.update(
            src=jpeg_src(state.image), rows=state.size, cols=state.size, highlight=[[state.size // 2, state.size // 2]]),
            "image")
        self.nearest = TileGrid(src=jpeg_src(state.nearest), rows=1, cols=max(1, len(state.nearest_ids)), tile=state.tile,
                                alt="nearest held-out images", css_classes=["nearest-strip"])
        self.nearest.on_click(lambda row, col: self._hop_to_real(col))
        state.param.watch(lambda event: self.nearest.param.update(src=jpeg_src(state.nearest), cols=max(1, len(state.nearest_ids))),
                          "nearest")
        back = pn.widgets.Button(label="◀ Back", color="light", width=90, css_classes=["mine-back"])
        forward = pn.widgets.Button(label="Forward ▶", color="light", width=90, css_classes=["mine-forward"])
        back.on_click(lambda event: state.back())
        forward.on_click(lambda event: state.forward())

        def buttons(*events):
            back.disabled = state.position == 0
            forward.disabled = state.position >= state.history_length - 1

        state.param.watch(buttons, ["position", "history_length"])
        buttons()
        size = pn.widgets.IntSlider(label="Grid size", start=3, end=9, step=2, value=state.size, width=200)
        size.param.watch(lambda event: setattr(state, "size", event.new), "value_throttled")
        show = pn.widgets.Checkbox.from_param(state.param.show_nearest, label="Show the nearest real images")
        self.step = pn.pane.Markdown(self._step_text())
        state.param.watch(lambda *events: setattr(self.step, "object", self._step_text()), ["position", "history_length"])
        self._layout = pn.Column(
            pn.pane.Markdown(
                "MINE grid (White 2016): the centre (outlined) is the current latent; its nearest held-out neighbours are "
                "placed so that similar ones sit together, and the cells between are spherical averages. "
                "**Click a tile to hop there.**"
            ),
            pn.Row(back, forward, self.step, size, show),
            self.grid,
            pn.pane.Markdown("**Nearest real images** (click one to hop to it)", visible=state.param.show_nearest),
            pn.Column(self.nearest, visible=state.param.show_nearest),
            download("Download PNG", "mine.png", state.png),
        )

    def _hop_to_real(self, position: int) -> None:
        ids = self.state.nearest_ids
        if 0 <= position < len(ids):
            self.state.session.set_latent(self.state.resources.latent_of(int(ids[position])), "mine-nearest")

    def _step_text(self) -> str:
        return f"step {self.state.position + 1} of {self.state.history_length}"

    def __panel__(self):
        return self._layout
