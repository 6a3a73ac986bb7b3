"""Every ```python block in the README and docs/ runs, so the documentation
cannot drift from the code. (Illustrative fragments that are not meant to run
on their own are fenced as ```py instead.)"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PAGES = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
BLOCK = re.compile(r"^```python\s*\n(.*?)^```", re.S | re.M)


def blocks():
    for page in PAGES:
        for k, match in enumerate(BLOCK.finditer(page.read_text())):
            yield pytest.param(match.group(1), id=f"{page.relative_to(ROOT)}#{k}")


@pytest.mark.parametrize("code", list(blocks()))
def test_code_block_runs(code, capsys):
    exec(compile(code, "<doc block>", "exec", dont_inherit=True), {"__name__": "__doc_block__"})
