"""cr.vmap benchmarks (issue #17): per-example gradients and vmap(grad) of a
scalar function, against the same computation written by hand in NumPy,
a Python loop of cr.grad, JAX (with and without jit) and torch.func.

Run: python benchmarks/vmap.py [--repeats N]. Prints medians and the paired
ratio to the hand-written NumPy baseline of each row; nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
from timing import interleaved_samples, one_blas_thread, paired_ratio  # noqa: E402

import chainrule as cr  # noqa: E402


# --- the models ---------------------------------------------------------------------
def mlp_params(rng, sizes):
    return [
        (rng.standard_normal((o, i)) / np.sqrt(i), np.zeros(o)) for i, o in zip(sizes, sizes[1:])
    ]


def mlp_loss(params, x, y):
    """Cross-entropy of one example (tanh hidden layers)."""
    h = x
    for W, b in params[:-1]:
        h = np.tanh(W @ h + b)
    W, b = params[-1]
    z = W @ h + b
    m = np.max(cr.stop_gradient(z))
    return m + np.log(np.sum(np.exp(z - m))) - z[y]


def mlp_hand(params, X, Y):
    """Per-example gradients of mlp_loss, by hand, batched (one hidden layer)."""
    (W1, b1), (W2, b2) = params
    H = np.tanh(X @ W1.T + b1)
    Z = H @ W2.T + b2
    Z = Z - Z.max(axis=1, keepdims=True)
    P = np.exp(Z)
    P /= P.sum(axis=1, keepdims=True)
    P[np.arange(len(Y)), Y] -= 1.0  # dL/dz
    gW2 = np.einsum("bi,bj->bij", P, H)
    dH = (P @ W2) * (1.0 - H * H)
    gW1 = np.einsum("bi,bj->bij", dH, X)
    return [(gW1, dH), (gW2, P)]


def mse_loss(params, x, y):
    (W1, b1), (W2, b2) = params
    h = np.tanh(W1 @ x + b1)
    out = W2 @ h + b2
    return np.sum((out - y) ** 2)


def mse_hand(params, X, Y):
    (W1, b1), (W2, b2) = params
    H = np.tanh(X @ W1.T + b1)
    R = 2.0 * (H @ W2.T + b2 - Y)  # (B, 1)
    gW2 = R[:, :, None] * H[:, None, :]
    dH = (R @ W2) * (1.0 - H * H)
    gW1 = dH[:, :, None] * X[:, None, :]
    return [(gW1, dH), (gW2, R)]


def scalar_f(x):  # ten operations
    return np.sin(x) * np.exp(-0.5 * x) + np.log(1.0 + x * x) / (2.0 + np.cos(x))


def scalar_df(x):
    s, c, e = np.sin(x), np.cos(x), np.exp(-0.5 * x)
    q = 1.0 + x * x
    d = 2.0 + c
    return c * e - 0.5 * s * e + (2.0 * x / q) / d + np.log(q) * s / (d * d)


# --- the rows ---------------------------------------------------------------------------
def rows(repeats: int):
    rng = np.random.default_rng(0)
    return [_row_mlp(rng), _row_small(rng), _row_scalar(rng, repeats)]


def _row_mlp(rng):
    """MLP 784-256-10, batch 128."""
    params = mlp_params(rng, (784, 256, 10))
    X = rng.standard_normal((128, 784))
    Y = rng.integers(0, 10, 128)
    pe = cr.vmap(cr.grad(mlp_loss), in_axes=(None, 0, 0))
    got, ref = pe(params, X, Y), mlp_hand(params, X, Y)
    assert np.allclose(got[0][0], ref[0][0]) and np.allclose(got[1][0], ref[1][0])
    fns = {
        "numpy (hand)": lambda: mlp_hand(params, X, Y),
        "cr.vmap(grad)": lambda: pe(params, X, Y),
        "cr.vmap(grad) chunk 32": lambda: cr.vmap(
            cr.grad(mlp_loss), in_axes=(None, 0, 0), chunk_size=32
        )(params, X, Y),
    }
    fns.update(_frameworks("mlp", params, X, Y))
    return ("per-example grads, MLP 784-256-10, batch 128", fns, 5)


def _row_small(rng):
    """small net 16-32-1, batch 1000."""
    params = mlp_params(rng, (16, 32, 1))
    X = rng.standard_normal((1000, 16))
    Y = rng.standard_normal((1000, 1))
    pe2 = cr.vmap(cr.grad(mse_loss), in_axes=(None, 0, 0))
    got, ref = pe2(params, X, Y), mse_hand(params, X, Y)
    assert np.allclose(got[0][0], ref[0][0]) and np.allclose(got[1][1], ref[1][1])
    g = cr.grad(mse_loss)
    fns = {
        "numpy (hand)": lambda: mse_hand(params, X, Y),
        "cr.vmap(grad)": lambda: pe2(params, X, Y),
        "loop of cr.grad": lambda: [g(params, X[i], Y[i]) for i in range(1000)],
    }
    fns.update(_frameworks("mse", params, X, Y))
    return ("per-example grads, net 16-32-1, batch 1000", fns, 5)


def _row_scalar(rng, repeats):
    """vmap(grad) of a scalar function over 10^5 points."""
    P = rng.uniform(-2, 2, 100_000)
    vg = cr.vmap(cr.grad(scalar_f))
    assert np.allclose(vg(P), scalar_df(P))
    fns = {
        "numpy (hand)": lambda: scalar_df(P),
        "cr.vmap(grad)": lambda: vg(P),
        "cr.elementwise_grad": lambda: cr.elementwise_grad(scalar_f)(P),
    }
    fns.update(_frameworks("scalar", None, P, None))
    return ("vmap(grad) of a 10-op scalar function, 10^5 points", fns, repeats)


def _frameworks(kind, params, X, Y):
    fns = {}
    try:
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        if kind == "scalar":
            f = lambda x: (
                jnp.sin(x) * jnp.exp(-0.5 * x)
                + jnp.log(1.0 + x * x)
                / (  # noqa: E731
                    2.0 + jnp.cos(x)
                )
            )
            vg = jax.vmap(jax.grad(f))
            jx = jnp.asarray(X)
            fns["jax vmap(grad)"] = lambda: vg(jx).block_until_ready()
            jvg = jax.jit(vg)
            fns["jax jit(vmap(grad))"] = lambda: jvg(jx).block_until_ready()
        else:

            def loss(p, x, y):
                h = x
                for W, b in p[:-1]:
                    h = jnp.tanh(W @ h + b)
                W, b = p[-1]
                z = W @ h + b
                if kind == "mlp":
                    return jax.nn.logsumexp(z) - z[y]
                return jnp.sum((z - y) ** 2)

            jp = jax.tree_util.tree_map(jnp.asarray, params)
            jx, jy = jnp.asarray(X), jnp.asarray(Y)
            vg = jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))
            fns["jax vmap(grad)"] = lambda: jax.block_until_ready(vg(jp, jx, jy))
            jvg = jax.jit(vg)
            fns["jax jit(vmap(grad))"] = lambda: jax.block_until_ready(jvg(jp, jx, jy))
    except ImportError:
        pass
    try:
        import torch
        from torch.func import grad as tgrad
        from torch.func import vmap as tvmap

        torch.set_num_threads(1)
        if kind == "scalar":
            tx = torch.as_tensor(X)
            f = lambda x: (
                torch.sin(x) * torch.exp(-0.5 * x)
                + torch.log(1.0 + x * x)
                / (  # noqa: E731
                    2.0 + torch.cos(x)
                )
            )
            tvg = tvmap(tgrad(f))
            fns["torch.func vmap(grad)"] = lambda: tvg(tx)
        else:
            tp = [(torch.as_tensor(W), torch.as_tensor(b)) for W, b in params]
            tx, ty = torch.as_tensor(X), torch.as_tensor(Y)

            def tloss(p, x, y):
                h = x
                for W, b in p[:-1]:
                    h = torch.tanh(W @ h + b)
                W, b = p[-1]
                z = W @ h + b
                if kind == "mlp":
                    return torch.logsumexp(z, 0) - torch.gather(z, 0, y.reshape(1))[0]
                return torch.sum((z - y) ** 2)

            tvg = tvmap(tgrad(tloss), in_dims=(None, 0, 0))
            fns["torch.func vmap(grad)"] = lambda: tvg(tp, tx, ty)
    except ImportError:
        pass
    return fns


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--min-seconds", type=float, default=0.05)
    args = parser.parse_args()
    with one_blas_thread() as limited:
        print(f"one BLAS thread: {limited}")
        for title, fns, reps in rows(args.repeats):
            samples = interleaved_samples(fns, max(reps, 3), args.min_seconds)
            print(f"\n{title}")
            for name in fns:
                med = statistics.median(samples[name])
                ratio = paired_ratio(samples, name, "numpy (hand)")
                print(f"  {name:28s} {med * 1e3:10.3f} ms   {ratio:7.2f}x numpy (hand)")


if __name__ == "__main__":
    main()
