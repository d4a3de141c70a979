"""Attribute data for the app, the export command and the figures: label masks, confounders, the
synthetic attributes, the one `attribute_vector` and its judging as an AtDot classifier.

Panel-free; the math is in `explorer.latent.attributes` and `explorer.latent.classify`. Latents
and masks are arguments everywhere, so vectors can be built on one set of latents and judged on
another. An attribute is either a label (a boolean mask over the latents) or synthetic: an image
edit in `SYNTHETIC`, whose vector is the mean shift the edit causes in the encodings.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

METHODS = ("plain", "balanced", "synthetic")


def blur(images: np.ndarray, radius: float = 1.5) -> np.ndarray:
    """Gaussian-blurred copies of uint8 (N, H, W, C) images: the edit behind the synthetic 'blur' vector."""
    from PIL import ImageFilter

    from explorer.imaging import to_pil

    out = np.empty_like(images)
    for i, image in enumerate(images):
        blurred = np.asarray(to_pil(image).filter(ImageFilter.GaussianBlur(radius)))
        out[i] = blurred[:, :, :1] if image.shape[2] == 1 else blurred
    return out


# The synthetic attributes: name -> the image edit (uint8 (N, H, W, C) -> the same, edited).
SYNTHETIC: dict[str, Callable[[np.ndarray], np.ndarray]] = {"blur": blur}


def is_synthetic(attribute: str) -> bool:
    """Whether `attribute` is an image edit rather than a label."""
    return attribute in SYNTHETIC


def methods_for(attribute: str) -> list[str]:
    """The vector methods that exist for `attribute`, the default first."""
    return ["synthetic"] if is_synthetic(attribute) else [m for m in METHODS if m != "synthetic"]


def default_method(attribute: str) -> str:
    """The method a vector for `attribute` is built with unless the user says otherwise."""
    return methods_for(attribute)[0]


def resolve_method(attribute: str, method: str) -> str:
    """The method a vector for `attribute` is built with when `method` is asked: a synthetic attribute
    always has its synthetic vector; ValueError for a method that does not exist for it."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if is_synthetic(attribute):
        return "synthetic"
    if method == "synthetic":
        raise ValueError(f"a synthetic vector exists only for {', '.join(SYNTHETIC)}, not {attribute!r}")
    return method


def edited_latents(attribute: str, images: np.ndarray, encode: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """Encodings of `images` after the synthetic attribute's edit, row for row (the `augmented` of a vector)."""
    if not is_synthetic(attribute):
        raise ValueError(f"{attribute!r} is not a synthetic attribute; those are {', '.join(SYNTHETIC)}")
    return encode(SYNTHETIC[attribute](np.asarray(images)))


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


@dataclass(frozen=True)
class AttributeVector:
    """An attribute's direction in latent space and how it was built."""

    vector: np.ndarray  # (d,)
    method: str  # plain | balanced | synthetic; balanced over nothing is plain
    balance: tuple[str, ...] = ()  # the confounders of a balanced vector
    cells: list[dict] | None = None  # balanced: images per combination, before and after replication


def attribute_vector(
    latents: np.ndarray,
    masks: Mapping[str, np.ndarray],
    attribute: str,
    method: str = "plain",
    *,
    balance: Sequence[str] | None = None,
    augmented: np.ndarray | None = None,
) -> AttributeVector:
    """The vector of `attribute` over `latents` (n, d), built by `method` (see `resolve_method`).

    plain and balanced need the attribute's mask (row for row with latents); balanced balances over
    `balance` (default: `default_confounders`). synthetic needs `augmented`: the encodings of the
    edited images, row for row (`edited_latents`). ValueError says why a vector cannot be built.
    """
    from explorer.latent import attributes as la

    method = resolve_method(attribute, method)
    if method == "synthetic":
        if augmented is None:
            raise ValueError(f"the synthetic vector of {attribute!r} needs the encodings of the edited images "
                             "(augmented=edited_latents(...))")
        return AttributeVector(la.synthetic_attribute_vector(latents, augmented), "synthetic")
    if attribute not in masks:
        raise ValueError(f"no label {attribute!r}; the labels are {', '.join(sorted(masks)) or 'none'}")
    if method == "balanced":
        balance = tuple(default_confounders(dict(masks), attribute) if balance is None else balance)
        if balance:
            labels = {attribute: masks[attribute], **{c: masks[c] for c in balance}}
            result = la.balanced_attribute_vector(latents, labels, attribute, balance)
            return AttributeVector(result.vector, "balanced", balance, _cell_table(result))
    return AttributeVector(la.attribute_vector(latents, masks[attribute]), "plain")


def split_halves(count: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A fixed half / half split of range(count): vectors are built on one half, judged on the other."""
    order = np.random.default_rng(seed).permutation(count)
    return np.sort(order[: count // 2]), np.sort(order[count // 2 :])


def judge_vector(vector: np.ndarray, build: tuple[np.ndarray, np.ndarray], test: tuple[np.ndarray, np.ndarray]) -> dict:
    """A vector as an AtDot classifier (White 2016): the accuracy-maximising threshold from the `build`
    (latents, labels), then the scores, ROC, AUC and accuracy on the `test` (latents, labels)."""
    from explorer.latent.classify import atdot, best_threshold, roc

    (build_latents, build_labels), (test_latents, test_labels) = build, test
    threshold = best_threshold(atdot(build_latents, vector), build_labels).threshold
    scores = atdot(test_latents, vector)
    curve = roc(scores, test_labels)
    return {
        "positives": scores[test_labels],
        "negatives": scores[~test_labels],
        "fpr": curve.false_positive_rate,
        "tpr": curve.true_positive_rate,
        "auc": curve.auc,
        "threshold": threshold,
        "accuracy": float(np.mean((scores >= threshold) == test_labels)),
        "train_size": len(build_labels),
        "test_size": len(test_labels),
    }


def judge_attribute(
    latents: np.ndarray,
    masks: Mapping[str, np.ndarray],
    attribute: str,
    method: str = "plain",
    *,
    balance: Sequence[str] | None = None,
    augmented: np.ndarray | None = None,
    seed: int = 0,
) -> dict:
    """An attribute vector judged honestly: built (and its threshold chosen) on one half of the
    latents, scored on the other (`split_halves`); a balanced vector balances over `balance`
    (default: the confounders over all the latents).

    A synthetic vector's classifier tells edited (`augmented`) from original encodings.
    ValueError says why a vector cannot be built or judged.
    """
    latents = np.asarray(latents, dtype=np.float64)
    method = resolve_method(attribute, method)
    build, test = split_halves(len(latents), seed)
    if method == "synthetic":
        if augmented is None:
            raise ValueError(f"judging the synthetic vector of {attribute!r} needs the encodings of the edited images")
        augmented = np.asarray(augmented, dtype=np.float64)
        built = attribute_vector(latents[build], {}, attribute, method, augmented=augmented[build])
        sides = [(np.concatenate([augmented[rows], latents[rows]]), np.r_[np.ones(len(rows), bool), np.zeros(len(rows), bool)])
                 for rows in (build, test)]
    else:
        if attribute not in masks:
            raise ValueError(f"no label {attribute!r}; the labels are {', '.join(sorted(masks)) or 'none'}")
        sides = [(latents[rows], masks[attribute][rows]) for rows in (build, test)]
        for name, (_, labels) in zip(("building", "test"), sides):
            if labels.all() or not labels.any():
                side = "without" if labels.all() else "with"
                raise ValueError(f"no image {side} {attribute!r} in the {name} half, so it cannot be judged")
        if method == "balanced" and balance is None:
            balance = default_confounders(dict(masks), attribute)
        built = attribute_vector(latents[build], {name: mask[build] for name, mask in masks.items()}, attribute,
                                 method, balance=balance)
    return {"attribute": attribute, "method": built.method, **judge_vector(built.vector, *sides),
            "cell_counts": built.cells}


def judge_on_held_out(
    build_latents: np.ndarray,
    build_masks: Mapping[str, np.ndarray],
    test_latents: np.ndarray,
    test_masks: Mapping[str, np.ndarray],
    attribute: str,
    method: str = "plain",
    *,
    balance: Sequence[str] | None = None,
) -> dict:
    """An attribute vector as the paper judges it: built (and its threshold chosen) on the training
    latents, scored on the held-out ones. For plain and balanced vectors; a synthetic vector needs
    images, which a training split does not keep (see `judge_attribute`)."""
    method = resolve_method(attribute, method)
    if method == "synthetic":
        raise ValueError(f"the synthetic vector of {attribute!r} is judged on held-out halves (judge_attribute)")
    for name, masks in (("training", build_masks), ("held-out", test_masks)):
        if attribute not in masks:
            raise ValueError(f"no label {attribute!r} with images on both sides in the {name} split")
    if method == "balanced" and balance is None:
        balance = default_confounders(dict(build_masks), attribute)
    built = attribute_vector(build_latents, build_masks, attribute, method, balance=balance)
    build = (np.asarray(build_latents, dtype=np.float64), build_masks[attribute])
    test = (np.asarray(test_latents, dtype=np.float64), test_masks[attribute])
    return {"attribute": attribute, "method": built.method, **judge_vector(built.vector, build, test),
            "cell_counts": built.cells, "built_on": f"{len(build[0])} training images"}


def _cell_table(result) -> list[dict]:
    """A balanced vector's cells (`BalancedAttribute`) as rows: yes / no per attribute, then the image counts."""
    rows = []
    for key, (original, replicated) in result.cell_counts.items():
        row = {name: ("yes" if flag else "no") for name, flag in zip(result.attributes, key)}
        row.update(images=int(original), after_balancing=int(replicated))
        rows.append(row)
    return rows


def _phi(a: np.ndarray, b: np.ndarray) -> float:
    """Correlation of two boolean vectors (0 when either is constant)."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    sa, sb = a.std(), b.std()
    if sa == 0 or sb == 0:
        return 0.0
    return float(((a - a.mean()) * (b - b.mean())).mean() / (sa * sb))
