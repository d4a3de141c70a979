"""Small charts drawn with Pillow (no matplotlib): grouped bars and labelled polylines.

Each chart function returns a `PIL.Image.Image` of exactly the requested size, so reports,
the app and figure exports can place them side by side (`side_by_side`). Text uses DejaVu
Sans when the system has it (it covers ρ and other Greek letters), else Pillow's built-in
font.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from functools import cache

from PIL import Image, ImageDraw, ImageFont

# Okabe-Ito: distinguishable with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
BACKGROUND = "white"
INK = "#222222"
GRID = "#E4E4E4"
FONT_SIZE = 14


@cache
def font(size: int = FONT_SIZE) -> ImageFont.FreeTypeFont | ImageFont.ImageFont:
    """DejaVu Sans at `size` pixels, or Pillow's built-in font when DejaVu is not installed."""
    try:
        return ImageFont.truetype("DejaVuSans.ttf", size)
    except OSError:
        return ImageFont.load_default(size)


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """About `count` round tick values (steps of 1, 2 or 5 × 10^k) covering [low, high]."""
    if not (math.isfinite(low) and math.isfinite(high)) or high < low:
        raise ValueError(f"tick range must be finite with low <= high, got [{low}, {high}]")
    if high == low:
        low, high = low - 0.5, high + 0.5
    raw = (high - low) / max(1, count)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step + 1e-9)
    last = math.ceil(high / step - 1e-9)
    return [round(multiple * step, 10) for multiple in range(first, last + 1)]


def bar_chart(
    categories: Sequence[str],
    series: Mapping[str, Sequence[float]],
    size: tuple[int, int] = (720, 480),
    title: str = "",
    y_label: str = "",
) -> Image.Image:
    """Grouped bars: one group per category, one bar per series, with a legend and y ticks."""
    if not categories or not series:
        raise ValueError("bar_chart needs at least one category and one series")
    for name, values in series.items():
        if len(values) != len(categories):
            raise ValueError(f"series {name!r} has {len(values)} values for {len(categories)} categories")
    image, draw = _canvas(size)
    label_font = font(FONT_SIZE - 1)
    label_height = max(_rotated_extent(label_font, text)[1] for text in categories)
    top = _header(draw, size, title, list(series))
    frame = _Frame(left=72, top=top, right=size[0] - 16, bottom=size[1] - label_height - 12)
    ticks = nice_ticks(0.0, max(max(values) for values in series.values()) or 1.0)
    frame.y_axis(draw, ticks, y_label, image)
    group_width = frame.width / len(categories)
    bar_width = 0.8 * group_width / len(series)
    for column, category in enumerate(categories):
        group_left = frame.left + column * group_width + 0.1 * group_width
        for number, values in enumerate(series.values()):
            x0 = group_left + number * bar_width
            y = frame.y(values[column], ticks[0], ticks[-1])
            draw.rectangle([x0, y, x0 + bar_width - 1, frame.bottom], fill=PALETTE[number % len(PALETTE)])
        centre = frame.left + (column + 0.5) * group_width
        _paste_rotated(image, category, label_font, (centre, frame.bottom + 6))
    draw.line([frame.left, frame.bottom, frame.right, frame.bottom], fill=INK)
    return image


def line_chart(
    series: Mapping[str, Sequence[tuple[float, float]]],
    size: tuple[int, int] = (720, 480),
    title: str = "",
    x_label: str = "",
    y_label: str = "",
    point_labels: Mapping[str, Sequence[str]] | None = None,
    x_range: tuple[float, float] | None = None,
    y_range: tuple[float, float] | None = None,
) -> Image.Image:
    """Labelled polylines of (x, y) points with markers; a one-point series is a lone marker."""
    if not series or any(len(points) == 0 for points in series.values()):
        raise ValueError("line_chart needs at least one series, each with at least one point")
    point_labels = point_labels or {}
    xs = [x for points in series.values() for x, _ in points]
    ys = [y for points in series.values() for _, y in points]
    x_ticks = nice_ticks(*(x_range or (min(xs), max(xs))))
    y_ticks = nice_ticks(*(y_range or (min(ys), max(ys))))
    image, draw = _canvas(size)
    top = _header(draw, size, title, list(series))
    frame = _Frame(left=72, top=top, right=size[0] - 24, bottom=size[1] - 52, margin=10)
    frame.y_axis(draw, y_ticks, y_label, image)
    frame.x_axis(draw, x_ticks, x_label)
    pixels = {
        name: [(frame.x(x, x_ticks[0], x_ticks[-1]), frame.y(y, y_ticks[0], y_ticks[-1])) for x, y in points]
        for name, points in series.items()
    }
    for number, points in enumerate(pixels.values()):
        if len(points) > 1:
            draw.line(points, fill=PALETTE[number % len(PALETTE)], width=2, joint="curve")
    markers = [(px, py) for points in pixels.values() for px, py in points]
    labels: list[tuple[float, float, float, float]] = []
    for number, (name, points) in enumerate(pixels.items()):
        colour = PALETTE[number % len(PALETTE)]
        for point, text in zip(points, point_labels.get(name, ())):
            labels.append(_place_label(draw, text, point, markers, labels, frame, colour))
        for px, py in points:
            draw.ellipse([px - 4, py - 4, px + 4, py + 4], fill=colour, outline=INK)
    return image


# Where a point's label may go, tried in order: (dx, dy, Pillow text anchor).
_LABEL_SPOTS = (
    (8, 0, "lm"), (7, -5, "ld"), (7, 5, "lt"), (-8, 0, "rm"), (-7, -5, "rd"), (-7, 5, "rt"), (0, -8, "md"), (0, 8, "mt")
)
_MARKER_REACH = 5


def _place_label(
    draw: ImageDraw.ImageDraw,
    text: str,
    point: tuple[float, float],
    markers: list[tuple[float, float]],
    labels: list[tuple[float, float, float, float]],
    frame: _Frame,
    colour: str,
) -> tuple[float, float, float, float]:
    """Draw `text` beside `point` and return its box.

    Spots are tried nearest first, in tiers: in the chart, over no label and nearer its own
    point than any other; else in the chart over no label; else in the chart; else the nearest.
    A label next to the wrong point would mislead; one touching a marker only crowds.
    """
    small = font(FONT_SIZE - 2)
    candidates = []
    for reach in (1, 2, 3):
        for dx, dy, anchor in _LABEL_SPOTS:
            spot = (point[0] + reach * dx, point[1] + reach * dy)
            candidates.append((spot, anchor, draw.textbbox(spot, text, font=small, anchor=anchor)))

    def inside(box: tuple[float, float, float, float]) -> bool:
        return box[0] > frame.left and box[2] < frame.right and box[1] > frame.top and box[3] < frame.bottom

    def clear(box: tuple[float, float, float, float]) -> bool:
        return not any(_overlap(box, other) for other in labels)

    def unambiguous(box: tuple[float, float, float, float]) -> bool:
        own = _distance(box, point)
        return all(_distance(box, other) > max(own, _MARKER_REACH) for other in markers if other != point)

    tiers = (
        lambda box: inside(box) and clear(box) and unambiguous(box),
        lambda box: inside(box) and clear(box),
        inside,
        lambda box: True,
    )
    spot, anchor, box = next(c for accept in tiers for c in candidates if accept(c[2]))
    # A white halo keeps the label readable where it crosses a line or grid.
    draw.text(spot, text, font=small, fill=colour, anchor=anchor, stroke_width=2, stroke_fill=BACKGROUND)
    return box


def _distance(box: tuple[float, float, float, float], point: tuple[float, float]) -> float:
    dx = max(box[0] - point[0], 0.0, point[0] - box[2])
    dy = max(box[1] - point[1], 0.0, point[1] - box[3])
    return math.hypot(dx, dy)


def _overlap(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def side_by_side(images: Sequence[Image.Image], background: str = BACKGROUND) -> Image.Image:
    """The images in a row, top-aligned, on one RGB canvas."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    width = sum(image.width for image in images)
    height = max(image.height for image in images)
    row = Image.new("RGB", (width, height), background)
    left = 0
    for image in images:
        row.paste(image.convert("RGB"), (left, 0))
        left += image.width
    return row


class _Frame:
    """The plot area in pixels, mapping data values to pixel positions and drawing axes."""

    def __init__(self, left: float, top: float, right: float, bottom: float, margin: float = 0.0):
        if right - left < 20 + 2 * margin or bottom - top < 20 + 2 * margin:
            raise ValueError("the chart is too small for its labels; ask for a larger size")
        self.left, self.top, self.right, self.bottom = left, top, right, bottom
        self.width = right - left
        # Data keep `margin` pixels off the axes, so points on the range's edge stay visible.
        self.margin = margin

    def x(self, value: float, low: float, high: float) -> float:
        span = self.right - self.left - 2 * self.margin
        return self.left + self.margin + (value - low) / (high - low) * span

    def y(self, value: float, low: float, high: float) -> float:
        span = self.bottom - self.top - 2 * self.margin
        return self.bottom - self.margin - (value - low) / (high - low) * span

    def y_axis(self, draw: ImageDraw.ImageDraw, ticks: list[float], label: str, image: Image.Image) -> None:
        for tick in ticks:
            y = self.y(tick, ticks[0], ticks[-1])
            draw.line([self.left, y, self.right, y], fill=GRID)
            draw.line([self.left - 5, y, self.left, y], fill=INK)
            draw.text((self.left - 8, y), _tick_text(tick, ticks), font=font(), fill=INK, anchor="rm")
        draw.line([self.left, self.top, self.left, self.bottom], fill=INK)
        if label:
            _paste_rotated(image, label, font(), (16, (self.top + self.bottom) / 2), angle=90, centred=True)

    def x_axis(self, draw: ImageDraw.ImageDraw, ticks: list[float], label: str) -> None:
        for tick in ticks:
            x = self.x(tick, ticks[0], ticks[-1])
            draw.line([x, self.top, x, self.bottom], fill=GRID)
            draw.line([x, self.bottom, x, self.bottom + 5], fill=INK)
            draw.text((x, self.bottom + 8), _tick_text(tick, ticks), font=font(), fill=INK, anchor="mt")
        draw.line([self.left, self.bottom, self.right, self.bottom], fill=INK)
        if label:
            draw.text(((self.left + self.right) / 2, self.bottom + 28), label, font=font(), fill=INK, anchor="mt")


def _canvas(size: tuple[int, int]) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    width, height = size
    if width < 120 or height < 120:
        raise ValueError(f"chart size must be at least 120×120 pixels, got {width}×{height}")
    image = Image.new("RGB", (int(width), int(height)), BACKGROUND)
    return image, ImageDraw.Draw(image)


def _header(draw: ImageDraw.ImageDraw, size: tuple[int, int], title: str, names: list[str]) -> float:
    """Draw the title and a one-row legend; return the y where the plot area may start."""
    y = 10
    if title:
        draw.text((size[0] / 2, y), title, font=font(FONT_SIZE + 2), fill=INK, anchor="mt")
        y += 26
    x = 72
    for number, name in enumerate(names):
        draw.rectangle([x, y + 2, x + 12, y + 14], fill=PALETTE[number % len(PALETTE)])
        draw.text((x + 18, y + 8), name, font=font(), fill=INK, anchor="lm")
        x += 18 + draw.textlength(name, font=font()) + 22
    return y + 30


def _tick_text(value: float, ticks: list[float]) -> str:
    step = ticks[1] - ticks[0] if len(ticks) > 1 else 1.0
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    return f"{value:.{decimals}f}"


def _rotated_extent(text_font: ImageFont.FreeTypeFont | ImageFont.ImageFont, text: str, angle: float = 35) -> tuple[int, int]:
    left, top, right, bottom = text_font.getbbox(text)
    width, height = right - left, bottom - top
    radians = math.radians(angle)
    return (
        int(width * math.cos(radians) + height * math.sin(radians)) + 2,
        int(width * math.sin(radians) + height * math.cos(radians)) + 2,
    )


def _paste_rotated(
    image: Image.Image,
    text: str,
    text_font: ImageFont.FreeTypeFont | ImageFont.ImageFont,
    anchor: tuple[float, float],
    angle: float = 35,
    centred: bool = False,
) -> None:
    """Paste `text` turned counter-clockwise by `angle`; its end sits at `anchor` (or its centre, if centred)."""
    left, top, right, bottom = text_font.getbbox(text)
    stamp = Image.new("L", (right - left + 2, bottom - top + 2), 0)
    ImageDraw.Draw(stamp).text((1 - left, 1 - top), text, font=text_font, fill=255)
    turned = stamp.rotate(angle, expand=True, resample=Image.Resampling.BICUBIC)
    x, y = anchor
    if centred:
        position = (int(x - turned.width / 2), int(y - turned.height / 2))
    else:  # the text's right end at the anchor, hanging down to the left under its bar group
        position = (int(x - turned.width), int(y))
    image.paste(Image.new("RGB", turned.size, INK), position, turned)
