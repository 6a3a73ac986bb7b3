"""The README's comparison table ("What you get"), measured: every cell is the
verdict of a probe that runs the library, not a memory of its documentation.

    python benchmarks/probes/compare.py             # the table, for the libraries installed
    python benchmarks/probes/compare.py --evidence  # and what each probe saw

Libraries: chainrule always; HIPS autograd, JAX and PyTorch when importable
(``pip install autograd jax jaxlib torch``; none is a dependency of chainrule
or of its tests). tests/test_probes.py runs the probes and checks the
README's columns against them for the libraries (and versions) installed.

Each probe returns ``(verdict, evidence)``: the verdict is the table cell,
derived from counts and thresholds so that it does not change between runs;
the evidence says what was counted or measured.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.metadata as metadata
import importlib.util
import math
import re
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

rng = np.random.default_rng(0)
X3 = np.array([0.3, -0.4, 0.5])
V3 = np.array([0.7, 0.2, -0.6])
A3 = np.array([[3.0, 0.4, 0.2], [0.4, 2.5, 0.3], [0.2, 0.3, 2.0]])
B3 = np.array([1.0, -2.0, 0.5])


def _fd(f: Callable, x: np.ndarray, v: np.ndarray, h: float = 1e-6) -> float:
    """Central difference of a scalar function along ``v``."""
    return float((f(x + h * v) - f(x - h * v)) / (2 * h))


def _close(a: Any, b: Any) -> bool:
    try:
        return bool(np.allclose(np.asarray(a, dtype=complex), b, rtol=1e-5, atol=1e-7))
    except (TypeError, ValueError):
        return False


# -- the functions probed --------------------------------------------------------------
# Each takes (xp, x): xp is a NumPy-like namespace (numpy, autograd.numpy,
# jax.numpy, or the small PyTorch shim below), x a 3-vector; each returns a scalar.
def _m(xp, x):
    return xp.asarray(A3) + xp.outer(x, x)  # symmetric positive definite near X3


ELEMENTWISE = {
    "sin": lambda xp, x: xp.sum(xp.sin(x) * x),
    "tanh": lambda xp, x: xp.sum(xp.tanh(x) ** 2),
    "exp/log": lambda xp, x: xp.log(xp.sum(xp.exp(x))),
    "mean": lambda xp, x: xp.mean(x**3),
    "max": lambda xp, x: xp.max(x * xp.asarray([1.0, 2.0, 3.0])),
    "cumsum": lambda xp, x: xp.sum(xp.cumsum(x) ** 2),
    "sort": lambda xp, x: xp.sum(xp.sort(x) * xp.asarray([1.0, 2.0, 3.0])),
    "where": lambda xp, x: xp.sum(xp.where(x > 0, x**2, -x)),
    "concatenate": lambda xp, x: xp.sum(xp.concatenate([x, x * x]) ** 2),
    "einsum": lambda xp, x: xp.einsum("i,ij,j->", x, xp.asarray(A3), x),
    "clip": lambda xp, x: xp.sum(xp.clip(x, -0.35, 0.45) * x),
    "matmul": lambda xp, x: xp.sum((xp.asarray(A3) @ x) ** 2),
}
LINALG = {
    "solve": lambda xp, x: xp.sum(xp.linalg.solve(_m(xp, x), xp.asarray(B3))),
    "inv": lambda xp, x: xp.sum(xp.linalg.inv(_m(xp, x))),
    "det": lambda xp, x: xp.linalg.det(_m(xp, x)),
    "slogdet": lambda xp, x: xp.linalg.slogdet(_m(xp, x))[1],
    "eigh": lambda xp, x: xp.sum(xp.linalg.eigh(_m(xp, x))[0] ** 2),
    "svd": lambda xp, x: xp.sum(xp.linalg.svd(_m(xp, x) + xp.outer(x, xp.asarray(B3)))[1]),
    "cholesky": lambda xp, x: xp.sum(xp.linalg.cholesky(_m(xp, x))),
    "qr": lambda xp, x: xp.sum(xp.abs(xp.linalg.qr(_m(xp, x))[1])),
    "norm": lambda xp, x: xp.linalg.norm(_m(xp, x)),
    "pinv": lambda xp, x: xp.sum(xp.linalg.pinv(_m(xp, x))),
}
FFT = {
    "fft": lambda xp, x: xp.sum(xp.abs(xp.fft.fft(x * xp.asarray([1.0, 2.0, 3.0]))) ** 2),
}
ALL = {**ELEMENTWISE, **LINALG, **FFT}


class _TorchNumPy:
    """The few NumPy names the probed functions use, for PyTorch tensors."""

    def __init__(self, torch: Any) -> None:
        self.t = torch
        self.linalg = self
        self.fft = torch.fft

    def __getattr__(self, name: str) -> Any:
        return getattr(self.t, name)

    def asarray(self, a: Any) -> Any:
        return a if self.t.is_tensor(a) else self.t.tensor(a, dtype=self.t.float64)

    def sum(self, a: Any) -> Any:
        return self.t.sum(a)

    def max(self, a: Any) -> Any:
        return self.t.max(a)

    def cumsum(self, a: Any) -> Any:
        return self.t.cumsum(a, dim=0)

    def sort(self, a: Any) -> Any:
        return self.t.sort(a).values

    def concatenate(self, parts: list) -> Any:
        return self.t.cat(parts)

    def clip(self, a: Any, lo: float, hi: float) -> Any:
        return self.t.clamp(a, lo, hi)

    def solve(self, a: Any, b: Any) -> Any:
        return self.t.linalg.solve(a, b)

    def inv(self, a: Any) -> Any:
        return self.t.linalg.inv(a)

    def det(self, a: Any) -> Any:
        return self.t.linalg.det(a)

    def slogdet(self, a: Any) -> Any:
        return self.t.linalg.slogdet(a)

    def eigh(self, a: Any) -> Any:
        return self.t.linalg.eigh(a)

    def svd(self, a: Any) -> Any:
        return self.t.linalg.svd(a)

    def cholesky(self, a: Any) -> Any:
        return self.t.linalg.cholesky(a)

    def qr(self, a: Any) -> Any:
        return self.t.linalg.qr(a)

    def norm(self, a: Any) -> Any:
        return self.t.linalg.norm(a)

    def pinv(self, a: Any) -> Any:
        return self.t.linalg.pinv(a)


# -- the libraries -----------------------------------------------------------------------


class Library:
    """One column: how to call a library's derivatives on NumPy inputs."""

    name = ""
    module = ""
    dist = ""

    def available(self) -> bool:
        return importlib.util.find_spec(self.module) is not None

    def version(self) -> str:
        return metadata.version(self.dist)

    # each returns NumPy values; inputs are NumPy arrays
    xp: Any = None

    def grad(self, f: Callable, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def jvp(self, f: Callable, x: np.ndarray, v: np.ndarray) -> Any:
        raise NotImplementedError

    def jacobian(self, f: Callable, x: np.ndarray) -> Any:
        raise NotImplementedError

    def vjp(self, f: Callable, x: np.ndarray, u: np.ndarray) -> Any:
        raise NotImplementedError


class Chainrule(Library):
    name, module, dist = "chainrule", "chainrule", "chainrule"

    def __init__(self) -> None:
        import chainrule as cr

        self.cr = cr
        self.xp = np

    def grad(self, f, x):
        return self.cr.grad(f)(x)

    def jvp(self, f, x, v):
        return self.cr.jvp(f, (x,), (v,))[1]

    def jacobian(self, f, x):
        return self.cr.jacrev(f)(x)

    def vjp(self, f, x, u):
        return self.cr.vjp(f, x)[1](u)[0]


class Autograd(Library):
    name, module, dist = "HIPS autograd", "autograd", "autograd"

    def __init__(self) -> None:
        import autograd
        import autograd.numpy as anp

        self.ag = autograd
        self.xp = anp

    def grad(self, f, x):
        return self.ag.grad(f)(x)

    def jvp(self, f, x, v):
        return self.ag.make_jvp(f)(x)(v)[1]

    def jacobian(self, f, x):
        return self.ag.jacobian(f)(x)

    def vjp(self, f, x, u):
        return self.ag.make_vjp(f)(x)[0](u)


class Jax(Library):
    name, module, dist = "JAX", "jax", "jax"

    def __init__(self) -> None:
        import jax

        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp

        self.jax = jax
        self.xp = jnp

    def grad(self, f, x):
        return np.asarray(self.jax.grad(f)(self.xp.asarray(x)))

    def jvp(self, f, x, v):
        return np.asarray(self.jax.jvp(f, (self.xp.asarray(x),), (self.xp.asarray(v),))[1])

    def jacobian(self, f, x):
        return self.jax.jacrev(f)(self.xp.asarray(x)).block_until_ready()

    def vjp(self, f, x, u):
        return self.jax.vjp(f, self.xp.asarray(x))[1](self.xp.asarray(u))[0].block_until_ready()


class Torch(Library):
    name, module, dist = "PyTorch", "torch", "torch"

    def __init__(self) -> None:
        import torch
        import torch.func

        torch.set_num_threads(1)  # as in the benchmarks: timings on a shared machine stay sane
        self.torch = torch
        self.xp = _TorchNumPy(torch)

    def _t(self, x):
        return self.torch.tensor(np.asarray(x), dtype=self.torch.float64)

    def grad(self, f, x):
        # The everyday path: requires_grad and torch.autograd.grad.
        t = self._t(x).requires_grad_(True)
        (g,) = self.torch.autograd.grad(f(t), t, allow_unused=True)
        return np.zeros_like(x) if g is None else g.detach().numpy()

    def jvp(self, f, x, v):
        return self.torch.func.jvp(f, (self._t(x),), (self._t(v),))[1].detach().numpy()

    def jacobian(self, f, x):
        return self.torch.func.jacrev(f)(self._t(x))

    def vjp(self, f, x, u):
        return self.torch.func.vjp(f, self._t(x))[1](self._t(u))[0]


LIBRARIES = [Chainrule, Autograd, Jax, Torch]


def _try(call: Callable[[], Any]) -> tuple[str, Any]:
    """('ok', value) or ('error', exception), warnings silenced."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", call()
    except Exception as e:  # noqa: BLE001 -- a probe records every failure
        return "error", e


def _count(results: dict[str, bool]) -> tuple[int, list[str]]:
    return sum(results.values()), [k for k, ok in results.items() if not ok]


def _fails(names: list[str]) -> str:
    return f" (fails: {', '.join(names)})" if names else ""


# -- the probes, one per row -----------------------------------------------------------
Probe = Callable[[Library], tuple[str, str]]


def plain_numpy(lib: Library) -> tuple[str, str]:
    """The functions written with plain ``numpy`` (not the library's namespace)."""
    results = {}
    for name, f in ALL.items():

        def fun(x, f=f):
            return f(np, x)

        status, g = _try(lambda fun=fun: lib.grad(fun, X3))
        expected = [_fd(lambda x: fun(x), X3, e) for e in np.eye(3)]
        results[name] = status == "ok" and _close(g, expected)
    n, failed = _count(results)
    verdict = "yes" if n == len(ALL) else "no" if n == 0 else f"{n} of {len(ALL)} functions"
    return verdict, f"{n}/{len(ALL)} plain-NumPy functions differentiated{_fails(failed)}"


def both_modes(lib: Library) -> tuple[str, str]:
    """Reverse and forward mode over the same functions, in the library's own namespace."""
    rev, fwd = {}, {}
    for name, f in ALL.items():

        def fun(x, f=f):
            return f(lib.xp, x)

        def reference(x, f=f):
            return float(f(np, x))

        expected = [_fd(reference, X3, e) for e in np.eye(3)]
        status, g = _try(lambda fun=fun: lib.grad(fun, X3))
        rev[name] = status == "ok" and _close(g, expected)
        status, t = _try(lambda fun=fun: lib.jvp(fun, X3, V3))
        fwd[name] = status == "ok" and _close(t, _fd(reference, X3, V3))
    (nr, fr), (nf, ff) = _count(rev), _count(fwd)
    total = len(ALL)
    if nr == nf == total:
        verdict = "yes"
    else:
        verdict = f"reverse {nr}/{total}, forward {nf}/{total}"
    evidence = f"reverse {nr}/{total}{_fails(fr)}; forward {nf}/{total}{_fails(ff)}"
    return verdict, evidence


def nesting(lib: Library) -> tuple[str, str]:
    """d/dx [x * d/dy (x + y)] at x = 1: 1, or 2 with perturbation confusion."""
    if isinstance(lib, Torch):
        import torch

        def inner(x):
            return torch.func.grad(lambda y: x + y)(torch.tensor(1.0, dtype=torch.float64))

        status, value = _try(
            lambda: torch.func.grad(lambda x: x * inner(x))(torch.tensor(1.0, dtype=torch.float64))
        )
    else:
        grad = {
            Chainrule: lambda f: lib.cr.grad(f),
            Autograd: lambda f: lib.ag.grad(f),
            Jax: lambda f: lib.jax.grad(f),
        }[type(lib)]
        status, value = _try(lambda: grad(lambda x: x * grad(lambda y: x + y)(1.0))(1.0))
    if status != "ok":
        return "no", f"error: {type(value).__name__}"
    value = float(value)
    return ("yes" if value == 1.0 else "no"), f"d/dx [x d/dy (x + y)] = {value:g} (exact: 1)"


def batched_jacobian(lib: Library) -> tuple[str, str]:
    """Time of a 200-row Jacobian over the time of one VJP: about 200 when the
    library loops over rows, far less when it batches them."""
    W = rng.standard_normal((200, 50)) / 7
    x, u = rng.standard_normal(50), rng.standard_normal(200)
    xp = lib.xp

    def f(x):
        return xp.tanh(xp.asarray(W) @ x)

    def best(call: Callable) -> float:
        call()
        times = []
        for _ in range(15):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return min(times)

    status, error = _try(lambda: lib.jacobian(f, x))
    if status != "ok":
        return "no", f"jacobian failed: {type(error).__name__}: {error}"
    with _one_blas_thread():  # a threaded BLAS on a busy machine times its waits, not its work
        ratio = best(lambda: lib.jacobian(f, x)) / best(lambda: lib.vjp(f, x, u))
    verdict = "yes" if ratio < 40 else "no"  # a loop over 200 rows costs ~200 VJPs
    return verdict, f"200-row Jacobian = {ratio:.0f} x one VJP"


def _one_blas_thread() -> contextlib.AbstractContextManager:
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        return contextlib.nullcontext()
    return threadpool_limits(1)


def custom_rules(lib: Library) -> tuple[str, str]:
    """A function given only a VJP, asked for a JVP; one given only a JVP, asked for a gradient."""
    x, v = 0.7, 1.0
    exact = math.cos(x)
    vjp_fwd = jvp_rev = False
    if isinstance(lib, Chainrule):
        cr = lib.cr

        @cr.custom_vjp
        def s1(x):
            return np.sin(x)

        s1.defvjp(lambda x: (np.sin(x), x), lambda x, g: (g * np.cos(x),))

        @cr.custom_jvp
        def s2(x):
            return np.sin(x)

        s2.defjvp(lambda p, t: (np.sin(p[0]), np.cos(p[0]) * t[0]))
        vjp_fwd = _ok(lambda: cr.jvp(s1, (x,), (v,))[1], exact)
        jvp_rev = _ok(lambda: cr.grad(s2)(x), exact)
    elif isinstance(lib, Autograd):
        from autograd.extend import defjvp, defvjp, primitive

        s1 = primitive(lambda x: np.sin(x))
        defvjp(s1, lambda ans, x: lambda g: g * np.cos(x))
        s2 = primitive(lambda x: np.sin(x))
        defjvp(s2, lambda g, ans, x: g * np.cos(x))
        vjp_fwd = _ok(lambda: lib.ag.make_jvp(s1)(x)(v)[1], exact)
        jvp_rev = _ok(lambda: lib.ag.grad(s2)(x), exact)
    elif isinstance(lib, Jax):
        jax, jnp = lib.jax, lib.xp

        @jax.custom_vjp
        def s1(x):
            return jnp.sin(x)

        s1.defvjp(lambda x: (jnp.sin(x), x), lambda x, g: (g * jnp.cos(x),))

        @jax.custom_jvp
        def s2(x):
            return jnp.sin(x)

        s2.defjvp(lambda p, t: (jnp.sin(p[0]), jnp.cos(p[0]) * t[0]))
        vjp_fwd = _ok(lambda: jax.jvp(s1, (x,), (v,))[1], exact)
        jvp_rev = _ok(lambda: jax.grad(s2)(x), exact)
    else:
        torch = lib.torch

        class S1(torch.autograd.Function):
            @staticmethod
            def forward(x):
                return torch.sin(x)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.save_for_backward(inputs[0])

            @staticmethod
            def backward(ctx, g):
                (x,) = ctx.saved_tensors
                return g * torch.cos(x)

        class S2(torch.autograd.Function):
            @staticmethod
            def forward(x):
                return torch.sin(x)

            @staticmethod
            def setup_context(ctx, inputs, output):
                ctx.x = inputs[0]

            @staticmethod
            def jvp(ctx, t):
                return torch.cos(ctx.x) * t

        t = torch.tensor(x, dtype=torch.float64)
        vjp_fwd = _ok(lambda: torch.func.jvp(S1.apply, (t,), (torch.ones_like(t),))[1], exact)
        jvp_rev = _ok(lambda: torch.func.grad(S2.apply)(t), exact)
    verdict = {
        (True, True): "yes",
        (False, True): "a custom JVP in both modes; a custom VJP in reverse mode only",
        (True, False): "a custom VJP in both modes; a custom JVP in forward mode only",
        (False, False): "each in its own mode only",
    }[(vjp_fwd, jvp_rev)]
    return verdict, f"custom VJP -> JVP: {_yn(vjp_fwd)}; custom JVP -> gradient: {_yn(jvp_rev)}"


def _ok(call: Callable, expected: float) -> bool:
    status, value = _try(call)
    return status == "ok" and _close(float(value), expected)


def _yn(flag: bool) -> str:
    return "works" if flag else "fails"


def checkpoint_and_at(lib: Library) -> tuple[str, str]:
    """Rematerialisation, and an out-of-place element update, both differentiated."""
    x = np.array([0.3, 0.6, 0.9])
    expected_ckpt = 2 * np.sin(x) * np.cos(x)
    expected_at = np.array([0.0, 2 * 0.6, 2 * 0.9])  # sum(y ** 2), y = x with y[0] = 5
    if isinstance(lib, Chainrule):
        cr = lib.cr
        ckpt = _okv(
            lambda: cr.grad(lambda x: np.sum(cr.checkpoint(np.sin)(x) ** 2))(x), expected_ckpt
        )
        at = _okv(lambda: cr.grad(lambda x: np.sum(cr.at(x)[0].set(5.0) ** 2))(x), expected_at)
        return _ckpt_verdict(ckpt, at)
    if isinstance(lib, Autograd):
        ag, anp = lib.ag, lib.xp
        ckpt = _okv(
            lambda: ag.grad(lambda x: anp.sum(ag.checkpoint(anp.sin)(x) ** 2))(x), expected_ckpt
        )
        # autograd.numpy offers no out-of-place update (no .at, no index_update).
        boxes = importlib.import_module("autograd.numpy.numpy_boxes")
        at = any(hasattr(anp, n) for n in ("index_update", "at")) or hasattr(boxes.ArrayBox, "at")
        return _ckpt_verdict(ckpt, at)
    if isinstance(lib, Jax):
        jax, jnp = lib.jax, lib.xp
        ckpt = _okv(
            lambda: lib.grad(lambda x: jnp.sum(jax.checkpoint(jnp.sin)(x) ** 2), x), expected_ckpt
        )
        at = _okv(lambda: lib.grad(lambda x: jnp.sum(x.at[0].set(5.0) ** 2), x), expected_at)
        return _ckpt_verdict(ckpt, at)
    torch = lib.torch
    from torch.utils.checkpoint import checkpoint

    def ck(x):
        return torch.sum(checkpoint(torch.sin, x, use_reentrant=False) ** 2)

    def upd(x):  # out of place: index_put returns a new tensor
        five = torch.tensor(5.0, dtype=torch.float64)
        return torch.sum(x.index_put((torch.tensor([0]),), five) ** 2)

    ckpt, at = (
        _okv(lambda: lib.grad(ck, x), expected_ckpt),
        _okv(lambda: lib.grad(upd, x), expected_at),
    )
    return _ckpt_verdict(ckpt, at)


def _okv(call: Callable, expected: np.ndarray) -> bool:
    status, value = _try(call)
    return status == "ok" and _close(value, expected)


def _ckpt_verdict(ckpt: bool, at: bool) -> tuple[str, str]:
    verdict = {(True, True): "yes", (True, False): "checkpoint only", (False, True): "updates only"}
    return verdict.get((ckpt, at), "no"), f"checkpoint: {_yn(ckpt)}; functional update: {_yn(at)}"


def complex_fft_linalg(lib: Library) -> tuple[str, str]:
    """Gradient of a real function of a complex input; the FFT; the linear algebra."""
    z = 0.6 - 0.8j
    if isinstance(lib, Torch):
        torch = lib.torch
        t = torch.tensor(z, dtype=torch.complex128, requires_grad=True)
        status, g = _try(lambda: torch.autograd.grad(torch.abs(t) ** 2, t)[0].item())
    else:
        xp = lib.xp
        grad = {Chainrule: lib.__dict__.get("cr"), Autograd: lib.__dict__.get("ag")}.get(type(lib))
        grad = grad.grad if grad is not None else lib.jax.grad
        status, g = _try(lambda: complex(grad(lambda z: xp.abs(z) ** 2)(z)))
    # Either convention (2 conj(z): autograd, JAX; 2 z: PyTorch) differentiates complex inputs.
    complex_ok = status == "ok" and (_close(g, 2 * np.conj(z)) or _close(g, 2 * z))
    fft_ok = both_modes_ok(lib, FFT)[0] == 1
    n_linalg, failed = both_modes_ok(lib, LINALG, forward=False)
    parts = []
    if not complex_ok:
        parts.append("no complex")
    if not fft_ok:
        parts.append("no FFT")
    if n_linalg < len(LINALG):
        parts.append(f"linalg {n_linalg}/{len(LINALG)}")
    verdict = "yes" if not parts else ", ".join(parts)
    evidence = (
        f"complex input: {_yn(complex_ok)}; fft: {_yn(fft_ok)}; "
        f"linalg (reverse) {n_linalg}/{len(LINALG)}{_fails(failed)}"
    )
    return verdict, evidence


def both_modes_ok(lib: Library, funcs: dict, forward: bool = False) -> tuple[int, list[str]]:
    results = {}
    for name, f in funcs.items():

        def fun(x, f=f):
            return f(lib.xp, x)

        expected = [_fd(lambda x, f=f: float(f(np, x)), X3, e) for e in np.eye(3)]
        status, g = _try(lambda fun=fun: lib.grad(fun, X3))
        results[name] = status == "ok" and _close(g, expected)
    return _count(results)


SPECIAL = [
    "gammaln",
    "digamma",
    "erf",
    "expit",
    "logsumexp",
    "xlogy",
    "norm.logpdf",
    "gamma.logpdf",
]


def scipy_functions(lib: Library) -> tuple[str, str]:
    """Eight SciPy special functions and log-densities, differentiated in the library."""
    from scipy import special, stats

    x = np.array([0.7, 1.3, 2.1])
    reference = {
        "gammaln": lambda x: np.sum(special.gammaln(x)),
        "digamma": lambda x: np.sum(special.digamma(x)),
        "erf": lambda x: np.sum(special.erf(x)),
        "expit": lambda x: np.sum(special.expit(x)),
        "logsumexp": lambda x: special.logsumexp(x),
        "xlogy": lambda x: np.sum(special.xlogy(x, x + 1.0)),
        "norm.logpdf": lambda x: np.sum(stats.norm.logpdf(x, 0.5, 2.0)),
        "gamma.logpdf": lambda x: np.sum(stats.gamma.logpdf(x, 2.5)),
    }
    ours = _special_functions(lib)
    results = {}
    for name in SPECIAL:
        f = ours.get(name)
        if f is None:
            results[name] = False
            continue
        expected = [_fd(reference[name], x, e) for e in np.eye(3)]
        status, g = _try(lambda f=f: lib.grad(f, x))
        results[name] = status == "ok" and _close(g, expected)
    n, failed = _count(results)
    where = {
        Chainrule: "chainrule.scipy",
        Autograd: "autograd.scipy",
        Jax: "jax.scipy",
        Torch: "torch.special, torch.distributions",
    }[type(lib)]
    verdict = f"`{where}`" if n == len(SPECIAL) else f"{n} of {len(SPECIAL)}"
    return verdict, f"{n}/{len(SPECIAL)} in {where}{_fails(failed)}"


def _special_functions(lib: Library) -> dict[str, Callable]:
    if isinstance(lib, Torch):
        torch = lib.torch
        sp, dist = torch.special, torch.distributions
        return {
            "gammaln": lambda x: torch.sum(sp.gammaln(x)),
            "digamma": lambda x: torch.sum(sp.digamma(x)),
            "erf": lambda x: torch.sum(sp.erf(x)),
            "expit": lambda x: torch.sum(sp.expit(x)),
            "logsumexp": lambda x: sp.logsumexp(x, 0),
            "xlogy": lambda x: torch.sum(sp.xlogy(x, x + 1.0)),
            "norm.logpdf": lambda x: torch.sum(dist.Normal(0.5, 2.0).log_prob(x)),
            "gamma.logpdf": lambda x: torch.sum(dist.Gamma(2.5, 1.0).log_prob(x)),
        }
    base = {Chainrule: "chainrule.scipy", Autograd: "autograd.scipy", Jax: "jax.scipy"}[type(lib)]
    xp = lib.xp
    found: dict[str, Callable] = {}
    with contextlib.suppress(ImportError):
        special = importlib.import_module(f"{base}.special")
        for name in ["gammaln", "digamma", "erf", "expit", "xlogy"]:
            fn = getattr(special, name, None)
            if fn is not None:
                two = name == "xlogy"
                found[name] = (
                    (lambda x, fn=fn: xp.sum(fn(x, x + 1.0)))
                    if two
                    else (lambda x, fn=fn: xp.sum(fn(x)))
                )
        if hasattr(special, "logsumexp"):
            found["logsumexp"] = lambda x, fn=special.logsumexp: fn(x)
    with contextlib.suppress(ImportError):
        stats = importlib.import_module(f"{base}.stats")
        norm, gamma = getattr(stats, "norm", None), getattr(stats, "gamma", None)
        if norm is not None and hasattr(norm, "logpdf"):
            found["norm.logpdf"] = lambda x: xp.sum(norm.logpdf(x, 0.5, 2.0))
        if gamma is not None and hasattr(gamma, "logpdf"):
            found["gamma.logpdf"] = lambda x: xp.sum(gamma.logpdf(x, 2.5))
    if isinstance(lib, Autograd) and "logsumexp" not in found:
        with contextlib.suppress(ImportError):
            misc = importlib.import_module("autograd.scipy.special")
            found["logsumexp"] = misc.logsumexp
    return found


def optimisers(lib: Library) -> tuple[str, str]:
    """Bundled optimisers (an Adam step lowers a quadratic), and a bridge to
    scipy.optimize that passes Hessian-vector products (Newton-CG converges)."""
    target = np.array([1.0, -2.0])
    adam = bridge = ""
    if isinstance(lib, Chainrule):
        cr = lib.cr
        opt = cr.optim.adam(0.1)
        p, s = np.zeros(2), opt.init(np.zeros(2))
        loss = lambda p: np.sum((p - target) ** 2)  # noqa: E731
        for _ in range(200):
            p, s = opt.step(p, cr.grad(loss)(p), s)
        adam = "chainrule.optim" if loss(p) < 1e-3 else ""
        res = cr.optim.minimize(loss, np.zeros(2), method="Newton-CG")
        bridge = "chainrule.optim.minimize" if np.allclose(res.x, target, atol=1e-5) else ""
    elif isinstance(lib, Autograd):
        with contextlib.suppress(ImportError):
            opts = importlib.import_module("autograd.misc.optimizers")
            p = opts.adam(lambda p, i: lib.ag.grad(lambda p: lib.xp.sum((p - target) ** 2))(p),
                          np.zeros(2), step_size=0.1, num_iters=300)  # fmt: skip
            adam = "autograd.misc.optimizers" if np.allclose(p, target, atol=1e-2) else ""
    elif isinstance(lib, Jax):
        with contextlib.suppress(ImportError):
            opts = importlib.import_module("jax.example_libraries.optimizers")
            init, update, get = opts.adam(0.1)
            state = init(lib.xp.zeros(2))
            loss = lambda p: lib.xp.sum((p - target) ** 2)  # noqa: E731
            for i in range(300):
                state = update(i, lib.jax.grad(loss)(get(state)), state)
            adam = "jax.example_libraries" if np.allclose(get(state), target, atol=1e-2) else ""
    else:
        torch = lib.torch
        p = torch.zeros(2, dtype=torch.float64, requires_grad=True)
        opt = torch.optim.Adam([p], lr=0.1)
        for _ in range(300):
            opt.zero_grad()
            torch.sum((p - torch.tensor(target)) ** 2).backward()
            opt.step()
        adam = "torch.optim" if np.allclose(p.detach().numpy(), target, atol=1e-2) else ""
    verdict = (f"`{adam}`" if adam else "no") + (", scipy bridge" if bridge else "")
    return verdict, f"optimisers: {adam or 'none found'}; scipy.optimize bridge: {bridge or 'none'}"


def graph_display(lib: Library) -> tuple[str, str]:
    """A built-in way to print the recorded computation, and to draw it."""

    def f(xp, x):
        return xp.sum(xp.sin(x) * x)

    if isinstance(lib, Chainrule):
        g = lib.cr.graph(lambda x: f(np, x))(X3)
        printed = "multiply" in str(g)
        drawn = g.to_dot().startswith("digraph")
        return (
            "`cr.graph`" if printed and drawn else "no"
        ), f"printed: {printed}; Graphviz: {drawn}"
    if isinstance(lib, Jax):
        status, text = _try(lambda: str(lib.jax.make_jaxpr(lambda x: f(lib.xp, x))(X3)))
        printed = status == "ok" and "sin" in text
        return (
            "jaxpr (text)" if printed else "no"
        ), f"jax.make_jaxpr printed: {printed}; drawing: none built in"
    if isinstance(lib, Torch):
        torch = lib.torch
        status, gm = _try(lambda: torch.fx.symbolic_trace(lambda x: f(lib.xp, x)))
        printed = status == "ok" and "sin" in str(gm.graph)
        drawer = importlib.util.find_spec("pydot") is not None
        verdict = "torch.fx (text)" + ("; drawn with pydot" if drawer else "") if printed else "no"
        return (
            verdict,
            f"torch.fx printed: {printed}; FxGraphDrawer needs pydot (installed: {drawer})",
        )
    names = [n for n in dir(lib.ag) if "graph" in n.lower() or "trace" in n.lower()]
    return "no", f"no graph API in autograd (names with graph/trace: {names})"


def refusals(lib: Library) -> tuple[str, str]:
    """Five ways to leave the library inside a differentiated function: each
    should raise, or differentiate correctly, never return a wrong gradient."""
    x = np.array([0.4, 0.9])

    def assign(x):
        a = np.zeros(2)
        a[0] = x[0]
        return (a * x).sum() if not isinstance(lib, Torch) else lib.torch.sum(lib.xp.asarray(a) * x)

    patterns = {
        "float(x)": (lambda x: float(x[0]) * x[1], [x[1], x[0]]),
        "math.sin(x)": (lambda x: math.sin(x[0]) * x[1], [math.cos(x[0]) * x[1], math.sin(x[0])]),
        "np.asarray(x)": (lambda x: (lib.xp.asarray(np.asarray(x)) * x).sum(), 2 * x),
        "np.array([x0, x1])": (lambda x: (lib.xp.asarray(np.array([x[0], x[1]])) * x).sum(), 2 * x),
        "a[0] = x0": (assign, [2 * x[0], 0.0]),
    }
    outcome = {}
    for name, (f, expected) in patterns.items():
        status, g = _try(lambda f=f: lib.grad(f, x))
        if status == "error":
            outcome[name] = "raised"
        else:
            try:
                right = _close(np.asarray(g, dtype=float), expected)
            except (TypeError, ValueError):
                right = False
            outcome[name] = "correct" if right else "WRONG"
    wrong = [k for k, v in outcome.items() if v == "WRONG"]
    verdict = "yes" if not wrong else f"no: {len(wrong)} of {len(patterns)} silently wrong"
    return verdict, "; ".join(f"{k}: {v}" for k, v in outcome.items())


def footprint(lib: Library) -> tuple[str, str]:
    """Installed size of the library and what it requires (recursively), from
    the installed files' records."""
    seen: dict[str, int] = {}

    def visit(dist_name: str) -> None:
        key = re.sub(r"[-_.]+", "-", dist_name).lower()
        if key in seen:
            return
        try:
            dist = metadata.distribution(dist_name)
        except metadata.PackageNotFoundError:
            return
        seen[key] = sum(f.size or 0 for f in (dist.files or []))
        for req in dist.requires or []:
            name, _, marker = req.partition(";")
            if _applies(marker):
                visit(re.split(r"[\s<>=!~\[(]", name.strip(), maxsplit=1)[0])

    visit(lib.dist)
    own = seen.pop(re.sub(r"[-_.]+", "-", lib.dist).lower(), 0)
    if own < 100_000:  # an editable install records a link, not the package: measure its files
        spec = importlib.util.find_spec(lib.module)
        if spec is not None and spec.submodule_search_locations:
            folder = Path(next(iter(spec.submodule_search_locations)))
            own = sum(
                p.stat().st_size
                for p in folder.rglob("*")
                if p.is_file() and "__pycache__" not in p.parts
            )
    parts = sorted([(lib.dist, own), *seen.items()], key=lambda kv: -kv[1])
    total = sum(size for _, size in parts)
    named = ", ".join(f"{name} {_mb(size)}" for name, size in parts[:2])
    more = f" + {len(parts) - 2} more" if len(parts) > 2 else ""
    return f"{_mb(total)}: {named}{more}", ", ".join(f"{k} {_mb(v)}" for k, v in parts)


def _applies(marker: str) -> bool:
    """Whether a requirement's environment marker holds here (extras: never)."""
    marker = marker.strip()
    if not marker:
        return True
    if "extra" in marker:
        return False
    try:
        from packaging.markers import Marker
    except ImportError:
        return True
    return Marker(marker).evaluate()


def _mb(n: int) -> str:
    return f"{n / 1e6:.0f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


ROWS: list[tuple[str, Probe]] = [
    ("differentiates unmodified NumPy code", plain_numpy),
    ("reverse and forward mode everywhere", both_modes),
    ("nested derivatives without perturbation confusion", nesting),
    ("Jacobians without a Python loop per row", batched_jacobian),
    ("custom VJP/JVP usable in every mode", custom_rules),
    ("checkpointing, functional updates (`.at[]`)", checkpoint_and_at),
    ("complex numbers, FFT, linear algebra", complex_fft_linalg),
    ("SciPy special functions, stats log-densities", scipy_functions),
    ("optimisers, `scipy.optimize` bridge with HVPs", optimisers),
    ("the graph, printed and drawn", graph_display),
    ("clear error instead of a silently wrong gradient", refusals),
    ("install size with dependencies", footprint),
]


def load(names: list[str] | None = None) -> list[Library]:
    libs = []
    for cls in LIBRARIES:
        if names and cls.name not in names and cls.module not in names:
            continue
        if cls().available() if cls is Chainrule else importlib.util.find_spec(cls.module):
            libs.append(cls())
    return libs


def run(libs: list[Library]) -> dict[str, dict[str, tuple[str, str]]]:
    """{row: {library: (verdict, evidence)}}."""
    return {row: {lib.name: probe(lib) for lib in libs} for row, probe in ROWS}


def markdown(libs: list[Library], results: dict) -> str:
    head = "| | " + " | ".join(lib.name for lib in libs) + " |"
    lines = [head, "|---" * (len(libs) + 1) + "|"]
    for row, cells in results.items():
        lines.append(f"| {row} | " + " | ".join(cells[lib.name][0] for lib in libs) + " |")
    versions = ", ".join(f"{lib.dist} {lib.version()}" for lib in libs)
    return "\n".join(lines) + f"\n\nProbed with {versions}, NumPy {np.__version__}."


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="*", help="library names or modules to probe")
    parser.add_argument("--evidence", action="store_true", help="print what each probe saw")
    args = parser.parse_args(argv)
    libs = load(args.only)
    results = run(libs)
    print(markdown(libs, results))
    if args.evidence:
        for row, cells in results.items():
            print(f"\n{row}")
            for name, (_, evidence) in cells.items():
                print(f"  {name}: {evidence}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
