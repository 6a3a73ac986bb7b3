"""Hostile and malformed command lines for ``chainrule`` (issue #13).

Every case must end with exit status 0, 1 or 2, a single clear line on stderr
(``chainrule: error: ...``; a syntax error adds the expression and a caret
under the fault), no traceback and no warning text, within 10 seconds and
1 GB of address space, and must write nothing but the file it was asked to
write.

By default the whole corpus runs in-process through ``main`` (fast), plus a
few cases that need a real process: a FIFO as output, stdout on /dev/full,
Ctrl-C, and a memory limit. With ``--runslow`` every case also runs as a
subprocess under ``RLIMIT_AS`` and a timeout, in an empty directory.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from chainrule.cli import main

TIME_LIMIT = 10.0
MEMORY_LIMIT = 1 << 30

A1000 = "A=ones((1000, 1000))"
V1000 = "v=ones(1000)"


def case(name: str, argv: list[str], status: int, fragment: str = "", writes: tuple = ()):
    """One command line, the exit status it must end with, a fragment its
    message must contain, and the files (relative to the working directory) it
    may create."""
    return pytest.param(argv, status, fragment, writes, id=name)


CORPUS = [
    # -- code injection: nothing but the allow-listed syntax is evaluated --------------
    case(
        "import",
        ["grad", "__import__('os').system('touch pwned')", "--at", "x=1"],
        2,
        "is not allowed",
    ),
    case("dunder-class", ["grad", "x.__class__", "--at", "x=1"], 2, "attribute access"),
    case(
        "subclasses",
        ["grad", "().__class__.__base__.__subclasses__()", "--at", "x=1"],
        2,
        "not allowed",
    ),
    case("lambda", ["grad", "(lambda: 1)()", "--at", "x=1"], 2, "lambda functions"),
    case("open", ["grad", "open('/etc/passwd')", "--at", "x=1"], 2, "unknown function 'open'"),
    case("eval", ["grad", "eval('x')", "--at", "x=1"], 2, "unknown function 'eval'"),
    case("exec", ["grad", "exec('import os')", "--at", "x=1"], 2, "unknown function 'exec'"),
    case("globals", ["grad", "globals()", "--at", "x=1"], 2, "unknown function 'globals'"),
    case("getattr", ["grad", "getattr(x, 'shape')", "--at", "x=1"], 2, "unknown function"),
    case("breakpoint", ["grad", "breakpoint()", "--at", "x=1"], 2, "unknown function"),
    case("fullwidth-eval", ["grad", "ｅｖａｌ('1')", "--at", "x=1"], 2, "unknown function 'eval'"),
    case("np-os", ["grad", "np.os.system('ls')", "--at", "x=1"], 2, "unknown function 'np.os"),
    case("np-dict", ["grad", "np.__dict__", "--at", "x=1"], 2, "attribute access"),
    case("function-globals", ["grad", "sin.__globals__", "--at", "x=1"], 2, "attribute access"),
    case("np-function-globals", ["grad", "np.sin.__globals__", "--at", "x=1"], 2, "attribute"),
    case("method-call", ["grad", "x.sum()", "--at", "x=1"], 2, "write sum(...) instead"),
    case("comprehension", ["grad", "sum([i for i in x])", "--at", "x=1"], 2, "comprehensions"),
    case("generator", ["grad", "sum(i for i in x)", "--at", "x=1"], 2, "generator expressions"),
    case("walrus", ["grad", "(y := x)", "--at", "x=1"], 2, "assignment expressions"),
    case("fstring", ["grad", "f'{x}'", "--at", "x=1"], 2, "f-strings"),
    case("dict", ["grad", "{'a': x}", "--at", "x=1"], 2, "dicts are not allowed"),
    case("star", ["grad", "sum(*x)", "--at", "x=1"], 2, "star-arguments"),
    case("kwargs", ["grad", "sum(x, **{'axis': 0})", "--at", "x=1"], 2, "not allowed"),
    case("out-kwarg", ["grad", "sin(x, out=x)", "--at", "x=1"], 2, "'out' is not allowed"),
    case("statement", ["grad", "import os", "--at", "x=1"], 2, "syntax error"),
    case("two-statements", ["grad", "x; import os", "--at", "x=1"], 2, "syntax error"),
    case("newline", ["grad", "x\nimport os", "--at", "x=1"], 2, "syntax error"),
    case("string-arith", ["grad", "'a' * 10**9", "--at", "x=1"], 2, "strings are not allowed"),
    case("tuple-repeat", ["grad", "sum((0,) * 10**9)", "--at", "x=1"], 1, "not tuples"),
    case("shift", ["grad", "x << 2", "--at", "x=1"], 2, "shift operators"),
    case("not", ["grad", "not x", "--at", "x=1"], 2, "only unary"),
    case("ifexp", ["grad", "x if x else 1", "--at", "x=1"], 2, "use where"),
    case("and", ["grad", "x and 1", "--at", "x=1"], 2, "logical_and"),
    case("chained-compare", ["grad", "0 < x < 1", "--at", "x=1"], 2, "single comparisons"),
    case("value-refers", ["grad", "x", "--at", "x=y"], 2, "may not refer to variables"),
    case("value-import", ["grad", "x", "--at", "x=__import__('os')"], 2, "'_'"),
    case("value-string", ["grad", "x", "--at", "x='a'"], 2, "strings are not allowed"),
    case("value-complex", ["grad", "x", "--at", "x=1j"], 2, "complex numbers"),
    case("nul-byte", ["grad", "x\x00 + 1", "--at", "x=1"], 2, "control character"),
    case("surrogate", ["grad", "x\udcff", "--at", "x=1"], 2, "cannot be read"),
    case("bidi-override", ["grad", "x\u202e + 1", "--at", "x=1"], 2),
    case("ellipsis-value", ["grad", "... + x", "--at", "x=1"], 2, "not allowed"),
    case(
        "fromfile", ["grad", "sum(fromfile('/etc/passwd'))", "--at", "x=1"], 2, "unknown function"
    ),
    case("fromfile-fd", ["graph", "fromfile(0)", "--at", "x=1"], 2, "unknown function"),
    case(
        "loadtxt", ["grad", "sum(loadtxt('/etc/hostname'))", "--at", "x=1"], 2, "unknown function"
    ),
    case("genfromtxt", ["grad", "sum(genfromtxt('/etc/hosts'))", "--at", "x=1"], 2, "unknown"),
    case("frombuffer", ["grad", "sum(frombuffer('abcdefgh'))", "--at", "x=1"], 2, "unknown"),
    case("empty", ["grad", "sum(empty(1000))", "--at", "x=1"], 2, "unknown function"),
    case("fromfunction", ["grad", "sum(fromfunction(sin, (3,)))", "--at", "x=1"], 2),
    case("apply-along-axis", ["grad", "sum(apply_along_axis(sum, 0, x))", "--at", "x=1"], 2),
    case("np-save", ["grad", "np.save('out.npy', x)", "--at", "x=1"], 2, "unknown function"),
    # -- sizes: refused before anything is allocated -----------------------------------
    case("ones-1e9", ["grad", "sum(ones(10**9))", "--at", "x=1"], 2, "1,000,000,000 elements"),
    case("zeros-square", ["grad", "sum(zeros((10**5, 10**5)))", "--at", "x=1"], 2, "elements"),
    case("eye", ["grad", "sum(eye(10**5))", "--at", "x=1"], 2, "elements"),
    case("identity", ["grad", "sum(identity(10**5))", "--at", "x=1"], 2, "elements"),
    case("arange", ["grad", "sum(arange(1e12))", "--at", "x=1"], 2, "elements"),
    case("arange-tiny-step", ["grad", "sum(arange(0, 1, 1e-300))", "--at", "x=1"], 2, "elements"),
    case("linspace", ["grad", "sum(linspace(0, 1, 10**9))", "--at", "x=1"], 2, "elements"),
    case(
        "full-like-shape",
        ["grad", "sum(full_like(x, 1, shape=(10**5, 10**5)))", "--at", "x=1"],
        2,
        "10,000,000,000 elements",
    ),
    case(
        "zeros-like-shape",
        ["grad", "sum(zeros_like(x, shape=10**7))", "--at", "x=1"],
        2,
        "elements",
    ),
    case("tile", ["grad", "sum(tile(x, 10**9))", "--at", "x=1"], 2, "elements"),
    case("repeat", ["grad", "sum(repeat(x, 10**9))", "--at", "x=1"], 2, "elements"),
    case("pad", ["grad", "sum(pad(x, 10**8))", "--at", "x=[1.0]"], 2, "elements"),
    case("outer", ["grad", "sum(outer(ones(10**5), ones(10**5)))", "--at", "x=1"], 2, "elements"),
    case("kron", ["grad", "sum(kron(ones(10**4), ones(10**4)))", "--at", "x=1"], 2, "elements"),
    case(
        "broadcast-to",
        ["grad", "sum(broadcast_to(x, (10**5, 10**5)))", "--at", "x=1"],
        2,
        "elements",
    ),
    case("diag", ["grad", "sum(diag(ones(10**5)))", "--at", "x=1"], 2, "elements"),
    case(
        "broadcast-add",
        ["grad", "sum(ones(10**6) + ones((10**6, 1)))", "--at", "x=1"],
        2,
        "elements",
    ),
    case(
        "empty-but-huge",
        ["grad", "sum(zeros((10**6, 0, 10**6)))", "--at", "x=1"],
        2,
        "elements",
    ),
    case(
        "reduce-empty",
        ["grad", "sum(sum(zeros((10**5, 0, 10**4)), axis=1))", "--at", "x=1"],
        2,
        "elements",
    ),
    case(
        "fancy-index",
        ["grad", "sum(x[zeros((10**5, 10**5), 'int64')])", "--at", "x=[1.0]"],
        2,
        "elements",
    ),
    case(
        "take",
        ["grad", "sum(take(x, arange(10**6)[:, None] * arange(10**6)))", "--at", "x=[1.0]"],
        2,
        "elements",
    ),
    case("svd-full", ["grad", "sum(linalg.svd(ones((10**5, 10)))[0])", "--at", "x=1"], 2),
    case(
        "qr-complete",
        ["grad", "sum(linalg.qr(ones((10**5, 10)), 'complete')[0])", "--at", "x=1"],
        2,
        "elements",
    ),
    case(
        "held-operands",
        [
            "grad",
            "sum([ones(10**6), ones(10**6), ones(10**6), ones(10**6), ones(10**6), ones(10**6)])",
            "--at",
            "x=1",
        ],
        2,
    ),
    case("split-pieces", ["grad", "sum(array_split(x, 10**9)[0])", "--at", "x=[1.0]"], 2, "pieces"),
    case(
        "unstack-pieces",
        ["grad", "sum(unstack(ones((10**6, 1)))[0])", "--at", "x=1"],
        2,
        "pieces",
    ),
    case("meshgrid", ["grad", "sum(meshgrid(ones(10**5), ones(10**5))[0])", "--at", "x=1"], 2),
    case("vander", ["grad", "sum(vander(ones(10**5)))", "--at", "x=1"], 2, "elements"),
    case("tri", ["grad", "sum(tri(10**5))", "--at", "x=1"], 2, "elements"),
    case("cov", ["grad", "sum(cov(ones((10**5, 2))))", "--at", "x=1"], 2, "elements"),
    case("roots", ["grad", "sum(roots(ones(10**5)))", "--at", "x=1"], 2, "elements"),
    case("polyfit", ["grad", "sum(polyfit(x, x, 10**5))", "--at", "x=ones(100)"], 2),
    case("polyint", ["grad", "sum(polyint(x, 10**7))", "--at", "x=[1.0]"], 2, "elements"),
    case("logspace", ["grad", "sum(logspace(0, 1, 10**9))", "--at", "x=1"], 2, "elements"),
    case(
        "convolve",
        ["grad", "sum(convolve(ones(10**5), ones(10**5), 'valid'))", "--at", "x=1"],
        2,
        "steps of arithmetic",
    ),
    case("unicode-dtype", ["grad", "sum(zeros(1000, 'U100000'))", "--at", "x=1"], 2, "bytes"),
    case("bytes-dtype", ["grad", "sum(zeros(10**4, 'S10000'))", "--at", "x=1"], 2, "bytes"),
    case("void-dtype", ["grad", "sum(ones(100, 'V1000000'))", "--at", "x=1"], 2, "bytes"),
    case("subarray-dtype", ["grad", "sum(zeros(10, '(1000,1000)f8'))", "--at", "x=1"], 2, "bytes"),
    case("astype-unicode", ["grad", "sum(astype(ones(1000), 'U100000'))", "--at", "x=1"], 2),
    case(
        "string-fill", ["grad", "sum(full(10**6, '" + "a" * 64 + "'))", "--at", "x=1"], 2, "bytes"
    ),
    case(
        "string-tile", ["grad", "sum(tile('" + "a" * 64 + "', 10**6))", "--at", "x=1"], 2, "bytes"
    ),
    case(
        "string-where",
        ["grad", "sum(where(ones(10**6) > 0, '" + "a" * 64 + "', 'b'))", "--at", "x=1"],
        2,
        "bytes",
    ),
    case("object-dtype", ["grad", "sum(ones(3, 'O'))", "--at", "x=1"], 2, "Python objects"),
    case("object-astype", ["grad", "sum(astype(x, object))", "--at", "x=1"], 2),
    case("object-string", ["grad", "sum(astype(x, 'object'))", "--at", "x=1"], 2, "objects"),
    # -- time: work bounded before it starts ----------------------------------------------
    case(
        "einsum-scalar",
        ["grad", "einsum('i,j,k,l->', v, v, v, v)", "--at", V1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "einsum-chain",
        ["grad", "sum(einsum('ij,jk,kl->il', A, A, A))", "--at", A1000, "--wrt", "A"],
        2,
        "steps of arithmetic",
    ),
    case(
        "einsum-ellipsis",
        ["grad", "einsum('...i,...j,...k->', A, A, A)", "--at", A1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "einsum-interleaved",
        ["grad", "einsum(v, [0], v, [1], v, [2], v, [3], [])", "--at", V1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "matrix-power",
        ["grad", "sum(linalg.matrix_power(A / 1000, 2**20))", "--at", A1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "matrix-power-huge",
        ["grad", "sum(linalg.matrix_power(A, 10**30))", "--at", A1000],
        2,
        "64 bits",
    ),
    case(
        "svd-1000",
        ["grad", "sum(linalg.svdvals(A))", "--at", A1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "inverse-1000",
        ["grad", "sum(linalg.inv(A + eye(1000)))", "--at", A1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "matmul-chain",
        ["grad", "sum(A @ A @ A @ A @ A @ A @ A @ A @ A @ A @ A @ A)", "--at", A1000],
        2,
        "steps of arithmetic",
    ),
    case(
        "jacobian-directions",
        ["jacobian", "x**2", "--at", "x=ones(10**5)"],
        2,
        "elements",
    ),
    case(
        "hessian-directions",
        ["hessian", "sum(sin(A @ x))", "--at", A1000, "x=ones(1000)", "--wrt", "x"],
        2,
        "directions",
    ),
    case("jacfwd-grad", ["grad", "sum(sin(A @ A))", "--at", A1000, "--mode", "fwd"], 2),
    case("int-power", ["grad", "2**10**10", "--at", "x=1"], 2, "exponent too large"),
    case("int-power-tower", ["grad", "10**10**6", "--at", "x=1"], 2, "exponent too large"),
    case("int-power-call", ["grad", "power(2**1000, 10**6)", "--at", "x=1"], 2, "64 bits"),
    case("big-int-array", ["grad", "sum(array(2**1000))", "--at", "x=1"], 2, "64 bits"),
    case("big-int-list", ["grad", "sum([2**1000, 1])", "--at", "x=1"], 2, "Python objects"),
    case("big-int-product", ["grad", "2**1000 * 2**1000", "--at", "x=1"], 2, "bits"),
    case("big-literal", ["grad", "1" + "0" * 400, "--at", "x=1"], 2, "bits"),
    # -- nesting and length -----------------------------------------------------------
    case("parens-1e5", ["grad", "(" * 10**5 + "x" + ")" * 10**5, "--at", "x=1"], 2, "long"),
    case("parens-999", ["grad", "(" * 999 + "x" + ")" * 999, "--at", "x=1"], 2),
    case("unary-1999", ["grad", "-" * 1999 + "x", "--at", "x=1"], 2),
    case("lists-deep", ["grad", "sum(" + "[" * 300 + "x" + "]" * 300 + ")", "--at", "x=1"], 2),
    case("calls-deep", ["grad", "sin(" * 60 + "x" + ")" * 60, "--at", "x=1"], 2, "levels deep"),
    case("many-nodes", ["grad", "+".join(["x"] * 600), "--at", "x=1"], 2),
    case("long-expression", ["grad", "x" * 10**5, "--at", "x=1"], 2, "characters long"),
    case("long-name", ["grad", "x", "--at", "x" * 10**5 + "=1"], 2),
    case("long-value", ["grad", "x", "--at", "x=" + "1" * 10**5], 2, "characters long"),
    case("many-values", ["grad", "x0", "--at", *[f"x{k}=1" for k in range(2000)]], 2, "limit"),
    case("huge-string-arg", ["grad", "sum(x, '" + "a" * 1000 + "')", "--at", "x=1"], 2),
    # -- numbers -------------------------------------------------------------------------
    case("float-overflow", ["grad", "10.0 ** 400", "--at", "x=1"], 1, "overflow"),
    case("zero-division", ["grad", "1 / 0 + x", "--at", "x=1"], 1, "division by zero"),
    case("float-zero-division", ["grad", "0.0 / 0 + x", "--at", "x=1"], 1),
    case("int-modulo-zero", ["grad", "1 % 0 + x", "--at", "x=1"], 1),
    case("negative-fractional-power", ["grad", "(-8) ** (1/3) + x", "--at", "x=1"], 1),
    case("log-zero", ["grad", "log(x)", "--at", "x=0"], 0),
    case("exp-overflow", ["grad", "exp(x)", "--at", "x=1000"], 0),
    case("sqrt-negative", ["grad", "sqrt(x)", "--at", "x=-1"], 0),
    case("inf-minus-inf", ["grad", "x + inf - inf", "--at", "x=1"], 0),
    case("value-inf", ["grad", "x**2", "--at", "x=1e999"], 0),
    case("value-nan", ["grad", "x**2", "--at", "x=nan"], 0),
    case("value-json-nan", ["grad", "x**2", "--at", "x=nan", "--json"], 0),
    case("value-hex", ["grad", "x**2", "--at", "x=0x10"], 0),
    case("value-bad-number", ["grad", "x", "--at", "x=1e"], 2, "syntax error"),
    case("value-empty", ["grad", "x", "--at", "x="], 2, "NAME=VALUE"),
    case("value-ragged", ["grad", "sum(x)", "--at", "x=[1, [2]]"], 1, "shape"),
    case("value-empty-list", ["grad", "sum(x)", "--at", "x=[]"], 0),
    case("value-bool", ["grad", "x", "--at", "x=True"], 0),
    case("empty-result", ["jacobian", "x[:0]", "--at", "x=[1.0]"], 1, "empty"),
    case("index-huge", ["grad", "x[10**100]", "--at", "x=[1.0]"], 1),
    case("complex-result", ["grad", "sqrt(x + 0j)", "--at", "x=1"], 2, "complex numbers"),
    # -- names and options ------------------------------------------------------------
    case("name-dunder", ["grad", "x", "--at", "__class__=1"], 2, "may not start with '_'"),
    case("name-function", ["grad", "x", "--at", "sin=1"], 2, "name of a function"),
    case("name-module", ["grad", "x", "--at", "np=1"], 2, "module's name"),
    case("name-digit", ["grad", "x", "--at", "1x=1"], 2, "not a valid variable name"),
    case("name-dotted", ["grad", "x", "--at", "x.y=1"], 2, "not a valid variable name"),
    case("name-keyword", ["grad", "x", "--at", "for=1"], 2, "not a valid variable name"),
    case("name-twice", ["grad", "x", "--at", "x=1", "x=2"], 2, "twice"),
    case("name-nfkc", ["grad", "ﬁ * 2", "--at", "ﬁ=1"], 0),
    case("wrt-twice", ["grad", "x", "--at", "x=1", "--wrt", "x", "x"], 2, "twice"),
    case("wrt-unknown", ["grad", "x", "--at", "x=1", "--wrt", "y"], 2, "has no value"),
    case("tangent-unknown", ["jvp", "x", "--at", "x=1", "--tangent", "z=1"], 2, "'z'"),
    case("precision-negative", ["grad", "x", "--at", "x=1", "--precision", "-5"], 2, "1 to 17"),
    case("precision-huge", ["grad", "x", "--at", "x=1", "--precision", "1000000"], 2, "1 to 17"),
    case("precision-word", ["grad", "x", "--at", "x=1", "--precision", "many"], 2, "whole"),
    case("mode", ["grad", "x", "--at", "x=1", "--mode", "sideways"], 2, "invalid choice"),
    case("unknown-option", ["grad", "x", "--at", "x=1", "--frobnicate"], 2, "unrecognized"),
    case("unknown-command", ["frobnicate"], 2, "invalid choice"),
    case("steps-negative", ["demo", "--steps", "-1"], 2, "0 to 1,000,000"),
    case("steps-huge", ["demo", "--steps", "10000000000"], 2, "0 to 1,000,000"),
    case("tol-nan", ["demo", "--tol", "nan"], 2, "finite number"),
    case("tol-negative", ["demo", "--tol", "-1"], 2, "finite number"),
    case("seed-negative", ["demo", "--seed", "-1"], 2, "from 0"),
    case("missing-expression", ["grad", "--at", "x=1"], 2, "EXPR"),
    case("expression-dash", ["grad", "--at", "x=1", "-x**2"], 2, "EXPR"),
    # -- output paths ---------------------------------------------------------------------
    case("output-suffix", ["graph", "x", "--at", "x=1", "-o", "g.txt"], 2, "picture must be"),
    case("output-empty", ["graph", "x", "--at", "x=1", "-o", ""], 2, "picture must be"),
    case("output-device", ["graph", "x", "--at", "x=1", "-o", "/dev/null"], 2),
    case("output-directory", ["graph", "x", "--at", "x=1", "-o", "."], 2),
    case(
        "output-missing-dir",
        ["graph", "x", "--at", "x=1", "-o", "no/such/dir/g.dot"],
        1,
        "could not write",
    ),
    case("output-dot", ["graph", "x", "--at", "x=1", "-o", "g.dot"], 0, "", ("g.dot",)),
    case("plot-suffix", ["demo", "--steps", "1", "--plot", "loss.txt"], 2, "must end in"),
    case("graph-suffix", ["demo", "--steps", "1", "--graph", "g.txt"], 2, "picture must be"),
    case("plot-device", ["demo", "--steps", "1", "--plot", "/dev/full"], 2),
]


# Allowed, but near the limits: they must finish in time too (slow: subprocesses only).
HEAVY = [
    case("grad-1e6", ["grad", "sum(x**2)", "--at", "x=ones(10**6)"], 0),
    case("grad-1e6-json", ["grad", "sum(x**2)", "--at", "x=ones(10**6)", "--json"], 0),
    case("jacobian-1000x1000", ["jacobian", "sin(x)", "--at", "x=ones(1000)"], 0),
    case("hessian-1000", ["hessian", "sum(x**3)", "--at", "x=ones(1000)"], 0),
    case("hessians-100", ["hessian", "x**3", "--at", "x=ones(100)"], 0),
    case("matmuls", ["grad", "sum(sin(A @ A @ A))", "--at", A1000 + " / 1000"], 0),
    case("jvp-1e6", ["jvp", "sin(x)", "--at", "x=ones(10**6)", "--tangent", "x=ones(10**6)"], 0),
    case("sort-1e6", ["grad", "sum(sort(x) * x)", "--at", "x=linspace(0, 1, 10**6)"], 0),
    case("einsum-allowed", ["grad", "einsum('ij,jk->', A, A)", "--at", "A=ones((300, 300))"], 0),
    case("split-1000", ["grad", "sum(stack(array_split(x, 1000))**2)", "--at", "x=ones(10**4)"], 0),
]


def check_outcome(status: int, stderr: str, expected: int, fragment: str) -> None:
    """The contract of every case: the expected status and one clear line."""
    assert status == expected, stderr
    assert "Traceback" not in stderr and "internal error" not in stderr, stderr
    assert "Warning" not in stderr and "warning" not in stderr, stderr
    lines = stderr.splitlines()
    if status == 0:
        assert lines == [], stderr
        return
    assert lines and ": error: " in lines[0] and lines[0].startswith("chainrule"), stderr
    if "syntax error" in lines[0]:
        # The one exception: the expression's line and a caret under the fault.
        assert len(lines) == 3 and lines[2].strip() == "^" and len(lines[1]) <= 80, stderr
    else:
        assert len(lines) == 1, stderr
    assert len(lines[0]) <= 400, lines[0]
    assert fragment in stderr, stderr


def created(before: set[Path], directory: Path) -> set[str]:
    return {str(p.relative_to(directory)) for p in set(directory.rglob("*")) - before}


@pytest.mark.parametrize("argv, status, fragment, writes", CORPUS)
def test_in_process(argv, status, fragment, writes, capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    start = time.perf_counter()
    got = main(argv)
    elapsed = time.perf_counter() - start
    out, err = capsys.readouterr()
    check_outcome(got, err, status, fragment)
    assert elapsed < TIME_LIMIT
    assert created(set(), tmp_path) == set(writes)
    if status == 0 and "--json" in argv:
        assert json.loads(out)["command"] == argv[0]


def run_limited(argv: list[str], cwd: Path, **kwargs) -> subprocess.CompletedProcess:
    """``python -m chainrule ARGV`` with 1 GB of address space and a timeout."""

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))

    env = {k: v for k, v in os.environ.items() if k != "CHAINRULE_TRACEBACK"}
    env["PYTHONIOENCODING"] = "utf-8"
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True, **kwargs}
    return subprocess.run(
        [sys.executable, "-m", "chainrule", *argv],
        cwd=cwd,
        env=env,
        preexec_fn=limit,
        timeout=TIME_LIMIT,
        **options,
    )


@pytest.mark.slow
@pytest.mark.parametrize("argv, status, fragment, writes", CORPUS + HEAVY)
def test_subprocess_under_limits(argv, status, fragment, writes, tmp_path):
    if max(len(os.fsencode(a)) for a in argv) >= 128 * 1024:
        pytest.skip("Linux passes no argument this long to a process (in-process only)")
    if any("\x00" in a for a in argv):
        pytest.skip("a process's arguments cannot hold a NUL byte (in-process only)")
    done = run_limited(argv, tmp_path)
    check_outcome(done.returncode, done.stderr, status, fragment)
    assert created(set(), tmp_path) == set(writes)


# -- what needs a real process ------------------------------------------------------------


def test_injection_writes_nothing(tmp_path):
    for expression in ("__import__('os').system('touch pwned')", "open('pwned', 'w')"):
        done = run_limited(["grad", expression, "--at", "x=1"], tmp_path)
        check_outcome(done.returncode, done.stderr, 2, "")
    assert list(tmp_path.iterdir()) == []


def test_memory_refusals_under_a_memory_limit(tmp_path):
    # Refused by prediction: under 1 GB, an attempt would die of MemoryError.
    for expression in ("sum(zeros((10**5, 10**5)))", "sum(zeros(10**4, 'U100000'))"):
        done = run_limited(["grad", expression, "--at", "x=1"], tmp_path)
        check_outcome(done.returncode, done.stderr, 2, "the limit is")


def test_fifo_as_output_is_refused(tmp_path):
    fifo = tmp_path / "g.dot"
    os.mkfifo(fifo)
    for argv in (
        ["graph", "x", "--at", "x=1", "-o", str(fifo)],
        ["demo", "--steps", "1", "--graph", str(fifo)],
    ):
        done = run_limited(argv, tmp_path)
        check_outcome(done.returncode, done.stderr, 2, "FIFO")
    plot = tmp_path / "loss.png"
    os.mkfifo(plot)
    done = run_limited(["demo", "--steps", "1", "--plot", str(plot)], tmp_path)
    check_outcome(done.returncode, done.stderr, 2, "")


def test_full_output_device(tmp_path):
    if not Path("/dev/full").exists():
        pytest.skip("no /dev/full here")
    for argv in (["jacobian", "sin(x)", "--at", "x=ones(100)"], ["demo", "--steps", "3"]):
        with open("/dev/full", "w") as full:
            done = run_limited(argv, tmp_path, stdout=full, stderr=subprocess.PIPE)
        assert done.returncode == 1
        assert done.stderr.splitlines() == [
            "chainrule: error: could not write the output: no space left on the device"
        ]


def test_ctrl_c_exits_130_with_one_line(tmp_path):
    # A long descent (it cannot converge with --tol 0); interrupt it mid-way.
    process = subprocess.Popen(
        [sys.executable, "-m", "chainrule", "demo", "--data", "generated"]
        + ["--steps", "1000000", "--tol", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        for line in process.stdout:
            if line.startswith("5. Gradient descent"):
                break
        time.sleep(0.5)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIME_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130
    assert err.splitlines() == ["chainrule: interrupted"]


def test_ctrl_c_during_a_computation_exits_130_with_one_line(tmp_path):
    # The child says when chainrule is imported (an interrupt during the import
    # itself is Python's), then works on six products of 1000 x 1000 matrices.
    code = (
        "import sys; from chainrule.cli import main; print('ready', flush=True); "
        "sys.exit(main(sys.argv[1:]))"
    )
    argv = ["grad", "sum(sin(A @ A @ A @ A @ A @ A))", "--at", "A=ones((1000, 1000)) / 1000"]
    process = subprocess.Popen(
        [sys.executable, "-c", code, *argv],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None and process.stdout.readline() == "ready\n"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=TIME_LIMIT)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert err.splitlines() == ["chainrule: interrupted"]


@pytest.mark.parametrize("device", ["/dev/full", "/dev/null"])
def test_device_behind_a_picture_name_is_refused(device, capsys, monkeypatch, tmp_path):
    if not Path(device).exists():
        pytest.skip(f"no {device} here")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "g.dot").symlink_to(device)
    status = main(["graph", "x", "--at", "x=1", "-o", "g.dot"])
    _, err = capsys.readouterr()
    check_outcome(status, err, 2, "g.dot: this is a device, not a regular file")


@pytest.mark.parametrize(
    "args, result, iterations",
    [
        (("ij,jk->ik", (2, 3), (3, 4)), 8, 24),
        (("ij,jk", (2, 3), (3, 4)), 8, 24),  # implicit output: the labels used once
        (("i,j,k->", (10,), (20,), (30,)), 1, 6000),
        (("ii->", (5, 5)), 1, 5),
        (("...i,...i->...", (7, 1, 3), (5, 3)), 35, 105),  # broadcast ellipses
        (((4,), [0], (5,), [1], [0, 1]), 20, 20),  # interleaved, explicit output
        (((4,), [0], (5,), [1], []), 1, 20),
    ],
)
def test_einsum_cost_counts_every_label(args, result, iterations):
    import numpy as np

    from chainrule.cli.limits import einsum_cost

    operands = tuple(np.ones(a) if isinstance(a, tuple) else a for a in args)
    if isinstance(args[0], tuple):  # interleaved: sublists arrive as integer arrays
        operands = tuple(
            np.array(a, dtype=int) if isinstance(a, list) and a else a for a in operands
        )
    assert einsum_cost(operands) == (result, iterations)
    np.testing.assert_equal(np.einsum(*operands).size, result)
