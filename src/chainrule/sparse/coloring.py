"""Graph colourings that compress a sparse Jacobian or Hessian.

Columns ``j`` and ``k`` of a Jacobian may share one JVP (seed ``e_j + e_k``)
when no row has nonzeros in both: then every entry of the compressed product
comes from exactly one column. That is a colouring of the *column
intersection graph* (``PᵀP``: columns adjacent when they share a row), a
distance-2 colouring of the bipartite row/column graph. Rows and VJPs are the
same with ``P`` transposed.

A symmetric Hessian needs less: a *star colouring* of its adjacency graph (a
proper colouring in which every path on four vertices uses at least three
colours) still lets every entry be read directly from the compressed
Hessian-vector products (``recover_star``), usually with fewer colours.

Each colouring is greedy: the vertices are taken in an order and each gets
the smallest colour its constraints allow. We try the natural,
largest-first, smallest-last and incidence-degree orders (Gebremedhin, Manne
and Pothen, "What color is your Jacobian? Graph coloring for computing
derivatives", SIAM Review 47 (2005)) and keep the fewest colours.

The graph work (``PᵀP``, degrees, recovery) is vectorised with SciPy; the
greedy passes are sequential by nature and are plain Python loops over
precomputed neighbour lists, with the forbidden colours of a vertex kept as the
bits of one integer (a micro-optimisation: one ``|=`` per edge).
"""

from __future__ import annotations

from typing import Any

import numpy as np

ORDERINGS = ("natural", "largest_first", "smallest_last", "incidence_degree")


def as_pattern(pattern: Any, what: str = "sparsity") -> Any:
    """``pattern`` (a SciPy sparse matrix or array, or a dense array) as a
    boolean ``csr_array`` with explicit zeros dropped."""
    import scipy.sparse as sp

    if sp.issparse(pattern):
        p = sp.csr_array(pattern, dtype=bool)
    else:
        arr = np.asarray(pattern)
        if arr.ndim != 2:
            raise ValueError(
                f"{what}: a sparsity pattern is a 2-D boolean matrix (outputs x inputs), "
                f"got an array of shape {arr.shape}"
            )
        p = sp.csr_array(arr != 0)
    p.eliminate_zeros()
    p.sum_duplicates()
    p.sort_indices()
    return p


def _neighbours(graph: Any) -> list[list[int]]:
    """Adjacency lists of a CSR graph (once, shared by every greedy pass)."""
    indptr = graph.indptr.tolist()
    indices = graph.indices.tolist()
    return [indices[a:b] for a, b in zip(indptr[:-1], indptr[1:])]


def _without_diagonal(graph: Any) -> Any:
    import scipy.sparse as sp

    g = sp.csr_array(graph, dtype=bool)
    g.setdiag(False)
    g.eliminate_zeros()
    g.sort_indices()
    return g


def column_graph(pattern: Any) -> Any:
    """The column intersection graph ``PᵀP`` (no self loops) of a pattern."""
    p = as_pattern(pattern).astype(np.int8)
    return _without_diagonal((p.T @ p).tocsr())


# -- orderings -----------------------------------------------------------------


def ordering(nbrs: list[list[int]], kind: str) -> list[int]:
    """The vertices of the graph with adjacency lists ``nbrs`` in the greedy
    order ``kind`` (one of ``ORDERINGS``)."""
    n = len(nbrs)
    if kind == "natural":
        return list(range(n))
    if kind == "largest_first":
        degree = np.fromiter(map(len, nbrs), dtype=np.int64, count=n)
        return np.argsort(-degree, kind="stable").tolist()
    if kind == "smallest_last":
        return _smallest_last(nbrs)
    if kind == "incidence_degree":
        return _incidence_degree(nbrs)
    raise ValueError(f"unknown ordering {kind!r}; choose one of {ORDERINGS}")


def _smallest_last(nbrs: list[list[int]]) -> list[int]:
    """Repeatedly remove a vertex of least remaining degree; colour in the
    reverse order of removal (bucket queue: O(edges))."""
    n = len(nbrs)
    degree = [len(a) for a in nbrs]
    buckets: list[dict[int, None]] = [{} for _ in range(max(degree, default=0) + 1)]
    for v in range(n):
        buckets[degree[v]][v] = None
    removed = [False] * n
    out = []
    low = 0
    for _ in range(n):
        while not buckets[low]:
            low += 1
        v = next(iter(buckets[low]))
        del buckets[low][v]
        removed[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not removed[w]:
                d = degree[w]
                del buckets[d][w]
                buckets[d - 1][w] = None
                degree[w] = d - 1
        if low:
            low -= 1  # a neighbour may now sit one bucket lower
    out.reverse()
    return out


def _incidence_degree(nbrs: list[list[int]]) -> list[int]:
    """Next, the vertex with the most neighbours already ordered (bucket queue)."""
    n = len(nbrs)
    count = [0] * n
    buckets: list[dict[int, None]] = [dict.fromkeys(range(n))]
    buckets += [{} for _ in range(max(map(len, nbrs), default=0))]
    done = [False] * n
    out = []
    high = 0
    for _ in range(n):
        while not buckets[high]:
            high -= 1
        v = next(iter(buckets[high]))
        del buckets[high][v]
        done[v] = True
        out.append(v)
        for w in nbrs[v]:
            if not done[w]:
                c = count[w]
                del buckets[c][w]
                buckets[c + 1][w] = None
                count[w] = c + 1
                if c + 1 > high:
                    high = c + 1
    return out


# -- distance-1 greedy colouring (of PᵀP: a distance-2 colouring of P) -----------


def greedy(nbrs: list[list[int]], order: list[int]) -> np.ndarray:
    """Colour each vertex in ``order`` with the smallest colour none of its
    neighbours has."""
    forbidden = [0] * len(nbrs)  # bit c set: a neighbour has colour c
    colors = [0] * len(nbrs)
    for v in order:
        f = forbidden[v]
        c = ((f + 1) & ~f).bit_length() - 1  # the lowest clear bit
        colors[v] = c
        bit = 1 << c
        for w in nbrs[v]:
            forbidden[w] |= bit
    return np.array(colors, dtype=np.int64)


def _best(graph: Any, colour: Any, orderings: tuple[str, ...]) -> np.ndarray:
    from ..core.trace import GcPause

    if not orderings:
        raise ValueError(f"give at least one ordering of {ORDERINGS}")
    best = None
    # The passes allocate many small lists and free none until the end: the
    # cyclic collector would only rescan them.
    with GcPause():
        nbrs = _neighbours(graph)
        seen: list[list[int]] = []
        for kind in orderings:
            order = ordering(nbrs, kind)
            if order in seen:  # largest-first is the natural order on a regular graph
                continue
            seen.append(order)
            colors = colour(nbrs, order)
            if best is None or (colors.max(initial=-1) < best.max(initial=-1)):
                best = colors
    return best  # type: ignore[return-value]


def color_columns(pattern: Any, orderings: tuple[str, ...] = ORDERINGS) -> np.ndarray:
    """A colour per column of ``pattern`` (outputs x inputs) such that columns
    of one colour share no row: one JVP per colour gives the Jacobian.

    The fewest colours over the greedy ``orderings``. Colours are ``0..k-1``.

    >>> import numpy as np
    >>> from chainrule.sparse.coloring import color_columns
    >>> color_columns(np.eye(4, dtype=bool)).tolist()  # a diagonal: one JVP
    [0, 0, 0, 0]
    """
    return _best(column_graph(pattern), greedy, tuple(orderings))


def color_rows(pattern: Any, orderings: tuple[str, ...] = ORDERINGS) -> np.ndarray:
    """A colour per row such that rows of one colour share no column: one VJP
    per colour gives the Jacobian.

    >>> import numpy as np
    >>> from chainrule.sparse.coloring import color_rows
    >>> color_rows(np.array([[1, 1, 1], [0, 1, 0], [0, 0, 1]])).tolist()
    [0, 1, 1]
    """
    return color_columns(as_pattern(pattern).T, orderings)


# -- star colouring (symmetric: Hessians) --------------------------------------


def star_greedy(nbrs: list[list[int]], order: list[int]) -> np.ndarray:
    """Greedy star colouring: proper, and no path on four vertices has only
    two colours. Each path ``a-b-c-d`` is checked when its last vertex is
    coloured, all others then coloured; for the vertex ``v`` being coloured
    with a coloured neighbour ``w`` (colour ``a``) and a coloured ``x`` next to
    ``w``, ``v`` may not take ``x``'s colour when

    * ``v`` is an end, ``v-w-x-y``: ``x`` has a neighbour other than ``w``
      coloured ``a``;
    * ``v`` is inside, ``y-v-w-x``: ``v`` has a neighbour other than ``w``
      coloured ``a``.
    """
    n = len(nbrs)
    colors = [-1] * n
    # near[u][a]: how many coloured neighbours of u have colour a.
    near: list[dict[int, int]] = [{} for _ in range(n)]
    for v in order:
        mine = near[v]
        forbidden = set(mine)
        for w in nbrs[v]:
            a = colors[w]
            if a < 0:
                continue
            inside = mine[a] >= 2
            for x in nbrs[w]:
                b = colors[x]
                if b >= 0 and x != v and (inside or near[x].get(a, 0) >= 2):
                    forbidden.add(b)
        c = 0
        while c in forbidden:
            c += 1
        colors[v] = c
        for w in nbrs[v]:
            counts = near[w]
            counts[c] = counts.get(c, 0) + 1
    return np.array(colors, dtype=np.int64)


def symmetric_graph(pattern: Any, what: str = "sparse_hessian") -> Any:
    """The adjacency graph (no self loops) of a square pattern, symmetrised."""
    p = as_pattern(pattern, what)
    if p.shape[0] != p.shape[1]:
        raise ValueError(f"{what}: a Hessian pattern is square, got shape {p.shape}")
    return _without_diagonal((p + p.T).tocsr())


def color_star(pattern: Any, orderings: tuple[str, ...] = ORDERINGS) -> np.ndarray:
    """A star colouring of the symmetric ``pattern`` (the fewest colours over
    ``orderings``): one Hessian-vector product per colour gives the Hessian
    (``recover_star``).

    >>> import numpy as np
    >>> from chainrule.sparse.coloring import color_star
    >>> arrow = np.eye(4, dtype=bool); arrow[0] = arrow[:, 0] = True
    >>> color_star(arrow).tolist()  # the hub alone, the leaves together
    [0, 1, 1, 1]
    """
    return _best(symmetric_graph(pattern), star_greedy, tuple(orderings))


def is_star_coloring(pattern: Any, colors: np.ndarray) -> bool:
    """Whether ``colors`` is a star colouring of the symmetric ``pattern``:
    proper, and no two-coloured path on four vertices (checked through the
    property recovery needs: for each edge ``i-j``, ``i`` has no other
    neighbour coloured like ``j``, or ``j`` none coloured like ``i``)."""
    g = symmetric_graph(pattern, "is_star_coloring").tocoo()
    i, j = g.row, g.col
    if np.any(colors[i] == colors[j]):
        return False
    counts = colour_counts(symmetric_graph(pattern, "is_star_coloring"), colors)
    return bool(np.all((counts[i, colors[j]] == 1) | (counts[j, colors[i]] == 1)))


def colour_counts(graph: Any, colors: np.ndarray) -> np.ndarray:
    """``counts[u, c]``: how many neighbours of ``u`` have colour ``c`` (dense:
    vertices x colours, small)."""
    import scipy.sparse as sp

    n = len(colors)
    k = int(colors.max(initial=-1)) + 1
    onehot = sp.csr_array((np.ones(n, dtype=np.int64), (np.arange(n), colors)), shape=(n, k))
    return (graph.astype(np.int64) @ onehot).toarray()
