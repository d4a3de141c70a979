"""Compare: one figure (J-diagram, interpolation or MINE neighbourhood) on two models side by side,
from the same held-out images: this pack beside another pack whose images have the same shape, or
this pack at a training snapshot beside its shipped model. Each model encodes the images itself."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import panel as pn
import param

from explorer import figures
from explorer.app import manifold
from explorer.app.registry import ViewSpec, ViewState
from explorer.app.session import Session
from explorer.app.urlstate import Link
from explorer.imaging import jpeg_bytes, to_uint8
from explorer.latent.grids import mine_neighbour_count
from explorer.resources import PackUnavailable, installed_packs, resources_for

FIGURES = {"jdiagram": "J-diagram", "interpolation": "Interpolation", "mine": "MINE neighbourhood"}
MODES = {"packs": "Two packs", "checkpoints": "Training checkpoints"}


@dataclass(frozen=True)
class Side:
    """One model of a comparison: its title, how it encodes and decodes, and the latents of its held-out images."""

    title: str
    encode: Callable[[np.ndarray], np.ndarray]  # uint8 (N, H, W, C) -> (N, d)
    decode: Callable[[np.ndarray], np.ndarray]  # (N, d) -> uint8 (N, H, W, C)
    held_out: Callable[[], np.ndarray]  # () -> (M, d): what a MINE neighbourhood is drawn from
    typical_norm: float


def pack_side(resources, title: str) -> Side:
    """A pack's shipped model as one side; its held-out latents are its index's."""
    return Side(title, resources.encode, resources.decode, lambda: np.asarray(resources.index.latents),
                resources.expected_norm())


def snapshot_side(resources, epoch: int) -> Side:
    """The pack's snapshot after `epoch` epochs as one side (encoder and decoder of that snapshot)."""
    model = resources.pack.snapshot_model(epoch)
    return Side(f"{resources.name} after epoch {epoch}", model.encode_images,
                lambda latents: to_uint8(model.decode_latents(latents)),
                lambda: manifold.snapshot_latents(resources, epoch), resources.expected_norm())


def draw(side: Side, figure: str, images: np.ndarray, size: int, tile: int):
    """The `figure` of `side` for three uint8 images (3, H, W, C): each encoded by the side's own encoder."""
    a, b, c = side.encode(images)
    if figure == "jdiagram":
        return figures.jdiagram(side.decode, a, b, c, size, tile, dict(zip("abc", images)))
    if figure == "interpolation":
        return figures.paths(side.decode, a, b, size + 3, tile, side.typical_norm)
    if figure == "mine":
        held_out = side.held_out()
        count = min(mine_neighbour_count(size), len(held_out) - 1)
        order = np.argsort(np.linalg.norm(held_out - a, axis=1))
        neighbours = held_out[order[1 : count + 1]]  # order[0] is the image itself
        return figures.mine(side.decode, a, neighbours, size, tile)
    raise ValueError(f"figure must be one of {', '.join(FIGURES)}, got {figure!r}")


def fitting_packs(name: str, image_shape: tuple[int, ...], candidates: list[str]) -> list[str]:
    """The packs among `candidates`, other than `name`, whose card says their images have `image_shape`."""
    from explorer.packs import PackError, open_pack

    fitting = []
    for other in candidates:
        if other == name:
            continue
        try:
            shape = tuple(open_pack(other).card["model"].get("image_shape") or ())
        except (PackError, KeyError):
            continue
        if shape == tuple(image_shape):
            fitting.append(other)
    return fitting


class CompareState(ViewState):
    """Two models, the same three held-out images, one figure drawn by each."""

    mode = param.Selector(default="packs", objects=list(MODES))
    figure = param.Selector(default="jdiagram", objects=list(FIGURES))
    other = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True, doc="the second pack (same image shape)")
    epoch = param.Selector(default=None, objects=[], allow_None=True, check_on_set=True, doc="the snapshot's training epoch")
    size = param.Integer(default=5, bounds=(3, 7))
    tile = param.Integer(default=48, bounds=(32, 96))
    left = param.Bytes(default=b"")
    right = param.Bytes(default=b"")
    left_title = param.String(default="")
    right_title = param.String(default="")
    problem = param.String(default="", doc="why a side cannot be drawn ('' when both are)")

    def __init__(self, session: Session, **params):
        resources = session.resources
        # The paper's default: the first three images of the validation set.
        self.image_ids = [int(i) for i in np.sort(resources.ids)[:3]]
        self.images = np.stack([resources.thumbnail_of(i) for i in self.image_ids])
        others = fitting_packs(resources.name, resources.image_shape, installed_packs())
        epochs = resources.pack.snapshot_epochs
        super().__init__(session, **params)
        self.param.other.objects = others
        self.param.epoch.objects = epochs
        if self.other not in others:
            self.other = others[0] if others else None
        if self.epoch not in epochs:
            self.epoch = epochs[0] if epochs else None
        self.compute()

    @classmethod
    def from_link(cls, session: Session, link: Link) -> CompareState:
        """The link's mode, figure, second pack and epoch, where each is valid."""
        state = cls(session)
        wanted = {"mode": link.settings.get("mode"), "figure": link.settings.get("fig"),
                  "other": link.settings.get("other")}
        epoch = link.settings.get("epoch", "")
        wanted["epoch"] = int(epoch) if epoch.isdigit() else None
        valid = {key: value for key, value in wanted.items()
                 if value is not None and value in state.param[key].objects}
        if valid:
            state.param.update(**valid)
        return state

    def to_link(self) -> Link:
        settings = {"mode": self.mode, "fig": self.figure}
        if self.other:
            settings["other"] = self.other
        if self.epoch is not None:
            settings["epoch"] = str(self.epoch)
        return Link(settings=settings)

    def sides(self) -> tuple[Side | None, Side | None, str]:
        """(left, right, problem): the two models of the current mode, None where one is missing and why."""
        resources = self.resources
        shipped = pack_side(resources, f"{resources.name} (shipped model)")
        if self.mode == "checkpoints":
            if self.epoch is None:
                return None, shipped, (f"Pack {resources.name!r} keeps no training snapshots; train one with "
                                       f"`latent-explorer train --pack {resources.name} --snapshots 4`.")
            return snapshot_side(resources, self.epoch), shipped, ""
        if self.other is None:
            shape = "×".join(map(str, resources.image_shape))
            return shipped, None, (f"No other installed pack has {shape} images like {resources.name!r}, so no "
                                   "second pack can encode the same images; compare training checkpoints instead.")
        try:
            other = resources_for(self.other)
        except PackUnavailable as error:
            return shipped, None, str(error)
        return shipped, pack_side(other, f"{other.name} (shipped model)"), ""

    def compute(self) -> None:
        """Draw the figure on both sides; a missing side is blank and `problem` says why."""
        left, right, problem = self.sides()
        pictures = [jpeg_bytes(draw(side, self.figure, self.images, self.size, self.tile)) if side else b""
                    for side in (left, right)]
        self.param.update(left=pictures[0], right=pictures[1], problem=problem,
                          left_title=left.title if left else "", right_title=right.title if right else "")

    @param.depends("mode", "figure", "other", "epoch", "size", "tile", watch=True)
    def _changed(self) -> None:
        self.compute()
        self.session.commit()


def _picture(jpeg: bytes) -> bytes | None:
    """A side's JPEG, or None (an empty pane) for a side that cannot be drawn."""
    return jpeg or None


class CompareView(pn.viewable.Viewer):
    """Mode, figure, the second pack or the epoch slider, and the two pictures."""

    def __init__(self, state: CompareState, **params):
        super().__init__(**params)
        self.state = state
        mode = pn.widgets.RadioButtonGroup.from_param(state.param.mode, options={v: k for k, v in MODES.items()},
                                                      color="light", css_classes=["compare-mode"])
        figure = pn.widgets.RadioButtonGroup.from_param(state.param.figure, options={v: k for k, v in FIGURES.items()},
                                                        color="light", css_classes=["compare-figure"])
        other = pn.widgets.Select.from_param(state.param.other, label="Second pack (same image shape)", width=240,
                                             visible=pn.bind(lambda m: m == "packs", state.param.mode))
        epochs = state.param.epoch.objects
        in_checkpoints = pn.bind(lambda m: m == "checkpoints", state.param.mode)
        if epochs:
            self.slider = pn.widgets.DiscreteSlider(options=epochs, value=state.epoch, name="Training epoch",
                                                    width=300, css_classes=["compare-epoch"], visible=in_checkpoints)
            self.slider.param.watch(lambda event: setattr(state, "epoch", event.new), "value_throttled")
        else:
            self.slider = pn.pane.Markdown("", visible=False)
        note = (state.resources.pack.card.get("snapshots_run") or {}).get("note", "")
        ids = ", ".join(map(str, state.image_ids))
        self._layout = pn.Column(
            pn.pane.Markdown(
                f"The same figure from the same held-out images (ids {ids}: the first three of the validation set), "
                "each model encoding them with its own encoder: two packs whose images fit, or this pack part-way "
                "through training beside its shipped model." + (f" Snapshots: {note}." if note else "")),
            pn.Row(mode, figure),
            pn.Row(other, self.slider),
            pn.pane.Alert(state.param.problem, alert_type="warning",
                          visible=pn.bind(bool, state.param.problem), css_classes=["compare-problem"]),
            pn.Row(
                pn.Column(pn.pane.Markdown(pn.bind("**{}**".format, state.param.left_title)),
                          pn.pane.JPG(pn.bind(_picture, state.param.left), css_classes=["compare-left"],
                                      alt_text="left model")),
                pn.Column(pn.pane.Markdown(pn.bind("**{}**".format, state.param.right_title)),
                          pn.pane.JPG(pn.bind(_picture, state.param.right), css_classes=["compare-right"],
                                      alt_text="right model")),
            ),
        )

    def __panel__(self):
        return self._layout


VIEW = ViewSpec("compare", "Compare", CompareState, CompareView, why=(
    "The same three images through two models, or through one model at two points of its training: where the "
    "grids differ, the models have learned different spaces. A smooth J-diagram on one side and a patchy one on "
    "the other is the paper's reference visualisation at work."
))
