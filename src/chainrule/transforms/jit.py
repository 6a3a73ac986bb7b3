"""``cr.jit``: stage a function once per input signature, replay it fast.

The first call with a new signature runs the function under a
``StagingTrace`` (core/staging.py), which records a program: every NumPy
call on the inputs, differentiable or not, and a guard for every conversion
to a Python value that the path taken depended on. The program is optimised
(dead code dropped, repeated calls shared; calls on constants were already
evaluated while tracing, which is constant folding) and turned into one
straight-line Python function, compiled once. A later call with the same
signature runs the compiled programs of that signature in turn: each checks
its guards as it goes and gives up at the first that differs, and the first
to reach its end gives the result. When none does, the function is traced
again for the new path (at most ``MAX_PATHS`` programs per signature).
"""

from __future__ import annotations

import functools
import importlib
import threading
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

from .. import tree
from ..core import trace as _trace
from ..core.staging import (
    CONVERT,
    Equation,
    Guard,
    Program,
    StagingTrace,
    Var,
    _numpy_scalar,
    same,
)


class RetraceWarning(UserWarning):
    """A jitted function took more than ``MAX_PATHS`` paths for one input
    signature; further paths run eagerly. Warned once per function."""


MAX_PATHS = 32
# Whether a program's first replay is compared with an eager run (the safety
# net of Jitted._check). Tests switch it off to see the replays themselves.
CHECK_FIRST_REPLAY = True
# Above this many equations, compile() costs more than it saves: interpret.
INTERPRET_ABOVE = 100_000
# From this many equations on, a program is interpreted for its first
# COMPILE_AFTER_REPLAYS replays, then compiled (see Compiled).
COMPILE_LATER_ABOVE = 2_000
COMPILE_AFTER_REPLAYS = 8


_ONE_LEAF = tree.flatten(0)[1]


class _Miss:
    """What a replay returns when a guard differs."""

    __repr__ = lambda self: "MISS"  # noqa: E731


MISS = _Miss()


def _is_generator(x: Any) -> bool:
    return isinstance(x, (np.random.Generator, np.random.RandomState, np.random.BitGenerator))


def _random_error(where: str) -> ValueError:
    return ValueError(
        f"cr.jit: {where}. Random draws inside a jitted function would be frozen into the "
        "program at the first call and repeated on every later one. Draw the random numbers "
        "outside and pass them in as arguments (x = rng.standard_normal(shape); f(x, ...))."
    )


def _leaf_key(leaf: Any, where: str) -> Any:
    t = type(leaf)
    if t is np.ndarray:
        return (leaf.shape, leaf.dtype)
    if t in (float, int, bool, complex):
        return t
    if isinstance(leaf, np.generic):
        return ("g", leaf.dtype)
    if _is_generator(leaf):
        raise _random_error(f"{where} is a {t.__name__}")
    if isinstance(leaf, _trace.Tracer):
        return None
    try:
        hash(leaf)
    except TypeError:
        raise TypeError(
            f"cr.jit: {where} is a {t.__name__}, which is neither an array, a number nor "
            "hashable; pass arrays and numbers, or mark the argument static with a hashable value."
        ) from None
    return ("static", t, leaf)


def _is_dynamic(leaf: Any) -> bool:
    return type(leaf) in (np.ndarray, float, int, bool, complex) or isinstance(leaf, np.generic)


class Lowered(Program):
    """A staged program as ``Jitted.lower`` gives it: a ``Program`` that also
    knows its function's name and the shape and dtype of every variable, and
    shows as ``cr.graph`` shows graphs (``str``, ``to_dot``, ``save``, a
    picture in a notebook), through ``chainrule.graph.StagedGraph``."""

    def __init__(self, program: Program, name: str, types: list[Any]) -> None:
        super().__init__(
            program.n_in,
            program.body,
            program.n_vars,
            program.out_tree,
            program.out_leaves,
            program.big,
        )
        self.name = name
        self.types = types
        self.weak: dict[int, type] = {}  # weakly typed variables (Python numbers)

    def picture(self) -> Any:
        """This program's ``StagedGraph`` (what ``cr.graph(program)`` gives)."""
        # The display floor, loaded when asked for; by name, since chainrule.graph is
        # also the function cr.graph, which a static import would hide from mypy.
        return importlib.import_module("chainrule.graph").StagedGraph(self)

    def __str__(self) -> str:
        return str(self.picture())

    __repr__ = __str__

    def to_dot(self) -> str:
        """Graphviz source of the program (see ``StagedGraph``)."""
        return str(self.picture().to_dot())

    def save(self, path: Any) -> Any:
        """Write the picture: ``.dot``, ``.svg``, ``.png`` or ``.pdf`` (see ``cr.graph``)."""
        return self.picture().save(path)

    def _repr_svg_(self) -> str | None:
        return self.picture()._repr_svg_()  # type: ignore[no-any-return]

    def _repr_html_(self) -> str:
        return self.picture()._repr_html_()  # type: ignore[no-any-return]

    def _repr_markdown_(self) -> str:
        return self.picture()._repr_markdown_()  # type: ignore[no-any-return]


class Compiled:
    """One staged path: the program and its compiled replay."""

    __slots__ = (
        "program", "run", "source", "checked", "single", "unflatten", "interpreted", "_interpret"
    )  # fmt: skip

    def __init__(self, program: Program) -> None:
        self.program = program
        self.single = program.out_tree == _ONE_LEAF  # the result is out[0] itself
        self.unflatten = program.out_tree.unflatten
        self.source = ""
        self.checked = False  # its first replay is compared with an eager run
        self.run: Callable[..., Any]
        self.interpreted = 0  # replays run by the interpreter so far
        n = len(program.body)
        if n > INTERPRET_ABOVE:
            self.run = self._prepare_interpreter  # at the first replay, not while staging
        elif n >= COMPILE_LATER_ABOVE:
            # compile() costs about 5 us a line, the interpreter about 0.5 us
            # an equation more than the compiled code on every replay: a long
            # program is interpreted until it has been replayed often enough
            # to pay for compiling it (so neither its first call nor its
            # second pays for compile())
            self._interpret: Callable[..., Any] | None = None  # prepared at the first replay
            self.run = self._interpret_then_compile
        else:
            # compiled at its first replay: a function called once never pays
            # for compile()
            self.run = self._compile_and_run

    def _prepare_interpreter(self, *inputs: Any) -> Any:
        self.run = _interpreter(self.program)
        return self.run(*inputs)

    def _compile_and_run(self, *inputs: Any) -> Any:
        run, source = _compile(self.program)
        self.run, self.source = run, source  # (two threads may both compile: harmless)
        return run(*inputs)

    def _interpret_then_compile(self, *inputs: Any) -> Any:
        self.interpreted += 1
        if self.interpreted > COMPILE_AFTER_REPLAYS:
            return self._compile_and_run(*inputs)
        interpret = self._interpret
        if interpret is None:
            interpret = self._interpret = _interpreter(self.program)
        return interpret(*inputs)


def _prune(program: Program, fuse: bool = True) -> Program:
    """Dead-code elimination: keep the equations whose results reach an
    output or a guard (after fusing finiteness guards, when ``fuse``)."""
    body = _fuse_finite_guards(program.body) if fuse else program.body
    live = {o.id for o in program.out_leaves if type(o) is Var}
    kept = []
    for e in reversed(body):
        if type(e) is Guard:
            kept.append(e)
            live.add(e.var)
            continue
        outs = e.outs
        if outs[0] in live if len(outs) == 1 else any(o in live for o in outs):
            kept.append(e)
            live.update(e.inputs())
    kept.reverse()
    return Program(
        program.n_in, kept, program.n_vars, program.out_tree, program.out_leaves, program.big
    )


def _fuse_finite_guards(body: list[Any]) -> list[Any]:
    """``guard bool(all(isfinite(x)))`` (what derivative rules ask before the
    plain product, see rules/_util.mul0) as one ``guard finite(x)``, which
    checks a sum instead of making a boolean array (``staging.all_finite``);
    the two calls then feed nothing and are pruned. A variable already
    guarded finite is not checked again (rules ask it once per use)."""
    isfinite: dict[int, int] = {}  # isfinite(x)'s variable -> x
    all_finite: dict[int, int] = {}  # all(isfinite(x))'s variable -> x
    checked: set[int] = set()  # variables already guarded finite: a repeat is dropped
    out = body
    for k, e in enumerate(body):
        if type(e) is Guard:
            if e.kind == "bool" and e.value is True and e.var in all_finite:
                if out is body:
                    out = list(body)
                x = all_finite[e.var]
                out[k] = None if x in checked else Guard("finite", x, True)
                checked.add(x)
        elif len(e.args) == 1 and not e.kwargs and type(e.args[0]) is Var:
            if e.fn is np.isfinite:
                isfinite[e.outs[0]] = e.args[0].id
            elif e.fn is np.all and e.args[0].id in isfinite:
                all_finite[e.outs[0]] = isfinite[e.args[0].id]
    return out if out is body else [e for e in out if e is not None]


def _compile(program: Program) -> tuple[Callable[..., Any], str]:
    names: dict[int, str] = {}  # id of a bound object -> its name in the closure
    bound: list[Any] = []

    def bind(obj: Any, prefix: str) -> str:
        name = names.get(id(obj))
        if name is None:
            name = f"{prefix}{len(bound)}"
            names[id(obj)] = name
            bound.append(obj)
        return name

    inlined: list[Any] = [-1, ""]  # a variable whose expression is written in its place

    def show(t: Any) -> str:
        tt = type(t)
        if tt is Var:
            if t.id == inlined[0]:
                expression: str = inlined[1]
                return expression
            return f"v{t.id}"
        if tt is bool or tt is int or t is None or tt is str:
            return repr(t)
        if tt is float and t == t and t not in (float("inf"), float("-inf")):
            return repr(t)
        if tt is list:
            return "[" + ", ".join(show(v) for v in t) + "]"
        if tt is tuple:
            return "(" + "".join(show(v) + ", " for v in t) + ")"
        if tt is dict and all(type(k) is str for k in t):
            return "{" + ", ".join(f"{k!r}: {show(v)}" for k, v in t.items()) + "}"
        return bind(t, "c")

    # Where each value is last read: it is deleted right after, so that a
    # replay holds no more intermediates than the eager code would.
    body = program.body
    last: dict[int, int] = {}
    uses: dict[int, int] = {}
    outputs = {o.id for o in program.out_leaves if type(o) is Var}
    for k, e in enumerate(body):
        for v in e.inputs():
            last[v] = k
            uses[v] = uses.get(v, 0) + 1
        if type(e) is Equation:
            for o in e.outs:
                last.setdefault(o, k)
    big = program.big
    dead_after: dict[int, list[int]] = {}
    for v, k in last.items():
        if v >= program.n_in and v not in outputs and v in big:
            dead_after.setdefault(k, []).append(v)
    reuse = _buffers_to_reuse(program, last, outputs) if REUSE_BUFFERS else {}

    # A small value read once, by the very next equation, is not stored: its
    # call is written inside that equation's (fewer lines to compile, fewer
    # locals to store and load). Only the next one: nothing runs in between.
    n_body = len(body)
    pending: tuple[int, str] | None = None  # (variable, expression) to inline next
    lines = []
    for k, e in enumerate(body):
        if k > 0 and (k - 1) in dead_after:
            lines.append("del " + ", ".join(f"v{v}" for v in sorted(dead_after[k - 1])))
        if type(e) is Guard:
            v = f"v{e.var}"
            if e.kind == "bool":
                lines.append(f"if {'not ' if e.value else ''}{v}: return MISS")
            elif e.kind == "shape":
                lines.append(f"if shape({v}) != {e.value!r}: return MISS")
            elif e.kind == "finite":
                lines.append(f"if not {bind(CONVERT['finite'], 'f')}({v}): return MISS")
            elif e.kind in ("int", "index") and type(e.value) is int:
                lines.append(f"if {e.kind}_({v}) != {e.value!r}: return MISS")
            else:
                conv = bind(CONVERT[e.kind], "f")
                lines.append(f"if not same({conv}({v}), {bind(e.value, 'c')}): return MISS")
            continue
        inlined[:] = pending or (-1, "")  # show() writes its expression for that variable
        arg = show
        pending = None
        o = e.outs[0]
        if e.weak is not None:  # a Python number again, as the eager code has it
            args_text = ", ".join([arg(a) for a in e.args])
            expr = f"{bind(e.weak, 'f')}({bind(e.fn, 'f')}({args_text}))"
        else:
            eargs = e.args
            if (
                len(eargs) == 2
                and big
                and not e.kwargs
                and (
                    e.infix in _INFIX_UFUNCS  # + - * /, not @
                    or (type(e.fn) is np.ufunc and e.fn.signature is None and e.fn.nin == 2)
                )
            ):
                eargs = _scalar_for_broadcast(e, big)
            into = reuse.get(k)
            if into is not None:  # an elementwise ufunc writing into a dying temporary
                fn = bind(_INFIX_UFUNCS[e.infix] if e.infix is not None else e.fn, "f")
                args_text = ", ".join([arg(a) for a in eargs])
                expr = f"{fn}({args_text}, out=v{into})"
            elif e.infix is not None:
                expr = f"({arg(eargs[0])} {e.infix} {arg(eargs[1])})"
            else:
                args = [arg(a) for a in e.args]
                if e.kwargs:
                    for name, v in e.kwargs.items():
                        text = arg(v)
                        args.append(
                            f"{name}={text}" if name.isidentifier() else f"**{{{name!r}: {text}}}"
                        )
                expr = f"{bind(e.fn, 'f')}({', '.join(args)})"
        if (
            not e.multiple
            and uses.get(o) == 1
            and o not in outputs
            and o not in big
            and k + 1 < n_body
            and k not in dead_after
            and type(body[k + 1]) is Equation
            and o in body[k + 1].inputs()
        ):
            pending = (o, expr)
            continue
        if e.multiple:
            outs = ", ".join(f"v{x}" for x in e.outs) + ("," if len(e.outs) == 1 else "")
        else:
            outs = f"v{o}"
            if expr[0] == "(":  # an operator: no parentheses needed at the top
                expr = expr[1:-1]
        lines.append(f"{outs} = {expr}")
    inlined[:] = (-1, "")
    rets = []
    for o in program.out_leaves:
        if type(o) is Var:
            rets.append(f"v{o.id}")
        elif type(o) is np.ndarray:  # a constant output: a fresh copy each call
            rets.append(f"{bind(o, 'c')}.copy()")
        else:
            rets.append(show(o))
    lines.append("return [" + ", ".join(rets) + "]")
    params = ", ".join(f"v{i}" for i in range(program.n_in))
    text = "\n".join("        " + ln for ln in lines)
    free = ", ".join(["MISS", "same", "shape", "int_", "index_", *(names[id(o)] for o in bound)])
    source = f"def _make({free}):\n    def replay({params}):\n{text}\n    return replay\n"
    code = compile(source, "<cr.jit program>", "exec")
    scope: dict[str, Any] = {}
    exec(code, scope)  # noqa: S102 - our own generated source, no user text
    import operator

    replay = scope["_make"](MISS, same, np.shape, int, operator.index, *bound)
    return replay, source


# Whether a replay writes elementwise results into temporaries that die there
# (``out=``); tests switch it off to compare.
REUSE_BUFFERS = True
_INFIX_UFUNCS = {"+": np.add, "-": np.subtract, "*": np.multiply, "/": np.true_divide}


def _buffers_to_reuse(program: Program, last: dict[int, int], outputs: set[int]) -> dict[int, int]:
    """Equation index -> the variable whose array it may write its result into.

    Safe where NumPy allows ``out=`` and nothing else can see the array: the
    equation is an elementwise ufunc (or ``+ - * /`` on arrays) without
    keywords; the variable is one of its operands, read for the last time
    there, with the result's shape and dtype; and it is a temporary this
    replay allocated (the fresh result of a ufunc or operator, never an input,
    a constant or an output) that was never handed to another kind of call,
    which might have made a view of it (a reshape, a transpose, an index)."""
    big = program.big
    reuse: dict[int, int] = {}
    if not big:
        return reuse
    owned: set[int] = set()  # fresh temporaries no view can share
    for k, e in enumerate(program.body):
        if type(e) is Guard:
            continue
        fn = e.fn
        if e.infix is None and not (type(fn) is np.ufunc and not e.multiple):
            if owned:
                owned.difference_update(e.inputs())
            continue
        o = e.outs[0]
        meta = big.get(o)
        if meta is None:
            continue
        if not e.kwargs and e.weak is None and e.infix != "@" and (e.infix or fn.signature is None):
            for a in e.args:
                if type(a) is Var and a.id in owned and last[a.id] == k and big[a.id] == meta:
                    reuse[k] = a.id
                    owned.discard(a.id)
                    break
        if o not in outputs:
            owned.add(o)
    return reuse


def _scalar_for_broadcast(e: Equation, big: Any) -> tuple[Any, ...]:
    """The arguments of a binary elementwise equation, with a constant that is
    one value throughout (broadcast, or a derivative rule's scaled seed such as
    ``mean``'s 1/N) replaced by that value as a NumPy scalar of its dtype, when
    the other operand already has the result's shape: the same numbers and
    dtype (a NumPy scalar promotes as an array does), without walking the
    broadcast view."""
    a, b = e.args
    c, other = (a, b) if type(b) is Var else (b, a)
    if type(c) is not np.ndarray or type(other) is not Var or e.outs[0] not in big:
        return e.args
    if c.ndim == 0 or c.size == 0:
        return e.args
    meta = big.get(other.id)
    if meta is None or meta[0] != big[e.outs[0]][0]:
        return e.args
    value = c[(0,) * c.ndim]
    if any(c.strides) and not _uniform(c, value):
        return e.args
    return (value, b) if c is a else (a, value)


def _uniform(c: np.ndarray, value: Any) -> bool:
    """Whether every entry of ``c`` is ``value``, bit for bit (signed zeros
    alike; NaN never)."""
    if c.dtype.kind not in "biufc":
        return False
    if not bool(np.all(c == value)):
        return False
    if c.dtype.kind in "fc" and value == 0:
        return bool(np.all(np.signbit(c.real) == np.signbit(value.real)))
    return True


def _convert(kind: str, v: Any) -> Any:
    convert: Any = CONVERT[kind]
    return convert(v)


def _interpreter(program: Program) -> Callable[..., Any]:
    """The program run by a loop over prepared steps, without ``compile()``:
    for very long programs, and for long ones until they have been replayed
    often enough to pay for compiling (see ``Compiled``). Large temporaries
    are dropped after their last use, as in the compiled replay."""
    body = program.body
    n_in = program.n_in
    outputs = {o.id for o in program.out_leaves if type(o) is Var}
    last: dict[int, int] = {}
    for k, e in enumerate(body):
        for v in e.inputs():
            last[v] = k
    free: dict[int, list[int]] = {}
    for v, k in last.items():
        if v >= n_in and v not in outputs and v in program.big:
            free.setdefault(k, []).append(v)
    steps: list[tuple[Any, ...]] = []
    for k, e in enumerate(body):
        drop = tuple(free.get(k, ()))
        if type(e) is Guard:
            steps.append((_GUARD, e.kind, e.var, e.value, drop))
            continue
        args = e.args
        kind = _CALL
        if not e.kwargs and not e.multiple and e.weak is None:
            if len(args) == 1 and type(args[0]) is Var:
                kind, args = _CALL_V, args[0].id
            elif len(args) == 2 and type(args[0]) is Var and type(args[1]) is Var:
                kind, args = _CALL_VV, (args[0].id, args[1].id)
            elif len(args) == 2 and type(args[0]) is Var and not _has_var(args[1]):
                kind, args = _CALL_VC, (args[0].id, args[1])
            elif len(args) == 2 and type(args[1]) is Var and not _has_var(args[0]):
                kind, args = _CALL_CV, (args[0], args[1].id)
        steps.append((kind, e.fn, args, e, drop))
    out_leaves = program.out_leaves
    n_vars = program.n_vars

    def run(*inputs: Any) -> Any:
        env: list[Any] = [None] * n_vars
        env[:n_in] = inputs

        def get(t: Any) -> Any:
            tt = type(t)
            if tt is Var:
                return env[t.id]
            if tt in (list, tuple):
                return tt(get(v) for v in t)
            if tt is dict:
                return {k: get(v) for k, v in t.items()}
            return t

        for kind, fn, args, e, drop in steps:
            if kind is _CALL_V:
                env[e.outs[0]] = fn(env[args])
            elif kind is _CALL_VC:
                env[e.outs[0]] = fn(env[args[0]], args[1])
            elif kind is _CALL_VV:
                env[e.outs[0]] = fn(env[args[0]], env[args[1]])
            elif kind is _CALL_CV:
                env[e.outs[0]] = fn(args[0], env[args[1]])
            elif kind is _GUARD:
                v = env[args]  # (fn: the guard's kind, args: its variable, e: its value)
                if fn == "shape":
                    if np.shape(v) != e:
                        return MISS
                elif not same(_convert(fn, v), e):
                    return MISS
            else:
                ans = fn(*get(args), **get(e.kwargs))
                if e.weak is not None:
                    ans = e.weak(ans)
                if e.multiple:
                    for o, a in zip(e.outs, ans):
                        env[o] = a
                else:
                    env[e.outs[0]] = ans
            for v in drop:
                env[v] = None
        return [
            env[o.id] if type(o) is Var else (o.copy() if type(o) is np.ndarray else o)
            for o in out_leaves
        ]

    return run


_GUARD, _CALL, _CALL_V, _CALL_VV, _CALL_VC, _CALL_CV = "guard", "call", "v", "vv", "vc", "cv"


def _has_var(t: Any) -> bool:
    tt = type(t)
    if tt is Var:
        return True
    if tt in (list, tuple):
        return any(_has_var(v) for v in t)
    if tt is dict:
        return any(_has_var(v) for v in t.values())
    return False


class Jitted:
    """The function ``cr.jit`` returns (see ``jit``)."""

    def __init__(self, fun: Callable[..., Any], static_argnums: Any, static_argnames: Any) -> None:
        if not callable(fun):
            raise TypeError(f"cr.jit expects a function, got {fun!r}")
        self.fun = fun
        if isinstance(static_argnums, int):
            static_argnums = (static_argnums,)
        if isinstance(static_argnames, str):
            static_argnames = (static_argnames,)
        for n in static_argnums:
            if not isinstance(n, int):
                raise TypeError(f"cr.jit: static_argnums must be ints, got {n!r}")
        self.static_argnums = tuple(static_argnums)
        self.static_argnames = frozenset(static_argnames)
        self._cache: dict[Any, list[Compiled]] = {}
        # (shape, dtype, shape, dtype, ...) of all-array positional calls -> the
        # same path lists as _cache (see __call__)
        self._fast: dict[Any, list[Compiled]] = {}
        self._positional = not self.static_argnums and not self.static_argnames
        self._lock = threading.Lock()
        self._warned = False
        functools.update_wrapper(self, fun)

    # -- the call ---------------------------------------------------------
    def _split(
        self, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> tuple[Any, list[Any], Any, list[int]]:
        n = len(args)
        statics = {i % n if n else i for i in self.static_argnums if -n <= i < n}
        static_part: list[Any] = []
        dyn_args: list[Any] = []
        for i, a in enumerate(args):
            if i in statics:
                static_part.append(("pos", i, _static_key(a, f"static argument {i}")))
                dyn_args.append(None)
            else:
                dyn_args.append(a)
        dyn_kwargs: dict[str, Any] = {}
        for k in sorted(kwargs):
            if k in self.static_argnames:
                static_part.append(("kw", k, _static_key(kwargs[k], f"static argument {k!r}")))
            else:
                dyn_kwargs[k] = kwargs[k]
        leaves, treedef = tree.flatten((dyn_args, dyn_kwargs))
        keys = []
        for j, leaf in enumerate(leaves):
            k = _leaf_key(leaf, f"argument leaf {j}")
            if k is None:
                return None, leaves, treedef, []  # a traced value: inline
            keys.append(k)
        key = (treedef, tuple(keys), tuple(static_part))
        return key, leaves, treedef, [i for i, lf in enumerate(leaves) if _is_dynamic(lf)]

    def _rebuild(
        self, args: tuple[Any, ...], kwargs: dict[str, Any], treedef: Any, leaves: list[Any]
    ) -> tuple[tuple[Any, ...], dict[str, Any]]:
        dyn_args, dyn_kwargs = tree.unflatten(treedef, leaves)
        n = len(args)
        statics = {i % n for i in self.static_argnums if -n <= i < n}
        full_args = tuple(args[i] if i in statics else dyn_args[i] for i in range(n))
        full_kwargs = {k: kwargs[k] if k in self.static_argnames else dyn_kwargs[k] for k in kwargs}
        return full_args, full_kwargs

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        fast_key: Any = None
        if not kwargs and self._positional:
            # The common call, all arguments arrays: looked up by their shapes
            # and dtypes alone (no pytree walk), in the same lists of paths.
            parts: list[Any] = []
            for a in args:
                if type(a) is not np.ndarray:
                    break
                parts.append(a.shape)
                parts.append(a.dtype)
            else:
                fast_key = tuple(parts)
                paths = self._fast.get(fast_key)
                if paths is not None and _trace._depth.get() == 0:
                    done = self._replay(paths, paths, args, args, kwargs)
                    if done is not MISS:
                        return done
        if _trace._depth.get() > 0:
            # Inside another transform (or another jit's staging): run inline,
            # so that the outer level follows every operation.
            return self.fun(*args, **kwargs)
        key, leaves, treedef, dyn = self._split(args, kwargs)
        if key is None:
            return self.fun(*args, **kwargs)
        paths = self._cache.get(key)
        if paths:
            inputs = [leaves[i] for i in dyn]  # Python numbers as they are: weakly typed
            done = self._replay(paths, list(paths), inputs, args, kwargs)
            if done is not MISS:
                return done
            if len(paths) >= MAX_PATHS:
                self._retrace_warning()
                return self.fun(*args, **kwargs)
        staged, result = self._stage(args, kwargs, leaves, treedef, dyn)
        # None: a value escaped the recording (see staging.Watched); this
        # signature runs eagerly from now on, which is always right.
        entry = EAGER if staged is None else staged
        with self._lock:
            paths = self._cache.setdefault(key, [])
            if len(paths) < MAX_PATHS:
                paths.append(entry)
            if fast_key is not None:
                self._fast[fast_key] = paths  # the same list: one cache, two ways in
        return result

    def _replay(
        self,
        paths: list[Any],
        tried: list[Any],
        inputs: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """The result of the first of ``tried`` (``paths`` or a copy of it) whose
        guards hold for ``inputs``, an eager call where a path says so, or MISS."""
        for compiled in tried:
            if compiled is EAGER:
                return self.fun(*args, **kwargs)
            out = compiled.run(*inputs)
            if out is not MISS:
                result = out[0] if compiled.single else compiled.unflatten(out)
                if not compiled.checked and CHECK_FIRST_REPLAY:
                    return self._check(paths, compiled, result, args, kwargs)
                return result
        return MISS

    def _check(
        self,
        paths: list[Any],
        compiled: Compiled,
        result: Any,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
    ) -> Any:
        """The first replay of a program, against an eager run: a safety net
        for values a derivative rule computed from an unwrapped staged value
        in a way the staging trace could not see (they would be frozen
        constants). On a difference this signature runs eagerly from now on."""
        expected = self.fun(*args, **kwargs)
        compiled.checked = True
        if _agree(result, expected):
            return result
        with self._lock:
            paths[:] = [EAGER]  # in place: the fast lookup holds the same list
        name = getattr(self.fun, "__qualname__", repr(self.fun))
        warnings.warn(
            f"cr.jit: the staged program of {name} gave a different result from the function "
            "on its first replay (some value was computed outside the recording, which would "
            "have frozen it); calls with this input signature now run eagerly.",
            RetraceWarning,
            stacklevel=3,
        )
        return expected

    def _retrace_warning(self) -> None:
        with self._lock:
            if self._warned:
                return
            self._warned = True
        name = getattr(self.fun, "__qualname__", repr(self.fun))
        warnings.warn(
            f"cr.jit: {name} took more than {MAX_PATHS} different paths (guards on values: "
            "branches, loop counts, int()/float() of traced values) for the same input "
            "signature; further paths run eagerly, uncached. Make the varying value static "
            "(static_argnums) or replace the Python branch with np.where.",
            RetraceWarning,
            stacklevel=3,
        )

    def _stage(
        self,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        leaves: list[Any],
        treedef: Any,
        dyn: list[int],
        describe: bool = False,
    ) -> tuple[Compiled | None, Any]:
        state = _trace.boundary_state()
        random_before = _random_state()
        try:
            with StagingTrace() as trace:
                if describe:
                    trace.types = []
                staged = list(leaves)
                for i in dyn:
                    # Python numbers: weakly typed, standing as NumPy scalars so
                    # that code unwrapping them still refers to the variable
                    # (see staging.Watched), computed with as Python numbers
                    leaf = leaves[i]
                    t = type(leaf)
                    weak = t if t in _PY_NUMBERS else None
                    staged[i] = trace.new_var(_numpy_scalar(leaf), weak)
                full_args, full_kwargs = self._rebuild(args, kwargs, treedef, staged)
                out = self.fun(*full_args, **full_kwargs)
                out_leaves, out_tree = tree.flatten(out)
                atoms = []
                values = []
                for o in out_leaves:
                    if isinstance(o, _trace.Tracer) and o._trace is not trace:
                        _trace.raise_leaked(o._trace)
                    atom, value = trace._template(o)
                    atoms.append(atom)
                    values.append(value)
        finally:
            _trace.restore_boundary(state)
        if _random_state() != random_before:
            raise _random_error("NumPy's global random state changed while the function was traced")
        if trace.tainted is not None:
            return None, out_tree.unflatten(values)
        program = _prune(
            Program(len(dyn), trace.body, trace.n_vars, out_tree, atoms, trace.big),
            fuse=trace.saw_isfinite,
        )
        if describe:
            program = Lowered(program, getattr(self.fun, "__name__", ""), trace.types or [])
            program.weak = dict(trace._weak)
        trace.body = []
        trace._by_id.clear()
        trace._keep.clear()
        trace._cse.clear()
        trace._vars.clear()
        return Compiled(program), out_tree.unflatten(values)

    # -- inspection -------------------------------------------------------
    def lower(self, *args: Any, **kwargs: Any) -> Lowered:
        """The program staged for these arguments: printable (equations,
        guards, constants), and drawn as ``cr.graph`` draws graphs
        (``.to_dot()``, ``.save("p.svg")``, a picture in a notebook; see
        ``chainrule.graph.StagedGraph``). Does not touch the cache.

        >>> import numpy as np, chainrule as cr
        >>> p = cr.jit(lambda x: np.sum(x * 2.0)).lower(np.ones(3))
        >>> [e.name for e in p.equations]
        ['multiply', 'sum']
        """
        key, leaves, treedef, dyn = self._split(args, kwargs)
        if key is None:
            raise TypeError("cr.jit(...).lower takes plain arrays, not traced values")
        compiled, _ = self._stage(args, kwargs, leaves, treedef, dyn, describe=True)
        if compiled is None:
            raise TypeError(
                "cr.jit: this function cannot be staged for these arguments (a value left the "
                "recording); calls run it eagerly"
            )
        program: Lowered = compiled.program  # type: ignore[assignment]  # describe=True
        return program

    def cache_size(self) -> int:
        """How many programs are cached, over all signatures."""
        return sum(len(p) for p in self._cache.values())

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        return self if obj is None else functools.partial(self, obj)


def _agree(a: Any, b: Any) -> bool:
    la, ta = tree.flatten(a)
    lb, tb = tree.flatten(b)
    if ta != tb or len(la) != len(lb):
        return False
    for x, y in zip(la, lb):
        if np.shape(x) != np.shape(y):
            return False
        try:
            if not np.allclose(x, y, rtol=1e-9, atol=1e-12, equal_nan=True):
                return False
        except TypeError:
            if not np.array_equal(x, y):
                return False
    return True


_PY_NUMBERS = (int, float, complex, bool)
# A cache entry saying: this signature cannot be staged, call the function.
EAGER: Any = object()


def _random_state() -> Any:
    st = np.random.get_state(legacy=False)
    return (st["state"]["key"].tobytes(), st["state"]["pos"], st["has_gauss"], st["gauss"])


def _static_key(value: Any, where: str) -> Any:
    try:
        hash(value)
    except TypeError:
        raise TypeError(
            f"cr.jit: {where} must be hashable (it is part of the cache key), got a "
            f"{type(value).__name__}. Pass a tuple instead of a list, or make it a dynamic "
            "(traced) argument."
        ) from None
    return (type(value), value)


def jit(
    fun: Callable[..., Any],
    static_argnums: int | tuple[int, ...] = (),
    static_argnames: str | tuple[str, ...] = (),
) -> Jitted:
    """Stage ``fun`` once per input signature into a program and replay it.

    The signature is the pytree structure of the arguments, the shapes and
    dtypes of array leaves, the types of Python numbers (traced as 0-d
    values) and the values of static arguments. Python control flow on
    traced values (``if x.sum() > 0``, ``int(n)``, ``float(t)``) is recorded
    as a guard and re-checked at every call: another path is traced anew,
    never replayed stale. Arrays closed over or global are constants
    captured at the first call. Called inside another transform (or with
    traced arguments), the jitted function simply runs ``fun``.

    >>> import numpy as np, chainrule as cr
    >>> f = cr.jit(cr.grad(lambda x: np.sum(np.sin(x) ** 2)))
    >>> f(np.array([0.5, 1.0]))
    array([0.84147098, 0.90929743])
    >>> f(np.array([0.25, 2.0]))  # replayed, no Python of the function runs
    array([ 0.47942554, -0.7568025 ])
    """
    return Jitted(fun, static_argnums, static_argnames)
