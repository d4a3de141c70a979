"""The link's arguments, read from the raw request with our own limits before anything else parses them.

Panel's `Location` turns query values into numbers and JSON (`panel.util.parse_query`), and
`int()` refuses more than 4,300 digits: `/?z=` with 5,000 digits answered HTTP 500 and logged a
traceback; Panel decodes `?bokeh-absolute-url=` as UTF-8 before any page code runs (HTTP 500 for
other bytes), and Bokeh gives a page the session id `?bokeh-session-id=` names (someone who sent
the link could then join that session). So the arguments are checked before anything reads
them: at most MAX_ARGUMENTS keys of plain characters and none of Bokeh's own, each value UTF-8
text of at most MAX_VALUE_CHARS characters without control characters, the last of repeated
values counting. What fails is dropped and named in one line for the visitor.

`CheckedArguments` does it for every request `latent-explorer serve` answers, before the
handler; `checked_session_arguments` again for the session (for `panel serve`), and it gives
the session a `CheckedLocation`, which reads its query the same way: the browser reports its
address, the hostile link, to the session's Location on connecting.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from urllib.parse import parse_qs, urlencode

from panel.io.location import Location
from tornado.httputil import HTTPServerRequest
from tornado.web import OutputTransform

from explorer.app.panel_internals import set_session_location

MAX_ARGUMENTS = 32
MAX_KEY_CHARS = 32
# A link's longest value is a latent: 4 characters per 3 bytes of float16, so 4,096 characters
# hold 1,536 dimensions. Python's int() accepts up to 4,300 digits.
MAX_VALUE_CHARS = 4096
_KEY = re.compile(rf"^[A-Za-z0-9_.\-]{{1,{MAX_KEY_CHARS}}}$")
_NAMED = 3  # dropped arguments named in the note; the rest are counted


def read_arguments(arguments: Mapping[str, object]) -> tuple[dict[str, str], str]:
    """The usable (key, text) pairs of a request's arguments, and one line naming what was dropped ("" if nothing).

    `arguments` maps keys to a list of values (bytes or str), as Tornado and Bokeh hold them.
    """
    query: dict[str, str] = {}
    dropped: list[str] = []
    for key, values in arguments.items():
        values = values if isinstance(values, (list, tuple)) else [values]
        if not values:
            continue
        if not isinstance(key, str) or not _KEY.match(key) or key.startswith("bokeh-"):
            dropped.append(f"{_shown(key)} (not a key a link uses)")
            continue
        text, problem = _text(values[-1])
        if problem:
            dropped.append(f"{_shown(key)} ({problem})")
        elif text:
            if len(query) == MAX_ARGUMENTS:
                dropped.append(f"{_shown(key)} (more than {MAX_ARGUMENTS} arguments)")
                continue
            query[key] = text
    return query, _note(dropped)


class CheckedArguments(OutputTransform):
    """Cuts each request's query down to what `read_arguments` keeps, before its handler reads it.

    A Tornado transform (Application(transforms=...)): Tornado makes one per request before it
    runs the handler. It changes nothing in the response. The note on what was dropped stays on
    the request as `link_note`, where the session's request (Bokeh's proxy of it) finds it.
    """

    def __init__(self, request: HTTPServerRequest):
        super().__init__(request)
        query, note = read_arguments(request.query_arguments)
        request.query_arguments = {key: [value.encode("utf-8")] for key, value in query.items()}
        request.arguments = {key: list(values) for key, values in request.query_arguments.items()}
        for key, values in request.body_arguments.items():
            request.arguments.setdefault(key, []).extend(values)
        request.query = urlencode(query)
        request.uri = request.path + (f"?{request.query}" if request.query else "")
        request.link_note = note


class CheckedLocation(Location):
    """Panel's Location, reading its query with `read_arguments` (plain text within our limits, never raising)."""

    @property
    def query_params(self) -> dict[str, str]:
        """The usable arguments of `search`, as text."""
        return read_arguments(parse_qs(self.search[1:], keep_blank_values=True))[0]


def checked_session_arguments(doc) -> tuple[dict[str, str], str]:
    """`read_arguments` of the request that opened Bokeh session `doc`, which then keeps only what passed.

    The request's arguments become the usable ones and its URI carries only them; the session's
    Location (which Panel adds to the page) is a CheckedLocation built from that URI. Outside a
    server session: no arguments.
    """
    context = getattr(doc, "session_context", None)
    request = getattr(context, "request", None)
    arguments = getattr(request, "arguments", None)
    if not isinstance(arguments, dict):
        return {}, ""
    query, note = read_arguments(arguments)
    note = getattr(request, "link_note", None) or note  # what CheckedArguments dropped before
    arguments.clear()
    arguments.update({key: [value.encode("utf-8")] for key, value in query.items()})
    uri = getattr(request, "uri", None)
    if isinstance(uri, str):
        # Bokeh's request proxy hands unknown attributes on to Tornado's request: this one shadows it.
        request.uri = uri.split("?", 1)[0].split("#", 1)[0] + (f"?{urlencode(query)}" if query else "")
    set_session_location(doc, CheckedLocation.from_request(request))
    return query, note


def _text(value: object) -> tuple[str, str]:
    """(text, "") for a usable value, else ("", what is wrong with it)."""
    if isinstance(value, bytes):
        if len(value) > 4 * MAX_VALUE_CHARS:
            return "", f"{len(value):,} bytes; a value may have at most {MAX_VALUE_CHARS:,} characters"
        try:
            value = value.decode("utf-8")
        except UnicodeDecodeError:
            return "", "not UTF-8 text"
    if not isinstance(value, str):
        return "", f"a {type(value).__name__}, not text"
    if len(value) > MAX_VALUE_CHARS:
        return "", f"{len(value):,} characters; a value may have at most {MAX_VALUE_CHARS:,}"
    if any(unicodedata.category(char) in ("Cc", "Cs") for char in value):
        return "", "control characters"
    return value.strip(), ""


def _shown(key: object) -> str:
    """A key as the note shows it: quoted, cut to 24 characters, nothing unprintable."""
    text = key.decode("utf-8", "replace") if isinstance(key, bytes) else str(key)
    cut = text[:24] + ("..." if len(text) > 24 else "")
    return repr(cut)


def _note(dropped: list[str]) -> str:
    if not dropped:
        return ""
    named = ", ".join(dropped[:_NAMED])
    more = f" and {len(dropped) - _NAMED} more" if len(dropped) > _NAMED else ""
    return f"Part of the link was ignored: {named}{more}."
