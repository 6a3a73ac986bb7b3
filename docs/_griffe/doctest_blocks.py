"""A Griffe extension for the documentation build (not part of the package).

chainrule's docstrings are Google style with doctest examples written inline
and Sphinx-style roles (``:func:`flatten```). Markdown would read a doctest's
``>>>`` as nested block quotes and an output line such as ``[1.0, 0.5]`` as a
link, so this extension fences each doctest run as a ``pycon`` code block and
turns the roles into inline code before mkdocstrings renders the docstrings.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

ROLE = re.compile(r":(?:func|class|mod|meth|attr|data|exc|obj):`~?\.?([^`]+)`")


def fence_doctests(text: str) -> str:
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.lstrip().startswith(">>>"):
            indent = line[: len(line) - len(line.lstrip())]
            block = []
            while i < len(lines) and lines[i].strip() and lines[i].startswith(indent):
                block.append(lines[i][len(indent) :])
                i += 1
            if out and out[-1].strip():
                out.append("")
            out += [indent + "```pycon", *(indent + b for b in block), indent + "```", ""]
            continue
        out.append(line)
        i += 1
    return "\n".join(out)


def clean(text: str) -> str:
    return fence_doctests(ROLE.sub(r"``\1``", text))


class DoctestBlocks(griffe.Extension):
    def on_package(self, *, pkg: griffe.Module, **kwargs: Any) -> None:
        seen: set[int] = set()

        def visit(obj: griffe.Object) -> None:
            if id(obj) in seen:
                return
            seen.add(id(obj))
            if obj.docstring is not None:
                obj.docstring.value = clean(obj.docstring.value)
            for member in obj.members.values():
                if not member.is_alias:
                    visit(member)

        visit(pkg)
