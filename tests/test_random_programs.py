"""Random programs: chains of primitives on random shapes, where reverse mode,
forward mode and finite differences must agree.

Hypothesis draws the programs with a fixed seed (``derandomize=True``), so a
failure reproduces; each bug found this way gets a named test in the test
file of its subject (``test_rule_edge_cases.py``, ``test_fanout_accumulation.py``, ...).
"""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule as cr

# Smooth everywhere, so finite differences are trustworthy at any point.
UNARY = [
    ("sin", np.sin),
    ("cos", np.cos),
    ("tanh", np.tanh),
    ("square", lambda v: v * v),
    ("exp", lambda v: np.exp(0.3 * v)),
    ("soft-abs", lambda v: np.sqrt(v * v + 1.0)),
    ("log1+x^2", lambda v: np.log(1.0 + v**2)),
    ("affine", lambda v: 1.5 * v - 0.25),
    ("neg", lambda v: -v),
]
BINARY = [
    ("add", np.add),
    ("sub", lambda a, b: a - b),
    ("mul", np.multiply),
    ("div", lambda a, b: a / (1.0 + b * b)),
    ("pow", lambda a, b: (1.0 + a * a) ** (0.5 * np.tanh(b))),
]


@st.composite
def programs(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3))
    ndim = len(shape)
    steps = []
    for _ in range(draw(st.integers(1, 7))):
        kind = draw(st.sampled_from(["unary", "binary", "reduce", "flip", "matmul"]))
        if kind == "unary":
            steps.append(("unary", draw(st.integers(0, len(UNARY) - 1))))
        elif kind == "binary":
            steps.append(("binary", draw(st.integers(0, len(BINARY) - 1)), draw(st.integers(0, 9))))
        elif kind == "reduce" and ndim:
            axis = draw(st.integers(-ndim, ndim - 1))
            steps.append(("reduce", draw(st.sampled_from(["sum", "mean"])), axis))
        elif kind == "flip" and ndim:
            steps.append(("flip", draw(st.integers(0, ndim - 1))))
        elif kind == "matmul" and ndim >= 1:
            steps.append(("matmul",))
    return shape, steps


def build(steps, shape):
    """The program as a function of one array, plus a readable description."""
    rng = np.random.default_rng(len(steps))
    mats = {n: rng.standard_normal((n, n)) / n for n in set(shape) | {1}}

    def run(x):
        values = [x]
        for step in steps:
            v = values[-1]
            if step[0] == "unary":
                v = UNARY[step[1]][1](v)
            elif step[0] == "binary":
                other = values[step[2] % len(values)]
                v = BINARY[step[1]][1](v, other)
            elif step[0] == "reduce":
                v = getattr(np, step[1])(v, axis=step[2], keepdims=True)
            elif step[0] == "flip":
                idx = [slice(None)] * np.ndim(v)
                idx[step[1]] = slice(None, None, -1)
                v = v[tuple(idx)]
            elif step[0] == "matmul":
                v = v @ mats[np.shape(v)[-1]]
            values.append(v)
        return values[-1]

    return run


@settings(derandomize=True, max_examples=200, deadline=None)
@given(programs(), st.integers(0, 2**16))
def test_random_programs_agree(program, seed):
    shape, steps = program
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=shape)
    f = build(steps, shape)
    cr.check_grads(f, (x,), order=2, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(cr.jacrev(f)(x), cr.jacfwd(f)(x), rtol=1e-10, atol=1e-12)
