"""``cr.graph``: the computational graph of a function, printed and drawn.

``cr.graph(fun)(*args)`` runs ``fun`` once under a recording trace and returns
a :class:`Graph`: ``str(g)`` lists the primitives in execution order with
shapes, ``g.backward()`` lists the VJP program that reverse mode runs,
``g.jvp()`` the chain of JVPs that forward mode runs, and ``g.to_dot()`` /
``g.save(path)`` draw any of them with Graphviz. In a Jupyter notebook each
of them shows as a picture (with Graphviz) or as its listing.

Values get the names of the variables that held them in the user's code
when those can be seen (arguments, locals, globals and closures), and
``v1, v2, ...`` otherwise.
"""

from __future__ import annotations

import html
import inspect
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from . import tree
from .core.primitive import Primitive
from .core.reverse import ReverseTrace, ReverseTracer
from .core.staging import Equation, Guard, Program, Var, array_constants
from .core.trace import Tracer, strip
from .transforms._inputs import as_differentiable

_G = "ḡ"  # a cotangent: "g-bar", the derivative of the output with respect to a value
_T = "ṫ"  # a tangent: "t-dot", how a value moves when the inputs move along their tangents

# How each primitive's VJP reads, per argument: {g} the incoming cotangent,
# {0} {1} the arguments, {out} the primitive's output. Display only.
_VJP_TEXT: dict[str, tuple[str, ...]] = {
    "add": ("{g}", "{g}"),
    "subtract": ("{g}", "-{g}"),
    "multiply": ("{g} * {1}", "{g} * {0}"),
    "true_divide": ("{g} / {1}", "-{g} * {out} / {1}"),
    "divide": ("{g} / {1}", "-{g} * {out} / {1}"),
    "power": ("{g} * {1} * {0}^({1}-1)", "{g} * {out} * log({0})"),
    "matmul": ("{g} @ {1}ᵀ", "{0}ᵀ @ {g}"),
    "negative": ("-{g}",),
    "square": ("2 * {g} * {0}",),
    "sin": ("{g} * cos({0})",),
    "cos": ("-{g} * sin({0})",),
    "tanh": ("{g} * (1 - {out}²)",),
    "exp": ("{g} * {out}",),
    "log": ("{g} / {0}",),
    "sqrt": ("{g} / (2 * {out})",),
    "absolute": ("{g} * sign({0})",),
    "maximum": ("{g} where {0} wins", "{g} where {1} wins"),
    "minimum": ("{g} where {0} wins", "{g} where {1} wins"),
    "sum": ("broadcast({g})",),
    "max": ("{g} to the max",),
    "min": ("{g} to the min",),
    "reshape": ("reshape({g})",),
    "transpose": ("transpose({g})",),
    "broadcast_to": ("sum({g}) over broadcast axes",),
    "getitem": ("scatter({g})",),
    "where": ("", "where(cond, {g}, 0)", "where(cond, 0, {g})"),
}

# How each primitive's JVP reads, one term per argument (the terms are
# summed): {t0} {t1} the arguments' tangents, {0} {1} the arguments, {out}
# the primitive's output. A constant argument has no tangent: its term is
# left out. Display only.
_JVP_TEXT: dict[str, tuple[str, ...]] = {
    "add": ("{t0}", "{t1}"),
    "subtract": ("{t0}", "-{t1}"),
    "multiply": ("{t0} * {1}", "{0} * {t1}"),
    "true_divide": ("{t0} / {1}", "-{out} * {t1} / {1}"),
    "divide": ("{t0} / {1}", "-{out} * {t1} / {1}"),
    "power": ("{1} * {0}^({1}-1) * {t0}", "log({0}) * {out} * {t1}"),
    "matmul": ("{t0} @ {1}", "{0} @ {t1}"),
    "negative": ("-{t0}",),
    "square": ("2 * {0} * {t0}",),
    "sin": ("cos({0}) * {t0}",),
    "cos": ("-sin({0}) * {t0}",),
    "tanh": ("(1 - {out}²) * {t0}",),
    "exp": ("{out} * {t0}",),
    "log": ("{t0} / {0}",),
    "sqrt": ("{t0} / (2 * {out})",),
    "absolute": ("sign({0}) * {t0}",),
    "maximum": ("{t0} where {0} wins", "{t1} where {1} wins"),
    "minimum": ("{t0} where {0} wins", "{t1} where {1} wins"),
    "sum": ("sum({t0})",),
    "max": ("{t0} at the max",),
    "min": ("{t0} at the min",),
    "reshape": ("reshape({t0})",),
    "transpose": ("transpose({t0})",),
    "broadcast_to": ("broadcast({t0})",),
    "getitem": ("{t0}[index]",),
    "where": ("", "where(cond, {t1}, 0)", "where(cond, 0, {t2})"),
}


@dataclass
class _Value:
    """One value of the graph: an input, or the output of one primitive."""

    index: int
    name: str
    shape: tuple
    dtype: str
    op: str | None = None  # None for inputs
    args: list = field(default_factory=list)  # ("value", index) or ("const", text)
    static: list = field(default_factory=list)  # "axes=(-1,)", ...

    @property
    def type(self) -> str:
        return f"{self.dtype}[{','.join(map(str, self.shape))}]"


class _GraphTrace(ReverseTrace):
    """A reverse trace that also remembers what each tape entry was."""

    __slots__ = ("ops",)
    shares_slots = False  # x + c is a node of the graph too

    def __init__(self) -> None:
        super().__init__()
        self.ops: dict[int, tuple] = {}

    def process_primitive(self, prim: Primitive, args: tuple | list, kwargs: dict) -> Any:
        before = len(self.tape)
        out = super().process_primitive(prim, args, kwargs)
        if len(self.tape) > before and isinstance(out, ReverseTracer):
            self.ops[out._index] = (prim, list(args), dict(kwargs), strip(out))
        return out


def graph(fun: Any) -> Any:
    """Record the computational graph of ``fun`` at given arguments.

    Every floating-point argument (or pytree leaf) is an input of the graph;
    other arguments are constants. Given a staged program instead of a
    function (``cr.graph(cr.jit(f).lower(x))``), it returns that program's
    :class:`StagedGraph`: every staged equation, the non-differentiable ones
    and the guards included.

    >>> import chainrule as cr, numpy as np
    >>> X, Y = np.ones((4, 2)), np.zeros(4)
    >>> def risk(theta):
    ...     residual = X @ theta - Y
    ...     return residual @ residual / 4
    >>> print(cr.graph(risk)(np.zeros(2)))  # doctest: +NORMALIZE_WHITESPACE
    graph of risk: 1 input, 4 primitives, 1 output
      input  theta     float64[2]
      const  X         float64[4,2]
      const  Y         float64[4]
      v1       = matmul(X, theta)            float64[4]
      residual = subtract(v1, Y)             float64[4]
      v3       = matmul(residual, residual)  float64[]
      risk     = divide(v3, 4)               float64[]
      output risk
    """
    if isinstance(fun, Program):
        return StagedGraph(fun)
    if not callable(fun):
        raise TypeError(
            f"graph expects a function or a staged program (cr.jit(f).lower(x)), got {fun!r}"
        )

    def record(*args: Any) -> Graph:
        return _record(fun, args)

    return record


def _record(fun: Callable, args: tuple) -> Graph:
    trace = _GraphTrace()
    arg_names = _argument_names(fun, len(args))
    inputs: list[_Value] = []
    const_names: dict[int, str] = _visible_arrays(fun)
    with trace:
        call_args = []
        for name, arg in zip(arg_names, args):
            leaves, treedef = tree.flatten(arg)
            boxed = []
            for k, leaf in enumerate(leaves):
                if _is_float(leaf):
                    value = as_differentiable(leaf, f"argument {name!r}", "graph")
                    t = trace.new_input(value)
                    label = name if len(leaves) == 1 else f"{name}[{k}]"
                    inputs.append(_Value(t._index, label, np.shape(value), str(value.dtype)))
                    boxed.append(t)
                else:
                    boxed.append(leaf)
            call_args.append(treedef.unflatten(boxed))
        local_names: dict[int, str] = {}
        out = _run_watching_locals(fun, call_args, trace, local_names)
    out_leaves, _ = tree.flatten(out)
    outputs = [o._index for o in out_leaves if isinstance(o, Tracer) and o._trace is trace]
    fname = getattr(fun, "__name__", "f")
    if len(outputs) == 1 and outputs[0] not in local_names and fname != "<lambda>":
        local_names[outputs[0]] = fname
    return Graph(fname, trace, inputs, outputs, local_names, const_names)


def _is_float(leaf: Any) -> bool:
    if isinstance(leaf, (float, np.floating)) and not isinstance(leaf, bool):
        return True
    return isinstance(leaf, np.ndarray) and leaf.dtype.kind == "f"


def _argument_names(fun: Callable, n: int) -> list[str]:
    try:
        params = list(inspect.signature(fun).parameters.values())
    except (TypeError, ValueError):
        params = []
    names = [p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return [names[i] if i < len(names) else f"arg{i}" for i in range(n)]


def _visible_arrays(fun: Callable) -> dict[int, str]:
    """Arrays ``fun`` can see by name (globals it uses, closure cells)."""
    found: dict[int, str] = {}
    code = getattr(fun, "__code__", None)
    if code is None:
        return found
    for name in code.co_names:
        value = getattr(fun, "__globals__", {}).get(name)
        if isinstance(value, np.ndarray):
            found.setdefault(id(value), name)
    for name, cell in zip(code.co_freevars, getattr(fun, "__closure__", None) or ()):
        try:
            value = cell.cell_contents
        except ValueError:
            continue
        if isinstance(value, np.ndarray):
            found.setdefault(id(value), name)
    return found


_PACKAGE_DIR = str(Path(__file__).resolve().parent)
# Modules inside chainrule's own directory that are written as user code (an
# example model): their local variable names name values. Empty here: the
# floors above register theirs (see ``register_user_module``).
_USER_MODULES: set[str] = set()


def register_user_module(name: str) -> None:
    """Let the local variable names of module ``name`` name graph values.

    Frames of chainrule's own modules are skipped when ``cr.graph`` looks for
    the names of values (their parameter names say nothing about the user's
    code). A module shipped inside chainrule's directory but written as user
    code (an example model) registers itself here so that its local names
    (``residual``, ``sum_of_squares``) show in listings.

    >>> from chainrule.graph import register_user_module
    >>> register_user_module("mypackage.model")
    """
    if not isinstance(name, str) or not name:
        raise TypeError(f"register_user_module expects a module name, got {name!r}")
    _USER_MODULES.add(name)


def _run_watching_locals(fun: Callable, args: list, trace: _GraphTrace, names: dict) -> Any:
    """Call ``fun``, noting the local variable names of traced values as the
    user's frames return."""

    def watch(frame: Any, event: str, arg: Any) -> None:
        if event != "return":
            return
        module = frame.f_globals.get("__name__", "")
        if module.split(".")[0] == "numpy" or (
            frame.f_code.co_filename.startswith(_PACKAGE_DIR) and module not in _USER_MODULES
        ):
            return  # library frames: their parameter names say nothing about the user's code
        for key, value in frame.f_locals.items():
            if isinstance(value, Tracer) and value._trace is trace and not key.startswith("_"):
                names.setdefault(value._index, key)

    previous = sys.getprofile()
    sys.setprofile(watch)
    try:
        return fun(*args)
    finally:
        sys.setprofile(previous)


class _Picture:
    """What the three listings share: a Graphviz picture, saved to a file or
    shown in a notebook."""

    def to_dot(self) -> str:
        raise NotImplementedError

    def save(self, path: str | os.PathLike) -> Path:
        """Write the picture: ``.dot`` (Graphviz source), ``.svg``, ``.png`` or ``.pdf``."""
        return _save(self.to_dot(), path)

    def _repr_svg_(self) -> str | None:
        """The picture in a notebook; None (the next format is tried) without Graphviz."""
        return _svg(self.to_dot())

    def _repr_html_(self) -> str:
        """The picture (with Graphviz) and the listing, for notebooks."""
        listing = f"<pre>{html.escape(str(self))}</pre>"
        svg = self._repr_svg_()
        if svg is None:
            return listing
        svg = svg[svg.index("<svg") :]  # inline: without the XML declaration and doctype
        return f"{svg}\n<details><summary>listing</summary>{listing}</details>"

    def _repr_markdown_(self) -> str:
        return "```text\n" + str(self) + "\n```"


class Graph(_Picture):
    """The recorded graph of one call (made by :func:`graph`).

    ``str(g)`` lists the inputs, the named array constants and one line per
    primitive in execution order (output name, primitive, argument names,
    output dtype and shape), then the outputs. ``g.backward()`` gives the
    reverse-mode program (a :class:`BackwardGraph`), ``g.jvp()`` the
    forward-mode one (a :class:`JVPGraph`); ``g.to_dot()`` the Graphviz
    source; ``g.save("g.svg")`` writes a ``.dot``, ``.svg``, ``.png`` or
    ``.pdf`` file. In a notebook, a graph shows as its picture when Graphviz
    is installed, and as its listing otherwise.
    """

    def __init__(
        self,
        name: str,
        trace: _GraphTrace,
        inputs: list[_Value],
        outputs: list[int],
        local_names: dict[int, str],
        const_names: dict[int, str],
    ) -> None:
        self.name = name
        self.outputs = outputs
        self.values: dict[int, _Value] = {v.index: v for v in inputs}
        self.inputs = [v.index for v in inputs]
        self.parents: dict[int, list[int]] = {}
        self._consts = const_names
        self.constants: dict[str, str] = {}  # named array constants used: name -> type
        taken = {v.name for v in inputs} | set(local_names.values())
        counter = 0
        for index, entry in enumerate(trace.tape):
            if entry is None:
                continue
            parents = [entry[0]] if type(entry[0]) is int else list(entry[0])
            self.parents[index] = parents
            counter += 1
            name = local_names.get(index) or _fresh(f"v{counter}", taken)
            taken.add(name)
            op = trace.ops.get(index)
            if op is None:  # a custom rule or a checkpoint: one opaque step
                self.values[index] = _Value(
                    index, name, (), "?", "custom", [("value", p) for p in parents]
                )
                continue
            prim, args, kwargs, value = op
            self.values[index] = _Value(
                index,
                name,
                np.shape(value),
                str(np.result_type(value)),
                prim.name,
                *self._describe(prim, args, kwargs, trace),
            )

    def _describe(self, prim: Primitive, args: list, kwargs: dict, trace: Any) -> tuple:
        described, static = [], []
        params = _impl_params(prim)
        for position, a in enumerate(args):
            if isinstance(a, Tracer) and a._trace is trace:
                described.append(("value", a._index))
            elif _is_data(a):
                described.append(("const", self._const_text(strip(a))))
            else:
                label = params[position] if position < len(params) else f"arg{position}"
                static.append(f"{label}={_short(a)}")
        static += [f"{k}={_short(v)}" for k, v in kwargs.items()]
        return described, static

    def _const_text(self, a: Any) -> str:
        name = self._consts.get(id(a))
        if name:
            self.constants[name] = f"{np.result_type(a)}[{','.join(map(str, np.shape(a)))}]"
            return name
        if np.ndim(a) == 0:
            return f"{float(a):g}" if np.result_type(a).kind == "f" else str(a)
        return f"const {np.result_type(a)}[{','.join(map(str, np.shape(a)))}]"

    # -- listings ------------------------------------------------------------
    def _arg_text(self, arg: tuple) -> str:
        return self.values[arg[1]].name if arg[0] == "value" else arg[1]

    def ops(self) -> list[_Value]:
        """The primitives in execution order."""
        return [v for i, v in sorted(self.values.items()) if v.op is not None]

    def __str__(self) -> str:
        ops = self.ops()
        n_in, n_out = len(self.inputs), len(self.outputs)
        head = (
            f"graph of {self.name}: {_count(n_in, 'input')}, "
            f"{_count(len(ops), 'primitive')}, {_count(n_out, 'output')}"
        )
        width = max([len(v.name) for v in self.values.values()] + [1])
        lines = [head]
        width = max([width] + [len(n) for n in self.constants])
        for i in self.inputs:
            v = self.values[i]
            lines.append(f"  input  {v.name:<{width}}  {v.type}")
        for name, type_ in self.constants.items():
            lines.append(f"  const  {name:<{width}}  {type_}")
        calls = []
        for v in ops:
            call = f"{v.op}({', '.join([self._arg_text(a) for a in v.args] + v.static)})"
            calls.append((v, call))
        call_width = max([len(c) for _, c in calls] + [1])
        for v, call in calls:
            lines.append(f"  {v.name:<{width}} = {call:<{call_width}}  {v.type}")
        for i in self.outputs:
            lines.append(f"  output {self.values[i].name}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<chainrule Graph of {self.name}: {len(self.ops())} primitives>"

    def backward(self) -> BackwardGraph:
        """The VJP program reverse mode runs for this graph.

        >>> import chainrule as cr, numpy as np
        >>> b = cr.graph(lambda x: np.sum(np.sin(x)))(np.ones(3)).backward()
        >>> b
        <chainrule BackwardGraph of <lambda>: 2 VJP steps, 1 input>
        """
        return BackwardGraph(self)

    def jvp(self) -> JVPGraph:
        """The chain of JVPs forward mode runs for this graph: each value's
        tangent from its arguments' tangents, from the inputs to the outputs.

        >>> import chainrule as cr, numpy as np
        >>> def f(x):
        ...     y = np.sin(x)
        ...     return np.sum(y * x)
        >>> print(cr.graph(f)(np.ones(3)).jvp())  # doctest: +NORMALIZE_WHITESPACE
        forward mode of f: tangents ṫ = d(value)/d(input) · ṫinput, from the inputs to the output
          ṫx  =  given                        float64[3]
          ṫy  =  cos(x) * ṫx      [sin]       float64[3]
          ṫv2 =  ṫy * x + y * ṫx  [multiply]  float64[3]
          ṫf  =  sum(ṫv2)         [sum]       float64[]
          in full: ṫf = sum((cos(x) * ṫx) * x + y * ṫx)
        """
        return JVPGraph(self)

    def to_dot(self) -> str:
        """Graphviz source of the forward graph."""
        lines = _dot_header(f"forward pass of {self.name}")
        consts: dict[str, str] = {}
        for i in self.inputs:
            v = self.values[i]
            lines.append(
                f'  n{i} [label="{_esc(v.name)}\\n{v.type}", shape=ellipse, '
                'style=filled, fillcolor="#d8ecd0"];'
            )
        for v in self.ops():
            style = ', style="filled,bold", fillcolor="#fde2c8"' if v.index in self.outputs else ""
            lines.append(
                f'  n{v.index} [label="{_esc(v.name)} = {v.op}\\n{v.type}", shape=box{style}];'
            )
            for arg in v.args:
                if arg[0] == "value":
                    lines.append(f"  n{arg[1]} -> n{v.index};")
                else:
                    key = consts.setdefault(arg[1], f"c{len(consts)}")
                    lines.append(f"  {key} -> n{v.index};")
        for text, key in consts.items():
            lines.append(
                f'  {key} [label="{_esc(text)}", shape=note, color=gray50, fontcolor=gray30];'
            )
        return "\n".join(lines + ["}"]) + "\n"


class BackwardGraph(_Picture):
    """The reverse-mode program of a :class:`Graph`: which cotangent flows
    where, and where fan-out sums contributions. ``str(b)`` is the listing,
    ``b.to_dot()`` / ``b.save(path)`` the picture."""

    def __init__(self, forward: Graph) -> None:
        self.forward = forward
        self.steps = self._steps()

    def _steps(self) -> list[tuple[int, int, int, str]]:
        """(from value, to value, argument position, formula), in the order
        the backward pass runs them."""
        f = self.forward
        reached = set(f.outputs)
        steps = []
        for v in sorted(f.ops(), key=lambda v: -v.index):
            if v.index not in reached:
                continue
            for position, arg in enumerate(v.args):
                if arg[0] != "value":
                    continue
                reached.add(arg[1])
                steps.append((v.index, arg[1], position, self._formula(v, position)))
        return steps

    def _formula(self, v: _Value, position: int, g: str | None = None) -> str:
        """How the VJP of ``v``'s primitive maps the cotangent ``g`` (by
        default its name) to argument ``position``."""
        f = self.forward
        names = [f._arg_text(a) for a in v.args]
        g = f"{_G}{v.name}" if g is None else g
        templates = _VJP_TEXT.get(v.op or "", ())
        if v.op == "matmul" and all(
            len(f.values[a[1]].shape) == 1 if a[0] == "value" else False for a in v.args
        ):
            templates = ("{g} * {1}", "{g} * {0}")
        if position < len(templates) and templates[position]:
            return templates[position].format(*names, g=g, out=v.name)
        return f"vjp of {v.op} wrt argument {position} ({g})"

    def expression(self, index: int, limit: int = 160) -> str | None:
        """The cotangent of value ``index`` written out in full in terms of
        the forward values (None when longer than ``limit`` characters)."""
        f = self.forward
        full: dict[int, str] = {i: "1" for i in f.outputs}
        terms: dict[int, list[str]] = {}
        for source, target, position, _ in self.steps:
            if source not in full:
                continue
            term = self._formula(f.values[source], position, g=_paren(full[source]))
            terms.setdefault(target, []).append(term)
            parts = terms[target]
            if len(parts) > 1 and len(set(parts)) == 1:
                full[target] = f"{len(parts)} * {_paren(term)}"
            else:
                full[target] = " + ".join(parts)
        text = full.get(index)
        return text if text is not None and len(text) <= limit else None

    def __str__(self) -> str:
        f = self.forward
        fan_in: dict[int, int] = {}
        for _, target, _, _ in self.steps:
            fan_in[target] = fan_in.get(target, 0) + 1
        lines = [
            f"backward pass of {f.name}: cotangents {_G} = d(output)/d(value), "
            "from the output back to the inputs"
        ]
        width = max([len(v.name) for v in f.values.values()] + [1]) + len(_G)
        rows = [
            (f"  {_G + f.values[i].name:<{width}} =  1", "", f.values[i].type) for i in f.outputs
        ]
        seen: dict[int, int] = {}
        for source, target, _position, formula in self.steps:
            v = f.values[target]
            seen[target] = seen.get(target, 0) + 1
            op = "+=" if seen[target] > 1 else "= "
            note = ""
            if fan_in[target] > 1 and seen[target] == fan_in[target]:
                note = f"  (fan-out: {fan_in[target]} contributions summed)"
            via = f"[{f.values[source].op}]"
            rows.append((f"  {_G + v.name:<{width}} {op} {formula}", via, v.type + note))
        w1 = max([len(r[0]) for r in rows] + [1])
        w2 = max([len(r[1]) for r in rows] + [1])
        lines += [f"{a:<{w1}}  {b:<{w2}}  {c}".rstrip() for a, b, c in rows]
        for i in f.inputs:
            full = self.expression(i)
            if full is not None:
                lines.append(f"  in full: {_G}{f.values[i].name} = {full}")
        return "\n".join(lines)

    def to_dot(self) -> str:
        """Graphviz source of the backward (VJP) graph."""
        f = self.forward
        lines = _dot_header(f"backward pass of {f.name}")
        used = set(f.outputs) | {t for _, t, _, _ in self.steps}
        for i in sorted(used):
            v = f.values[i]
            color = "#d8ecd0" if i in f.inputs else "#fde2c8" if i in f.outputs else "#e6ecf5"
            full = self.expression(i) if i in f.inputs else None
            extra = "\\n" + _wrap(f"= {full}", 32) if full else ""
            lines.append(
                f'  g{i} [label="{_G}{_esc(v.name)}\\n{v.type}{extra}", shape=ellipse, '
                f'style=filled, fillcolor="{color}"];'
            )
        for source, target, _, formula in self.steps:
            lines.append(f'  g{source} -> g{target} [label="{_wrap(formula)}", fontsize=10];')
        return "\n".join(lines + ["}"]) + "\n"

    def __repr__(self) -> str:
        f = self.forward
        return (
            f"<chainrule BackwardGraph of {f.name}: {_count(len(self.steps), 'VJP step')}, "
            f"{_count(len(f.inputs), 'input')}>"
        )


class JVPGraph(_Picture):
    """The forward-mode program of a :class:`Graph`: each value's tangent as
    the JVP of its primitive applied to the tangents of its arguments, in
    execution order. ``str(j)`` is the listing, ``j.to_dot()`` /
    ``j.save(path)`` the picture."""

    def __init__(self, forward: Graph) -> None:
        self.forward = forward
        # Values that depend on an input: only they have a (nonzero) tangent.
        moving = set(forward.inputs)
        for v in forward.ops():
            if any(a[0] == "value" and a[1] in moving for a in v.args):
                moving.add(v.index)
        self.moving = moving

    def terms(self, v: _Value, name: Callable[[int], str] | None = None) -> list[tuple[int, str]]:
        """(argument value, term) for each argument of ``v`` that has a
        tangent; the terms sum to ``v``'s tangent. ``name(i)`` writes the
        tangent of value ``i`` (by default its name with a dot)."""
        f = self.forward
        name = name or (lambda i: _T + f.values[i].name)
        names = [f._arg_text(a) for a in v.args]
        tangents = [name(a[1]) if a[0] == "value" else "0" for a in v.args]
        templates = _JVP_TEXT.get(v.op or "", ())
        out = []
        for position, arg in enumerate(v.args):
            if arg[0] != "value" or arg[1] not in self.moving:
                continue
            template = templates[position] if position < len(templates) else ""
            if template:
                # A tangent is parenthesised unless the template already wraps it: sum(ṫx).
                wrapped = {
                    f"t{k}": t if f"({{t{k}}})" in template else _paren(t)
                    for k, t in enumerate(tangents)
                }
                text = template.format(*names, out=v.name, **wrapped)
            else:
                text = f"jvp of {v.op} wrt argument {position} ({tangents[position]})"
            out.append((arg[1], text))
        return out

    def formula(self, v: _Value) -> str:
        """The tangent of ``v`` from its arguments' tangents."""
        return _sum_terms([t for _, t in self.terms(v)])

    def expression(self, index: int, limit: int = 160) -> str | None:
        """The tangent of value ``index`` written out in full in terms of the
        inputs' tangents (None when longer than ``limit`` characters)."""
        f = self.forward
        full: dict[int, str] = {i: _T + f.values[i].name for i in f.inputs}
        for v in f.ops():
            if v.index in self.moving:
                terms = self.terms(v, name=lambda i: full[i])
                full[v.index] = _sum_terms([t for _, t in terms])
        text = full.get(index)
        return text if text is not None and len(text) <= limit else None

    def __str__(self) -> str:
        f = self.forward
        lines = [
            f"forward mode of {f.name}: tangents {_T} = d(value)/d(input) · {_T}input, "
            f"from the inputs to the output{'s' * (len(f.outputs) != 1)}"
        ]
        width = max([len(v.name) for v in f.values.values()] + [1]) + len(_T)
        rows = [
            (f"  {_T + f.values[i].name:<{width}} =  given", "", f.values[i].type) for i in f.inputs
        ]
        for v in f.ops():
            if v.index in self.moving:
                rows.append((f"  {_T + v.name:<{width}} =  {self.formula(v)}", f"[{v.op}]", v.type))
        w1 = max([len(r[0]) for r in rows] + [1])
        w2 = max([len(r[1]) for r in rows] + [1])
        lines += [f"{a:<{w1}}  {b:<{w2}}  {c}".rstrip() for a, b, c in rows]
        for i in f.outputs:
            full = self.expression(i)
            if full is not None and i not in f.inputs:
                lines.append(f"  in full: {_T}{f.values[i].name} = {full}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        f = self.forward
        steps = sum(1 for v in f.ops() if v.index in self.moving)
        return (
            f"<chainrule JVPGraph of {f.name}: {_count(steps, 'JVP step')}, "
            f"{_count(len(f.inputs), 'input')}>"
        )

    def to_dot(self) -> str:
        """Graphviz source of the forward-mode (JVP) graph: an arrow from
        each argument's tangent to the result's, labelled with its term."""
        f = self.forward
        lines = _dot_header(f"forward mode (JVP) of {f.name}")
        for i in sorted(self.moving):
            v = f.values[i]
            color = "#d8ecd0" if i in f.inputs else "#fde2c8" if i in f.outputs else "#e6ecf5"
            lines.append(
                f'  t{i} [label="{_T}{_esc(v.name)}\\n{v.type}", shape=ellipse, '
                f'style=filled, fillcolor="{color}"];'
            )
        for v in f.ops():
            if v.index not in self.moving:
                continue
            for source, term in self.terms(v):
                lines.append(f'  t{source} -> t{v.index} [label="{_wrap(term)}", fontsize=10];')
        return "\n".join(lines + ["}"]) + "\n"


class StagedGraph(_Picture):
    """A program staged by ``cr.jit`` (``cr.graph(cr.jit(f).lower(x))``): its
    inputs, every equation in the order it runs (non-differentiable calls and
    comparisons marked), the guards a replay checks, the constants and the
    outputs. ``str(s)`` is the listing, ``s.to_dot()`` / ``s.save(path)`` the
    picture: inputs as green ellipses, equations as boxes (grey and dashed when
    not differentiable), guards as red diamonds, constants as notes.

    >>> import chainrule as cr, numpy as np
    >>> def f(x):
    ...     if np.sum(x) > 0:
    ...         return np.sin(x)
    ...     return -x
    >>> print(cr.graph(cr.jit(f).lower(np.ones(2))))  # doctest: +NORMALIZE_WHITESPACE
    staged program of f: 1 input, 3 equations (1 not differentiable), 1 guard, 1 output
      input  v0  float64[2]
      v1 = sum(v0, (-1,), False)  float64[]
      v2 = greater(v1, 0)         bool[]      not differentiable
      guard bool(v2) == True
      v3 = sin(v0)                float64[2]
      output v3
    """

    def __init__(self, program: Program) -> None:
        self.program = program
        self.name = getattr(program, "name", "") or "a function"
        # (shape, dtype) of each variable where the program was described
        # while staging (``lower()``), else empty
        self.types: list[tuple[tuple[int, ...], str]] = list(getattr(program, "types", ()))
        self.consts = {id(c): f"c{k}" for k, c in enumerate(program.constants())}

    def _type(self, var: int) -> str:
        if var < len(self.types):
            shape, dtype = self.types[var]
            return f"{dtype}[{','.join(map(str, shape))}]"
        return ""

    def _arg(self, t: Any) -> str:
        if type(t) is Var:
            return repr(t)
        if id(t) in self.consts:
            return self.consts[id(t)]
        if type(t) is list:
            return "[" + ", ".join(self._arg(v) for v in t) + "]"
        if type(t) is tuple:
            return "(" + ", ".join(self._arg(v) for v in t) + ("," if len(t) == 1 else "") + ")"
        if type(t) is dict:
            return "{" + ", ".join(f"{k!r}: {self._arg(v)}" for k, v in t.items()) + "}"
        return _short(t)

    def _call(self, e: Equation) -> str:
        args = [self._arg(a) for a in e.args] + [f"{k}={self._arg(v)}" for k, v in e.kwargs.items()]
        return f"{e.name}({', '.join(args)})"

    @staticmethod
    def _guard(g: Guard) -> str:
        if g.kind == "shape":
            return f"shape(v{g.var}) == {g.value!r}"
        return f"{g.kind}(v{g.var}) == {g.value!r}"

    def __str__(self) -> str:
        p = self.program
        eqns, guards = p.equations, p.guards
        nondiff = sum(1 for e in eqns if e.kind != "prim")
        head = (
            f"staged program of {self.name}: {_count(p.n_in, 'input')}, "
            f"{_count(len(eqns), 'equation')} ({nondiff} not differentiable), "
            f"{_count(len(guards), 'guard')}, {_count(len(p.out_leaves), 'output')}"
        )
        rows: list[tuple[str, str, str]] = []
        for i in range(p.n_in):
            weak = getattr(p, "weak", {}).get(i)
            rows.append(
                (f"input  v{i}", self._type(i), f"a Python {weak.__name__}" if weak else "")
            )
        for e in p.body:
            if type(e) is Guard:
                rows.append((f"guard {self._guard(e)}", "", ""))
                continue
            outs = ", ".join(f"v{o}" for o in e.outs)
            note = "not differentiable" if e.kind != "prim" else ""
            if e.weak is not None:
                note = f"a Python {e.weak.__name__}"
            types = ", ".join(t for t in (self._type(o) for o in e.outs) if t)
            rows.append((f"{outs} = {self._call(e)}", types, note))
        w1 = max([len(r[0]) for r in rows if not r[0].startswith("guard")] + [1])
        w2 = max([len(r[1]) for r in rows] + [1])
        lines = [head]
        for a, b, c in rows:
            if a.startswith("guard"):
                lines.append(f"  {a}")
            else:
                lines.append(f"  {a:<{w1}}  {b:<{w2}}  {c}".rstrip())
        for o in p.out_leaves:
            lines.append(f"  output {self._arg(o)}")
        consts = p.constants()
        if consts:
            lines.append("constants:")
            for c in consts:
                lines.append(f"  {self.consts[id(c)]}: {_describe_constant(c)}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        p = self.program
        return (
            f"<chainrule StagedGraph of {self.name}: {_count(len(p.equations), 'equation')}, "
            f"{_count(len(p.guards), 'guard')}>"
        )

    def to_dot(self) -> str:
        """Graphviz source of the staged program."""
        p = self.program
        lines = _dot_header(f"staged program of {self.name} (cr.jit)")
        producer: dict[int, str] = {}  # variable -> the node that gives it
        outputs = {o.id for o in p.out_leaves if type(o) is Var}
        for i in range(p.n_in):
            producer[i] = f"n{i}"
            lines.append(
                f'  n{i} [label="v{i}\\n{_esc(self._type(i))}", shape=ellipse, '
                'style=filled, fillcolor="#d8ecd0"];'
            )
        consts: dict[int, str] = {}

        def edges(e: Any, node: str) -> None:
            seen = set()
            for v in e.inputs():
                if v in producer and v not in seen:
                    seen.add(v)
                    lines.append(f"  {producer[v]} -> {node};")
            if type(e) is Equation:
                for c in array_constants((e.args, e.kwargs)):
                    key = consts.setdefault(id(c), f"k{len(consts)}")
                    lines.append(f"  {key} -> {node};")

        for k, e in enumerate(p.body):
            node = f"e{k}"
            if type(e) is Guard:
                lines.append(
                    f'  {node} [label="guard\\n{_esc(self._guard(e))}", shape=diamond, '
                    'style=filled, fillcolor="#f6c6c6", color="#a02020"];'
                )
                edges(e, node)
                continue
            outs = ", ".join(f"v{o}" for o in e.outs)
            types = ", ".join(t for t in (self._type(o) for o in e.outs) if t)
            label = f"{outs} = {e.name}" + (f"\\n{_esc(types)}" if types else "")
            if e.kind != "prim":
                style = ', style="filled,dashed", fillcolor="#eeeeee", fontcolor=gray25'
            elif any(o in outputs for o in e.outs):
                style = ', style="filled,bold", fillcolor="#fde2c8"'
            else:
                style = ""
            lines.append(f'  {node} [label="{label}", shape=box{style}];')
            edges(e, node)
            for o in e.outs:
                producer[o] = node
        for c in p.constants():
            key = consts.get(id(c))
            if key is not None:
                text = f"{self.consts.get(id(c), 'const')}: {_describe_constant(c)}"
                lines.append(
                    f'  {key} [label="{_esc(text)}", shape=note, color=gray50, fontcolor=gray30];'
                )
        return "\n".join(lines + ["}"]) + "\n"


def _describe_constant(c: Any) -> str:
    if np.ndim(c) == 0 or np.size(c) <= 4:
        return (
            f"{np.asarray(c).dtype}[{','.join(map(str, np.shape(c)))}] {np.asarray(c).tolist()!r}"
        )
    return f"{c.dtype}[{','.join(map(str, c.shape))}]"


def _sum_terms(terms: list[str]) -> str:
    """``a + b - c`` from the terms ``a``, ``b``, ``-c``."""
    text = ""
    for term in terms:
        if not text:
            text = term
        elif term.startswith("-"):
            text += f" - {term[1:]}"
        else:
            text += f" + {term}"
    return text or "0"


def _wrap(text: str, width: int = 28) -> str:
    """A Graphviz label: ``text`` escaped and broken at spaces into lines of
    about ``width`` characters, so that a picture stays narrow enough to read."""
    lines, line = [], ""
    for word in text.split(" "):
        if line and len(line) + 1 + len(word) > width:
            lines.append(line)
            line = word
        else:
            line = f"{line} {word}" if line else word
    return "\\n".join(_esc(part) for part in lines + [line])


def _paren(text: str) -> str:
    """``text`` wrapped in parentheses unless it is one token or already wrapped."""
    if text.replace("_", "").replace(".", "").isalnum():
        return text
    if text.startswith("("):
        depth = 0
        for k, ch in enumerate(text):
            depth += (ch == "(") - (ch == ")")
            if depth == 0:
                if k == len(text) - 1:
                    return text
                break
    return f"({text})"


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' * (n != 1)}"


def _impl_params(prim: Primitive) -> list[str]:
    try:
        return list(inspect.signature(prim.impl).parameters)
    except (TypeError, ValueError):
        return []


def _is_data(a: Any) -> bool:
    return isinstance(a, (Tracer, np.ndarray, np.generic, float, int)) and not isinstance(a, bool)


def _short(a: Any) -> str:
    text = repr(a)
    return text if len(text) <= 40 else text[:37] + "..."


def _fresh(name: str, taken: set[str]) -> str:
    while name in taken:
        name += "'"
    return name


def _esc(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _dot_header(title: str) -> list[str]:
    # Top to bottom: a chain of primitives is tall, not wide, so the text stays
    # readable when the picture is shrunk to the width of a page.
    return [
        "digraph chainrule {",
        "  rankdir=TB; nodesep=0.5;",
        f'  label="{_esc(title)}"; labelloc=t; fontname="Helvetica";',
        '  node [fontname="Helvetica", fontsize=11];',
        '  edge [fontname="Helvetica", color=gray40];',
    ]


def _svg(source: str) -> str | None:
    """The SVG text of a Graphviz graph, or None without Graphviz."""
    dot = shutil.which("dot")
    if dot is None:
        return None
    done = subprocess.run([dot, "-Tsvg"], input=source.encode(), capture_output=True)
    if done.returncode != 0:
        return None
    return done.stdout.decode()


def _save(source: str, path: str | os.PathLike) -> Path:
    path = Path(path)
    fmt = path.suffix.lower().lstrip(".")
    if fmt == "dot" or fmt == "gv":
        path.write_text(source)
        return path
    if fmt not in ("svg", "png", "pdf"):
        raise ValueError(f"save() writes .dot, .svg, .png or .pdf files, not {path.name!r}")
    dot = shutil.which("dot")
    if dot is None:
        raise RuntimeError(
            f"Saving {path.name} needs the Graphviz 'dot' program, which was not found. Install "
            "Graphviz (Debian/Ubuntu: apt-get install graphviz; macOS: brew install graphviz; "
            "conda: conda install graphviz), or save a .dot file instead."
        )
    done = subprocess.run(
        [dot, f"-T{fmt}", "-o", str(path)], input=source.encode(), capture_output=True
    )
    if done.returncode != 0:
        raise RuntimeError(f"Graphviz failed: {done.stderr.decode(errors='replace')}")
    return path
