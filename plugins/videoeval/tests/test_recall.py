"""recall_at_k against a hand-computed example and a brute-force sort (stable, so ties go to the
lower gallery index): exact duplicate gallery vectors in different classes, k past a class's
size and past the gallery, labels absent from the gallery, chunk boundaries, input types and
the errors."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from harness_videoeval.recall import first_positive_ranks, recall_at_k

KS = (1, 2, 3, 5, 7, 10, 25, 60, 61, 200)


def brute_force(query, query_labels, gallery, gallery_labels, ks, reverse_ties=False):
    """Sort the whole gallery for every query; returns ({k: R@k}, rank of the first positive or
    G). ``reverse_ties`` breaks ties by decreasing index instead (a deliberately wrong rule)."""
    q = np.asarray(query, dtype=np.float64)
    g = np.asarray(gallery, dtype=np.float64)
    q = q / np.linalg.norm(q, axis=1, keepdims=True)
    g = g / np.linalg.norm(g, axis=1, keepdims=True)
    # one similarity per distinct gallery vector: BLAS does not promise equal results for equal
    # rows, and exact duplicates must tie exactly
    distinct, copies = np.unique(g, axis=0, return_inverse=True)
    sim = (q @ distinct.T)[:, copies.ravel()]
    if reverse_ties:
        order = len(g) - 1 - np.argsort(-sim[:, ::-1], axis=1, kind='stable')
    else:
        order = np.argsort(-sim, axis=1, kind='stable')
    hit = np.asarray(gallery_labels)[order] == np.asarray(query_labels)[:, None]
    ranks = np.where(hit.any(1), hit.argmax(1), len(g))
    return {k: int(hit[:, :k].any(1).sum()) / len(q) for k in ks}, ranks


def tied_data(seed: int, queries: int = 50, gallery: int = 60, dim: int = 8):
    """Gallery rows drawn (with repetition) from 12 base vectors, labels from 5 classes, so the
    same vector often sits in several classes; half the queries copy a base vector (similarity 1
    to all its duplicates); query class 9 is not in the gallery."""
    rng = np.random.default_rng(seed)
    base = rng.normal(size=(12, dim))
    g = base[rng.integers(0, len(base), gallery)]
    g_labels = rng.integers(0, 5, gallery)
    q = rng.normal(size=(queries, dim))
    copies = rng.random(queries) < 0.5
    q[copies] = base[rng.integers(0, len(base), int(copies.sum()))]
    q_labels = rng.integers(0, 5, queries)
    q_labels[::7] = 9
    return q.astype(np.float32), q_labels, g.astype(np.float32), g_labels


GALLERY = np.array([[1, 0], [0, 1], [1, 1], [-1, 0], [2, 0]], dtype=np.float32)
GALLERY_LABELS = np.array(['A', 'B', 'B', 'A', 'B'])
QUERIES = np.array([[3, 0], [0, 2], [1, 1]], dtype=np.float32)
QUERY_LABELS = np.array(['B', 'A', 'C'])


def test_hand_computed_example():
    """Query 0 (3, 0), label B: gallery 0 (A) and 4 (B) both have similarity 1; index 0 ranks
    first, so the first B has rank 1. Query 1 (0, 2), label A: gallery 1 (B, 1), 2 (B, 0.707),
    then 0 (A), 3 (A), 4 (B) all at 0: the first A has rank 2. Query 2: class C is absent."""
    got = recall_at_k(QUERIES, QUERY_LABELS, GALLERY, GALLERY_LABELS, ks=(1, 2, 3, 5, 10))
    assert got == {1: 0.0, 2: 1 / 3, 3: 2 / 3, 5: 2 / 3, 10: 2 / 3}


def test_hand_computed_example_with_the_gallery_reversed():
    """Reversed, the B at (2, 0) comes before the A at (1, 0): query 0 hits at k = 1. For query
    1 the ties at similarity 0 are now (2, 0) B, (-1, 0) A, (1, 0) A: the first A has rank 3."""
    got = recall_at_k(QUERIES, QUERY_LABELS, GALLERY[::-1].copy(), GALLERY_LABELS[::-1],
                      ks=(1, 2, 3, 4, 10))
    assert got == {1: 1 / 3, 2: 1 / 3, 3: 1 / 3, 4: 2 / 3, 10: 2 / 3}


@pytest.mark.parametrize('seed', range(4))
@pytest.mark.parametrize('chunk_size', [1, 7, 50, 1024])
def test_matches_a_stable_brute_force_sort(seed, chunk_size):
    q, q_labels, g, g_labels = tied_data(seed)
    expected, expected_ranks = brute_force(q, q_labels, g, g_labels, KS)
    assert recall_at_k(q, q_labels, g, g_labels, ks=KS, chunk_size=chunk_size) == expected
    _, codes = np.unique(np.concatenate([q_labels, g_labels]), return_inverse=True)
    ranks = first_positive_ranks(torch.from_numpy(q), torch.from_numpy(codes[:len(q)]),
                                 torch.from_numpy(g), torch.from_numpy(codes[len(q):]),
                                 chunk_size)
    np.testing.assert_array_equal(ranks.numpy(), expected_ranks)


def test_the_random_data_needs_the_tie_rule():
    """The tied data is not trivial: breaking ties the other way changes the ranks and R@k."""
    for seed in range(4):
        q, q_labels, g, g_labels = tied_data(seed)
        right, right_ranks = brute_force(q, q_labels, g, g_labels, KS)
        wrong, wrong_ranks = brute_force(q, q_labels, g, g_labels, KS, reverse_ties=True)
        assert (right_ranks != wrong_ranks).sum() >= 5
        assert right != wrong


def test_k_past_the_gallery_and_absent_classes():
    q, q_labels, g, g_labels = tied_data(0)
    got = recall_at_k(q, q_labels, g, g_labels, ks=(len(g), len(g) + 1, 10 ** 6))
    present = np.isin(q_labels, g_labels)
    assert not present.all()
    assert set(got.values()) == {present.mean()}


def test_an_empty_gallery_never_hits():
    got = recall_at_k(np.ones((3, 4)), [0, 1, 2], np.zeros((0, 4)), np.zeros(0, dtype=int))
    assert got == {1: 0.0, 5: 0.0, 10: 0.0, 20: 0.0, 50: 0.0}


@pytest.mark.parametrize('size', [257, 1031])
def test_exact_duplicates_tie_in_a_large_product(size):
    """One vector repeated at spread-out positions (the last column included) in a gallery large
    enough for the matrix product to be tiled; its copies carry different labels."""
    rng = np.random.default_rng(size)
    g = rng.normal(size=(size, 67)).astype(np.float32)
    g_labels = rng.integers(0, 3, size)
    spots = np.r_[rng.choice(size - 1, 40, replace=False), size - 1]
    g[spots] = g[spots[0]]
    q = np.concatenate([g[spots[:10]] + 0.01 * rng.normal(size=(10, 67)).astype(np.float32),
                        rng.normal(size=(30, 67)).astype(np.float32)])
    q_labels = rng.integers(0, 3, len(q))
    ks = (1, 2, 5, 20, 40, 41, 50)
    expected, _ = brute_force(q, q_labels, g, g_labels, ks)
    assert recall_at_k(q, q_labels, g, g_labels, ks=ks, chunk_size=16) == expected


def test_input_types_agree():
    q, q_labels, g, g_labels = tied_data(1)
    expected = recall_at_k(q, q_labels, g, g_labels, ks=KS)
    as_tensors = recall_at_k(torch.from_numpy(q), torch.from_numpy(q_labels), torch.from_numpy(g),
                             torch.from_numpy(g_labels), ks=KS)
    as_strings = recall_at_k(q.astype(np.float64), [f'c{y}' for y in q_labels], g.tolist(),
                             [f'c{y}' for y in g_labels], ks=list(KS))
    in_float64 = recall_at_k(q, q_labels, g, g_labels, ks=KS, dtype=torch.float64)
    assert as_tensors == as_strings == in_float64 == expected


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a GPU')
def test_on_the_gpu():
    q, q_labels, g, g_labels = tied_data(2)
    got = recall_at_k(torch.from_numpy(q).cuda(), q_labels, g, g_labels, ks=KS)
    assert got == brute_force(q, q_labels, g, g_labels, KS)[0]


def test_keys_are_the_distinct_ks_in_order():
    got = recall_at_k(QUERIES, QUERY_LABELS, GALLERY, GALLERY_LABELS, ks=[10, np.int64(2), 2])
    assert list(got) == [2, 10] and all(type(k) is int for k in got)


@pytest.mark.parametrize('args, kwargs, message', [
    ((np.ones(4), [0], np.ones((2, 4)), [0, 1]), {}, 'query must be 2-D'),
    ((np.ones((1, 4)), [0], np.ones((2, 3)), [0, 1]), {}, 'differ in dimension'),
    ((np.ones((2, 4)), [0], np.ones((2, 4)), [0, 1]), {}, 'query_labels has 1 labels for 2'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [[0, 1]]), {}, 'gallery_labels must be 1-D'),
    ((np.ones((0, 4)), [], np.ones((2, 4)), [0, 1]), {}, 'at least one query'),
    ((np.full((1, 4), np.nan), [0], np.ones((2, 4)), [0, 1]), {}, 'non-finite'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [0, 1]), {'ks': (1, 0)}, 'positive integer'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [0, 1]), {'ks': 5}, 'sequence'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [0, 1]), {'ks': ()}, 'at least one k'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [0, 1]), {'chunk_size': 0}, 'chunk_size'),
    ((np.ones((1, 4)), [0], np.ones((2, 4)), [0, 1]), {'dtype': torch.int64}, 'floating'),
])
def test_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        recall_at_k(*args, **kwargs)


def test_large_gallery_in_float16_counts_without_the_float_shortcut():
    """float16 holds integers exactly only up to 2048, so a 2100-item gallery is counted with
    boolean sums instead. Five well-separated directions, each repeated ~420 times in random
    classes, keep float16 rounding away from the order."""
    rng = np.random.default_rng(5)
    base = np.eye(5, 16) * 4 + np.eye(5, 16, 5)
    g = base[rng.integers(0, 5, 2100)]
    g_labels = rng.integers(0, 12, 2100)
    q = base[rng.integers(0, 5, 40)] + 0.05 * rng.normal(size=(40, 16))
    q_labels = rng.integers(0, 13, 40)
    ks = (1, 3, 100, 420, 500, 2000, 2100)
    expected, _ = brute_force(q, q_labels, g, g_labels, ks)
    assert recall_at_k(q, q_labels, g, g_labels, ks=ks, dtype=torch.float16) == expected
