"""The Transitive Invariance graph (docs/methods.md §4): patches are nodes; intra-instance
edges join two patches of one object tracked through a video (its first and last patch),
inter-instance edges join different objects that look alike (neighbours in a first-stage
self-supervised feature space); transitivity adds, for an inter edge A-B and intra edges A-A'
and B-B', the pairs A'-B', A-B' and A'-B: different instance and different viewpoint at once.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping

Edge = tuple[int, int]
KINDS = ('all', 'intra', 'inter')


def _edge(a: int, b: int) -> Edge:
    return (a, b) if a < b else (b, a)


def neighbours(edges: Iterable[Edge]) -> dict[int, set[int]]:
    """node -> the nodes one edge away."""
    out: dict[int, set[int]] = defaultdict(set)
    for a, b in edges:
        out[a].add(b)
        out[b].add(a)
    return dict(out)


def positive_pairs(intra: Iterable[Edge], inter: Iterable[Edge], *, kinds: str = 'all'
                   ) -> dict[Edge, str]:
    """The positive pairs the network trains on (``(low, high)`` node pairs), each with its
    kind: ``'intra'``, ``'inter'`` or ``'transitive'`` (a pair made more than one way keeps the
    first of these). ``kinds``: ``'all'``, or ``'intra'`` / ``'inter'`` alone (one edge type,
    no transitivity: the paper's ablations). Self-pairs are never made."""
    if kinds not in KINDS:
        raise ValueError(f"kinds must be one of {', '.join(KINDS)}, got {kinds!r}")
    intra = [_edge(*e) for e in intra if e[0] != e[1]]
    inter = [_edge(*e) for e in inter if e[0] != e[1]]
    pairs: dict[Edge, str] = {}
    if kinds in ('all', 'intra'):
        for edge in intra:
            pairs.setdefault(edge, 'intra')
    if kinds in ('all', 'inter'):
        for edge in inter:
            pairs.setdefault(edge, 'inter')
    if kinds == 'all':
        near = neighbours(intra)
        for a, b in inter:
            for x in {a} | near.get(a, set()):
                for y in {b} | near.get(b, set()):
                    if x != y:
                        pairs.setdefault(_edge(x, y), 'transitive')
    return pairs


def components(pairs: Iterable[Edge]) -> dict[int, int]:
    """node -> the id of its connected component (the smallest node in it): the groups whose
    members are never drawn as each other's negatives."""
    near = neighbours(pairs)
    group: dict[int, int] = {}
    for start in sorted(near):
        if start in group:
            continue
        members, stack = {start}, [start]
        while stack:
            for other in near[stack.pop()] - members:
                members.add(other)
                stack.append(other)
        for node in members:
            group[node] = min(members)
    return group


def count_kinds(pairs: Mapping[Edge, str]) -> dict[str, int]:
    """How many pairs of each kind (for logs and records)."""
    counts = {'intra': 0, 'inter': 0, 'transitive': 0}
    for kind in pairs.values():
        counts[kind] += 1
    return counts


def inter_edges(features, instance, *, cluster_size: int = 4, seed: int = 0) -> list[Edge]:
    """Inter-instance edges: patches of different instances that a first-stage network sees
    alike. ``features`` ``[N, D]`` (one row per patch, any scale: L2-normalised here),
    ``instance`` ``[N]`` (the track each patch came from). The patches are clustered into many
    small clusters (k-means on the unit features, ``N // cluster_size`` clusters, scikit-learn,
    seeded) and each patch is linked to its most similar patch of another instance in its
    cluster, if there is one."""
    import numpy as np
    from sklearn.cluster import KMeans

    features = np.asarray(features, dtype=np.float64)
    instance = np.asarray(instance)
    if features.ndim != 2 or len(features) != len(instance):
        raise ValueError(f'features [N, D] and one instance id per row, got {features.shape} '
                         f'and {instance.shape}')
    unit = features / np.maximum(np.linalg.norm(features, axis=1, keepdims=True), 1e-12)
    clusters = max(1, len(unit) // cluster_size)
    labels = KMeans(n_clusters=clusters, n_init=4, random_state=seed).fit_predict(unit) \
        if clusters > 1 else np.zeros(len(unit), dtype=int)
    edges = set()
    for cluster in np.unique(labels):
        members = np.flatnonzero(labels == cluster)
        similarity = unit[members] @ unit[members].T
        for row, node in enumerate(members):
            others = instance[members] != instance[node]
            if others.any():
                best = members[np.flatnonzero(others)[np.argmax(similarity[row, others])]]
                edges.add(_edge(int(node), int(best)))
    return sorted(edges)
