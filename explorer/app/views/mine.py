"""MINE grid: the current latent's neighbours laid out on a grid; a click hops to a tile."""

from __future__ import annotations

import numpy as np
import panel as pn
import param

from explorer.app.components import TileGrid, download, jpeg_src
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.latent.grids import mine_neighbour_count


class OddInteger(param.Integer):
    """An integer that must be odd: a square grid with a centre tile."""

    def _validate_value(self, val, allow_None):
        super()._validate_value(val, allow_None)
        if val is not None and val % 2 == 0:
            raise ValueError(f"{self.name!r} must be odd, so that the grid has a centre tile; got {val}")


class MineState(ViewState):
    """A MINE grid around the current latent; clicking a tile hops there (with history)."""

    size = OddInteger(default=5, bounds=(3, 9), step=2, doc="grid side (odd: the centre is the current latent)")
    tile = param.Integer(default=72, bounds=(32, 160))
    image = param.Bytes(default=b"")
    nearest = param.Bytes(default=b"", doc="the nearest real held-out images, as one strip")
    nearest_ids = param.Array(default=np.zeros(0, np.int64))
    show_nearest = param.Boolean(default=True)
    position = param.Integer(default=0)
    history_length = param.Integer(default=1)

    def __init__(self, session: Session, **params):
        self.history: list[np.ndarray] = [session.latent.copy()]
        self.grid = None
        super().__init__(session, **params)
        self.compute()
        session.param.watch(self._follow_session, "latent")

    @property
    def center(self) -> np.ndarray:
        return self.history[self.position]

    @param.depends("size", "tile", "show_nearest", watch=True)
    def compute(self) -> None:
        """Neighbours from the index laid out on the grid, decoded; and the nearest-images strip."""
        from explorer.latent.grids import mine_grid

        index = self.resources.index
        count = min(mine_neighbour_count(self.size), len(index) - 1)
        # exclude_self: a centre that is itself a held-out image must not be its own neighbour
        _, ids = index.search(self.center, k=count, exclude_self=True)
        neighbours = index.latents[index.rows_of(ids[ids >= 0])]
        self.grid = np.asarray(mine_grid(self.center, neighbours, self.size, self.size).latents, dtype=np.float32)
        self.image = self.resources.grid_jpeg(self.grid, self.tile)
        if self.show_nearest:
            _, shown = self.resources.index.search(self.center, k=min(8, len(self.resources.ids)))
            self.nearest_ids = shown
            self.nearest = self.resources.thumbnail_grid_jpeg(shown, 1, len(shown), self.tile)

    def hop(self, row: int, col: int) -> None:
        """Make the tile at (row, col) the new centre; forward history is dropped."""
        if self.grid is None or not (0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1]):
            return
        target = self.grid[row, col].copy()
        self.history = self.history[: self.position + 1] + [target]
        self._move(len(self.history) - 1)

    def hop_to_nearest(self, position: int) -> None:
        """Make the `position`-th nearest real image the current latent."""
        if 0 <= position < len(self.nearest_ids):
            self.session.set_latent(self.resources.latent_of(int(self.nearest_ids[position])), "mine-nearest")

    def back(self) -> None:
        if self.position > 0:
            self._move(self.position - 1)

    def forward(self) -> None:
        if self.position < len(self.history) - 1:
            self._move(self.position + 1)

    def _move(self, position: int) -> None:
        self.param.update(position=position, history_length=len(self.history))
        self.compute()
        self.session.set_latent(self.center, "mine")

    def _follow_session(self, event: param.parameterized.Event) -> None:
        if self.session.latent_source == "mine":
            return
        if np.array_equal(event.new, self.center):
            return
        self.history = self.history[: self.position + 1] + [np.array(event.new, dtype=np.float32)]
        self.param.update(position=len(self.history) - 1, history_length=len(self.history))
        self.compute()

    def png(self) -> bytes:
        return self.resources.grid_png(self.grid, self.tile)


def step_text(position: int, length: int) -> str:
    """Where in the hop history the grid is."""
    return f"step {position + 1} of {length}"


class MineView(pn.viewable.Viewer):
    """The clickable grid, history buttons, grid size, and the nearest real images."""

    def __init__(self, state: MineState, **params):
        super().__init__(**params)
        self.state = state
        self.grid = TileGrid(src=jpeg_src(state.image), rows=state.size, cols=state.size, tile=state.tile,
                             highlight=[[state.size // 2, state.size // 2]],
                             alt="MINE grid: click a tile to hop there", css_classes=["mine-grid"])
        self.grid.on_click(state.hop)
        self.nearest = TileGrid(src=jpeg_src(state.nearest), rows=1, cols=max(1, len(state.nearest_ids)), tile=state.tile,
                                alt="nearest held-out images", css_classes=["nearest-strip"])
        self.nearest.on_click(lambda row, col: state.hop_to_nearest(col))
        # Watchers, not bindings: a picture and the rows and columns a click is mapped through
        # must change in one update.
        state.param.watch(self._grid_changed, "image")
        state.param.watch(self._nearest_changed, "nearest")
        back = pn.widgets.Button(label="◀ Back", color="light", width=90, css_classes=["mine-back"],
                                 disabled=pn.bind(lambda position: position == 0, state.param.position))
        forward = pn.widgets.Button(label="Forward ▶", color="light", width=90, css_classes=["mine-forward"],
                                    disabled=pn.bind(lambda position, length: position >= length - 1,
                                                     state.param.position, state.param.history_length))
        back.on_click(lambda event: state.back())
        forward.on_click(lambda event: state.forward())
        size = pn.widgets.IntSlider.from_param(state.param.size, label="Grid size", throttled=True, width=200)
        show = pn.widgets.Checkbox.from_param(state.param.show_nearest, label="Show the nearest real images")
        self.step = pn.pane.Markdown(pn.bind(step_text, state.param.position, state.param.history_length))
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

    def _grid_changed(self, event: param.parameterized.Event) -> None:
        state = self.state
        centre = state.size // 2
        self.grid.param.update(src=jpeg_src(state.image), rows=state.size, cols=state.size,
                               highlight=[[centre, centre]])

    def _nearest_changed(self, event: param.parameterized.Event) -> None:
        self.nearest.param.update(src=jpeg_src(self.state.nearest), cols=max(1, len(self.state.nearest_ids)))

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("mine", "MINE grid", MineState, MineView, why=(
    "The centre is where you are; its neighbours are real held-out images, the cells between them blends. Look "
    "for dead zones: cells that go grey or mushy between two sharp neighbours, where no training image lies; "
    "hop into one and see how far it reaches."
))
