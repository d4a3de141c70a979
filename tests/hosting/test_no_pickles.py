"""No code path of the package can unpickle: torch.load always with weights_only=True, np.load never
with allow_pickle=True, and no pickle / joblib / dill loads at all (read from the source)."""

from __future__ import annotations

import ast
from pathlib import Path

import explorer

SOURCES = sorted(Path(explorer.__file__).resolve().parent.rglob("*.py"))


def calls(name: str) -> list[tuple[str, ast.Call]]:
    """Every call of `<something>.name(...)` or `name(...)` in the package, with its file:line."""
    found = []
    for path in SOURCES:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Call):
                func = node.func
                called = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", None)
                if called == name:
                    found.append((f"{path.name}:{node.lineno}", node))
    return found


def keyword(call: ast.Call, name: str):
    for item in call.keywords:
        if item.arg == name:
            return item.value.value if isinstance(item.value, ast.Constant) else item.value
    return None


def test_the_package_source_was_found():
    assert len(SOURCES) > 20


def test_every_torch_load_is_weights_only():
    loads = [(where, call) for where, call in calls("load")
             if isinstance(call.func, ast.Attribute) and getattr(call.func.value, "id", "") == "torch"]
    assert loads, "expected the model loader's torch.load"
    assert [where for where, call in loads if keyword(call, "weights_only") is not True] == []


def test_no_numpy_load_allows_pickles():
    assert [where for where, call in calls("load") if keyword(call, "allow_pickle") is True] == []


def test_nothing_unpickles_directly():
    for module in ("pickle", "joblib", "dill", "cloudpickle"):
        for where, call in calls("load") + calls("loads") + calls("Unpickler"):
            if isinstance(call.func, ast.Attribute):
                assert getattr(call.func.value, "id", "") != module, f"{module} load at {where}"
