"""The browser-facing widgets' Python side: what a click or an upload message turns into."""

from __future__ import annotations

import base64

from explorer.app.components import TileGrid, UploadButton, jpeg_src


def test_a_tile_click_reports_row_and_column_and_ignores_nonsense():
    grid = TileGrid(rows=2, cols=3)
    clicks = []
    grid.on_click(lambda row, col: clicks.append((row, col)))
    for message in ({"row": 1, "col": 2}, {"row": 2, "col": 0}, {"row": "x"}, {}, {"row": -1, "col": 0}):
        grid._handle_msg(message)
    assert clicks == [(1, 2)] and grid.clicks == 1


def test_an_upload_message_becomes_bytes_and_a_filename():
    button = UploadButton()
    received = []
    button.on_upload(lambda data, name, error: received.append((data, name, error)))
    button._handle_msg({"name": "a.png", "data": base64.b64encode(b"\x89PNG").decode()})
    assert received == [(b"\x89PNG", "a.png", None)]


def test_a_file_refused_by_the_browser_becomes_a_clear_error():
    button = UploadButton(max_bytes=1024)
    received = []
    button.on_upload(lambda data, name, error: received.append((data, name, error)))
    button._handle_msg({"name": "huge.jpg", "too_large": 50 * 2**20})
    button._handle_msg({"name": "bad.jpg", "data": "%%%not base64"})
    assert received[0][0] is None and "50.0 MiB" in received[0][2]
    assert received[1][0] is None and "garbled" in received[1][2]


def test_jpeg_src_is_a_data_url():
    assert jpeg_src(b"\xff\xd8") == "data:image/jpeg;base64,/9g=" and jpeg_src(b"") == ""
