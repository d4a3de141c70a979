"""Figures without a browser: grids, J-diagrams, path strips, line plots, histograms, GIFs.

Pure Pillow + numpy, so the `export` command and the app compose the same pictures. Images
come in as uint8 (H, W, C) arrays (C = 1 or 3) and figures go out as PIL images or bytes.
"""

from __future__ import annotations

import io
from typing import Callable, Sequence

import numpy as np
from PIL import Image, ImageDraw, ImageFont

BACKGROUND = (255, 255, 255)
INK = (40, 40, 40)
GRID_INK = (225, 225, 225)
# Colours that stay distinct for colour-blind readers (Okabe-Ito).
PALETTE = [(0, 114, 178), (213, 94, 0), (0, 158, 115), (204, 121, 167), (230, 159, 0), (86, 180, 233)]


def to_uint8(images: np.ndarray) -> np.ndarray:
    """Float images in [0, 1] (any leading shape) -> uint8, rounding."""
    return (np.clip(np.asarray(images, dtype=np.float32), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_pil(image: np.ndarray) -> Image.Image:
    """uint8 (H, W, 1 or 3) -> an RGB PIL image."""
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    return Image.fromarray(image).convert("RGB")


def tile(image: np.ndarray, size: int) -> Image.Image:
    """One image scaled to size×size: bicubic up, Lanczos down, as the renderer does."""
    pil = to_pil(image)
    if pil.size == (size, size):
        return pil
    method = Image.Resampling.BICUBIC if size > pil.width else Image.Resampling.LANCZOS
    return pil.resize((size, size), method)


def grid_image(images: np.ndarray, size: int, gap: int = 0) -> Image.Image:
    """uint8 (rows, cols, H, W, C) -> one picture of size×size tiles with `gap` pixels between."""
    images = np.asarray(images)
    if images.ndim != 5:
        raise ValueError(f"grid images must have shape (rows, cols, H, W, C), got {images.shape}")
    rows, cols = images.shape[:2]
    canvas = Image.new("RGB", (cols * size + (cols - 1) * gap, rows * size + (rows - 1) * gap), BACKGROUND)
    for r in range(rows):
        for c in range(cols):
            canvas.paste(tile(images[r, c], size), (c * (size + gap), r * (size + gap)))
    return canvas


def jdiagram_figure(grid: np.ndarray, inputs: dict[str, np.ndarray | None], size: int, gap: int = 4) -> Image.Image:
    """A J-diagram: the decoded grid (rows, cols, H, W, C) framed by the input images.

    The grid's corners are the reconstructions of A (top left), B (bottom left) and C (top
    right), as `explorer.latent.analogy.j_diagram` lays them out, with B + C - A at the bottom
    right. Inputs A, B, C stand outside their corners, beside their reconstructions.
    """
    rows, cols = np.asarray(grid).shape[:2]
    inner = grid_image(grid, size, 0)
    margin = size + 2 * gap
    canvas = Image.new("RGB", (inner.width + 2 * margin, inner.height + 2 * margin), BACKGROUND)
    canvas.paste(inner, (margin, margin))
    draw = ImageDraw.Draw(canvas)
    spots = {
        "a": (gap, margin),
        "b": (gap, margin + inner.height - size),
        "c": (margin + inner.width + gap, margin),
    }
    for key, (x, y) in spots.items():
        image = inputs.get(key)
        if image is not None:
            canvas.paste(tile(image, size), (x, y))
        draw.text((x + 2, y - 2 - _text_height()), key.upper(), fill=INK, font=_font())
    x, y = margin + inner.width + gap, margin + inner.height - size
    draw.text((x + 2, y + size // 2 - 6), "B+C-A", fill=INK, font=_font())
    return canvas


def strips_figure(rows: Sequence[tuple[str, np.ndarray]], size: int, gap: int = 2, label_width: int = 56) -> Image.Image:
    """Labelled rows of images, e.g. [("lerp", (n, H, W, C)), ("slerp", ...)]."""
    count = max(len(images) for _, images in rows)
    width = label_width + count * size + (count - 1) * gap
    canvas = Image.new("RGB", (width, len(rows) * (size + gap) - gap), BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    for r, (label, images) in enumerate(rows):
        y = r * (size + gap)
        draw.text((4, y + size // 2 - 6), label, fill=INK, font=_font())
        strip = grid_image(np.asarray(images)[None], size, gap)
        canvas.paste(strip, (label_width, y))
    return canvas


def line_plot(
    series: dict[str, tuple[np.ndarray, np.ndarray]],
    *,
    title: str = "",
    xlabel: str = "",
    ylabel: str = "",
    hlines: dict[str, float] | None = None,
    size: tuple[int, int] = (480, 300),
    ylim: tuple[float, float] | None = None,
    diagonal: bool = False,
) -> Image.Image:
    """A small line plot with axes, ticks and a legend: Pillow stands in for matplotlib."""
    width, height = size
    left, right, top, bottom = 56, 12, 28 if title else 12, 40
    canvas = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    xs = np.concatenate([np.asarray(x, float) for x, _ in series.values()])
    ys = np.concatenate([np.asarray(y, float) for _, y in series.values()] + [np.array(list((hlines or {}).values()), float)])
    x0, x1 = float(xs.min()), float(xs.max())
    y0, y1 = ylim if ylim else (float(ys.min()), float(ys.max()))
    if not ylim:
        pad = 0.08 * (y1 - y0 or 1.0)
        y0, y1 = y0 - pad, y1 + pad
    x1 = x1 if x1 > x0 else x0 + 1.0
    y1 = y1 if y1 > y0 else y0 + 1.0

    def point(x: float, y: float) -> tuple[float, float]:
        return (left + (x - x0) / (x1 - x0) * (width - left - right),
                height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom))

    _axes(draw, point, (x0, x1), (y0, y1), size, (left, right, top, bottom), title, xlabel, ylabel)
    if diagonal:
        draw.line([point(x0, y0), point(x1, y1)], fill=GRID_INK, width=1)
    for i, (name, value) in enumerate((hlines or {}).items()):
        _dashed(draw, point(x0, value), point(x1, value), fill=(150, 150, 150))
        draw.text((point(x0, value)[0] + 4, point(x0, value)[1] - 14), name, fill=(120, 120, 120), font=_font())
    for i, (x, y) in enumerate(series.values()):
        draw.line([point(float(a), float(b)) for a, b in zip(x, y)], fill=PALETTE[i % len(PALETTE)], width=2)
    for i, name in enumerate(series):  # legends last, over the lines
        _legend(draw, i, name, PALETTE[i % len(PALETTE)], width - right)
    return canvas


def histogram_plot(
    groups: dict[str, np.ndarray],
    *,
    bins: int = 30,
    title: str = "",
    xlabel: str = "",
    size: tuple[int, int] = (480, 300),
    vline: float | None = None,
) -> Image.Image:
    """Overlaid step histograms (as densities) of a few groups of values."""
    values = np.concatenate([np.asarray(v, float) for v in groups.values() if len(v)])
    lo, hi = float(values.min()), float(values.max())
    hi = hi if hi > lo else lo + 1.0
    edges = np.linspace(lo, hi, bins + 1)
    series = {}
    for name, v in groups.items():
        counts, _ = np.histogram(np.asarray(v, float), bins=edges, density=True)
        x = np.repeat(edges, 2)[1:-1]
        y = np.repeat(counts, 2)
        series[f"{name} ({len(v)})"] = (x, y)
    image = line_plot(series, title=title, xlabel=xlabel, ylabel="density", size=size)
    if vline is not None and lo <= vline <= hi:
        draw = ImageDraw.Draw(image)
        left, right = 56, 12
        x = left + (vline - lo) / (hi - lo) * (size[0] - left - right)
        _dashed(draw, (x, 28 if title else 12), (x, size[1] - 40), fill=INK)
    return image


def bar_plot(
    categories: Sequence[str],
    groups: dict[str, np.ndarray],
    *,
    title: str = "",
    size: tuple[int, int] = (480, 300),
) -> Image.Image:
    """Grouped bars: the fraction of each group in each category."""
    width, height = size
    left, right, top, bottom = 48, 12, 28 if title else 12, 60
    canvas = Image.new("RGB", size, BACKGROUND)
    draw = ImageDraw.Draw(canvas)
    peak = max(float(np.max(v)) for v in groups.values()) or 1.0
    slot = (width - left - right) / max(1, len(categories))
    bar = slot * 0.8 / max(1, len(groups))
    draw.line([(left, top), (left, height - bottom), (width - right, height - bottom)], fill=INK)
    for i, name in enumerate(categories):
        for g, (group, values) in enumerate(groups.items()):
            x = left + i * slot + slot * 0.1 + g * bar
            y = height - bottom - float(values[i]) / peak * (height - top - bottom)
            draw.rectangle([x, y, x + bar - 1, height - bottom], fill=PALETTE[g % len(PALETTE)])
        draw.text((left + i * slot + 2, height - bottom + 4), str(name)[:10], fill=INK, font=_font())
    for g, group in enumerate(groups):
        _legend(draw, g, group, PALETTE[g % len(PALETTE)], width - right)
    if title:
        draw.text((left, 6), title, fill=INK, font=_font())
    return canvas


def side_by_side(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Pictures in one row, tops aligned."""
    width = sum(i.width for i in images) + gap * (len(images) - 1)
    canvas = Image.new("RGB", (width, max(i.height for i in images)), BACKGROUND)
    x = 0
    for image in images:
        canvas.paste(image, (x, 0))
        x += image.width + gap
    return canvas


def stacked(images: Sequence[Image.Image], gap: int = 8) -> Image.Image:
    """Pictures in one column, left edges aligned."""
    height = sum(i.height for i in images) + gap * (len(images) - 1)
    canvas = Image.new("RGB", (max(i.width for i in images), height), BACKGROUND)
    y = 0
    for image in images:
        canvas.paste(image, (0, y))
        y += image.height + gap
    return canvas


def png_bytes(image: Image.Image) -> bytes:
    """A PIL image as PNG bytes."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def jpeg_bytes(image: Image.Image, quality: int = 90) -> bytes:
    """A PIL image as JPEG bytes."""
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


def gif_bytes(frames: Sequence[np.ndarray], size: int, duration_ms: int = 80, bounce: bool = True) -> bytes:
    """An endlessly looping animated GIF of uint8 frames, played forth and (with bounce) back."""
    if len(frames) == 0:
        raise ValueError("a GIF needs at least one frame")
    pictures = [tile(frame, size) for frame in frames]
    if bounce and len(pictures) > 2:
        pictures = pictures + pictures[-2:0:-1]
    buffer = io.BytesIO()
    pictures[0].save(buffer, format="GIF", save_all=True, append_images=pictures[1:], duration=duration_ms, loop=0)
    return buffer.getvalue()


# ---------------------------------------------------------------------------- the paper's figures
# Each takes `decode`: float (N, d) latents -> uint8 (N, H, W, C) images (a Renderer's decode_images).
Decode = Callable[[np.ndarray], np.ndarray]


def decode_grid(decode: Decode, latents: np.ndarray) -> np.ndarray:
    """(rows, cols, d) latents -> uint8 (rows, cols, H, W, C)."""
    rows, cols, d = np.shape(latents)
    images = decode(np.reshape(latents, (rows * cols, d)))
    return images.reshape(rows, cols, *images.shape[1:])


def jdiagram(decode: Decode, a: np.ndarray, b: np.ndarray, c: np.ndarray, size: int, tile: int,
             inputs: dict[str, np.ndarray | None] | None = None) -> Image.Image:
    """White 2016's J-diagram for corners a, b, c (size × size), inputs beside their corners."""
    from explorer.latent.analogy import j_diagram

    return jdiagram_figure(decode_grid(decode, j_diagram(a, b, c, size, size)), inputs or {}, tile)


def mine(decode: Decode, centre: np.ndarray, neighbours: np.ndarray, size: int, tile: int) -> Image.Image:
    """A MINE grid: `neighbours` laid out around `centre` on a size × size grid, gaps interpolated."""
    from explorer.latent.grids import mine_grid

    return grid_image(decode_grid(decode, mine_grid(centre, neighbours, size, size).latents), tile, 2)


def mine_neighbour_count(size: int) -> int:
    """How many neighbours a size × size MINE grid places: about half the cells, the rest interpolated."""
    return max(2, (size * size) // 2)


def typical_norm(prior: str, latent_dim: int) -> float:
    """The norm prior samples concentrate at: sqrt(d) for N(0, I), sqrt(d / 3) for uniform on [-1, 1]^d."""
    return float(np.sqrt(latent_dim if prior == "gaussian" else latent_dim / 3.0))


def path_norms(a: np.ndarray, b: np.ndarray, count: int = 101) -> dict[str, np.ndarray]:
    """Latent norm along the lerp and slerp paths from a to b, at `count` evenly spaced t."""
    from explorer.latent.interpolate import lerp, slerp

    t = np.linspace(0.0, 1.0, count)
    return {"t": t, "lerp": np.linalg.norm(lerp(a, b, t), axis=-1), "slerp": np.linalg.norm(slerp(a, b, t), axis=-1)}


def paths(decode: Decode, a: np.ndarray, b: np.ndarray, steps: int, tile: int, typical_norm: float) -> Image.Image:
    """lerp and slerp strips from a to b over the plot of their latent norms (the tent-pole)."""
    from explorer.latent.interpolate import lerp, slerp

    t = np.linspace(0.0, 1.0, steps)
    strips = strips_figure([("lerp", decode(lerp(a, b, t))), ("slerp", decode(slerp(a, b, t)))], tile)
    norms = path_norms(a, b)
    plot = line_plot(
        {"lerp": (norms["t"], norms["lerp"]), "slerp": (norms["t"], norms["slerp"])},
        title="latent norm along the path", xlabel="t", hlines={"prior's typical norm": typical_norm},
        size=(max(strips.width, 360), 260),
    )
    return stacked([strips, plot])


def traversal(decode: Decode, starts: np.ndarray, vector: np.ndarray, strengths: np.ndarray, tile: int,
              label: str = "") -> Image.Image:
    """Each start latent (a row) moved along `vector` by each strength (a column)."""
    moved = np.asarray(starts)[:, None, :] + np.asarray(strengths)[None, :, None] * np.asarray(vector)[None, None, :]
    grid = grid_image(decode_grid(decode, moved), tile, 2)
    if not label:
        return grid
    caption = Image.new("RGB", (grid.width, 18), BACKGROUND)
    ImageDraw.Draw(caption).text(
        (2, 2), f"{label}: strength {strengths[0]:+.1f} (left) to {strengths[-1]:+.1f} (right)", fill=INK, font=_font())
    return stacked([caption, grid], gap=2)


def atdot(result: dict) -> Image.Image:
    """An AtDot judgement (from `judge_attribute`): score histograms with the threshold, and the ROC."""
    histogram = histogram_plot(
        {"with": result["positives"], "without": result["negatives"]},
        title=f"AtDot scores: {result['attribute']} ({result['method']}), accuracy {result['accuracy']:.1%}",
        xlabel="score", vline=result["threshold"], size=(520, 300),
    )
    curve = line_plot({"ROC": (result["fpr"], result["tpr"])}, title=f"ROC, AUC {result['auc']:.3f}",
                      xlabel="false positive rate", size=(300, 300), ylim=(0.0, 1.02), diagonal=True)
    return side_by_side([histogram, curve])


# ---------------------------------------------------------------------------- drawing helpers
def _font() -> ImageFont.ImageFont:
    return ImageFont.load_default(12)


def _text_height() -> int:
    return 13


def _ticks(lo: float, hi: float, count: int = 5) -> np.ndarray:
    span = hi - lo
    step = 10 ** np.floor(np.log10(span / count))
    for factor in (1, 2, 2.5, 5, 10):
        if span / (step * factor) <= count:
            step *= factor
            break
    first = np.ceil(lo / step) * step
    ticks = np.arange(first, hi + step * 1e-9, step)
    return np.where(np.abs(ticks) < step * 1e-9, 0.0, ticks)  # no "-0" labels


def _axes(draw, point, xr, yr, size, margins, title, xlabel, ylabel) -> None:
    width, height = size
    left, right, top, bottom = margins
    for y in _ticks(*yr):
        px, py = point(xr[0], y)
        draw.line([(left, py), (width - right, py)], fill=GRID_INK)
        draw.text((4, py - 6), f"{y:.3g}", fill=INK, font=_font())
    for x in _ticks(*xr):
        px, py = point(x, yr[0])
        draw.line([(px, height - bottom), (px, height - bottom + 4)], fill=INK)
        draw.text((px - 8, height - bottom + 6), f"{x:.3g}", fill=INK, font=_font())
    draw.rectangle([left, top, width - right, height - bottom], outline=INK)
    if title:
        draw.text((left, 6), title, fill=INK, font=_font())
    if xlabel:
        draw.text(((left + width - right) / 2 - 3 * len(xlabel), height - 16), xlabel, fill=INK, font=_font())
    if ylabel:
        draw.text((4, top - 12 if top > 14 else 0), "", fill=INK)


def _legend(draw, i: int, name: str, colour, right_edge: int) -> None:
    y = 34 + 16 * i
    x = right_edge - 8 - 7 * len(name) - 22
    draw.rectangle([x - 4, y - 1, right_edge - 4, y + 15], fill=BACKGROUND)
    draw.line([(x, y + 7), (x + 16, y + 7)], fill=colour, width=3)
    draw.text((x + 20, y), name, fill=INK, font=_font())


def _dashed(draw, start, end, fill, dash: int = 6) -> None:
    (x0, y0), (x1, y1) = start, end
    length = max(1.0, float(np.hypot(x1 - x0, y1 - y0)))
    steps = int(length // dash)
    for s in range(0, steps, 2):
        a, b = s / steps, min(1.0, (s + 1) / steps)
        draw.line([(x0 + a * (x1 - x0), y0 + a * (y1 - y0)), (x0 + b * (x1 - x0), y0 + b * (y1 - y0))], fill=fill)


# ---------------------------------------------------------------------------- data behind the figures
def label_masks(labels: dict[str, np.ndarray], categories: dict[str, list[str]], minimum: int = 2) -> dict[str, np.ndarray]:
    """Every label as a boolean mask ("name=value" per categorical value), keeping those with at
    least `minimum` images on each side."""
    masks: dict[str, np.ndarray] = {}
    for name, values in labels.items():
        values = np.asarray(values)
        if name in categories:
            for code, value_name in enumerate(categories[name]):
                masks[f"{name}={value_name}"] = values == code
        elif values.dtype == bool or set(np.unique(values).tolist()) <= {0, 1}:
            masks[name] = values.astype(bool)
    return {k: m for k, m in masks.items() if minimum <= int(m.sum()) <= len(m) - minimum}


def default_confounders(masks: dict[str, np.ndarray], attribute: str, limit: int = 2, min_cell: int = 4) -> list[str]:
    """The masks most correlated with `attribute` (other label families) that it can be balanced
    over: every combination of them with the attribute keeps at least `min_cell` images."""
    if attribute not in masks:
        return []
    target = masks[attribute]
    family = attribute.split("=")[0]
    candidates = sorted(
        ((abs(_phi(target, mask)), name) for name, mask in masks.items() if name.split("=")[0] != family),
        reverse=True,
    )
    chosen: list[str] = []
    for score, name in candidates:
        if len(chosen) == limit or score <= 0.05:
            break
        table = np.stack([target] + [masks[c] for c in chosen + [name]], axis=1)
        _, counts = np.unique(table, axis=0, return_counts=True)
        if len(counts) == 2 ** table.shape[1] and counts.min() >= min_cell:
            chosen.append(name)
    return chosen


def split_halves(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed half / half split of range(count): vectors are built on one half, judged on the other."""
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[: count // 2]), np.sort(order[count // 2 :])


def judge_attribute(
    latents: np.ndarray,
    masks: dict[str, np.ndarray],
    attribute: str,
    balance: Sequence[str] = (),
    augmented: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """An attribute vector judged as an AtDot classifier (White 2016), honestly: the vector and
    the accuracy-maximising threshold come from one half of the latents, the scores, ROC, AUC
    and accuracy from the other.

    With `augmented` (encodings of edited images, row for row), the vector is synthetic and the
    classifier tells edited from original encodings. ValueError says why a vector cannot be built.
    """
    from explorer.latent import attributes as la
    from explorer.latent.classify import atdot, best_threshold, roc

    latents = np.asarray(latents, dtype=np.float64)
    train, test = split_halves(len(latents), seed)
    cells = None
    if augmented is not None:
        augmented = np.asarray(augmented, dtype=np.float64)
        vector = la.synthetic_attribute_vector(latents[train], augmented[train])
        halves = []
        for rows in (train, test):
            halves.append((np.concatenate([augmented[rows], latents[rows]]),
                           np.r_[np.ones(len(rows), bool), np.zeros(len(rows), bool)]))
        method = "synthetic"
    else:
        if attribute not in masks:
            raise ValueError(f"no label {attribute!r}; the labels are {', '.join(sorted(masks)) or 'none'}")
        mask = masks[attribute]
        halves = [(latents[rows], mask[rows]) for rows in (train, test)]
        for name, (_, labels) in zip(("building", "test"), halves):
            if labels.all() or not labels.any():
                side = "without" if labels.all() else "with"
                raise ValueError(f"no image {side} {attribute!r} in the {name} half, so it cannot be judged")
        if balance:
            labels = {attribute: mask[train], **{c: masks[c][train] for c in balance}}
            result = la.balanced_attribute_vector(latents[train], labels, attribute, tuple(balance))
            vector, cells, method = result.vector, cell_table(result), "balanced"
        else:
            vector, method = la.attribute_vector(latents[train], mask[train]), "plain"
    (train_latents, train_labels), (test_latents, test_labels) = halves
    threshold = best_threshold(atdot(train_latents, vector), train_labels).threshold
    scores = atdot(test_latents, vector)
    curve = roc(scores, test_labels)
    return {
        "attribute": attribute,
        "method": method,
        "positives": scores[test_labels],
        "negatives": scores[~test_labels],
        "fpr": curve.false_positive_rate,
        "tpr": curve.true_positive_rate,
        "auc": curve.auc,
        "threshold": threshold,
        "accuracy": float(np.mean((scores >= threshold) == test_labels)),
        "cell_counts": cells,
        "train_size": len(train_labels),
        "test_size": len(test_labels),
    }


def cell_table(result) -> list[dict]:
    """A balanced vector's cells as rows: yes / no per attribute, then the image counts."""
    rows = []
    for key, (original, replicated) in result.cell_counts.items():
        row = {name: ("yes" if flag else "no") for name, flag in zip(result.attributes, key)}
        row.update(images=int(original), after_balancing=int(replicated))
        rows.append(row)
    return rows


def blur(images: np.ndarray, radius: float = 1.5) -> np.ndarray:
    """Gaussian-blurred copies of uint8 (N, H, W, C) images: the edit behind the synthetic 'blur' vector."""
    from PIL import ImageFilter

    out = np.empty_like(images)
    for i, image in enumerate(images):
        blurred = np.asarray(to_pil(image).filter(ImageFilter.GaussianBlur(radius)))
        out[i] = blurred[:, :, :1] if image.shape[2] == 1 else blurred
    return out


def _phi(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two boolean vectors (0 when either is constant)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))
