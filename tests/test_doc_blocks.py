"""Every ```python block in the README and docs/ runs, so the documentation
cannot drift from the code. (Illustrative fragments that are not meant to run
on their own are fenced as ```py instead.)"""

from __future__ import annotations

import re
import runpy
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


# -- the error page shows the messages chainrule prints now ---------------------------

ERRORS = runpy.run_path(str(ROOT / "tools" / "error_messages.py"))
ERROR_PAGE = (ROOT / "docs" / "errors.md").read_text()


def error_snippets():
    for page in ERRORS["PAGES"]:
        for k, m in enumerate(ERRORS["snippets"](page.read_text())):
            yield pytest.param(m, id=f"{page.name}#{k}")


@pytest.mark.parametrize("snippet", list(error_snippets()))
def test_error_page_shows_the_current_message(snippet):
    shown = snippet.group("text")
    assert shown is not None, (
        "a snippet checks an error but shows no message: run python tools/error_messages.py"
    )
    printed = [ERRORS["message"](e) for e in ERRORS["caught"](snippet.group("code"))]
    assert ERRORS["normalised"](shown) == [" ".join(m.split()) for m in printed], (
        "the message on the page is not what chainrule prints now: "
        "run python tools/error_messages.py"
    )


def test_error_page_messages_are_checked():
    # Every error section shows at least one message (the check above is not vacuous).
    assert len(ERRORS["snippets"](ERROR_PAGE)) >= 9
    assert "chainrule.errors.ConversionError: float() on a traced value" in ERROR_PAGE
    sharp = (ROOT / "docs" / "sharp-bits.md").read_text()
    assert len(ERRORS["snippets"](sharp)) >= 8


# -- printed listings shown on a page are what the code prints -------------------------

LISTING = re.compile(r"^\s*(graph of |backward pass of |forward mode of |ḡ|ṫ)")
FENCE = re.compile(r"^```(\w*)\s*\n(.*?)^```", re.S | re.M)


def listings():
    """(page, code of the nearest ```python block before, the listing shown)."""
    for page in PAGES:
        code = None
        for k, match in enumerate(FENCE.finditer(page.read_text())):
            kind, body = match.groups()
            if kind == "python":
                code = body
            elif kind == "text" and code is not None and LISTING.match(body):
                yield pytest.param(code, body, id=f"{page.relative_to(ROOT)}#{k}")


@pytest.mark.parametrize(("code", "shown"), list(listings()))
def test_shown_listing_is_printed(code, shown, capsys):
    # The lines shown (all of them, or an excerpt) appear in order in what the block prints.
    exec(compile(code, "<doc block>", "exec", dont_inherit=True), {"__name__": "__doc_block__"})
    printed = [line.rstrip() for line in capsys.readouterr().out.splitlines()]
    position = 0
    for line in shown.rstrip("\n").splitlines():
        assert line.rstrip() in printed[position:], f"not printed (in this order): {line!r}"
        position = printed.index(line.rstrip(), position) + 1


def test_listings_are_checked():
    assert len(list(listings())) >= 3  # the tutorial's backward, forward-mode and fan-out
