"""The finetune protocol's scores and views."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from harness_videoeval.finetune import Finetune, views_of


def request_with(classes: int):
    split = SimpleNamespace(classes=[f'c{i}' for i in range(classes)])
    return SimpleNamespace(read_split=lambda: split)


@pytest.mark.parametrize('classes,expected', [(5, {'top1': 50.0}),
                                              (101, {'top1': 50.0, 'top5': 87.5})])
def test_top5_is_reported_only_with_more_than_five_classes(classes, expected):
    metrics = {'acc/top1': 0.5, 'acc/top5': 0.875 if classes > 5 else 1.0}
    assert Finetune().scores(metrics, request_with(classes), cfg=None) == expected


def test_views_count_the_clips_and_crops_of_the_test_pipeline():
    pipeline = [dict(type='DecordInit'), dict(type='SampleFrames', num_clips=10),
                dict(type='mmaction.ThreeCrop'), dict(type='PackActionInputs')]
    assert views_of(pipeline) == (10, 3)
    assert views_of([dict(type='UniformSampleFrames')]) == (1, 1)
