"""scripts/directions_table.py prints the README's direction tables from the shipped emoji pack."""

import importlib.util
import re
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "directions_table.py"


def _script():
    spec = importlib.util.spec_from_file_location("directions_table", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_script_names_eight_pcs_and_zeroes_the_locked_judges(capsys):
    assert _script().main(["--packs", "emoji", "--sefa"]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^\| PC\d ", out, re.MULTILINE)) == 8
    assert len(re.findall(r"^\| SF\d ", out, re.MULTILINE)) == 8
    locked_rows = re.findall(r"^\| (atdot|logistic) \(\d+\) \| locked \| [^|]+ \| [^|]+ \| ([\d.]+) \|", out, re.MULTILINE)
    assert [kind for kind, _ in locked_rows] == ["atdot", "logistic"]
    assert all(float(largest) == 0.0 for _, largest in locked_rows)
