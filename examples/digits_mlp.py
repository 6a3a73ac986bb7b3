"""A two-layer neural network on scikit-learn's handwritten digits, trained with Adam.

8x8 images (64 pixels) -> tanh hidden layer -> 10 class scores, softmax
cross-entropy loss, mini-batches, ``chainrule.optim.adam`` with a warm-up and
cosine learning-rate schedule. The parameters are a dict of arrays; chainrule
differentiates the plain NumPy forward pass.

Run:  python examples/digits_mlp.py
Needs scikit-learn (``pip install "chainrule[examples]"``); shows a progress bar
when tqdm is installed.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator

import numpy as np

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.errors import install_hint
from chainrule.optim import adam, warmup_cosine


def load_digits_split(seed: int = 0) -> tuple[np.ndarray, ...]:
    """Train and test sets (75 / 25, stratified), pixels scaled to [0, 1].

    >>> X_train, X_test, y_train, y_test = load_digits_split()
    >>> X_train.shape, X_test.shape, int(y_train.max())
    ((1347, 64), (450, 64), 9)
    """
    try:
        from sklearn.datasets import load_digits
        from sklearn.model_selection import train_test_split
    except ImportError as err:
        raise ImportError(
            "this example needs scikit-learn; install it with: "
            + install_hint("examples", "scikit-learn")
        ) from err
    X, y = load_digits(return_X_y=True)
    X_train, X_test, y_train, y_test = train_test_split(
        X / 16.0, y, test_size=0.25, random_state=seed, stratify=y
    )
    return X_train, X_test, y_train, y_test


def progress(iterable: Iterable, total: int, enabled: bool = True) -> Iterator:
    """``iterable`` with a tqdm progress bar, or plain when tqdm is missing or ``enabled``
    is false.

    >>> list(progress(range(3), total=3, enabled=False))
    [0, 1, 2]
    """
    if not enabled:
        return iter(iterable)
    try:
        from tqdm import tqdm
    except ImportError:
        print("(install tqdm for a progress bar: pip install tqdm)", file=sys.stderr)
        return iter(iterable)
    return iter(tqdm(iterable, total=total, desc="training", unit="step"))


def init_params(hidden: int, seed: int = 0) -> dict:
    """Weights drawn with variance 1 / fan-in, zero biases.

    >>> {k: v.shape for k, v in init_params(16).items()}
    {'W1': (64, 16), 'b1': (16,), 'W2': (16, 10), 'b2': (10,)}
    """
    rng = np.random.default_rng(seed)
    return {
        "W1": rng.normal(0.0, 1.0 / np.sqrt(64), (64, hidden)),
        "b1": np.zeros(hidden),
        "W2": rng.normal(0.0, 1.0 / np.sqrt(hidden), (hidden, 10)),
        "b2": np.zeros(10),
    }


def logits(params: dict, X: np.ndarray) -> np.ndarray:
    """Class scores of the network: ``tanh(X W1 + b1) W2 + b2``.

    >>> logits(init_params(8), np.zeros((2, 64))).shape
    (2, 10)
    """
    hidden = np.tanh(X @ params["W1"] + params["b1"])
    return hidden @ params["W2"] + params["b2"]


def cross_entropy(params: dict, X: np.ndarray, labels: np.ndarray) -> float:
    """Mean softmax cross-entropy of the labels under the network's scores.

    >>> round(float(cross_entropy(init_params(8), np.zeros((2, 64)), np.array([0, 1]))), 4)
    2.3026
    """
    scores = logits(params, X)
    picked = np.take_along_axis(scores, labels[:, None], axis=1)[:, 0]
    return np.mean(cnp.logsumexp(scores, axis=1) - picked)


def accuracy(params: dict, X: np.ndarray, labels: np.ndarray) -> float:
    """Fraction of images whose highest score is the right digit.

    >>> accuracy(init_params(8), np.zeros((1, 64)), np.array([11]))
    0.0
    """
    return float(np.mean(np.argmax(logits(params, X), axis=1) == labels))


def main(quick: bool = False, show_progress: bool = True) -> dict:
    """Train and report the test accuracy; returns the numbers.

    ``quick``: 32 hidden units and 400 Adam steps (a fraction of a second);
    otherwise 64 hidden units and 1,500 steps.
    """
    X_train, X_test, y_train, y_test = load_digits_split()
    hidden, steps, batch = (32, 400, 128) if quick else (64, 1500, 128)
    params = init_params(hidden)
    opt = adam(warmup_cosine(2e-2, warmup_steps=steps // 20, total_steps=steps, end_value=1e-4))
    state = opt.init(params)
    value_and_grad = cr.value_and_grad(cross_entropy)
    rng = np.random.default_rng(1)
    losses = []
    bar = progress(range(steps), total=steps, enabled=show_progress)
    for i in bar:
        idx = rng.choice(len(X_train), size=batch, replace=False)
        value, grads = value_and_grad(params, X_train[idx], y_train[idx])
        params, state = opt.step(params, grads, state)
        losses.append(float(value))
        if i % 50 == 0 and hasattr(bar, "set_postfix"):
            bar.set_postfix(loss=f"{np.mean(losses[-50:]):.4f}")
    train_acc = accuracy(params, X_train, y_train)
    test_acc = accuracy(params, X_test, y_test)
    if not quick:
        print(f"{hidden} hidden units, {steps} Adam steps of {batch} images")
        print(f"final training loss {np.mean(losses[-50:]):.4f}")
        print(f"train accuracy {train_acc:.4f}, test accuracy {test_acc:.4f}")
    return {
        "params": params,
        "losses": losses,
        "train_accuracy": train_acc,
        "test_accuracy": test_acc,
    }


if __name__ == "__main__":
    main()
