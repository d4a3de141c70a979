"""GET /health: a JSON report for load balancers and the person running a workshop.

    {"status": "ok", "sessions": 3, "max_sessions": 30, "turned_away": 0, "packs": [...],
     "uptime_s": 812.4, "rss_mb": 611.2, "public": true, "pid": 4242}

With --num-procs each worker process answers for itself (its sessions, its memory, its pid).

It is served without authentication (a proxy's health check has no login) and names nothing
but pack names and counts.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from tornado.web import RequestHandler

from explorer.app.hosting import hosting, sessions
from explorer.memory import rss_mb
from explorer.resources import loaded_resources

STARTED = time.monotonic()


def health_report() -> dict[str, Any]:
    """Sessions, limits, the packs loaded with their renderer's cache and batching counts, uptime and memory."""
    limits = hosting()
    return {
        "status": "ok",
        "sessions": sessions.active,
        "max_sessions": limits.max_sessions,
        "admitted": sessions.admitted,
        "turned_away": sessions.turned_away,
        "public": limits.public,
        "packs": [{"name": r.name, "renderer": r.renderer.stats()} for r in loaded_resources()],
        "uptime_s": round(time.monotonic() - STARTED, 1),
        "rss_mb": round(rss_mb(), 1),
        "pid": os.getpid(),
    }


class HealthHandler(RequestHandler):
    """Answers GET with `health_report()` as JSON, never cached."""

    def get(self) -> None:
        """The report, as JSON."""
        self.set_header("Content-Type", "application/json")
        self.set_header("Cache-Control", "no-store")
        self.finish(json.dumps(health_report()))
