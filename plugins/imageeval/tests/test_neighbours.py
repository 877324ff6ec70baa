"""The streaming cosine top-k: against a float64 reference, whatever the chunk sizes, read a
chunk at a time."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn import functional as F

from harness_imageeval.neighbours import cosine_topk


def reference(queries, bank, k):
    """float64 full similarity matrix and top-k."""
    sims = F.normalize(torch.as_tensor(queries).double(), dim=1) \
        @ F.normalize(torch.as_tensor(bank).double(), dim=1).T
    return sims.topk(k, dim=1)


def random_features(rows, dim=24, seed=0):
    return torch.randn(rows, dim, generator=torch.Generator().manual_seed(seed)) * 3 + 1


@pytest.mark.parametrize('k,query_chunk,bank_chunk,per_pass', [
    (20, 1024, 16384, 65536), (5, 7, 11, 13), (30, 4, 3, 9), (1, 1, 1, 1), (97, 50, 40, 100)])
def test_equals_a_float64_reference(k, query_chunk, bank_chunk, per_pass):
    queries, bank = random_features(33, seed=1), random_features(97, seed=2)
    sims, index = cosine_topk(queries, bank, k, device='cpu', query_chunk=query_chunk,
                              bank_chunk=bank_chunk, queries_per_pass=per_pass)
    want_sims, want_index = reference(queries, bank, k)
    assert sims.dtype == torch.float32 and index.dtype == torch.int64
    assert torch.equal(index, want_index)  # random floats: no ties
    assert torch.allclose(sims.double(), want_sims, atol=1e-6)


def test_reads_the_bank_a_chunk_at_a_time_from_a_memory_map(tmp_path):
    """A memory-mapped bank is read in slices of at most bank_chunk rows (never whole), the
    queries in passes of at most queries_per_pass rows."""
    bank = random_features(200, seed=3).numpy()
    mapped = np.memmap(tmp_path / 'bank.f32', dtype=np.float32, mode='w+', shape=bank.shape)
    mapped[:] = bank
    reads = {'bank': [], 'queries': []}

    class Recorded:
        def __init__(self, array, name):
            self.array, self.name = array, name

        def __len__(self):
            return len(self.array)

        def __getitem__(self, rows):
            part = self.array[rows]
            reads[self.name].append(len(part))
            return part

    queries = random_features(40, seed=4)
    sims, index = cosine_topk(Recorded(queries, 'queries'), Recorded(mapped, 'bank'), 10,
                              device='cpu', query_chunk=8, bank_chunk=32, queries_per_pass=16)
    assert max(reads['bank']) <= 32 and sum(reads['bank']) == 3 * 200  # once per pass
    assert reads['queries'] == [16, 16, 8]
    assert torch.equal(index, reference(queries, bank, 10)[1])


def test_half_precision_and_zero_rows():
    """Any float dtype is compared in float32; an all-zero row is 0-similar to everything."""
    queries, bank = random_features(5, seed=5), random_features(9, seed=6)
    bank[3] = 0
    sims, index = cosine_topk(queries.half(), bank.half(), 9, device='cpu', bank_chunk=4)
    assert sims.dtype == torch.float32
    assert torch.equal(index, reference(queries.half(), bank.half(), 9)[1])
    assert torch.equal(sims[index == 3], torch.zeros(5))


def test_rejects_k_beyond_the_bank():
    with pytest.raises(ValueError, match='k must be between 1 and the bank size 3'):
        cosine_topk(torch.ones(2, 2), torch.ones(3, 2), 4)
