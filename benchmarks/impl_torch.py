"""PyTorch eager, float64, one thread: leaf tensors with ``requires_grad`` and
``.backward()``; ``torch.func`` for the HVP and the Jacobians."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.func
import workloads as wl
from frameworks import Framework

torch.set_num_threads(1)


def _tensor(a: np.ndarray, requires_grad: bool = False) -> torch.Tensor:
    """A float64 tensor copy of ``a`` (copied, so it is a fresh leaf)."""
    return torch.tensor(np.asarray(a), dtype=torch.float64, requires_grad=requires_grad)


def _grad_call(loss: Callable[[], torch.Tensor], leaves: list[torch.Tensor]) -> Callable:
    """A call that clears the leaves' gradients, runs ``loss().backward()`` and
    returns the gradients."""

    def call() -> list[torch.Tensor]:
        for leaf in leaves:
            leaf.grad = None
        loss().backward()
        return [leaf.grad for leaf in leaves]

    return call


def _single(call: Callable) -> Callable:
    return lambda: call()[0]


def _scalar_loop(d: dict) -> Callable:
    x, n = _tensor(d["x"], True), d["iterations"]
    return _single(_grad_call(lambda: wl.scalar_loop(x, n, torch), [x]))


def _least_squares(d: dict) -> Callable:
    theta = _tensor(d["theta"], True)
    X, Y = _tensor(d["X"]), _tensor(d["Y"])
    return _single(_grad_call(lambda: wl.least_squares(theta, X, Y, torch), [theta]))


def _mlp(d: dict) -> Callable:
    params = {k: _tensor(v, True) for k, v in d["params"].items()}
    X, Y = _tensor(d["X"]), _tensor(d["Y"])
    lse = lambda z: torch.logsumexp(z, dim=1, keepdim=True)
    call = _grad_call(lambda: wl.mlp_loss(params, X, Y, torch, lse), list(params.values()))
    return lambda: dict(zip(params, call()))


def _elementwise(d: dict) -> Callable:
    x = _tensor(d["x"], True)
    return _single(_grad_call(lambda: wl.elementwise(x, torch), [x]))


def _hvp(d: dict) -> Callable:
    """Forward over reverse with ``torch.func``, like chainrule's ``hvp``."""
    A, x, v = _tensor(d["A"]), _tensor(d["x"]), _tensor(d["v"])
    g = torch.func.grad(lambda x: wl.tanh_square(x, A, torch))
    return lambda: torch.func.jvp(g, (x,), (v,))[1]


def _jacobian(transform: Callable) -> Callable[[dict], Callable]:
    def factory(d: dict) -> Callable:
        B, x = _tensor(d["B"]), _tensor(d["x"])
        jac = transform(lambda x: wl.tanh_map(x, B, torch))
        return lambda: jac(x)

    return factory


def _deep_chain(d: dict) -> Callable:
    x = _tensor(d["x"], True)
    Ws = [_tensor(W) for W in d["Ws"]]
    return _single(_grad_call(lambda: wl.deep_chain(x, Ws, torch), [x]))


def _to_numpy(leaf: torch.Tensor) -> np.ndarray:
    """One result tensor -> a NumPy array."""
    return leaf.detach().numpy()


def frameworks() -> list[Framework]:
    """The PyTorch column (its allocations are invisible to tracemalloc: no peak
    memory, and no memory row)."""
    impls = {
        "scalar-loop": _scalar_loop,
        "least-squares": _least_squares,
        "mlp": _mlp,
        "elementwise": _elementwise,
        "hvp": _hvp,
        "jacobian-fwd": _jacobian(torch.func.jacfwd),
        "jacobian-rev": _jacobian(torch.func.jacrev),
        "deep-chain": _deep_chain,
    }
    return [
        Framework("torch", "PyTorch", "PyTorch", torch.__version__, impls, _to_numpy, traced=False)
    ]
