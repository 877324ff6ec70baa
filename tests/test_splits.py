"""--split and --seeds: one split, 'all', protocols defined on some splits only; combining the
results of several splits and seeds."""
from __future__ import annotations

import pytest

from harness.api import EvalResult, ProtocolInfo
from harness.errors import HarnessError
from harness.run.plan import resolve_splits
from harness.run.record import combine_runs

SPLITS = ('1', '2', '3')
FINETUNE = ProtocolInfo('finetune', '1', 'all splits')
RETRIEVAL = ProtocolInfo('retrieval', '1', 'split 1 only', splits=('1',))


def test_one_split_or_all():
    assert resolve_splits('ucf101', SPLITS, FINETUNE, '2') == ('2',)
    assert resolve_splits('ucf101', SPLITS, FINETUNE, 'all') == ('1', '2', '3')
    assert resolve_splits('ucf101', SPLITS, RETRIEVAL, 'all') == ('1',)


def test_bad_splits_are_one_line_errors():
    with pytest.raises(HarnessError, match="no split '4'; its splits: 1, 2, 3 or all"):
        resolve_splits('ucf101', SPLITS, FINETUNE, '4')
    with pytest.raises(HarnessError, match="'retrieval' of 'ucf101' is defined on split 1 only"):
        resolve_splits('ucf101', SPLITS, RETRIEVAL, '2')


def result(split: str, top1: float, top5: float) -> EvalResult:
    return EvalResult(metrics={'top1': top1, 'top5': top5},
                      higher_is_better={'top1': True, 'top5': True}, splits=[split], clips=3,
                      crops=1, config_sha256='a' * 64, units={'top1': '%', 'top5': '%'})


def test_combined_splits_hold_mean_sample_std_and_every_value():
    combined = combine_runs({(0, '1'): result('1', 70.0, 90.0), (0, '2'): result('2', 80.0, 90.0),
                             (0, '3'): result('3', 90.0, 93.0)})
    assert combined.splits == ['1', '2', '3']
    assert combined.metrics == {'top1': 80.0, 'top5': 91.0}
    assert combined.std == {'top1': 10.0, 'top5': pytest.approx(1.73)}
    assert combined.per_split['top1'] == {'1': 70.0, '2': 80.0, '3': 90.0}
    assert combined.per_seed == {}


def test_one_run_is_returned_as_it_is():
    single = result('2', 70.0, 90.0)
    assert combine_runs({(0, '2'): single}) is single


def test_several_seeds_give_the_mean_and_std_over_seeds_of_each_seeds_split_mean():
    runs = {(0, '1'): result('1', 70.0, 90.0), (0, '2'): result('2', 80.0, 90.0),
            (1, '1'): result('1', 60.0, 80.0), (1, '2'): result('2', 60.0, 90.0),
            (2, '1'): result('1', 65.0, 85.0), (2, '2'): result('2', 65.0, 85.0)}
    combined = combine_runs(runs)
    assert combined.per_seed['top1'] == {'0': 75.0, '1': 60.0, '2': 65.0}
    assert combined.metrics['top1'] == 66.67  # mean of 75, 60, 65
    assert combined.std['top1'] == 7.64  # sample std over the three seeds
    assert combined.per_split['top1'] == {'1': 65.0, '2': 68.33}  # mean over the seeds
    assert combined.splits == ['1', '2']
