"""The examples in docs/ run as written."""

import re
from pathlib import Path

import pytest

from skyweave.cli.common import resolve_scenario
from skyweave.node.simulate import run_simulation

DOCS = Path(__file__).resolve().parents[1] / "docs"


def python_blocks(path):
    return re.findall(r"```python\n(.*?)```", path.read_text(), flags=re.S)


@pytest.mark.parametrize("doc", ["tracker.md", "api.md"])
def test_python_examples_run(doc, tmp_path, monkeypatch):
    blocks = python_blocks(DOCS / doc)
    assert blocks
    monkeypatch.chdir(tmp_path)
    run_simulation(resolve_scenario("clutter-100"), tmp_path / "out" / "c100", duration=15, progress=False)
    for code in blocks:
        exec(compile(code.replace("...", "pass"), f"{doc} example", "exec"), {})
