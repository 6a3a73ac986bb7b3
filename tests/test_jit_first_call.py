"""cr.jit's first call: what it runs, by program length (no timing asserted).

The first call stages the program and compiles nothing; a long program is
interpreted on its first replays and compiled only once it has been replayed
often enough. benchmarks/jit_first_call.py measures the times.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.transforms import jit as jit_module

SCRIPT = Path(__file__).resolve().parent.parent / "benchmarks" / "jit_first_call.py"


def scalar_loop_grad(iterations):
    def f(x):
        for _ in range(iterations):
            x = np.sin(x) * 1.0001 + 0.1
        return x

    return cr.grad(f)


def test_first_and_second_call_of_a_long_program_compile_nothing(monkeypatch):
    compiles = []
    real = jit_module._compile

    def counting(program):
        compiles.append(len(program.body))
        return real(program)

    monkeypatch.setattr(jit_module, "_compile", counting)
    g = scalar_loop_grad(400)  # about 2400 equations: above COMPILE_LATER_ABOVE
    jg = cr.jit(g)
    xs = [np.float64(0.3 + 0.01 * k) for k in range(jit_module.COMPILE_AFTER_REPLAYS + 3)]
    assert jg(xs[0]) == g(xs[0])  # the first call: staged
    program = next(c for paths in jg._cache.values() for c in paths).program
    assert len(program.equations) > jit_module.COMPILE_LATER_ABOVE
    for k, x in enumerate(xs[1:], start=1):
        assert jg(x) == g(x)  # the same calls in the same order: bitwise
        assert compiles == ([] if k <= jit_module.COMPILE_AFTER_REPLAYS else [len(program.body)])


def test_a_short_program_is_compiled_at_its_first_replay(monkeypatch):
    compiles = []
    real = jit_module._compile
    monkeypatch.setattr(jit_module, "_compile", lambda p: compiles.append(1) or real(p))
    g = scalar_loop_grad(20)
    jg = cr.jit(g)
    jg(np.float64(0.3))
    assert compiles == []
    assert jg(np.float64(0.4)) == g(np.float64(0.4))
    assert compiles == [1]


def test_first_call_benchmark_script_quick_mode(capsys):
    spec = importlib.util.spec_from_file_location("jit_first_call", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    rows = module.main(["--quick"])
    out = capsys.readouterr().out
    assert out.startswith("| program | equations | eager | first call | compile |")
    assert [(r["program"], r["size"]) for r in rows] == [
        ("scalar loop", 17),
        ("scalar loop", 167),
        ("vector chain", 12),
        ("vector chain", 125),
    ]
    # six equations an iteration (forward and backward), less the pruned loss
    assert [r["equations"] for r in rows[:2]] == [6 * 17 - 4, 6 * 167 - 4]
    for r in rows:
        for key in ("eager", "first call", "compile", "interpreted replay", "compiled replay"):
            assert r[key] > 0
        assert r["budget"] == pytest.approx(min(5 * r["eager"] + 20e-6 * r["equations"], 0.1))


def test_cpu_time_ratio_script_quick_mode(capsys, monkeypatch):
    bench = SCRIPT.parent
    monkeypatch.syspath_prepend(str(bench))
    spec = importlib.util.spec_from_file_location("jit_cpu_ratios", bench / "jit_cpu_ratios.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    results = module.main(["--quick"])  # checks each jitted result against the hand-written one
    assert list(results) == [
        "deep chain, grad",
        "least squares, grad",
        "MLP, grad",
        "HVP",
        "Jacobian, jacfwd",
    ]
    assert all(r["hand"] > 0 and r["jit"] > 0 and r["ratio"] > 0 for r in results.values())
    assert capsys.readouterr().out.startswith("| workload | NumPy (hand) | chainrule jit |")
