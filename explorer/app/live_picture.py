"""A picture that sliders with vectors move through the side channel: the page computes
base + Σ value · vector itself, sends it as float32 on the side channel's websocket and shows the
JPEG that comes back (explorer.app.sidechannel) as a data URL, as the server's.

Any slider whose Bokeh model carries the css class `slider_class(key)` and has an entry in `vectors`
moves the picture; while the side channel is open, those sliders' `value` is not sent to the server
(only their release, `value_throttled`, commits through Bokeh). Without a token, before the channel
opens, and after it closes (refused, blocked, server gone), the picture is today's: every step goes
through Bokeh and the server sends the picture as `src`. A server `src` always wins over a side-channel
reply still under way (a reset, a new start). The page counts its side-channel paints in the
picture's `data-side-paints`, names the path of the picture on screen in `data-painted-by`
(side-channel | server) and says how the channel stands in `data-channel` (off | connecting |
open | closed, with `data-close-code`).
"""

from __future__ import annotations

import numpy as np
import param

from explorer.app.components import Picture
from explorer.app.panel_internals import PAUSE_SYNC_JS
from explorer.app.sidechannel import PATH


def slider_class(key: str) -> str:
    """The css class that ties a slider to its entry in `LivePicture.vectors` (any key, made class-safe)."""
    return "live-vector-" + key.encode().hex()


def vector_entries(vectors: dict[str, np.ndarray]) -> list[dict]:
    """{key: vector} as LivePicture.vectors, in order: [{"slider": css class, "vector": [floats]}]."""
    return [{"slider": slider_class(key), "vector": np.asarray(vector, np.float32).tolist()}
            for key, vector in vectors.items()]


class LivePicture(Picture):
    """Picture plus the side channel for the sliders that move it (see the module docstring)."""

    token = param.String(default="", doc="the side channel's token (sidechannel.issue_token); empty: no channel")
    channel_path = param.String(default=PATH.lstrip("/"), doc="the channel's URL, relative to the page")
    base = param.List(default=[], doc="the latent the sliders move from, as floats")
    vectors = param.List(default=[], doc="[{'slider': css class, 'vector': [floats]}], see vector_entries")

    _esm = PAUSE_SYNC_JS + """
    const toBase64 = (bytes) => {
      let text = "";
      for (let i = 0; i < bytes.length; i += 0x8000) { text += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000)); }
      return btoa(text);
    };

    export function render({ model, el, view }) {
      const img = document.createElement("img");
      img.style.display = "block";
      img.style.width = model.display_width + "px";
      img.style.height = model.display_width + "px";
      img.alt = model.alt;
      img.dataset.sidePaints = "0";
      img.dataset.channel = "off";
      el.appendChild(img);

      let shown = null;       // base64 of the JPEG on screen
      let socket = null, open = false, inFlight = false, pending = null, ignore = 0;
      let vectors = [];       // [{slider, vector: Float32Array}]
      const sliders = new Map();  // css class -> Bokeh slider model
      const watched = new WeakSet();

      const showServer = () => {
        pending = null;
        if (inFlight) { ignore = 1; }  // a reply under way is older than what the server says now
        const data = model.src.slice(model.src.indexOf(",") + 1);
        if (model.src && data === shown) { return; }  // the side channel already shows these bytes
        shown = data;
        img.src = model.src;
        img.dataset.paintedBy = "server";
      };
      const paintSide = (bytes) => {
        // A data URL, as the server's: a blob URL replaced while it loads is logged as a failed request.
        shown = toBase64(bytes);
        img.src = "data:image/jpeg;base64," + shown;
        img.dataset.paintedBy = "side-channel";
        img.dataset.sidePaints = String(Number(img.dataset.sidePaints) + 1);
      };

      const resolve = () => {
        sliders.clear();
        const wanted = new Set(vectors.map((entry) => entry.slider));
        for (const slider of view.model.document.all_models) {
          for (const name of slider.css_classes || []) {
            if (!wanted.has(name) || sliders.has(name)) { continue; }
            sliders.set(name, slider);
            if (!watched.has(slider)) {
              watched.add(slider);
              pauseSync(slider, "value", () => open);
              slider.properties.value.change.connect(() => step());
            }
          }
        }
      };
      const readVectors = () => {
        vectors = model.vectors.map((entry) => ({ slider: entry.slider, vector: Float32Array.from(entry.vector) }));
        resolve();
      };
      const latent = () => {
        if (sliders.size < vectors.length) { resolve(); }
        const out = Float32Array.from(model.base);
        for (const { slider, vector } of vectors) {
          const found = sliders.get(slider);
          if (!found) { return null; }
          const strength = Math.fround(found.value);
          if (!strength) { continue; }
          // As numpy does it in float32: latent + float32(strength) * vector, rounded at each step.
          for (let i = 0; i < out.length; i++) { out[i] = out[i] + Math.fround(strength * vector[i]); }
        }
        return out;
      };
      const send = (z) => { inFlight = true; socket.send(z.buffer); };
      const step = () => {
        if (!open) { return; }
        const z = latent();
        if (z === null) { return; }
        if (inFlight) { pending = z; } else { send(z); }
      };
      const connect = () => {
        if (!model.token || socket) { return; }
        const url = new URL(model.channel_path, window.location.href);
        url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
        url.search = "?token=" + encodeURIComponent(model.token);
        url.hash = "";
        img.dataset.channel = "connecting";
        socket = new WebSocket(url.href);
        socket.binaryType = "arraybuffer";
        socket.onopen = () => { open = true; img.dataset.channel = "open"; };
        socket.onmessage = (event) => {
          inFlight = false;
          if (ignore > 0) { ignore -= 1; } else { paintSide(new Uint8Array(event.data)); }
          if (pending !== null && open) { const z = pending; pending = null; send(z); }
        };
        socket.onclose = (event) => {
          open = false; inFlight = false; pending = null;
          img.dataset.channel = "closed";
          img.dataset.closeCode = String(event.code);
        };
      };

      showServer();
      readVectors();
      model.on("src", showServer);
      model.on("vectors", readVectors);
      view.model.document.on_change(() => { if (sliders.size < vectors.length) { resolve(); } });
      connect();
    }
    """
