"""A page whose connection dropped comes back by itself, showing what its link says.

Bokeh reconnects a dropped websocket by itself once Panel's `reconnect` is on (immediately, then
after 2, 4, 8 and 16 s). While the server still holds the session (Bokeh keeps an unconnected one
for --session-expiry, 15 s by default) the page carries on as it was. Once the server has let the
session go, the reconnection builds a new one from the arguments the page was first opened with,
not from the link the page showed since (LinkWriter keeps that link in the address bar). So every
session carries its own `nonce`: a page that finds another one after a reconnection reloads the
link it had when the connection dropped. When Bokeh gives up, the page waits for the server to
answer again (GET health, every 5 s) and then reloads that link.
"""

from __future__ import annotations

import secrets

import param
from panel.custom import JSComponent

RETRY_MS = 5000


class Reconnector(JSComponent):
    """Invisible: reloads the page's link when a reconnection found its session gone."""

    nonce = param.String(default="", doc="this session's own random id")

    _esm = """
    export function render({ model, el, view }) {
      el.style.display = "none";
      const doc = view.model.document;
      const state = window.latentExplorerReconnect ??= { nonce: null, link: null, doc: null, waiting: false };
      if (state.nonce !== null && state.nonce !== model.nonce) {
        // The reconnection found a session built anew from the page's first link: open the last one.
        window.location.replace(state.link ?? window.location.href);
        return;
      }
      state.nonce = model.nonce;
      if (state.doc === doc) {
        return;
      }
      state.doc = doc;
      doc.on_event("connection_lost", (_, event) => {
        state.link = window.location.href;
        if (event.timeout != null || state.waiting) {
          return;  // Bokeh tries again by itself
        }
        state.waiting = true;
        const retry = () => fetch(new URL("health", window.location.href), { cache: "no-store" })
          .then((response) => response.status < 500 ? window.location.replace(state.link) : later())
          .catch(later);
        const later = () => setTimeout(retry, RETRY_MS);
        later();
      });
    }
    """.replace("RETRY_MS", str(RETRY_MS))

    def __init__(self, **params):
        params.setdefault("nonce", secrets.token_hex(8))
        super().__init__(**{"width": 0, "height": 0, "margin": 0, **params})
