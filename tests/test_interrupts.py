"""An interrupt anywhere in a transform leaves no trace open (issue #13).

A KeyboardInterrupt (Ctrl-C: a signal, turned into an exception between any
two bytecodes) must not leave the trace depth raised or the garbage collector
paused: after it, the trace-level ContextVar is back to its base value, the
collector is on, and the next transform works.

The injection test raises KeyboardInterrupt at the k-th line executed inside
chainrule's own code, for every k, through ``sys.settrace`` (an exception
raised by a trace function surfaces in the traced frame, at that line, and
the trace function is removed: one interrupt per run).
"""

from __future__ import annotations

import _thread
import gc
import linecache
import os
import sys
import time

import numpy as np
import pytest

import chainrule as cr
from chainrule.core import trace as trace_module

PACKAGE = os.path.dirname(cr.__file__) + os.sep
X = np.array([0.3, -1.2, 2.0])


def _f(x):
    return np.sum(np.sin(x) * x + np.exp(-(x**2)))


def _grad_f(x):
    return np.cos(x) * x + np.sin(x) - 2 * x * np.exp(-(x**2))


def _assert_state():
    assert trace_module._depth.get() == 0, "the trace depth was left raised"
    assert gc.isenabled(), "the garbage collector was left paused"


def _assert_clean():
    _assert_state()
    np.testing.assert_allclose(cr.grad(_f)(X), _grad_f(X))
    _, t = cr.jvp(_f, (X,), (np.ones(3),))
    assert np.isclose(t, np.sum(_grad_f(X)))


def _is_try(frame) -> bool:
    """A ``try:`` line. In CPython 3.11 an exception raised by a trace function
    at the no-op that starts a ``try`` escapes every handler of its frame
    (``with`` exits and ``finally`` clauses included): an artefact of the
    injection, not something a signal can do (a KeyboardInterrupt from a
    signal is raised at the interpreter's checks for pending calls, never
    there), so no interrupt is injected on such lines."""
    line = linecache.getline(frame.f_code.co_filename, frame.f_lineno).strip()
    return line == "try:"


def _interrupt_at_line(k: int, call) -> bool:
    """Run ``call`` with a KeyboardInterrupt at the k-th line executed in
    chainrule's code; False once ``call`` has fewer lines than that."""
    count = 0

    def local(frame, event, arg):
        nonlocal count
        if event == "line" and not _is_try(frame):
            count += 1
            if count == k:
                raise KeyboardInterrupt(f"injected at line event {k}")
        return local

    def on_call(frame, event, arg):
        return local if frame.f_code.co_filename.startswith(PACKAGE) else None

    sys.settrace(on_call)
    try:
        call()
    except KeyboardInterrupt:
        return True
    finally:
        sys.settrace(None)
    return False


def _vjp_and_pull(x):
    _, pull = cr.vjp(_f, x)
    return pull(1.0)


@cr.custom_vjp
def _custom(x):
    return np.sin(x)


_custom.defvjp(lambda x: (np.sin(x), np.cos(x)), lambda c, g: (g * c,))

_segment = cr.checkpoint(lambda x: np.sin(x) * x)

TRANSFORMS = {
    "grad": lambda: cr.grad(_f)(X),
    "value_and_grad": lambda: cr.value_and_grad(_f)(X),
    "vjp and its pull-back": lambda: _vjp_and_pull(X),
    "jvp": lambda: cr.jvp(_f, (X,), (np.ones(3),)),
    "grad of grad": lambda: cr.grad(lambda x: np.sum(cr.grad(_f)(x)))(X),
    "custom_vjp": lambda: cr.grad(lambda x: np.sum(_custom(x)))(X),
    "checkpoint": lambda: cr.grad(lambda x: np.sum(_segment(x)))(X),
}


@pytest.mark.parametrize(
    "name",
    [
        pytest.param(name, marks=pytest.mark.slow) if name == "grad of grad" else name
        for name in sorted(TRANSFORMS)
    ],
)
def test_an_interrupt_at_any_line_leaves_nothing_open(name):
    call = TRANSFORMS[name]
    k = 1
    while _interrupt_at_line(k, call):
        _assert_state()
        if k % 97 == 0:
            _assert_clean()
        k += 1
    assert k > 20  # the injection did reach the transform's code
    _assert_clean()


def _raises_keyboard_interrupt(x):
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "transform",
    [
        lambda f: cr.grad(f)(X),
        lambda f: cr.vjp(f, X),
        lambda f: cr.jvp(f, (X,), (np.ones(3),)),
        lambda f: cr.jacfwd(f)(X),
        lambda f: cr.jacrev(f)(X),
        lambda f: cr.hessian(f)(X),
        lambda f: cr.grad(lambda x: np.sum(cr.jacfwd(f)(x)))(X),
    ],
    ids=["grad", "vjp", "jvp", "jacfwd", "jacrev", "hessian", "grad-of-jacfwd"],
)
def test_a_function_raising_keyboard_interrupt(transform):
    with pytest.raises(KeyboardInterrupt):
        transform(_raises_keyboard_interrupt)
    _assert_clean()


def test_an_interrupt_in_a_custom_backward_rule():
    @cr.custom_vjp
    def f(x):
        return np.sin(x)

    def bwd(res, g):
        raise KeyboardInterrupt

    f.defvjp(lambda x: (np.sin(x), x), bwd)
    with pytest.raises(KeyboardInterrupt):
        cr.grad(lambda x: np.sum(f(x)))(X)
    _assert_clean()


def test_a_real_interrupt_signal_at_many_points():
    """_thread.interrupt_main raises KeyboardInterrupt in this thread at its
    next check for signals: wherever the interpreter happens to be."""
    for stop_after in range(0, 40, 3):

        def f(x, stop_after=stop_after):
            for i in range(40):
                if i == stop_after:
                    _thread.interrupt_main()
                x = np.sin(x) * 1.0001
            return np.sum(x)

        try:
            cr.grad(f)(X)
            time.sleep(0.01)  # delivered after the transform: still a clean state
        except KeyboardInterrupt:
            pass
        _assert_clean()
