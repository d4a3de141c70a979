"""Map: every encoded held-out image as a point in 2-D (PCA, or UMAP when installed), coloured by a
label, its thumbnail on hover; a click makes a point the current latent, two lassos make a direction.

Up to SCATTER_LIMIT points are drawn as a Bokeh scatter; beyond that the points are rasterised by
datashader on the server at the zoom shown (no hover thumbnails then). The "atlas" overlay tiles the
map's grid cells with the decoded mean latent of their points.
"""

from __future__ import annotations

import numpy as np
import panel as pn
import param
from bokeh.models import HoverTool

from explorer.app import directions as shared
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.app.urlstate import Link
from explorer.charts import hv
from explorer.directions_store import DirectionsError
from explorer.latent.directions import custom_direction
from explorer.latent.projection import nearest_point, points_in_polygon

SCATTER_LIMIT = shared.HOVER_LIMIT  # more points than this are rasterised
CLICK_RADIUS = 0.03  # a click picks the nearest point within this fraction of the map's diagonal
PLOT_SIZE = 600
NO_COLOUR = "none"
TOOLTIP = ('<div><img src="@thumb" width="64" height="64" style="image-rendering:pixelated">'
           '<div>id @id: @value</div></div>')


class MapState(ViewState):
    """The map's projection and colouring, the lasso selection and the two groups of a new direction."""

    method = param.Selector(default="PCA", objects=["PCA"], doc="how the latents are put in 2-D")
    color_by = param.Selector(default=NO_COLOUR, objects=[NO_COLOUR], doc="the label that colours the points")
    atlas = param.Boolean(default=False, doc="tile the map with decoded cell means")
    selected = param.Array(default=np.zeros(0, np.int64), doc="rows of the index inside the last lasso")
    group_a = param.Array(default=np.zeros(0, np.int64), doc="rows of group A")
    group_b = param.Array(default=np.zeros(0, np.int64), doc="rows of group B")
    direction_name = param.String(default="", doc="the name a new direction is saved under")

    def __init__(self, session: Session, **params):
        super().__init__(session, **params)
        self.param.method.objects = shared.map_methods()
        self.param.color_by.objects = [NO_COLOUR] + self.resources.label_names()

    @classmethod
    def from_link(cls, session: Session, link: Link) -> MapState:
        """The link's projection and colouring, where the pack has them (others are dropped)."""
        state = cls(session)
        if link.settings.get("proj") in state.param.method.objects:
            state.method = link.settings["proj"]
        if link.settings.get("colour") in state.param.color_by.objects:
            state.color_by = link.settings["colour"]
        return state

    def to_link(self) -> Link:
        return Link(settings={"proj": self.method, "colour": self.color_by})

    @param.depends("method", watch=True)
    def _say_umap_takes_a_while(self) -> None:
        if self.method == "UMAP":
            self.session.notify("UMAP is computed once per server process; the first time takes from seconds "
                                "to a couple of minutes (numba compiles it).")

    @property
    def coords(self) -> np.ndarray:
        """(N, 2) map coordinates of the index's rows."""
        return shared.map_coords(self.resources, self.method)

    def values(self) -> list[str]:
        """The colouring label's value of each point, as text ("" for no colouring)."""
        if self.color_by == NO_COLOUR:
            return [""] * len(self.resources.ids)
        codes, names = self.resources.label_values(self.color_by)
        return [names[code] for code in codes]

    def click(self, x: float | None, y: float | None) -> int | None:
        """Make the held-out image nearest to a click the current latent; its id, or None for a miss."""
        if x is None or y is None:
            return None
        coords = self.coords
        diagonal = float(np.hypot(*(coords.max(axis=0) - coords.min(axis=0)))) or 1.0
        row = nearest_point(coords, x, y, CLICK_RADIUS * diagonal)
        if row is None:
            return None
        image_id = int(self.resources.ids[row])
        self.session.set_latent(self.resources.latent_of(image_id), "map")
        self.session.notify(f"Picked held-out image {image_id} on the map.")
        return image_id

    def lasso(self, polygon: np.ndarray | None) -> None:
        """Select the points inside a lasso (a polygon of map coordinates)."""
        if polygon is None or len(polygon) < 3:
            return
        self.selected = points_in_polygon(self.coords, np.asarray(polygon, dtype=np.float64))

    def use_selection(self, group: str) -> None:
        """Make the lassoed points group A or group B."""
        if group not in ("a", "b"):
            raise ValueError(f"group must be 'a' or 'b', got {group!r}")
        if not len(self.selected):
            self.session.notify("Lasso some points first (the lasso tool is in the map's toolbar).", "warning")
            return
        setattr(self, f"group_{group}", self.selected.copy())

    def save_direction(self) -> str | None:
        """Save mean(B) − mean(A) as a direction of your own; Explore adds its slider. Its name, or None."""
        latents = np.asarray(self.resources.index.latents, dtype=np.float64)
        name = self.direction_name.strip() or f"map B{len(self.group_b)} \u2212 A{len(self.group_a)}"
        try:
            if not len(self.group_a) or not len(self.group_b):
                raise ValueError("lasso group A and group B first (each needs at least one point)")
            made = custom_direction(latents[self.group_a], latents[self.group_b])
            store = shared.direction_store(self.resources)
            store.save(name, made.vector * made.distance, source="custom",
                       details={"a": [int(i) for i in self.resources.ids[self.group_a]],
                                "b": [int(i) for i in self.resources.ids[self.group_b]]})
        except (ValueError, DirectionsError) as error:
            self.session.notify(str(error), "error")
            return None
        self.session.saved_direction = ""  # the same name saved again must still reach Explore
        self.session.saved_direction = name
        self.session.notify(f"Saved the direction {name!r}; its slider is in Explore.")
        return name


def groups_text(group_a: np.ndarray, group_b: np.ndarray, selected: np.ndarray) -> str:
    """What the lasso has chosen so far."""
    return f"lassoed: {len(selected)} points · group A: {len(group_a)} · group B: {len(group_b)}"


def points_element(coords: np.ndarray, values: list[str], ids: np.ndarray, thumbnails: list[str],
                   label: str) -> hv.Points:
    """The map's points; with thumbnails, a hover tooltip shows each point's picture."""
    data = {"x": coords[:, 0], "y": coords[:, 1], "value": values, "id": np.asarray(ids)}
    vdims = ["value", "id"]
    tools = ["tap", "lasso_select", "wheel_zoom", "pan", "reset"]
    if thumbnails:
        data["thumb"] = thumbnails
        vdims.append("thumb")
        tools.append(HoverTool(tooltips=TOOLTIP))
    colour = {"color": "value", "cmap": "Category20"} if label != NO_COLOUR else {"color": "#0072B2"}
    return hv.Points(data, ["x", "y"], vdims).opts(
        size=7, alpha=0.8, tools=tools, active_tools=["wheel_zoom", "pan"], width=PLOT_SIZE, height=PLOT_SIZE,
        show_legend=label != NO_COLOUR, legend_position="right", title="", xlabel="map x", ylabel="map y", **colour)


def shown_points(points: hv.Element | hv.DynamicMap, count: int) -> hv.Element | hv.DynamicMap:
    """The points as a scatter, or rasterised by datashader past SCATTER_LIMIT (1M points stay interactive)."""
    if count <= SCATTER_LIMIT:
        return points
    from holoviews.operation.datashader import dynspread, rasterize

    return dynspread(rasterize(points, width=PLOT_SIZE, height=PLOT_SIZE)).opts(
        cmap="Blues", cnorm="eq_hist", tools=["tap", "lasso_select", "wheel_zoom", "pan", "reset"],
        width=PLOT_SIZE, height=PLOT_SIZE)


def atlas_element(image: np.ndarray | None, bounds: tuple[float, float, float, float]) -> hv.RGB:
    """The atlas as one RGBA picture placed on the map (an empty one when the atlas is off)."""
    if image is None:
        image = np.zeros((1, 1, 4), np.uint8)
    return hv.RGB(image, bounds=bounds, vdims=list("RGBA")).opts(alpha=0.9)


class MapView(pn.viewable.Viewer):
    """The map, what colours it, the atlas toggle, and the lasso groups of a new direction."""

    def __init__(self, state: MapState, **params):
        super().__init__(**params)
        self.state = state
        count = len(state.resources.ids)
        points = hv.DynamicMap(pn.bind(self._points, state.param.method, state.param.color_by))
        shown = shown_points(points, count)
        self.tap = hv.streams.Tap(source=shown)
        self.tap.add_subscriber(lambda x, y: state.click(x, y))
        self.lasso = hv.streams.Lasso(source=shown)
        self.lasso.add_subscriber(lambda geometry: state.lasso(geometry))
        atlas = hv.DynamicMap(pn.bind(self._atlas, state.param.method, state.param.atlas))
        self.plot = pn.pane.HoloViews(atlas * shown, css_classes=["latent-map"])

        method = pn.widgets.RadioButtonGroup.from_param(state.param.method, color="light")
        colour = pn.widgets.Select.from_param(state.param.color_by, label="Colour by", width=180)
        show_atlas = pn.widgets.Checkbox.from_param(state.param.atlas, label="Atlas: tile the map with decoded "
                                                    "cell means")
        to_a = pn.widgets.Button(label="Lassoed → group A", color="light", width=150, css_classes=["to-group-a"])
        to_b = pn.widgets.Button(label="Lassoed → group B", color="light", width=150, css_classes=["to-group-b"])
        to_a.on_click(lambda event: state.use_selection("a"))
        to_b.on_click(lambda event: state.use_selection("b"))
        name = pn.widgets.TextInput.from_param(state.param.direction_name, label="Direction name", width=200,
                                               placeholder="B − A")
        save = pn.widgets.Button(label="Save B − A as a slider", color="primary", width=180,
                                 css_classes=["save-map-direction"])
        save.on_click(lambda event: state.save_direction())
        counts = pn.pane.Markdown(pn.bind(groups_text, state.param.group_a, state.param.group_b,
                                          state.param.selected), css_classes=["map-groups"])
        scatter = "a scatter" if count <= SCATTER_LIMIT else "rasterised by datashader (no hover pictures)"
        self._layout = pn.Column(
            pn.pane.Markdown(
                f"Every held-out image ({count}, drawn as {scatter}) placed by its latent. Hover to see it, "
                "**click a point to make it the current latent**, or lasso two groups (toolbar) to make a "
                "direction from group A to group B."
            ),
            pn.Row(method, colour, show_atlas),
            pn.Row(self.plot, pn.Column(to_a, to_b, counts, name, save)),
        )

    def _points(self, method: str, color_by: str) -> hv.Points:
        state = self.state
        thumbnails = shared.map_thumbnails(state.resources)
        return points_element(state.coords, state.values(), state.resources.ids, thumbnails, color_by)

    def _atlas(self, method: str, show: bool) -> hv.RGB:
        coords = self.state.coords
        bounds = (*coords.min(axis=0), *coords.max(axis=0))
        if not show:
            return atlas_element(None, bounds)
        image, bounds = shared.atlas(self.state.resources, method)
        return atlas_element(image, bounds)

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("map", "Map", MapState, MapView, why=(
    "Every held-out image as a point: colour it by a label and see whether the label is a region, a direction or "
    "noise. Click a point to go there; lasso two groups to make the direction between them a slider."
))
