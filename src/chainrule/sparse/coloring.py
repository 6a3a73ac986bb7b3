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

The graph work (``PᵀP``, degrees, recovery) is vectorised with SciPy. The
greedy pass is sequential by nature: on graphs up to ``EXACT_EDGES`` edges it
runs as written (a Python loop over neighbour lists, the forbidden colours of a
vertex kept as the bits of one integer), once per ordering. Larger graphs (a
Brusselator at N=256 has 2.2 million) are coloured in vectorised rounds
instead (``_speculative``): every uncoloured vertex takes a free colour at once
(the forbidden colours of all of them are one ``bitwise_or.reduceat`` over the
CSR arrays), and of two neighbours that took the same colour the one later in
the ordering gives it up and tries again (Gebremedhin and Manne, "Scalable
parallel graph coloring algorithms", 2000). There the orderings are the
conflict priorities; smallest-last is approximated by peeling every vertex of
at most 1.5 times the mean remaining degree at once (Hasenplaugh et al.,
"Ordering heuristics for parallel graph coloring", 2014) and incidence-degree
by the Cuthill-McKee breadth-first order (each vertex after a component's
first has a neighbour already ordered), both vectorised in SciPy.

Either way the best colouring is then recoloured by Culberson's iterated
greedy (``iterated_greedy``): greedy again, in an order that takes the colour
classes one after another. A class is an independent set, so a whole class is
coloured in one vectorised step, and the result never has more colours than
the colouring it started from; a few passes (classes in reverse, largest
first, shuffled) usually remove one or two colours.
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
    """The column intersection graph ``PᵀP`` (no self loops) of a pattern,
    with sorted int64 indices."""
    import scipy.sparse as sp

    p = as_pattern(pattern).astype(np.int8)
    g = (p.T @ p).tocsr()
    g.sort_indices()
    n = g.shape[0]
    rows = np.repeat(np.arange(n), np.diff(g.indptr))
    keep = g.indices != rows
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows[keep], minlength=n), out=indptr[1:])
    indices = g.indices[keep].astype(np.int64)
    return sp.csr_array((np.ones(indices.size, dtype=bool), indices, indptr), shape=(n, n))


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
    for kind in orderings:
        if kind not in ORDERINGS:
            raise ValueError(f"unknown ordering {kind!r}; choose one of {ORDERINGS}")
    n = graph.shape[0]
    degree = np.diff(graph.indptr)
    # Colours stay below max degree + 1: then a vertex's forbidden colours fit
    # the bits of one int64, which the vectorised passes need.
    words = int(degree.max(initial=0)) + 1 <= WORD
    if colour is greedy and words and graph.nnz > EXACT_EDGES:
        return iterated_greedy(graph, _speculative_best(graph, orderings))
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
    if colour is greedy and words and n and best is not None:
        best = iterated_greedy(graph, best)
    return best  # type: ignore[return-value]


# -- vectorised colouring (large graphs) and recolouring -----------------------

# Graphs with more edges than this (each counted in both directions) are
# coloured in vectorised rounds; below it the sequential greedy runs for each
# ordering (about 0.1 s per ordering at this size).
EXACT_EDGES = 1 << 19

# Bits of an int64 used for colours (63 would reach the sign bit in ``m + 1``).
WORD = 62

# The first free colour at or above a random offset below this: a few
# choices per vertex keep neighbours from all taking colour 0 at once (one
# round per class otherwise) while the colours stay few.
_SPREAD = 8


def _row_edges(graph: Any, rows: np.ndarray) -> tuple[np.ndarray, ...]:
    """The neighbours of ``rows`` (concatenated), each row's offset in them,
    and each row's length (SciPy's row indexing: one pass in C)."""
    sub = graph[rows]
    return sub.indices, sub.indptr[:-1], np.diff(sub.indptr)


def _or_rows(values: np.ndarray, seg: np.ndarray, lens: np.ndarray, out: np.ndarray) -> np.ndarray:
    """``out[r]`` |= the OR of row ``r``'s slice of ``values`` (empty rows untouched)."""
    full = lens > 0
    if values.size:
        out[full] |= np.bitwise_or.reduceat(values, seg[full])
    return out


def _lowest_clear_bit(mask: np.ndarray) -> np.ndarray:
    low = ~mask & (mask + 1)  # the lowest clear bit alone
    return np.frexp(low.astype(np.float64))[1].astype(np.int64) - 1


def _ranks(graph: Any, kind: str) -> np.ndarray:
    """``rank[v]``: the position of ``v`` in the ordering ``kind`` (vectorised;
    smallest-last and incidence-degree approximated, see the module docstring)."""
    n = graph.shape[0]
    degree = np.diff(graph.indptr)
    if kind == "natural":
        order = np.arange(n)
    elif kind == "largest_first":
        order = np.argsort(-degree, kind="stable")
    elif kind == "smallest_last":
        order = _peeling_order(graph)
    else:
        from scipy.sparse.csgraph import reverse_cuthill_mckee

        order = np.asarray(reverse_cuthill_mckee(graph, symmetric_mode=True))[::-1]
    rank = np.empty(n, dtype=np.int64)
    rank[order] = np.arange(n)
    return rank


def _peeling_order(graph: Any) -> np.ndarray:
    """Remove, round by round, every vertex whose remaining degree is at most
    1.5 times the mean remaining degree (least degree first within a round);
    colour in the reverse order of removal."""
    degree = np.diff(graph.indptr).astype(np.int64)
    alive = np.ones(graph.shape[0], dtype=bool)
    removed = []
    while alive.any():
        left = np.flatnonzero(alive)
        d = degree[left]
        batch = left[d <= 1.5 * d.mean()]
        batch = batch[np.argsort(degree[batch], kind="stable")]
        removed.append(batch)
        alive[batch] = False
        nbr, _, _ = _row_edges(graph, batch)
        degree -= np.bincount(nbr, minlength=len(degree))
    return np.concatenate(removed)[::-1] if removed else np.arange(0)


def _speculative(graph: Any, rank: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour all vertices in rounds: each uncoloured vertex takes the first
    colour at or above a random offset that no coloured neighbour has; where
    two neighbours took the same colour, the later in ``rank`` drops it."""
    n = graph.shape[0]
    colors = np.full(n, -1, dtype=np.int64)
    bits = np.zeros(n, dtype=np.int64)  # 1 << colour, 0 while uncoloured
    tentative = np.full(n, -1, dtype=np.int64)
    todo = np.arange(n)
    while todo.size:
        nbr, seg, lens = _row_edges(graph, todo)
        taken = _or_rows(bits[nbr], seg, lens, np.zeros(todo.size, dtype=np.int64))
        offset = rng.integers(0, _SPREAD, todo.size)
        pick = _lowest_clear_bit(taken | ((np.int64(1) << offset) - 1))
        high = pick >= WORD  # nothing free above the offset: the first free at all
        pick[high] = _lowest_clear_bit(taken[high])
        tentative[todo] = pick
        clash = (tentative[nbr] == np.repeat(pick, lens)) & (
            rank[nbr] < np.repeat(rank[todo], lens)
        )
        lose = np.zeros(todo.size, dtype=bool)
        full = lens > 0
        if clash.size:
            lose[full] = np.logical_or.reduceat(clash, seg[full])
        tentative[todo] = -1
        won = todo[~lose]
        colors[won] = pick[~lose]
        bits[won] = np.int64(1) << pick[~lose]
        todo = todo[lose]
    return colors


def _speculative_best(graph: Any, orderings: tuple[str, ...]) -> np.ndarray:
    best = None
    seen: list[np.ndarray] = []
    for kind in orderings:
        rank = _ranks(graph, kind)
        if any(np.array_equal(rank, r) for r in seen):  # largest-first on a regular graph
            continue
        seen.append(rank)
        colors = _speculative(graph, rank, np.random.default_rng(18))
        # on a tie the later ordering: smallest-last and incidence-degree are
        # the stronger heuristics, and their seeds recolour better
        if best is None or colors.max(initial=-1) <= best.max(initial=-1):
            best = colors
    return best  # type: ignore[return-value]


def iterated_greedy(
    graph: Any, colors: np.ndarray, passes: int = 10, patience: int = 3
) -> np.ndarray:
    """Culberson's iterated greedy: recolour greedily taking the colour classes
    of ``colors`` one after another (in reverse, largest first, then shuffled,
    in turn), keep the fewest colours; stop after ``patience`` passes without
    a gain. A proper colouring of ``graph`` (no self loops, fewer than
    ``WORD`` colours needed) in, a proper one with no more colours out.

    >>> import numpy as np, scipy.sparse as sp
    >>> from chainrule.sparse.coloring import iterated_greedy
    >>> path = sp.csr_array(np.eye(4, k=1, dtype=bool) | np.eye(4, k=-1, dtype=bool))
    >>> iterated_greedy(path, np.array([0, 1, 2, 0])).tolist()  # a path needs two
    [0, 1, 0, 1]
    """
    n = len(colors)
    best = colors = np.asarray(colors, dtype=np.int64)
    if n == 0:
        return best
    rng = np.random.default_rng(18)
    stall = 0
    for p in range(passes):
        k = int(colors.max()) + 1
        sizes = np.bincount(colors, minlength=k)
        if p % 3 == 0:
            classes = np.arange(k)[::-1]
        elif p % 3 == 1:
            classes = np.argsort(-sizes, kind="stable")
        else:
            classes = rng.permutation(k)
        place = np.empty(k, dtype=np.int64)
        place[classes] = np.arange(k)
        order = np.argsort(place[colors], kind="stable")
        nbr, seg, lens = _row_edges(graph, order)
        bounds = np.concatenate([[0], np.cumsum(sizes[classes])])
        ebounds = np.append(seg, nbr.size)
        new = np.full(n, -1, dtype=np.int64)
        bits = np.zeros(n, dtype=np.int64)
        for a, b in zip(bounds[:-1].tolist(), bounds[1:].tolist()):
            # one class: no edges inside it, so all of it at once is still greedy
            e0, e1 = ebounds[a], ebounds[b]
            taken = _or_rows(bits[nbr[e0:e1]], seg[a:b] - e0, lens[a:b], np.zeros(b - a, np.int64))
            pick = _lowest_clear_bit(taken)
            new[order[a:b]] = pick
            bits[order[a:b]] = np.int64(1) << pick
        colors = new
        if colors.max() < best.max():
            best, stall = colors, 0
        else:
            stall += 1
            if stall >= patience:
                break
    return best


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
