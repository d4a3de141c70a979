"""Analogy: a J-diagram from corners A, B, C picked from the held-out gallery or uploaded."""

from __future__ import annotations

import panel as pn

from explorer.app.components import GalleryView, UploadButton, download
from explorer.app.state import AnalogyState, Gallery, Session


class AnalogyView(pn.viewable.Viewer):
    """Corner slot, grid size, the J-diagram, and the gallery the corners come from."""

    def __init__(self, session: Session, corners: dict | None = None, ids: str | None = None,
                 size: int | None = None, **params):
        super().__init__(**params)
        self.state = state = AnalogyState(session, **({"size": size} if size else {}))
        if corners or ids:
            state.apply_link(corners or {}, ids)
        slot = pn.widgets.RadioButtonGroup.from_param(state.param.slot, label="Next pick fills", color="light",
                                                      css_classes=["corner-slot"])
        slot.options = {"A": "a", "B": "b", "C": "c"}
        grid_size = pn.widgets.IntSlider(label="Grid size", start=3, end=9, value=state.size, width=200)
        grid_size.param.watch(lambda event: setattr(state, "size", event.new), "value_throttled")
        upload = UploadButton(label="Corner from your image:")
        upload.on_upload(state.upload)
        self.image = pn.pane.JPG(state.image, css_classes=["jdiagram"], alt_text="J-diagram")
        state.param.watch(lambda event: setattr(self.image, "object", event.new), "image")
        self.corners = pn.pane.Markdown(self._corner_text())
        state.param.watch(lambda *events: setattr(self.corners, "object", self._corner_text()), ["corners", "slot"])
        gallery = GalleryView(Gallery(session.resources, seed=3), state.pick, "Held-out images: a click fills the next corner")
        self._layout = pn.Row(
            pn.Column(self.image, download("Download PNG", "jdiagram.png", state.png)),
            pn.Column(
                pn.pane.Markdown(
                    "A J-diagram (White 2016): **A** top left, **B** bottom left, **C** top right; the rows and "
                    "columns slerp between them and the bottom-right corner is **B + C − A**. The inputs stand "
                    "outside the grid, beside their reconstructions."
                ),
                pn.Row(pn.pane.Markdown("**Next pick fills**", margin=(10, 5)), slot),
                self.corners, grid_size, upload, gallery,
                max_width=560,
            ),
        )

    def _corner_text(self) -> str:
        parts = [f"{key.upper()}: {value if isinstance(value, str) else f'image {value}'}"
                 for key, value in sorted(self.state.corners.items())]
        return " · ".join(parts)

    def __panel__(self):
        return self._layout
