"""The ``chainrule`` command (also ``python -m chainrule``).

Subcommands ``grad``, ``jacobian``, ``hessian``, ``jvp`` and ``graph`` take an
expression, parsed safely (an allow-listed syntax tree, never ``eval``), and
variable values with ``--at``; ``demo`` (the default) walks through the
lecture's least squares. Modules:

- ``arguments``: the argparse grammar and help texts
- ``app``: ``main``, error handling and exit statuses
- ``expressions``: parsing and the allow-list; ``evaluate``: the evaluator;
  ``limits``: the resource limits; ``functions``: what may be called
- ``variables``: ``NAME=VALUE`` values; ``commands``: the expression commands;
  ``output``: tables and JSON
- ``demo``, ``lecture``, ``dataset``, ``progress``: the walk-through
"""

from .app import main

__all__ = ["main"]
