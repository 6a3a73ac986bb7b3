"""``import chainrule`` stays light: the rule families load on first use.

Each check runs in a fresh interpreter, since this one has long imported
everything. ``benchmarks/import_time.py`` measures the time itself.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule.rules

RULES_DIR = Path(chainrule.rules.__file__).parent


def _run(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON value, returned."""
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_import_leaves_numpys_heavy_submodules_alone():
    # dir(numpy) + getattr imports numpy.f2py, numpy.testing and more: more
    # than NumPy's own import costs.
    # The rule families use numpy.fft, numpy.polynomial... : chainrule.numpy,
    # which loads them all, may import those, but never the two tools.
    tools = ("numpy.f2py", "numpy.testing")
    for statement, heavy in (
        ("import chainrule", (*tools, "numpy.typing", "numpy.polynomial", "numpy.random")),
        ("import chainrule.numpy", tools),
    ):
        loaded = _run(
            f"import sys, json; {statement}; "
            f"print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))"
        )
        assert loaded == [], f"{statement} imported {loaded}"


def test_rule_families_load_at_the_first_transform():
    families = chainrule.rules.families()
    out = _run(
        "import sys, json\n"
        "import numpy as np\n"
        "import chainrule as cr\n"
        "from chainrule.core import registry\n"
        "before = sorted(m for m in sys.modules if m.startswith('chainrule.rules.'))\n"
        "flag = registry.rules_loaded\n"
        "g = float(cr.grad(lambda x: np.sin(x) * x)(0.5))\n"
        "after = sorted(m for m in sys.modules if m.startswith('chainrule.rules.'))\n"
        "print(json.dumps([before, flag, g, after, registry.rules_loaded]))"
    )
    before, loaded_before, g, after, loaded_after = out
    # Only what the transforms themselves use is there before: no family of
    # NumPy functions but the array-shape one the engine builds on.
    assert set(before) <= {"chainrule.rules._util", "chainrule.rules.shape"}
    assert loaded_before is False and loaded_after is True
    assert g == pytest.approx(0.5 * 0.8775825618903728 + 0.479425538604203)  # x cos x + sin x
    assert set(after) >= {f"chainrule.rules.{f}" for f in families}


def test_every_rule_module_on_disk_is_a_family():
    # load() lists the package; a module added later needs no entry anywhere.
    on_disk = sorted(p.stem for p in RULES_DIR.glob("*.py") if not p.stem.startswith("_"))
    assert chainrule.rules.families() == on_disk
    assert {"elementwise", "linalg", "reductions", "shape"} <= set(on_disk)


def test_the_loaded_tables_hold_every_rule_a_module_registers():
    # The tables after the lazy load are exactly those after importing every
    # file of the rules folder by hand, the way the eager import once did.
    code = (
        "import sys, json, importlib\n"
        "import numpy as np\n"
        "import chainrule as cr\n"
        "from chainrule.core import registry as r\n"
        "def sizes():\n"
        "    return [len(r.UFUNCS), len(r.FUNCTIONS), len(r.NONDIFF), len(r.CONSTANT_RULES),\n"
        "            sum(len(v) for v in r.EXTRAS.values())]\n"
        "{first}\n"
        "lazy = sizes()\n"
        "for name in {names!r}:\n"
        "    importlib.import_module('chainrule.rules.' + name)\n"
        "print(json.dumps([lazy, sizes()]))"
    )
    names = sorted(p.stem for p in RULES_DIR.glob("*.py") if p.stem != "__init__")
    for first in ("cr.jvp(np.sin, (1.0,), (1.0,))", "import chainrule.numpy"):
        lazy, everything = _run(code.format(first=first, names=names))
        assert lazy == everything, first
        assert lazy[0] > 40 and lazy[1] > 100  # the tables are filled, not both empty


def test_numpy_namespace_and_dispatch_work_without_a_prior_transform():
    out = _run(
        "import json\n"
        "import numpy as np\n"
        "import chainrule as cr\n"
        "value = float(cr.numpy.sin(0.5))\n"
        "names = len(cr.numpy.DIFFERENTIABLE)\n"
        "print(json.dumps([value, names, 'numpy' in dir(cr), callable(cr.graph)]))"
    )
    assert out[0] == pytest.approx(0.479425538604203)
    assert out[1] > 200 and out[2] is True and out[3] is True


def test_graph_stays_the_function_when_its_module_is_imported_first():
    out = _run(
        "import json\n"
        "from chainrule.graph import Graph\n"
        "import chainrule as cr\n"
        "import numpy as np\n"
        "g = cr.graph(lambda x: np.sin(x) * 2)(np.ones(2))\n"
        "print(json.dumps([isinstance(g, Graph), cr.Graph is Graph, 'sin' in str(g)]))"
    )
    assert out == [True, True, True]


def test_import_adds_few_modules_to_numpys():
    # A stand-in for the time (noisy on a shared machine): the modules that
    # ``import chainrule`` adds to ``import numpy``'s. The rule families, the
    # optimisers, the graph drawing, SciPy and the heavier standard modules are
    # not among them. (Which small standard modules NumPy itself imports
    # varies between releases, so those are not counted.)
    added = _run(
        "import sys, json\n"
        "import numpy\n"
        "before = set(sys.modules)\n"
        "import chainrule\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    ours = [m for m in added if m.split(".")[0] == "chainrule"]
    assert not [m for m in ours if m.startswith(("chainrule.optim", "chainrule.graph"))]
    assert len(ours) <= 40, ours
    heavy = {"scipy", "subprocess", "pathlib", "email", "urllib", "json", "tqdm", "matplotlib"}
    assert not [m for m in added if m.split(".")[0] in heavy]


@pytest.mark.slow
def test_import_time_is_within_half_of_numpys_own():
    probe = "import time; t = time.perf_counter(); import {}; print(time.perf_counter() - t)"
    numpy_s, chainrule_s = [], []
    for _ in range(5):
        for module, times in (("numpy", numpy_s), ("chainrule", chainrule_s)):
            out = subprocess.run(
                [sys.executable, "-c", probe.format(module)], capture_output=True, text=True
            )
            times.append(float(out.stdout))
    ratio = statistics.median(chainrule_s) / statistics.median(numpy_s)
    assert ratio < 1.5, f"import chainrule takes {ratio:.2f}x import numpy"


_FIRST_SPECIAL_CALL = (
    "import sys, json, time\n"
    "import numpy as np\n"
    "import chainrule as cr\n"
    "import scipy.special\n"
    "x = np.array([0.1, 0.5, 1.3])\n"
    "f = cr.grad(lambda x: scipy.special.erf(x).sum())\n"
    "before = set(sys.modules)\n"
    "t0 = time.perf_counter(); g1 = f(x); t1 = time.perf_counter(); g2 = f(x)\n"
    "t2 = time.perf_counter()\n"
    "new = sorted(m for m in set(sys.modules) - before if m.split('.')[0] == 'scipy')\n"
    "print(json.dumps([new, t1 - t0, t2 - t1, g1.tolist(), g2.tolist()]))"
)


def _bytecode_env(cache: Path) -> dict[str, str]:
    # Users run from compiled bytecode; a session that sets PYTHONDONTWRITEBYTECODE
    # would otherwise time the compiler. A private cache keeps the tree clean.
    import os

    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPYCACHEPREFIX"] = str(cache)
    return env


def _run_with(code: str, env: dict[str, str]) -> list:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_first_plain_scipy_special_call_imports_only_scipy_special(tmp_path):
    # scipy.stats, scipy.linalg, scipy.signal... cost ~20x scipy.special's import;
    # a plain scipy.special.erf(traced) needs none of them.
    env = _bytecode_env(tmp_path / "pycache")
    new, _, _, g1, g2 = _run_with(_FIRST_SPECIAL_CALL, env)
    packages = sorted({".".join(m.split(".")[:2]) for m in new})
    assert new == [], f"the first scipy.special call imported {packages}"
    x = np.array([0.1, 0.5, 1.3])
    expected = 2 / np.sqrt(np.pi) * np.exp(-(x**2))
    np.testing.assert_allclose(g1, expected, rtol=1e-12)
    np.testing.assert_allclose(g2, expected, rtol=1e-12)
    loaded = _run_with(
        # SciPy 1.13's scipy.special imports scipy.linalg itself: only what
        # chainrule.scipy adds to scipy.special's own imports counts.
        "import sys, json, scipy.special; base = set(sys.modules)\n"
        "import chainrule.scipy as cs; a = sorted(set(sys.modules) - base)\n"
        "lin = cs.linalg.cho_solve; st = cs.stats.norm\n"
        "print(json.dumps([[m for m in ('scipy.stats', 'scipy.linalg') if m in a],\n"
        "  'chainrule.scipy.stats' in sys.modules, 'stats' in dir(cs)]))",
        env,
    )
    # ...and asking for chainrule.scipy.stats/linalg still imports them.
    assert loaded == [[], True, True]


def test_first_plain_scipy_special_call_costs_little_more_than_the_second(tmp_path):
    # The first call loads the rule families (NumPy's and scipy.special's);
    # the bound is the issue's: 30 ms more than the second call (it was 0.4 s
    # when chainrule.scipy imported scipy.stats and scipy.linalg with it).
    # Timing on a shared machine is noisy: the best of up to five fresh
    # interpreters, after one that fills the bytecode cache.
    env = _bytecode_env(tmp_path / "pycache")
    _run_with(_FIRST_SPECIAL_CALL, env)
    extra = []
    for _ in range(5):
        _, first, second, _, _ = _run_with(_FIRST_SPECIAL_CALL, env)
        extra.append(first - second)
        if min(extra) < 0.030:
            break
    assert min(extra) < 0.030, f"first call costs {1e3 * min(extra):.0f} ms more than the second"
