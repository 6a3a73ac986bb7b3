"""scikit-learn's metrics with array_api_dispatch=True on traced values: which
differentiate (value, reverse mode against central differences, forward mode
agreeing) and, for the three issue 15 names with their default arguments,
exactly where scikit-learn leaves the array API: each returns
``float(result)``, which no namespace can keep traced (Python's ``float()``
must return a plain float), so it stops with chainrule's ConversionError at
that line; r2_score and log_loss stop at an earlier line first (a traced
value written into an array from ``xp.ones``; a plain constant from
``xp.asarray(1)`` beside the traced row sums), and past it at ``float()``
too (docs/howto/array-api.md)."""

from __future__ import annotations

import pytest
from test_array_api import run_child

CHILD = """
import json, traceback
import numpy as np, chainrule as cr, sklearn
import sklearn.metrics as M, sklearn.metrics.pairwise as P
from sklearn.metrics._classification import _log_loss
sklearn.set_config(array_api_dispatch=True)
y = np.array([0.5, -1.0, 2.0, 0.3, 1.1]); yp = np.array([0.4, -0.8, 2.5, 0.0, 1.3])
labels = np.array([0, 1, 1, 0, 1]); prob = np.array([0.2, 0.7, 0.6, 0.4, 0.9])
X = np.array([[0.1, 0.5], [1.0, -0.3], [0.4, 0.9]])
W = np.arange(9.0).reshape(3, 3)

def fd(f, v, eps=1e-6):
    g = np.zeros(v.shape)
    for i in np.ndindex(v.shape):
        e = np.zeros(v.shape); e[i] = eps
        g[i] = (f(v + e) - f(v - e)) / (2 * eps)
    return g

def first(f):
    return lambda v: f(v)[0]

works = {
    "mean_absolute_percentage_error": (
        first(lambda v: M.mean_absolute_percentage_error(y, v, multioutput="raw_values")), yp),
    "root_mean_squared_error": (
        first(lambda v: M.root_mean_squared_error(y, v, multioutput="raw_values")), yp),
    "mean_pinball_loss": (
        first(lambda v: M.mean_pinball_loss(y, v, alpha=0.3, multioutput="raw_values")), yp),
    "polynomial_kernel": (lambda v: np.sum(P.polynomial_kernel(v) * W), X),
    "chi2_kernel": (lambda v: np.sum(P.chi2_kernel(np.abs(v) + 0.1) * W), X),
}
out = {}
for name, (f, v) in works.items():
    value, g = cr.value_and_grad(f)(v)
    out[name] = {"ok": bool(np.isclose(value, f(v), rtol=1e-12)
                            and np.allclose(g, fd(f, v), rtol=1e-6, atol=1e-8)
                            and np.allclose(cr.jacfwd(f)(v), g, rtol=1e-10, atol=1e-12))}

def stop(f, v):
    try:
        cr.grad(f)(v)
    except Exception as e:
        frame = [fr for fr in traceback.extract_tb(e.__traceback__) if "sklearn" in fr.filename][-1]
        return {"error": type(e).__name__, "message": str(e)[:80],
                "file": frame.filename.split("sklearn/")[-1], "function": frame.name,
                "line": frame.line}
    return {"error": None}

out["mean_squared_error"] = stop(lambda v: M.mean_squared_error(y, v), yp)
out["r2_score"] = stop(lambda v: M.r2_score(y, v), yp)
out["r2_score_past_the_array"] = stop(lambda v: M.r2_score(y, v, force_finite=False), yp)
out["log_loss"] = stop(lambda v: M.log_loss(labels, v), prob)
onehot = np.stack([1 - labels, labels], axis=1).astype(float)
out["log_loss_past_the_check"] = stop(
    lambda v: _log_loss(onehot, np.stack([1 - v, v], axis=1)), prob)
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def measured():
    pytest.importorskip("sklearn")
    return run_child(CHILD)


@pytest.mark.parametrize(
    "name",
    [
        "mean_absolute_percentage_error",
        "root_mean_squared_error",
        "mean_pinball_loss",
        "polynomial_kernel",
        "chi2_kernel",
    ],
)
def test_these_differentiate(measured, name):
    assert measured[name]["ok"], name


FLOAT = "float() on a traced value would silently drop its derivative"


def test_mean_squared_error_by_default_returns_float_of_the_result(measured):
    r = measured["mean_squared_error"]
    assert r["error"] == "ConversionError" and r["message"].startswith(FLOAT)
    assert (r["file"], r["function"]) == ("metrics/_regression.py", "mean_squared_error")
    assert r["line"] == "return float(mean_squared_error)"


def test_r2_score_writes_into_an_array_of_its_own_then_returns_float(measured):
    r = measured["r2_score"]
    assert r["error"] == "ConversionError"
    assert r["message"].startswith("Converting to a NumPy array")
    assert r["function"] == "_assemble_fraction_of_explained_deviance"
    assert r["line"].startswith("output_scores[valid_score] = 1 - (")
    # force_finite=False skips that array: the next stop is float() of the mean
    r = measured["r2_score_past_the_array"]
    assert r["error"] == "ConversionError" and r["message"].startswith(FLOAT)
    assert r["function"] == "_assemble_fraction_of_explained_deviance"
    assert r["line"] == "return float(result)"


def test_log_loss_mixes_a_plain_constant_then_returns_float(measured):
    r = measured["log_loss"]
    assert r["error"] == "TypeError" and r["message"].startswith("Multiple namespaces")
    assert r["function"] == "array_namespace"
    # the loss itself, past the probability check: float() of the mean
    r = measured["log_loss_past_the_check"]
    assert r["error"] == "ConversionError" and r["message"].startswith(FLOAT)
    assert (r["function"], r["line"]) == (
        "_log_loss",
        "return float(_average(loss, weights=sample_weight, normalize=normalize))",
    )
