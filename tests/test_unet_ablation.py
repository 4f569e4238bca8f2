"""benchmarks/unet_ablation.py (issue 17): the script behind lesson 07's ablation table runs and says what it did."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def ablation():
    spec = importlib.util.spec_from_file_location("unet_ablation", ROOT / "benchmarks" / "unet_ablation.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_unknown_row_and_field_are_refused(ablation, capsys):
    with pytest.raises(SystemExit):
        ablation.main(["--rows", "no-such-row"])
    assert "unknown rows ['no-such-row']" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        ablation.main(["--rows", "scratch", "--set", "no_such_field=1"])
    assert "--set 'no_such_field=1': expected FIELD=VALUE with FIELD one of" in capsys.readouterr().err


def test_quick_warm_start_row_runs_both_phases_and_writes_nothing(ablation, tmp_path, capsys):
    out = tmp_path / "results.json"
    ablation.main(["--quick", "--threads", "1", "--rows", "+continue", "--out", str(out)])
    text = capsys.readouterr().out
    assert "phase 1: val mIoU" in text and "-> val mIoU" in text and "quick mode: nothing written" in text
    assert not out.exists()


def test_results_file_rows_name_their_recipe_command_and_date():
    rows = json.loads((ROOT / "benchmarks" / "results" / "unet_ablation.json").read_text())["rows"]
    assert {"scratch", "+pretrain", "+steps"} <= {r["recipe"] for r in rows}
    for r in rows:
        assert 0 < r["test_miou"] < 1 and 0 < r["val_miou"] < 1 and r["optimizer_steps"] > 0, r["recipe"]
        assert r["command"].startswith("python") and r["date"][:4] == "2026" and not r["quick"], r["recipe"]
