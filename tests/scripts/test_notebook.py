"""notebooks/analysis.ipynb: stored without outputs, and runs headless, with no error, on a
synthetic results tree (WEFT_RESULTS).

    /usr/bin/python3 -m pytest -q tests/scripts
"""
import json
import os
import subprocess
import sys

import pytest

import synthetic_results as synth

TIMEOUT_S = 330  # conftest.py; the notebook run below has its own 300 s
NOTEBOOK = os.path.join(synth.ROOT, "notebooks", "analysis.ipynb")


def load(path):
    with open(path) as f:
        return json.load(f)


def test_stored_without_outputs():
    nb = load(NOTEBOOK)
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert code
    for cell in code:
        assert cell["outputs"] == [] and cell["execution_count"] is None
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def text_of(cell):
    """The text a cell printed or displayed (nbformat may store it as a list of lines)."""
    parts = []
    for out in cell.get("outputs", []):
        if out["output_type"] == "stream":
            parts.append(out["text"])
        elif out["output_type"] in ("display_data", "execute_result"):
            data = out["data"]
            parts.append(data.get("text/markdown", data.get("text/plain", "")))
    return "".join("".join(p) if isinstance(p, list) else p for p in parts)


def test_executes_on_synthetic_results(tmp_path):
    pytest.importorskip("nbconvert", reason="jupyter (python3-nbconvert) is not installed")
    pytest.importorskip("ipykernel", reason="python3-ipykernel is not installed")
    results = tmp_path / "results"
    synth.make_tree(str(results))
    env = dict(os.environ, WEFT_RESULTS=str(results), PYDEVD_DISABLE_FILE_VALIDATION="1")
    out = tmp_path / "out"
    r = subprocess.run([sys.executable, "-m", "nbconvert", "--to", "notebook", "--execute",
                        "--ExecutePreprocessor.kernel_name=python3",
                        "--ExecutePreprocessor.timeout=240", "--output-dir", str(out),
                        NOTEBOOK], capture_output=True, text=True, timeout=300, env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    nb = load(out / "analysis.ipynb")
    errors = [o for c in nb["cells"] for o in c.get("outputs", []) if o["output_type"] == "error"]
    assert errors == []
    text = "\n".join(text_of(c) for c in nb["cells"])
    assert str(results) in text
    assert "newest full run: runs/zz_complete.csv" in text
    assert synth.COMPLETE_SHA in text and synth.MICRO_SHA in text
    assert "flat-speedup" in text  # the rule from thresholds.toml
    assert "instructions_per_iter" in text  # baseline/instructions.csv
    assert "gate inputs: runs/zz_complete.csv" in text
    images = sum("image/png" in o.get("data", {})
                 for c in nb["cells"] for o in c.get("outputs", []))
    assert images >= 6  # flat, tree, cancel, echo closed x2, percentiles ...
    # the figures went to a temporary directory, not into the results tree
    assert sorted(os.listdir(results / "plots")) == []
