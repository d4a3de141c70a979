"""Messages as a page shows them: as text, never markup, and with --public without server paths.

Messages quote what a link or an upload said (`?view=<img src=x onerror=...>` once ran its
script in the page, as the Markdown of an alert). And errors about packs name the files they
concern, which an open demo should not tell its visitors: there a path is cut to its last part
(`validation.npz`, the pack's folder name), and the full message goes to the server log.
"""

from __future__ import annotations

import html
import logging
import re
import tempfile
from pathlib import Path

from explorer.app.hosting import hosting

log = logging.getLogger(__name__)

# A path that starts at a root: /..., ~/..., ./..., ../..., file://..., C:\... or \\server\...
# (not the //host/... of a URL, which the look-behind leaves alone).
_ROOTED = re.compile(r"""(?<![\w.:/\\~-])(?:file://|~|\.{1,2}|[A-Za-z]:)?[/\\][^\s'"`<>|,;()\[\]{}]*""")
# Brackets make Markdown links and images; emphasis and code spans can only change how text looks.
_MARKDOWN = str.maketrans({"[": "&#91;", "]": "&#93;"})


def page_text(text: str) -> str:
    """`text` as Markdown that can make no HTML, link or image; with --public, paths cut to their last part.

    Under --public, the full text of a message that had a path goes to the server log.
    """
    text = str(text)
    shown = without_paths(text) if hosting().public else text
    if shown != text:
        log.warning("a message was shown without its paths: %s", text)
    return html.escape(shown, quote=False).translate(_MARKDOWN)


def without_paths(text: str) -> str:
    """`text` with every filesystem path replaced by its last part (the server's folders replaced first)."""
    for folder, bare in sorted(_server_folders().items(), key=lambda item: -len(item[0])):
        quoted = re.escape(folder)
        text = re.sub(quoted + r"[/\\]", "", text)  # what lies under the folder keeps its own names
        text = re.sub(quoted + r"(?![\w.-])", bare, text)  # the folder itself (not one whose name it begins)
    return _ROOTED.sub(_last_part, text)


def _last_part(match: re.Match) -> str:
    parts = [part for part in re.split(r"[/\\]", match.group(0)) if part not in ("", ".", "..", "~", "file:")]
    return parts[-1] if parts else "..."


def _server_folders() -> dict[str, str]:
    """Folders that would tell a visitor about this server, each with what a bare mention becomes:
    the packs' roots (their own names), the repository, the working folder, temp and home ("...")."""
    from explorer.packs import REPO_ROOT, assets_root, indexes_root

    folders = {str(folder): "..." for folder in (Path.home(), Path.cwd(), REPO_ROOT, Path(tempfile.gettempdir()))}
    for root in (assets_root(), indexes_root()):
        for form in {root, root.absolute(), root.resolve()}:
            folders[str(form)] = root.name or "..."
    return {folder: bare for folder, bare in folders.items() if len(folder) > 1}
