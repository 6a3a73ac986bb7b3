"""Moving and arranging elements: reshape, transpose, join, split, tile,
repeat, flip, roll, pad, diagonals, take, choose, select, sort and indexing.

Every case runs through plain ``numpy`` and through ``chainrule.numpy``:
values against NumPy's, both modes against finite differences to second
order, ``jacrev`` against ``jacfwd`` (which push batches through the rules)
and, for one-argument cases, the Hessian of a scalar function of the result
against ``jacrev(jacrev)``.
"""

from __future__ import annotations

import inspect
import warnings

import numpy as np
import pytest
from conftest import rand
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes

import chainrule as cr
import chainrule.numpy as cnp
from chainrule.core.registry import FUNCTIONS

RNG = np.random.default_rng(7)


def distinct(*shape):
    """Well-separated values (no ties): for sort and pad's maximum/minimum."""
    n = int(np.prod(shape))
    return (RNG.permutation(n) * 0.37 + RNG.uniform(0, 0.05, n)).reshape(shape)


X0, X1, X2, X3 = rand(), rand(4), rand(3, 4), rand(2, 3, 4)

# name: (build(module) -> function, args). ``module`` is numpy or chainrule.numpy.
CASES = {
    # reshape and friends
    "reshape": (lambda m: lambda x: m.reshape(x, (4, 6)), (X3,)),
    "reshape -1": (lambda m: lambda x: m.reshape(x, (2, -1, 2)), (X3,)),
    "reshape int": (lambda m: lambda x: m.reshape(x, 24), (X3,)),
    "reshape F": (lambda m: lambda x: m.reshape(x, (6, 4), order="F"), (X3,)),
    "reshape 0-d up": (lambda m: lambda x: m.reshape(x, (1, 1)), (X0,)),
    "reshape to 0-d": (lambda m: lambda x: m.reshape(x, ()), (rand(1, 1),)),
    "method reshape": (lambda m: lambda x: x.reshape(3, 8), (X3,)),
    "ravel": (lambda m: lambda x: m.ravel(x), (X3,)),
    "ravel F": (lambda m: lambda x: m.ravel(x, order="F"), (X3,)),
    "ravel 0-d": (lambda m: lambda x: m.ravel(x), (X0,)),
    "flatten": (lambda m: lambda x: x.flatten(), (X3,)),
    "flatten F": (lambda m: lambda x: x.flatten("F"), (X2,)),
    "transpose": (lambda m: lambda x: m.transpose(x), (X3,)),
    "transpose axes": (lambda m: lambda x: m.transpose(x, (1, 2, 0)), (X3,)),
    "transpose negative axes": (lambda m: lambda x: m.transpose(x, (-1, 0, -2)), (X3,)),
    "transpose 0-d": (lambda m: lambda x: m.transpose(x), (X0,)),
    "transpose 1-d": (lambda m: lambda x: m.transpose(x), (X1,)),
    "permute_dims": (lambda m: lambda x: m.permute_dims(x, (2, 0, 1)), (X3,)),
    "T": (lambda m: lambda x: x.T, (X3,)),
    "method transpose": (lambda m: lambda x: x.transpose((2, 0, 1)), (X3,)),
    "matrix_transpose": (lambda m: lambda x: m.matrix_transpose(x), (X3,)),
    "moveaxis": (lambda m: lambda x: m.moveaxis(x, 0, -1), (X3,)),
    "moveaxis negative": (lambda m: lambda x: m.moveaxis(x, -1, 1), (X3,)),
    "moveaxis sequences": (lambda m: lambda x: m.moveaxis(x, [0, -1], [-1, 0]), (X3,)),
    "swapaxes": (lambda m: lambda x: m.swapaxes(x, 0, 2), (X3,)),
    "swapaxes negative": (lambda m: lambda x: m.swapaxes(x, -1, -3), (X3,)),
    "method swapaxes": (lambda m: lambda x: x.swapaxes(1, -1), (X3,)),
    "squeeze": (lambda m: lambda x: m.squeeze(x), (rand(1, 3, 1, 2),)),
    "squeeze int": (lambda m: lambda x: m.squeeze(x, 2), (rand(1, 3, 1, 2),)),
    "squeeze negative": (lambda m: lambda x: m.squeeze(x, -4), (rand(1, 3, 1, 2),)),
    "squeeze tuple": (lambda m: lambda x: m.squeeze(x, (0, -2)), (rand(1, 3, 1, 2),)),
    "squeeze 0-d": (lambda m: lambda x: m.squeeze(x), (X0,)),
    "method squeeze": (lambda m: lambda x: x.squeeze(0), (rand(1, 3),)),
    "expand_dims": (lambda m: lambda x: m.expand_dims(x, 1), (X2,)),
    "expand_dims negative": (lambda m: lambda x: m.expand_dims(x, -1), (X2,)),
    "expand_dims tuple": (lambda m: lambda x: m.expand_dims(x, (0, -1, 2)), (X2,)),
    "expand_dims 0-d": (lambda m: lambda x: m.expand_dims(x, 0), (X0,)),
    "broadcast_to 0-d": (lambda m: lambda x: m.broadcast_to(x, (2, 3)), (X0,)),
    "broadcast_to 1-d": (lambda m: lambda x: m.broadcast_to(x, (3, 4)), (X1,)),
    "broadcast_to int": (lambda m: lambda x: m.broadcast_to(x, 4), (rand(1),)),
    "broadcast_to middle": (lambda m: lambda x: m.broadcast_to(x, (2, 2, 3, 5)), (rand(2, 3, 1),)),
    "broadcast_arrays": (
        lambda m: lambda a, b, c: m.broadcast_arrays(a, b, c),
        (X0, rand(3), rand(2, 1)),
    ),
    "broadcast_arrays one": (lambda m: lambda a: m.broadcast_arrays(a), (X2,)),
    # promoting
    "atleast_1d 0-d": (lambda m: lambda x: m.atleast_1d(x), (X0,)),
    "atleast_1d many": (lambda m: lambda a, b: m.atleast_1d(a, b), (X0, X2)),
    "atleast_2d 0-d": (lambda m: lambda x: m.atleast_2d(x), (X0,)),
    "atleast_2d 1-d": (lambda m: lambda x: m.atleast_2d(x), (X1,)),
    "atleast_2d many": (lambda m: lambda a, b, c: m.atleast_2d(a, b, c), (X0, X1, X3)),
    "atleast_3d 0-d": (lambda m: lambda x: m.atleast_3d(x), (X0,)),
    "atleast_3d 1-d": (lambda m: lambda x: m.atleast_3d(x), (X1,)),
    "atleast_3d 2-d": (lambda m: lambda x: m.atleast_3d(x), (X2,)),
    "atleast_3d many": (lambda m: lambda a, b: m.atleast_3d(a, b), (X3, X1)),
    # joining
    "concatenate": (lambda m: lambda a, b: m.concatenate([a, b]), (rand(2, 3), rand(4, 3))),
    "concatenate axis 1": (
        lambda m: lambda a, b, c: m.concatenate((a, b, c), axis=1),
        (rand(2, 1), rand(2, 3), rand(2, 2)),
    ),
    "concatenate axis -1 3-d": (
        lambda m: lambda a, b: m.concatenate([a, b], axis=-1),
        (rand(2, 3, 2), rand(2, 3, 4)),
    ),
    "concatenate axis -2": (lambda m: lambda a, b: m.concatenate([a, b], -2), (X3, X3[:, :1])),
    "concatenate axis None": (
        lambda m: lambda a, b, c: m.concatenate([a, b, c], axis=None),
        (X0, rand(2, 3), rand(4)),
    ),
    "concatenate with constants": (
        lambda m: lambda a: m.concatenate([np.ones((1, 3)), a, [[1.0, 2.0, 3.0]], a**2]),
        (X2[:, :3],),
    ),
    "concatenate one": (lambda m: lambda a: m.concatenate([a], axis=1), (X2,)),
    "concatenate rows of an array": (lambda m: lambda a: m.concatenate(a), (X3,)),
    "concatenate same input": (lambda m: lambda a: m.concatenate([a, 2 * a, a], 0), (X1,)),
    "concat": (lambda m: lambda a, b: m.concat([a, b], axis=1), (rand(2, 1), X2[:2])),
    "stack": (lambda m: lambda a, b: m.stack([a, b]), (X2, rand(3, 4))),
    "stack -1": (lambda m: lambda a, b: m.stack((a, b), axis=-1), (X2, rand(3, 4))),
    "stack 0-d": (lambda m: lambda a, b: m.stack([a, b, a]), (X0, rand())),
    "unstack": (lambda m: lambda x: m.unstack(x, axis=-1), (X3,)),
    "hstack 0-d": (lambda m: lambda a, b: m.hstack([a, b]), (X0, rand())),
    "hstack 1-d": (lambda m: lambda a, b: m.hstack((a, b)), (rand(2), rand(3))),
    "hstack 2-d": (lambda m: lambda a, b: m.hstack([a, b]), (rand(3, 1), X2)),
    "hstack dtype": (lambda m: lambda a: m.hstack([a, np.arange(2)], dtype=np.float64), (X1,)),
    "vstack dtype": (lambda m: lambda a: m.vstack([a, [1, 2, 3, 4]], dtype=np.float64), (X1,)),
    "vstack 0-d": (lambda m: lambda a, b: m.vstack([a, b]), (X0, rand())),
    "vstack 1-d": (lambda m: lambda a, b: m.vstack([a, b]), (X1, rand(4))),
    "vstack 2-d": (lambda m: lambda a, b: m.vstack([a, b]), (rand(1, 4), X2)),
    "dstack": (lambda m: lambda a, b: m.dstack([a, b]), (X1, rand(4))),
    "dstack 2-d 3-d": (lambda m: lambda a, b: m.dstack([a, b]), (X2, rand(3, 4, 2))),
    "column_stack": (lambda m: lambda a, b: m.column_stack([a, b]), (rand(3), X2)),
    "column_stack 0-d": (lambda m: lambda a, b: m.column_stack([a, b]), (X0, rand(1, 2))),
    "append": (lambda m: lambda a, b: m.append(a, b), (X2, X1)),
    "append 0-d": (lambda m: lambda a, b: m.append(a, b), (X0, X0)),
    "append axis": (lambda m: lambda a, b: m.append(a, b, axis=-2), (X2, rand(1, 4))),
    # splitting (lists of pieces)
    "split sections": (lambda m: lambda x: m.split(x, 2, axis=-1), (X3,)),
    "split indices": (lambda m: lambda x: m.split(x, [1, 3], axis=1), (X2,)),
    "split odd indices": (lambda m: lambda x: m.split(x, [3, 1, -1, 9]), (rand(5),)),
    "array_split uneven": (lambda m: lambda x: m.array_split(x, 3, axis=1), (X2,)),
    "array_split more than size": (lambda m: lambda x: m.array_split(x, 5), (rand(3),)),
    "array_split indices": (lambda m: lambda x: m.array_split(x, (2,), axis=-3), (X3,)),
    "hsplit 1-d": (lambda m: lambda x: m.hsplit(x, 2), (X1,)),
    "hsplit 2-d": (lambda m: lambda x: m.hsplit(x, [1]), (X2,)),
    "vsplit": (lambda m: lambda x: m.vsplit(x, 3), (X2,)),
    "dsplit": (lambda m: lambda x: m.dsplit(x, [1, 2]), (X3,)),
    # tile and repeat
    "tile int": (lambda m: lambda x: m.tile(x, 3), (X2,)),
    "tile longer reps": (lambda m: lambda x: m.tile(x, (2, 1, 2)), (X2,)),
    "tile shorter reps": (lambda m: lambda x: m.tile(x, (2,)), (X3,)),
    "tile 0-d": (lambda m: lambda x: m.tile(x, (2, 3)), (X0,)),
    "tile zero": (lambda m: lambda x: m.tile(x, (0, 2)), (X2,)),
    "repeat int": (lambda m: lambda x: m.repeat(x, 2, axis=1), (X2,)),
    "repeat None": (lambda m: lambda x: m.repeat(x, 3), (X2,)),
    "repeat negative axis": (lambda m: lambda x: m.repeat(x, [2], axis=-1), (X3,)),
    "repeat array": (lambda m: lambda x: m.repeat(x, [0, 2, 1], axis=0), (X2,)),
    "repeat array None": (lambda m: lambda x: m.repeat(x, np.arange(4)), (rand(2, 2),)),
    "repeat 0-d": (lambda m: lambda x: m.repeat(x, 3), (X0,)),
    "method repeat": (lambda m: lambda x: x.repeat(2, 0), (X2,)),
    # flip, roll, rot90
    "flip None": (lambda m: lambda x: m.flip(x), (X3,)),
    "flip int": (lambda m: lambda x: m.flip(x, 1), (X3,)),
    "flip negative": (lambda m: lambda x: m.flip(x, -1), (X3,)),
    "flip tuple": (lambda m: lambda x: m.flip(x, (0, -1)), (X3,)),
    "flip 0-d": (lambda m: lambda x: m.flip(x), (X0,)),
    "fliplr": (lambda m: lambda x: m.fliplr(x), (X3,)),
    "flipud": (lambda m: lambda x: m.flipud(x), (X1,)),
    "roll None": (lambda m: lambda x: m.roll(x, 5), (X2,)),
    "roll None tuple": (lambda m: lambda x: m.roll(x, (2, -7)), (X2,)),
    "roll int": (lambda m: lambda x: m.roll(x, -1, axis=1), (X2,)),
    "roll tuple": (lambda m: lambda x: m.roll(x, (1, 2), axis=(0, -1)), (X3,)),
    "roll repeated axis": (lambda m: lambda x: m.roll(x, (1, 2), axis=(1, 1)), (X2,)),
    "roll shift broadcast": (lambda m: lambda x: m.roll(x, 1, axis=(0, 1)), (X2,)),
    "roll full turn": (lambda m: lambda x: m.roll(x, 8, axis=-1), (X2,)),
    "roll 0-d": (lambda m: lambda x: m.roll(x, 3), (X0,)),
    "rot90": (lambda m: lambda x: m.rot90(x), (X2,)),
    "rot90 k2": (lambda m: lambda x: m.rot90(x, 2), (X2,)),
    "rot90 k3": (lambda m: lambda x: m.rot90(x, 3), (X2,)),
    "rot90 k-1 axes": (lambda m: lambda x: m.rot90(x, -1, axes=(1, 2)), (X3,)),
    "rot90 k4 negative axes": (lambda m: lambda x: m.rot90(x, 4, axes=(-1, 0)), (X3,)),
    "rot90 reversed axes": (lambda m: lambda x: m.rot90(x, 1, axes=(2, 0)), (X3,)),
    # pad
    "pad int": (lambda m: lambda x: m.pad(x, 1), (X2,)),
    "pad 1-tuple": (lambda m: lambda x: m.pad(x, (2,)), (X2,)),
    "pad pair": (lambda m: lambda x: m.pad(x, (1, 0)), (X3,)),
    "pad pairs": (lambda m: lambda x: m.pad(x, ((0, 2), (3, 1))), (X2,)),
    "pad pairs column": (lambda m: lambda x: m.pad(x, [[1], [2]]), (X2,)),
    "pad 0-d": (lambda m: lambda x: m.pad(x, 2), (X0,)),
    "pad constant values": (
        lambda m: lambda x: m.pad(x, ((1, 2), (0, 1)), constant_values=((1.5, -2), (3, 4))),
        (X2,),
    ),
    "pad traced constant": (lambda m: lambda x, c: m.pad(x, 2, constant_values=c), (X1, X0)),
    "pad traced constant pairs": (
        lambda m: lambda x, c: m.pad(x, ((1, 1), (2, 0)), constant_values=c),
        (X2, rand(2, 2)),
    ),
    "pad traced constant in tuple": (
        lambda m: lambda x, c: m.pad(x, 1, constant_values=(c, 0.5)),
        (X2, X0),
    ),
    "pad edge": (lambda m: lambda x: m.pad(x, ((2, 1), (0, 3)), mode="edge"), (X2,)),
    "pad reflect": (lambda m: lambda x: m.pad(x, 2, mode="reflect"), (X2,)),
    "pad reflect long": (lambda m: lambda x: m.pad(x, (7, 9), mode="reflect"), (rand(3),)),
    "pad reflect odd": (
        lambda m: lambda x: m.pad(x, ((4, 1), (2, 5)), mode="reflect", reflect_type="odd"),
        (X2,),
    ),
    "pad symmetric": (lambda m: lambda x: m.pad(x, ((3, 5), (1, 0)), mode="symmetric"), (X2,)),
    "pad symmetric odd": (
        lambda m: lambda x: m.pad(x, 6, mode="symmetric", reflect_type="odd"),
        (rand(3),),
    ),
    "pad wrap": (lambda m: lambda x: m.pad(x, ((5, 1), (2, 9)), mode="wrap"), (X2,)),
    "pad wrap 3-d": (lambda m: lambda x: m.pad(x, 1, mode="wrap"), (X3,)),
    "pad linear_ramp": (
        lambda m: lambda x: m.pad(x, ((2, 1), (3, 2)), mode="linear_ramp", end_values=(1, -2)),
        (X2,),
    ),
    "pad linear_ramp traced ends": (
        lambda m: lambda x, e: m.pad(x, 2, mode="linear_ramp", end_values=e),
        (X1, rand(2)),
    ),
    "pad mean": (lambda m: lambda x: m.pad(x, ((1, 2), (2, 1)), mode="mean"), (X2,)),
    "pad mean stat_length": (
        lambda m: lambda x: m.pad(x, 2, mode="mean", stat_length=((1, 2), (3, 9))),
        (X2,),
    ),
    "pad mean rounded stat_length": (
        lambda m: lambda x: m.pad(x, (2, 1), mode="mean", stat_length=1.6),
        (rand(5),),
    ),
    "pad maximum": (
        lambda m: lambda x: m.pad(x, 2, mode="maximum", stat_length=2),
        (distinct(3, 4),),
    ),
    "pad minimum": (lambda m: lambda x: m.pad(x, (1, 3), mode="minimum"), (distinct(3, 4),)),
    # diagonals and triangles
    "diag 1-d": (lambda m: lambda x: m.diag(x), (X1,)),
    "diag 1-d k": (lambda m: lambda x: m.diag(x, 2), (X1,)),
    "diag 1-d negative k": (lambda m: lambda x: m.diag(x, k=-1), (X1,)),
    "diag 2-d": (lambda m: lambda x: m.diag(x), (X2,)),
    "diag 2-d k": (lambda m: lambda x: m.diag(x, 1), (X2,)),
    "diag 2-d negative k": (lambda m: lambda x: m.diag(x, -2), (X2,)),
    "diag 2-d empty": (lambda m: lambda x: m.diag(x, 5) + 1.0, (X2,)),
    "diagonal": (lambda m: lambda x: m.diagonal(x), (X2,)),
    "diagonal offset": (lambda m: lambda x: m.diagonal(x, 1), (X3,)),
    "diagonal axes": (lambda m: lambda x: m.diagonal(x, -1, axis1=2, axis2=0), (X3,)),
    "diagonal negative axes": (lambda m: lambda x: m.diagonal(x, 0, -1, -2), (X3,)),
    "method diagonal": (lambda m: lambda x: x.diagonal(1, 1, 2), (X3,)),
    "diagflat": (lambda m: lambda x: m.diagflat(x), (rand(2, 2),)),
    "diagflat k": (lambda m: lambda x: m.diagflat(x, -2), (X1,)),
    "diagflat 0-d": (lambda m: lambda x: m.diagflat(x, 1), (X0,)),
    "trace": (lambda m: lambda x: m.trace(x), (X2,)),
    "trace offset": (lambda m: lambda x: m.trace(x, -1), (X2,)),
    "trace axes": (lambda m: lambda x: m.trace(x, 1, axis1=-1, axis2=0), (X3,)),
    "method trace": (lambda m: lambda x: x.trace(), (X3,)),
    "tril": (lambda m: lambda x: m.tril(x), (X2,)),
    "tril k": (lambda m: lambda x: m.tril(x, -1), (X3,)),
    "tril 1-d": (lambda m: lambda x: m.tril(x, 1), (X1,)),
    "triu": (lambda m: lambda x: m.triu(x), (X2,)),
    "triu k": (lambda m: lambda x: m.triu(x, 2), (X3,)),
    "triu negative k": (lambda m: lambda x: m.triu(x, k=-1), (X2,)),
    # take, choose, select
    "take None": (lambda m: lambda x: m.take(x, [0, 5, 5, -1]), (X2,)),
    "take scalar": (lambda m: lambda x: m.take(x, 2, axis=1), (X2,)),
    "take 0-d index": (lambda m: lambda x: m.take(x, np.array(1), axis=0), (X2,)),
    "take 2-d indices": (lambda m: lambda x: m.take(x, [[0, 1], [1, 1]], axis=-1), (X3,)),
    "take 0-d input": (lambda m: lambda x: m.take(x, [0, 0]), (X0,)),
    "take clip": (lambda m: lambda x: m.take(x, [-3, 1, 9], axis=1, mode="clip"), (X2,)),
    "take wrap": (lambda m: lambda x: m.take(x, [-5, 4, 9], axis=-2, mode="wrap"), (X2,)),
    "method take": (lambda m: lambda x: x.take([2, 0], 1), (X2,)),
    "take_along_axis": (
        lambda m: lambda x: m.take_along_axis(x, np.array([[0, 2, 2, 1]]), axis=0),
        (X2,),
    ),
    "take_along_axis default axis": (
        lambda m: lambda x: m.take_along_axis(x, np.array([[3, 3], [0, -1], [1, 2]])),
        (X2,),
    ),
    "take_along_axis None": (
        lambda m: lambda x: m.take_along_axis(x, np.array([11, 0, 0]), axis=None),
        (X2,),
    ),
    "take_along_axis 3-d": (
        lambda m: lambda x: m.take_along_axis(x, np.array([[[1], [0], [2]]]), axis=-2),
        (X3,),
    ),
    "choose": (
        lambda m: lambda a, b, c: m.choose(np.array([[0, 1, 2, 1]]), [a, b, c]),
        (rand(3, 4), rand(4), X0),
    ),
    "choose array": (lambda m: lambda x: m.choose(np.array([2, 0, 1, 0]), x), (X2,)),
    "choose clip": (
        lambda m: lambda a, b: m.choose(np.array([-1, 0, 5]), (a, b), mode="clip"),
        (rand(3), rand(3)),
    ),
    "choose wrap": (
        lambda m: lambda a, b: m.choose(np.array([[3], [-2]]), (a, b), mode="wrap"),
        (rand(2, 3), rand(3)),
    ),
    "choose 0-d": (lambda m: lambda a, b: m.choose(1, [a, b]), (X0, rand())),
    "select": (
        lambda m: lambda a, b: m.select([X2 > 0.5, X2 < -0.5], [a, b**2]),
        (rand(3, 4), rand(4)),
    ),
    "select traced default": (
        lambda m: lambda a, d: m.select([X1 > 0, X1 > -0.5], [a, 2 * a], default=d),
        (rand(4), X0),
    ),
    "select broadcasts": (
        lambda m: lambda a: m.select([np.array([[True], [False]])], [a], default=-1.0),
        (rand(3),),
    ),
    "select 0-d": (lambda m: lambda a, b: m.select([True, False], [a, b], a * 3), (X0, rand())),
    # sort
    "sort": (lambda m: lambda x: m.sort(x), (distinct(3, 4),)),
    "sort axis 0": (lambda m: lambda x: m.sort(x, axis=0), (distinct(2, 3, 4),)),
    "sort negative axis": (
        lambda m: lambda x: m.sort(x, axis=-2, kind="mergesort"),
        (distinct(2, 3, 4),),
    ),
    "sort None": (lambda m: lambda x: m.sort(x, axis=None), (distinct(3, 4),)),
    "sort 0-d None": (lambda m: lambda x: m.sort(x, axis=None), (X0,)),
    "sort stable": (lambda m: lambda x: m.sort(x, stable=True), (distinct(5),)),
}


# Cases of NumPy features newer than the oldest NumPy supported (2.0): the table
# is checked against NumPy itself, so these run where NumPy has the feature.
_NUMPY_LACKS = {
    "unstack": not hasattr(np, "unstack"),  # NumPy 2.1
    "take_along_axis default axis": (  # NumPy 2.3
        inspect.signature(np.take_along_axis).parameters["axis"].default is inspect.Parameter.empty
    ),
}


def _cases(names):
    return [
        pytest.param(n, marks=pytest.mark.skip(reason=f"NumPy {np.__version__} lacks {n}"))
        if _NUMPY_LACKS.get(n)
        else n
        for n in names
    ]


def _leaves(t):
    return cr.tree.leaves(t)


def _assert_trees_close(actual, expected):
    a, e = _leaves(actual), _leaves(expected)
    assert len(a) == len(e)
    for x, y in zip(a, e):
        assert np.shape(x) == np.shape(y)
        np.testing.assert_allclose(x, y, rtol=1e-12, atol=1e-12)


# NumPy dispatches np.pad on ``array`` only and np.select on the lists only, so
# a traced ``constant_values``/``end_values``/``default`` reaches chainrule
# through plain NumPy only while the array is traced too (else: a ConversionError,
# see test_not_dispatched_arguments). There the plain-NumPy path is checked with
# every argument traced at once.
NOT_DISPATCHED = {
    "pad linear_ramp traced ends",
    "pad traced constant",
    "pad traced constant pairs",
    "pad traced constant in tuple",
    "select traced default",
}


@pytest.mark.parametrize("name", _cases(sorted(CASES)))
@pytest.mark.parametrize("via", ["numpy", "chainrule.numpy"])
def test_values_and_gradients(name, via):
    build, args = CASES[name]
    fn = build(np if via == "numpy" else cnp)
    expected = build(np)(*args)  # NumPy itself, on plain arrays
    # Our implementation: traced, and on plain arrays through chainrule.numpy.
    _assert_trees_close(cr.vjp(fn, *args)[0], expected)
    _assert_trees_close(build(cnp)(*args), expected)
    if via == "numpy" and name in NOT_DISPATCHED:
        cr.check_grads(lambda args: fn(*args), (args,), order=2)
    else:
        cr.check_grads(fn, args, order=2)


def test_not_dispatched_arguments():
    x, c = rand(3), rand()
    with pytest.raises(TypeError, match="traced"):
        cr.grad(lambda c: np.sum(np.pad(x, 1, constant_values=c)))(c)
    g = cr.grad(lambda c: np.sum(cnp.pad(x, 1, constant_values=c)))(c)
    np.testing.assert_allclose(g, 2.0)


@pytest.mark.parametrize("name", _cases(sorted(CASES)))
def test_jacrev_equals_jacfwd(name):
    build, args = CASES[name]
    fn = build(cnp if name in NOT_DISPATCHED else np)
    for i in range(len(args)):
        _assert_trees_close(cr.jacrev(fn, argnums=i)(*args), cr.jacfwd(fn, argnums=i)(*args))


HESSIAN_CASES = [n for n in sorted(CASES) if len(CASES[n][1]) == 1]


@pytest.mark.parametrize("name", _cases(HESSIAN_CASES))
def test_hessian_of_scalar(name):
    build, (x,) = CASES[name]
    fn = build(np)

    def scalar(x):
        return sum(np.sum(np.sin(leaf) * leaf) for leaf in _leaves(fn(x)))

    h = cr.hessian(scalar)(x)
    np.testing.assert_allclose(h, cr.jacrev(cr.jacrev(scalar))(x), rtol=1e-10, atol=1e-12)
    assert h.shape == np.shape(x) * 2


# --- cases that need more than the table ----------------------------------------------
def test_row_stack_warns_like_numpy():
    a, b = rand(3), rand(2, 3)
    with pytest.warns(DeprecationWarning):
        out = cr.jacrev(lambda a: cnp.row_stack([a, b]))(a)
    np.testing.assert_array_equal(out, np.concatenate([np.eye(3)[None], np.zeros((2, 3, 3))]))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        cr.check_grads(lambda a, b: np.row_stack([a, b]), (a, b), order=2)


def test_concatenate_dtype_and_casting():
    a = rand(2, 3)
    f32 = lambda a: np.concatenate([a, a], dtype=np.float32)  # noqa: E731
    out = cr.vjp(f32, a)[0]
    assert out.dtype == np.float32
    np.testing.assert_allclose(cr.jacfwd(f32)(a), cr.jacrev(f32)(a))
    mixed = lambda a: np.concatenate([a, np.ones((1, 3), np.float32)])  # noqa: E731
    assert cr.vjp(mixed, a)[0].dtype == np.float64
    cr.check_grads(mixed, (a,), order=2)
    with pytest.raises(TypeError):
        cr.grad(lambda a: np.sum(np.concatenate([a, a], dtype=np.int64, casting="safe")))(a)


def test_concatenate_mixed_precision_tangent_dtype():
    a = rand(3).astype(np.float32)
    b = rand(2)
    f = lambda a, b: np.concatenate([a, b])  # noqa: E731
    _, t = cr.jvp(f, (a, b), (np.ones(3, np.float32), np.zeros(2)))
    assert t.dtype == np.float64
    np.testing.assert_array_equal(t, [1, 1, 1, 0, 0])


def test_pad_empty_pads_with_zeros():
    x = rand(2, 2)
    out = cr.vjp(lambda x: np.pad(x, 1, mode="empty"), x)[0]
    np.testing.assert_array_equal(out, np.pad(x, 1))
    cr.check_grads(lambda x: np.pad(x, (0, 2), mode="empty"), (x,), order=2)


def test_pad_median():
    x = distinct(3, 5)
    f = lambda x: np.pad(x, 2, mode="median")  # noqa: E731
    if np.median in FUNCTIONS:
        np.testing.assert_allclose(cr.vjp(f, x)[0], f(x))
        cr.check_grads(f, (x,), order=2)
    else:
        with pytest.raises(NotImplementedError, match="median"):
            cr.grad(lambda x: np.sum(f(x)))(x)


def test_pad_maximum_ties_split_evenly():
    x = np.array([1.0, 3.0, 3.0, 2.0])
    g = cr.grad(lambda x: np.sum(np.pad(x, (0, 1), mode="maximum")))(x)
    np.testing.assert_array_equal(g, [1.0, 1.5, 1.5, 1.0])


def test_pad_traced_constant_dtype_follows_array():
    x = rand(3).astype(np.float32)
    out = cr.vjp(lambda x, c: np.pad(x, 1, constant_values=c), x, np.float64(2.0))[0]
    assert out.dtype == np.float32


def test_sort_ties_follow_the_stable_order():
    x = np.array([2.0, 1.0, 2.0, 0.0, 1.0])
    order = np.argsort(x, kind="stable")  # [3, 1, 4, 0, 2]
    expected = np.eye(5)[order]
    np.testing.assert_array_equal(cr.jacrev(np.sort)(x), expected)
    np.testing.assert_array_equal(cr.jacfwd(np.sort)(x), expected)
    np.testing.assert_array_equal(cr.jacrev(lambda x: np.sort(x, kind="quicksort"))(x), expected)
    # Long enough that NumPy's quicksort is not stable: the convention must still hold.
    x = RNG.integers(0, 3, size=64).astype(float)
    order = np.argsort(x, kind="stable")
    np.testing.assert_array_equal(
        cr.jacfwd(lambda x: np.sort(x, kind="quicksort"))(x), np.eye(64)[order]
    )


def test_sort_of_plain_values_through_chainrule_numpy():
    x = rand(4)
    np.testing.assert_array_equal(cnp.sort(x), np.sort(x))
    rec = np.array([(2, 1.0), (1, 2.0)], dtype=[("a", int), ("b", float)])
    np.testing.assert_array_equal(cnp.sort(rec, order="a"), np.sort(rec, order="a"))


def test_split_pieces_are_independent_outputs():
    x = rand(6)
    pieces = cr.jacrev(lambda x: np.split(x, 3))(x)
    assert isinstance(pieces, list) and len(pieces) == 3
    np.testing.assert_array_equal(np.concatenate(pieces), np.eye(6))
    g = cr.grad(lambda x: np.sum(np.split(x, [2])[1] ** 2))(x)
    np.testing.assert_allclose(g, np.r_[0, 0, 2 * x[2:]])


def test_unused_pieces_get_zero():
    x = rand(3, 4)
    g = cr.grad(lambda x: np.sum(np.array_split(x, 3, axis=1)[0]))(x)
    np.testing.assert_array_equal(g, np.c_[np.ones((3, 2)), np.zeros((3, 2))])


def test_repeated_use_accumulates():
    x = rand(3)
    g = cr.grad(lambda x: np.sum(np.take(x, [0, 0, 2, 0]) * np.array([1.0, 2.0, 3.0, 4.0])))(x)
    np.testing.assert_array_equal(g, [7.0, 0.0, 3.0])
    g = cr.grad(lambda x: np.sum(np.repeat(x, [3, 0, 1])))(x)
    np.testing.assert_array_equal(g, [3.0, 0.0, 1.0])
    g = cr.grad(lambda x: np.sum(np.tile(x, (2, 2))))(x)
    np.testing.assert_array_equal(g, [4.0, 4.0, 4.0])
    g = cr.grad(lambda x: np.sum(np.pad(x, 4, mode="reflect")))(x)
    sources = np.pad(np.arange(3), 4, mode="reflect")
    np.testing.assert_array_equal(g, np.bincount(sources, minlength=3))


def test_nested_derivatives_through_concatenate():
    # grad of a function whose inner gradient goes through concatenate's VJP.
    def inner(x, y):
        return np.sum(np.concatenate([x * y, np.sin(x)]) ** 2)

    x, y = rand(3), rand(3)
    cr.check_grads(lambda x: cr.grad(inner, argnums=1)(x, y), (x,), order=2)
    cr.check_grads(lambda y: cr.jacfwd(lambda x: np.hstack([x, y * x]))(x), (y,), order=2)


# --- errors: clear, never a wrong answer -----------------------------------------------
ERRORS = {
    "concatenate 0-d": (lambda x: np.concatenate([x, x]), (), ValueError),
    "concatenate ndim": (lambda x: np.concatenate([x, x[0]]), (2, 2), ValueError),
    "concatenate shapes": (lambda x: np.concatenate([x, x[:, :1]]), (2, 2), ValueError),
    "concatenate axis": (lambda x: np.concatenate([x, x], axis=2), (2, 2), np.exceptions.AxisError),
    "concatenate empty": (lambda x: cnp.concatenate([]), (2,), ValueError),
    "concatenate out": (lambda x: np.concatenate([x, x], out=np.zeros(4)), (2,), TypeError),
    "split unequal": (lambda x: np.split(x, 3), (4,), ValueError),
    "split zero sections": (lambda x: np.array_split(x, 0), (4,), ValueError),
    "hsplit 0-d": (lambda x: np.hsplit(x, 1), (), ValueError),
    "vsplit 1-d": (lambda x: np.vsplit(x, 1), (4,), ValueError),
    "dsplit 2-d": (lambda x: np.dsplit(x, 1), (2, 2), ValueError),
    "tile negative": (lambda x: np.tile(x, -1), (2,), ValueError),
    "repeat negative": (lambda x: np.repeat(x, -1), (2,), ValueError),
    "repeat mismatched": (lambda x: np.repeat(x, [1, 2, 3]), (2,), ValueError),
    "flip axis": (lambda x: np.flip(x, 2), (2, 2), np.exceptions.AxisError),
    "fliplr 1-d": (lambda x: np.fliplr(x), (2,), ValueError),
    "flipud 0-d": (lambda x: np.flipud(x), (), ValueError),
    "roll 2-d shift": (lambda x: np.roll(x, [[1]], axis=0), (2, 2), ValueError),
    "rot90 same axes": (lambda x: np.rot90(x, axes=(1, 1)), (2, 2), ValueError),
    "rot90 axes length": (lambda x: np.rot90(x, axes=(0,)), (2, 2), ValueError),
    "rot90 axes range": (lambda x: np.rot90(x, axes=(0, 3)), (2, 2), ValueError),
    "pad negative": (lambda x: np.pad(x, -1), (2,), ValueError),
    "pad float width": (lambda x: np.pad(x, 1.5), (2,), TypeError),
    "pad bad kwarg": (lambda x: np.pad(x, 1, mode="edge", constant_values=1), (2,), ValueError),
    "pad function mode": (lambda x: np.pad(x, 1, mode=lambda *a: None), (2,), NotImplementedError),
    "pad empty axis": (lambda x: np.pad(x[:0], 1, mode="reflect"), (2,), ValueError),
    "diag 3-d": (lambda x: np.diag(x), (2, 2, 2), ValueError),
    "diagonal 1-d": (lambda x: np.diagonal(x), (2,), ValueError),
    "diagonal same axes": (lambda x: np.diagonal(x, 0, 1, -1), (2, 2), ValueError),
    "trace out": (lambda x: np.trace(x, out=np.zeros(())), (2, 2), TypeError),
    "take out of bounds": (lambda x: np.take(x, [2]), (2,), IndexError),
    "take float indices": (lambda x: np.take(x, [0.5]), (2,), TypeError),
    "take_along_axis float": (
        lambda x: np.take_along_axis(x, np.array([0.5]), 0),
        (2,),
        IndexError,
    ),
    "choose float": (lambda x: np.choose([0.5, 0], [x, x]), (2,), TypeError),
    "take bad mode": (lambda x: np.take(x, [0], mode="nope"), (2,), ValueError),
    "take empty wrap": (lambda x: np.take(x[:0], [0], mode="wrap"), (2,), IndexError),
    "take_along_axis ndim": (lambda x: np.take_along_axis(x, np.array([0]), 0), (2, 2), ValueError),
    "take_along_axis None": (
        lambda x: np.take_along_axis(x, np.array([[0]]), None),
        (2, 2),
        ValueError,
    ),
    "choose invalid": (lambda x: np.choose([0, 2], [x, x]), (2,), ValueError),
    "select lengths": (lambda x: np.select([x > 0], [x, x]), (2,), ValueError),
    "select empty": (lambda x: np.select([], [x]), (2,), ValueError),
    "select non-bool": (lambda x: np.select([np.ones(2)], [x]), (2,), TypeError),
    "sort 0-d axis": (lambda x: np.sort(x), (), np.exceptions.AxisError),
    "sort order": (lambda x: np.sort(x, order="a"), (2,), NotImplementedError),
    "matrix_transpose 1-d": (lambda x: np.matrix_transpose(x), (2,), ValueError),
}


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_errors(name):
    fn, shape, error = ERRORS[name]
    x = rand(*shape) + 0.1
    with pytest.raises(error):
        cr.jacrev(fn)(x)
    with pytest.raises(error):
        cr.jacfwd(fn)(x)


def test_errors_match_numpy_on_plain_arrays():
    for name, (fn, shape, error) in ERRORS.items():
        # Refused on traced values only (NumPy truncates float indices in take).
        if name in (
            "concatenate empty",
            "concatenate out",
            "trace out",
            "pad function mode",
            "sort order",
            "take float indices",
        ):
            continue
        x = rand(*shape) + 0.1
        with pytest.raises(error):
            fn(x)


# --- indexing: combinations of every form ------------------------------------------------
MASK2 = np.array([[True, False, True], [False, False, True]])
INDEXES = {
    "negative step": np.s_[::-1, 2:0:-1],
    "negative step with stride": np.s_[..., ::-2],
    "negative start stop": np.s_[-1:-3:-1, :, -2:],
    "ellipsis middle": np.s_[1, ..., 2],
    "ellipsis middle 4-d": np.s_[0, ..., ::-1, 1],
    "none": np.s_[None, :, None, 1, None],
    "none with ellipsis": np.s_[..., None, 1],
    "none and ellipsis first": np.s_[None, ..., None],
    "empty tuple": (),
    "full ellipsis": np.s_[...],
    "bool 2-d mask": np.s_[MASK2],
    "bool 2-d mask then slice": np.s_[MASK2, 1:],
    "bool mask after slice": np.s_[:, np.array([True, False, True]), ::-1],
    "bool 3-d mask": "mask3",
    "bool scalar": np.s_[True],
    "bool scalar false": np.s_[..., False],
    "int array repeats": np.s_[np.array([0, 0, 1, 0])],
    "int array 2-d repeats": np.s_[:, np.array([[2, 2], [0, 2]])],
    "int arrays broadcast": np.s_[np.array([[0], [1]]), np.array([2, 2, 0])],
    "int arrays separated": np.s_[np.array([1, 0]), :, np.array([3, 3])],
    "int array and negative step": np.s_[np.array([1, -1]), ::-1],
    "int array and int": np.s_[1, np.array([0, 0, 2])],
    "int array ints separated": np.s_[0, :, np.array([1, 1])],
    "int array and none": np.s_[None, np.array([1, 0]), None],
    "int array and bool": np.s_[np.array([1, 0]), np.array([True, False, True])],
    "int array ellipsis int array": np.s_[np.array([0, 1]), ..., np.array([3, 0])],
    "negative int arrays": np.s_[np.array([-1, -2]), np.array([-3, -3])],
    "list index": np.s_[[1, 1, 0]],
    "list of lists": np.s_[[[0, 1], [1, 0]], :, [0, 3]],
    "0-d int array": np.s_[np.array(1)],
    "empty int array": np.s_[np.array([], dtype=int)],
    "empty slice": np.s_[5:, 1],
    "slice beyond bounds": np.s_[-10:10, 1:100:2],
}


def _index(name, x):
    idx = INDEXES[name]
    if isinstance(idx, str):
        idx = x > np.median(x)
    return idx


@pytest.mark.parametrize("name", sorted(INDEXES))
def test_indexing_combinations(name):
    x = rand(2, 3, 4)
    idx = _index(name, x)
    f = lambda x: x[idx]  # noqa: E731
    np.testing.assert_array_equal(cr.vjp(f, x)[0], x[idx])
    cr.check_grads(lambda x: x[idx] * x[idx], (x,), order=2)
    jr, jf = cr.jacrev(f)(x), cr.jacfwd(f)(x)
    np.testing.assert_array_equal(jr, jf)
    # The Jacobian of an indexing is 0/1 and counts each use of an element.
    counts = np.zeros(x.size)
    np.add.at(counts, np.arange(x.size).reshape(x.shape)[idx].ravel(), 1)
    np.testing.assert_array_equal(jr.reshape(-1, x.size).sum(axis=0), counts)


def test_indexing_0d():
    x = np.float64(0.3)
    for idx in [(), Ellipsis, None, (None, Ellipsis), np.True_]:
        f = lambda x, idx=idx: x[idx] * x  # noqa: E731
        cr.check_grads(f, (x,), order=2)
        np.testing.assert_array_equal(cr.jacrev(f)(x), cr.jacfwd(f)(x))


# --- Hypothesis: shapes, axes and argument forms ---------------------------------------------
@st.composite
def concat_args(draw):
    shape = draw(array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3))
    axis = draw(st.integers(-len(shape), len(shape) - 1))
    sizes = draw(st.lists(st.integers(0, 3), min_size=1, max_size=3))
    shapes = [shape[: axis % len(shape)] + (s,) + shape[axis % len(shape) + 1 :] for s in sizes]
    return shapes, axis


@settings(max_examples=25, deadline=None, derandomize=True)
@given(concat_args())
def test_concatenate_hypothesis(args):
    shapes, axis = args
    arrays = tuple(rand(*s) for s in shapes)
    f = lambda *a: np.concatenate([x * x for x in a], axis=axis)  # noqa: E731
    np.testing.assert_array_equal(cr.vjp(f, *arrays)[0], f(*arrays))
    cr.check_grads(f, arrays, order=2)
    for i in range(len(arrays)):
        _assert_trees_close(cr.jacrev(f, argnums=i)(*arrays), cr.jacfwd(f, argnums=i)(*arrays))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    array_shapes(min_dims=0, max_dims=3, min_side=1, max_side=3),
    st.integers(-4, 4),
    st.sampled_from(["flip", "roll", "sort", "take", "repeat", "tile"]),
    st.data(),
)
def test_axis_forms_hypothesis(shape, shift, op, data):
    ndim = len(shape)
    axis = data.draw(st.one_of(st.none(), st.integers(-ndim, ndim - 1)) if ndim else st.none())
    x = distinct(*shape) if shape else np.float64(0.4)
    if op == "flip":
        f = lambda x: np.flip(x, axis)  # noqa: E731
    elif op == "roll":
        f = lambda x: np.roll(x, shift, axis)  # noqa: E731
    elif op == "sort":
        if axis is not None and not ndim:
            return
        f = lambda x: np.sort(x, axis=axis)  # noqa: E731
    elif op == "take":
        n = x.size if axis is None else shape[axis]
        idx = data.draw(st.lists(st.integers(-n, n - 1), max_size=4))
        f = lambda x: np.take(x, np.array(idx, dtype=int), axis=axis)  # noqa: E731
    elif op == "repeat":
        f = lambda x: np.repeat(x, abs(shift), axis=axis)  # noqa: E731
    else:
        reps = data.draw(st.lists(st.integers(0, 2), max_size=4))
        f = lambda x: np.tile(x, tuple(reps))  # noqa: E731
    np.testing.assert_array_equal(cr.vjp(f, x)[0], f(x))
    cr.check_grads(f, (x,), order=2)
    np.testing.assert_array_equal(cr.jacrev(f)(x), cr.jacfwd(f)(x))


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    array_shapes(min_dims=1, max_dims=3, min_side=1, max_side=3),
    st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap", "linear_ramp", "mean"]),
    st.sampled_from(["even", "odd"]),
    st.data(),
)
def test_pad_hypothesis(shape, mode, reflect_type, data):
    ndim = len(shape)
    widths = data.draw(st.sampled_from(["int", "pair", "pairs"]))
    if widths == "int":
        pad_width = data.draw(st.integers(0, 4))
    elif widths == "pair":
        pad_width = tuple(data.draw(st.lists(st.integers(0, 4), min_size=2, max_size=2)))
    else:
        pad_width = [
            tuple(data.draw(st.lists(st.integers(0, 4), min_size=2, max_size=2)))
            for _ in range(ndim)
        ]
    kwargs = {"reflect_type": reflect_type} if mode in ("reflect", "symmetric") else {}
    x = rand(*shape)
    f = lambda x: np.pad(x, pad_width, mode=mode, **kwargs)  # noqa: E731
    np.testing.assert_allclose(cr.vjp(f, x)[0], f(x), rtol=1e-12, atol=1e-12)
    cr.check_grads(f, (x,), order=2)
    np.testing.assert_allclose(cr.jacrev(f)(x), cr.jacfwd(f)(x), rtol=1e-12, atol=1e-12)
