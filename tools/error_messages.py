"""Write the messages on the error pages (docs/errors.md, docs/sharp-bits.md)
by running their snippets.

    python tools/error_messages.py          # rewrites the message blocks in place

On those pages every ```python block that checks an error with
``pytest.raises`` is followed by a ```text block holding what Python prints
for each exception the block catches, in order (the last line of a
traceback: ``module.Class: message``), wrapped to 88 columns. This script
runs the snippets and writes those blocks; tests/test_doc_blocks.py runs
them too and fails when a message on a page is not what the library prints
now.
"""

from __future__ import annotations

import re
import sys
import textwrap
import traceback
import warnings
from pathlib import Path

import pytest

DOCS = Path(__file__).resolve().parents[1] / "docs"
PAGES = [DOCS / "errors.md", DOCS / "sharp-bits.md"]
# A ```python block, optionally followed (after blank lines) by a ```text block.
BLOCK = re.compile(
    r"^```python\n(?P<code>.*?)^```\n(?P<after>\n*```text\n(?P<text>.*?)^```\n)?", re.S | re.M
)
WIDTH = 88


def caught(code: str) -> list[BaseException]:
    """Run a snippet; return the exceptions its ``pytest.raises`` blocks caught."""
    found: list[BaseException] = []
    real = pytest.raises

    class Recording:
        def __init__(self, *args, **kwargs) -> None:
            self.inner = real(*args, **kwargs)

        def __enter__(self):
            self.info = self.inner.__enter__()
            return self.info

        def __exit__(self, *exc) -> bool:
            suppressed = self.inner.__exit__(*exc)
            found.append(self.info.value)
            return suppressed

    pytest.raises = Recording  # the snippets import pytest and call pytest.raises
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            exec(compile(code, "<errors.md>", "exec"), {"__name__": "__doc_block__"})
    finally:
        pytest.raises = real
    return found


def message(error: BaseException) -> str:
    """The last line of the traceback Python prints for ``error``."""
    return "".join(traceback.format_exception_only(type(error), error)).strip()


def text_block(errors: list[BaseException]) -> str:
    wrapped = [
        textwrap.fill(
            message(e), WIDTH, break_long_words=False, break_on_hyphens=False,
            subsequent_indent="    ",
        )
        for e in errors
    ]  # fmt: skip
    return "\n\n".join(wrapped) + "\n"


def normalised(text: str) -> list[str]:
    """The messages of a text block, whitespace aside."""
    return [" ".join(part.split()) for part in re.split(r"\n\s*\n", text.strip()) if part.strip()]


def snippets(page: str) -> list[re.Match]:
    """The blocks that check errors, each with its message block (if any)."""
    return [m for m in BLOCK.finditer(page) if "pytest.raises" in m.group("code")]


def update(path: Path) -> int:
    page = path.read_text()
    out, last, changed = [], 0, 0
    for m in snippets(page):
        block = "```text\n" + text_block(caught(m.group("code"))) + "```\n"
        out.append(page[last : m.end("code")] + "```\n\n" + block)
        changed += m.group("text") is None or normalised(m.group("text")) != normalised(block[8:-4])
        last = m.end()
    out.append(page[last:])
    path.write_text("".join(out))
    return changed


if __name__ == "__main__":
    for page in [Path(p) for p in sys.argv[1:]] or PAGES:
        print(f"{page}: {update(page)} message block(s) written")
