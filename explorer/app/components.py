"""Small widgets the views share: a clickable grid picture, an upload button, a gallery, downloads."""

from __future__ import annotations

import base64
import select
import weakref
from typing import Callable

import panel as pn
import param
from panel.custom import JSComponent

from explorer.app.hosting import hosting
from explorer.app.panel_internals import PromptChanges, SkipDesignOnUpdate, buffered_input_bytes, session_websockets
from explorer.app.uploads import MAX_UPLOAD_BYTES, too_large
from explorer.resources import GAP


def jpeg_src(jpeg: bytes) -> str:
    """JPEG bytes as a data URL for an <img> (empty for no picture)."""
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii") if jpeg else ""


class LeanComponent(SkipDesignOnUpdate, JSComponent):
    """A JSComponent whose updates skip Panel's design lookup unless its stylesheets change."""


class Picture(LeanComponent):
    """One picture as an <img> whose src alone changes: lighter than an HTML pane, which re-sends
    and re-lays-out its whole markup on every frame of a slider drag."""

    src = param.String(default="", doc="a data URL (see jpeg_src)")
    display_width = param.Integer(default=256)
    alt = param.String(default="")

    _esm = """
    export function render({ model, el }) {
      const img = document.createElement("img");
      img.style.display = "block";
      img.style.width = model.display_width + "px";
      img.style.height = model.display_width + "px";
      img.alt = model.alt;
      const show = () => { img.src = model.src; };
      show();
      model.on("src", show);
      el.appendChild(img);
    }
    """


class TileGrid(LeanComponent):
    """One composed JPEG of rows × cols tiles; a click reports the (row, col) of the tile.

    Sending one picture keeps a 7×7 grid to one small message; the browser maps the click
    through the picture's natural size, so any CSS scaling is allowed.
    """

    src = param.String(default="", doc="the picture as a data URL (see jpeg_src)")
    rows = param.Integer(default=1)
    cols = param.Integer(default=1)
    tile = param.Integer(default=64, doc="tile side in the picture's pixels")
    gap = param.Integer(default=GAP)
    alt = param.String(default="")
    clicks = param.Integer(default=0, doc="how many tiles were clicked")

    highlight = param.List(default=[], doc="[row, col] pairs of tiles to outline")

    _esm = """
    export function render({ model, el }) {
      const box = document.createElement("div");
      box.style.position = "relative";
      box.style.display = "inline-block";
      const img = document.createElement("img");
      img.className = "tile-grid";
      img.style.cursor = "pointer";
      img.style.display = "block";
      img.draggable = false;
      const marks = document.createElement("div");
      const update = () => {
        img.src = model.src;
        img.alt = model.alt;
        img.dataset.rows = model.rows;
        img.dataset.cols = model.cols;
        marks.replaceChildren();
        const width = model.cols * model.tile + (model.cols - 1) * model.gap;
        const height = model.rows * model.tile + (model.rows - 1) * model.gap;
        for (const [row, col] of model.highlight) {
          const mark = document.createElement("div");
          mark.className = "tile-highlight";
          mark.style.cssText = "position:absolute;pointer-events:none;box-sizing:border-box;" +
            "border:3px solid #E69F00;border-radius:3px;" +
            `left:${100 * col * (model.tile + model.gap) / width}%;top:${100 * row * (model.tile + model.gap) / height}%;` +
            `width:${100 * model.tile / width}%;height:${100 * model.tile / height}%;`;
          marks.appendChild(mark);
        }
      };
      img.addEventListener("click", (event) => {
        const rect = img.getBoundingClientRect();
        if (!rect.width || !img.naturalWidth) { return; }
        const x = (event.clientX - rect.left) * img.naturalWidth / rect.width;
        const y = (event.clientY - rect.top) * img.naturalHeight / rect.height;
        const step = model.tile + model.gap;
        const col = Math.min(model.cols - 1, Math.floor(x / step));
        const row = Math.min(model.rows - 1, Math.floor(y / step));
        if (row >= 0 && col >= 0) { model.send_msg({ row: row, col: col }); }
      });
      update();
      model.on(["src", "rows", "cols", "alt", "highlight"], update);
      box.append(img, marks);
      el.appendChild(box);
    }
    """

    def __init__(self, **params):
        self._callbacks: list[Callable[[int, int], None]] = []
        super().__init__(**params)

    def on_click(self, callback: Callable[[int, int], None]) -> None:
        """Call callback(row, col) when a tile is clicked."""
        self._callbacks.append(callback)

    def click(self, row: int, col: int) -> None:
        """What a click in the browser does (also for tests)."""
        self.clicks += 1
        for callback in self._callbacks:
            callback(row, col)

    def _handle_msg(self, msg: dict) -> None:
        try:
            row, col = int(msg["row"]), int(msg["col"])
        except (KeyError, TypeError, ValueError):
            return
        if 0 <= row < self.rows and 0 <= col < self.cols:
            self.click(row, col)


class UploadButton(JSComponent):
    """A file picker that refuses over-large files in the browser, before a byte is sent.

    Panel's FileInput sends any file over the websocket, and a message above the server's
    limit (20 MB) closes the session; this one checks the size first. The picked file arrives
    as callback(data: bytes | None, filename, error: str | None).
    """

    label = param.String(default="Upload an image")
    accept = param.String(default="image/*")
    max_bytes = param.Integer(default=MAX_UPLOAD_BYTES)

    _esm = """
    export function render({ model, el }) {
      const label = document.createElement("label");
      label.className = "upload-button";
      label.style.cssText = "display:inline-flex;gap:6px;align-items:center;cursor:pointer;font-size:13px;";
      const text = document.createElement("span");
      text.textContent = model.label;
      const input = document.createElement("input");
      input.type = "file";
      input.accept = model.accept;
      input.addEventListener("change", () => {
        const file = input.files && input.files[0];
        if (!file) { return; }
        if (file.size > model.max_bytes) {
          model.send_msg({ name: file.name, too_large: file.size });
          input.value = "";
          return;
        }
        const reader = new FileReader();
        reader.onload = () => {
          const url = String(reader.result || "");
          model.send_msg({ name: file.name, data: url.slice(url.indexOf(",") + 1) });
          input.value = "";
        };
        reader.onerror = () => { model.send_msg({ name: file.name, error: String(reader.error) }); input.value = ""; };
        reader.readAsDataURL(file);
      });
      label.append(text, input);
      el.appendChild(label);
      model.on("label", () => { text.textContent = model.label; });
    }
    """

    def __init__(self, **params):
        self._callbacks: list[Callable[[bytes | None, str | None, str | None], None]] = []
        params.setdefault("max_bytes", hosting().upload_bytes)
        super().__init__(**params)

    def on_upload(self, callback: Callable[[bytes | None, str | None, str | None], None]) -> None:
        """Call callback(data, filename, error) for each picked file."""
        self._callbacks.append(callback)

    def receive(self, data: bytes | None, filename: str | None, error: str | None = None) -> None:
        for callback in self._callbacks:
            callback(data, filename, error)

    def _handle_msg(self, msg: dict) -> None:
        name = str(msg.get("name") or "the upload")[:200]
        if "too_large" in msg:
            try:
                size = int(msg["too_large"])
            except (TypeError, ValueError):
                size = self.max_bytes + 1
            self.receive(None, name, too_large(name, size, self.max_bytes))
        elif "error" in msg:
            self.receive(None, name, f"{name} could not be read by the browser ({msg['error']}).")
        else:
            try:
                data = base64.b64decode(str(msg.get("data", "")), validate=True)
            except ValueError:
                self.receive(None, name, f"{name} arrived garbled; try again.")
                return
            self.receive(data, name, None)


class GalleryView(pn.viewable.Viewer):
    """A page of held-out images; clicking one calls on_pick(image_id)."""

    def __init__(self, gallery, on_pick: Callable[[int], None], title: str = "Held-out images"):
        super().__init__()
        self.gallery = gallery
        self.grid = TileGrid(
            src=pn.bind(jpeg_src, gallery.param.image), rows=gallery.rows, cols=gallery.cols, tile=gallery.tile,
            alt="held-out images: click one", css_classes=["gallery"],
        )
        self.grid.on_click(lambda row, col: self._pick(on_pick, row, col))
        label = pn.widgets.Select.from_param(gallery.param.label, label="Only", width=160)
        more = pn.widgets.Button(label="More", width=70, color="light")
        more.on_click(lambda event: gallery.next_page())
        self._layout = pn.Column(pn.pane.Markdown(f"**{title}** (click to pick)", margin=(0, 5)),
                                 pn.Row(label, more), self.grid)

    def _pick(self, on_pick, row: int, col: int) -> None:
        image_id = self.gallery.id_at(row, col)
        if image_id is not None:
            on_pick(image_id)

    def __panel__(self):
        return self._layout


def download(label: str, filename: str, callback: Callable[[], bytes]) -> pn.widgets.FileDownload:
    """A button that builds a file (PNG / GIF) only when clicked."""
    import io

    return pn.widgets.FileDownload(
        callback=lambda: io.BytesIO(callback()), filename=filename, label=label, color="light",
        embed=False, width=180,
    )


class LinkWriter(JSComponent):
    """Keeps the browser's address bar on `query` with history.replaceState.

    Panel's Location pushes a history entry per change, so every slider release would add a
    Back step that changes nothing on the page; replacing keeps one entry that is always a
    working link to what is shown.
    """

    query = param.String(default="", doc="the query string, without '?'")

    _esm = """
    export function render({ model, el }) {
      el.style.display = "none";
      const write = () => {
        const url = window.location.pathname + (model.query ? "?" + model.query : "") + window.location.hash;
        if (url !== window.location.pathname + window.location.search + window.location.hash) {
          window.history.replaceState(window.history.state, "", url);
        }
      };
      write();
      model.on("query", write);
    }
    """


#: The websocket handlers already set to TCP_NODELAY.
_no_delay_sockets: weakref.WeakSet = weakref.WeakSet()


def no_delay(doc=None) -> None:
    """Send `doc`'s websocket messages without Nagle's delay (TCP_NODELAY); once per socket.

    Bokeh writes every message as three websocket frames (header, metadata, content) and neither
    Bokeh nor Tornado turns Nagle's algorithm off. Once a slider is stepped steadily, the kernel
    holds the later frames until the browser acknowledges the first, and the browser delays that
    acknowledgement by up to 40 ms: with keyboard steps back to back, the new picture reached the
    browser 20-37 ms (median) after the server wrote it; with TCP_NODELAY, 2-4 ms. (The server
    could set this for every socket; the Explore view sets it for its own session.)
    """
    for socket in session_websockets(doc if doc is not None else pn.state.curdoc):
        if socket in _no_delay_sockets or not hasattr(socket, "set_nodelay"):
            continue
        try:
            socket.set_nodelay(True)
        except (AssertionError, AttributeError, OSError):  # closed meanwhile: nothing to tune
            continue
        _no_delay_sockets.add(socket)


async def writes_finished(doc) -> None:
    """Return once no message is half-written to the browser(s) of `doc`'s server session.

    Bokeh writes a message as three websocket frames under the socket's write lock, and Panel
    does not send a model change while that lock is held: it queues the change and retries every
    10 ms. A change callback that runs between the frames of the acknowledgement of the message
    that triggered it would so hold its own result back by 10 ms or more.
    """
    for socket in session_websockets(doc):
        lock = getattr(socket, "write_lock", None)
        if lock is not None:
            async with lock:
                pass


def input_waiting(doc) -> bool:
    """Whether a browser of `doc`'s session has sent bytes that the server has not handled yet."""
    for socket in session_websockets(doc):
        stream = getattr(getattr(socket, "ws_connection", None), "stream", None)
        if stream is None:
            continue
        if buffered_input_bytes(stream):
            return True
        raw = getattr(stream, "socket", None)
        if raw is not None and _readable(raw):
            return True
    return False


def _readable(sock) -> bool:
    """Whether `sock` has bytes to read now (poll, unlike select, takes any descriptor number)."""
    try:
        if hasattr(select, "poll"):
            poller = select.poll()
            poller.register(sock, select.POLLIN)
            return any(events & select.POLLIN for _, events in poller.poll(0))
        return bool(select.select([sock], [], [], 0)[0])
    except (OSError, ValueError):  # closed meanwhile
        return False


class LiveSlider(PromptChanges, pn.widgets.FloatSlider):
    """A FloatSlider whose moves reach the Python callbacks at once, and whose drags draw the
    newest position rather than queueing every one.

    Panel holds every change that arrives from the browser for 50 ms before it runs the watchers,
    to merge bursts; for a slider that redraws a picture, that wait was two thirds of the time from
    a key press to the new picture. Here a change runs as soon as the acknowledgement of the
    browser's message is written (see `writes_finished`). During a drag (the last change was a move
    without a release), a change waits instead while more input from the browser is already
    waiting to be read: Panel merges that input into the pending change, so a drag faster than the
    redraws skips to the newest position. A keyboard step (a move and its release) or the first
    move of a drag never waits. Its moves also leave the page's busy indicator alone: a spinner
    toggled per step costs two extra messages and a restyle.
    """

    #: How many times (about 1 ms apart) a change waits for newer input before it runs anyway.
    max_deferrals = 40

    def __init__(self, **params):
        self._deferrals = 0
        self._dragging = False
        super().__init__(**params)

    async def defer_change(self, doc) -> bool:
        no_delay(doc)
        await writes_finished(doc)
        if self._dragging and self._deferrals < self.max_deferrals and input_waiting(doc):
            self._deferrals += 1
            return True
        self._deferrals = 0
        self._dragging = "value_throttled" not in self.pending_changes()
        return False


class Readout(LeanComponent):
    """One line "label **value** (note)" whose parts alone change.

    A Markdown pane re-sends its stylesheets with every new text (2-10 ms of server time per update
    measured here, and a restyle in the browser); this sends only the changed strings.
    """

    label = param.String(default="")
    value = param.String(default="")
    note = param.String(default="")

    _esm = """
    export function render({ model, el }) {
      const line = document.createElement("div");
      const label = document.createTextNode("");
      const value = document.createElement("strong");
      const note = document.createTextNode("");
      line.append(label, value, note);
      const show = () => {
        label.textContent = model.label ? model.label + " " : "";
        value.textContent = model.value;
        note.textContent = model.note ? " " + model.note : "";
      };
      show();
      model.on(["label", "value", "note"], show);
      el.appendChild(line);
    }
    """
