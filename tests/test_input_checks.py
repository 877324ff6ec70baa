"""Every input checked before training: a value a protocol, mmengine or a model's constructor
would reject is one line and exit code 2 during planning, before any pretraining or
evaluation step (nothing is written under the work dir's pretrain/, features/ or eval/)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import ConfigError
from harness.evaluate import protocol_for

from tests.test_shipped_configs import PROTOCOLS, SMOKE_DATA, eval_request, smoke_dataset

EVAL = 'evaluation config'


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    return err.strip()


def checked(request, tmp_path, evaluator: str, protocol: str, options: dict,
            config: str = 'demo') -> None:
    """Prepare and check the protocol's ``config`` with ``options`` as the planner does."""
    e, p, name = next(x for x in PROTOCOLS
                      if (x[0].name, x[1].name, x[2]) == (evaluator, protocol, config))
    data_root = request.getfixturevalue(SMOKE_DATA[smoke_dataset(e)])
    eval_req = eval_request(e, p, name, data_root, tmp_path, cfg_options=options)
    implementation = protocol_for(p)
    implementation.check(implementation.prepare(eval_req))


# --- every protocol's own keys -----------------------------------------------------------------

PROTOCOL_CASES = [
    ('imagenet', 'knn', {'knn.k': 'abc'}, "knn.k='abc': must be a positive integer"),
    ('imagenet', 'knn', {'knn.k': -1}, 'knn.k=-1: must be a positive integer'),
    ('imagenet', 'knn', {'knn.temperature': 0}, 'knn.temperature=0: must be a number > 0'),
    ('imagenet', 'knn', {'feature_loader.batch_size': -1},
     'feature_loader.batch_size=-1: must be a positive integer'),
    ('imagenet', 'knn', {'feature_loader.num_workers': -1},
     'feature_loader.num_workers=-1: must be an integer >= 0'),
    ('imagenet', 'knn', {'feature_pipeline.1.type': 'mmcv.Resise'},
     "feature_pipeline.1.type='mmcv.Resise': must name a registered transform (closest: "
     "'mmcv.Resize'"),
    ('imagenet', 'linear', {'model.head.init': 'xavier'},
     "model.head.init='xavier': must be one of 'normal', 'trunc_normal'"),
    ('imagenet', 'linear', {'model.head.std': 0}, 'model.head.std=0: must be a number > 0'),
    ('imagenet', 'linear', {'feature_loader.batch_size': 0},
     'test_dataloader.batch_size=0: must be a positive integer'),
    ('imagenet', 'linear', {'data_preprocessor.bgr_to_rgb': False},
     "model='LinearProbe': the model cannot be built from it: ValueError: the linear probe "
     'trains on views normalised as RGB'),
    ('ucf101', 'finetune', {'model.cls_head.dropout_ratio': 2.0},
     "model='Recognizer3D': the model cannot be built from it: ValueError: dropout "
     'probability has to be between 0 and 1, but got 2.0'),
    ('ucf101', 'linear', {'classifier.C': 0}, 'classifier.C=0: must be a number > 0'),
    ('ucf101', 'linear', {'classifier.max_iter': 'many'},
     "classifier.max_iter='many': must be a positive integer"),
    ('ucf101', 'svm', {'classifier.type': 'rbf'},
     "classifier.type='rbf': must be one of 'logistic', 'svm'"),
    ('ucf101', 'retrieval', {'ks': [1, 0]},
     'ks=[1, 0]: must be a non-empty list of positive integers'),
    ('ucf101', 'retrieval', {'feature_loader.batch_size': 0},
     'feature_loader.batch_size=0: must be a positive integer'),
    ('temporal', 'order', {'min_gap': -1}, 'min_gap=-1: must be an integer >= 0'),
    ('temporal', 'order', {'clip_len': 0}, 'clip_len=0: must be a positive integer'),
    ('temporal', 'sync', {'pairs_per_video': 0}, 'pairs_per_video=0: must be a positive integer'),
    ('temporal', 'sync', {'classifier.C': -1}, 'classifier.C=-1: must be a number > 0'),
    ('temporal', 'motion', {'motion_clips': 0}, 'motion_clips=0: must be a positive integer'),
    ('nyuv2', 'normals', {'model.head.dropout': 1.5},
     'model.head.dropout=1.5: must be a number >= 0 and < 1'),
    ('nyuv2', 'normals', {'+model.head.nosuch': 1},  # built with a stand-in codebook
     "model='DenseProbe': the model cannot be built from it: TypeError: "),
    ('nyuv2', 'depth', {'model.output_stride': 4}, 'model.output_stride=4: must be one of 8, 16'),
    ('voc07', 'finetune', {'model.rpn_head.anchor_generator.ratios': 'abc'},
     "model='FasterRCNN': the model cannot be built from it: TypeError: "),
]


@pytest.mark.parametrize('evaluator,protocol,options,expected', PROTOCOL_CASES,
                         ids=[f'{e}-{p}-{next(iter(o))}' for e, p, o, _ in PROTOCOL_CASES])
def test_a_value_a_protocol_rejects_is_one_line_when_planned(request, tmp_path, evaluator,
                                                             protocol, options, expected):
    with pytest.raises(ConfigError) as caught:
        checked(request, tmp_path, evaluator, protocol, options)
    message = str(caught.value)
    assert message.startswith(f'{EVAL}: {expected}'), message
    assert '\n' not in message


def test_every_shipped_protocol_config_passes_its_checks(request, tmp_path):
    """No false alarm: each protocol config (demo and paper) is prepared and checked, its model
    built, on demo data."""
    for evaluator, protocol, name in PROTOCOLS:
        checked(request, tmp_path / f'{evaluator.name}-{protocol.name}-{name}', evaluator.name,
                protocol.name, {}, name)


# --- from the command line ---------------------------------------------------------------------

def run(work: Path, data: Path, *args: str) -> list[str]:
    return ['run', '--data', str(data), '--work-dir', str(work), '--records-dir',
            str(work / 'records'), *args]


@pytest.mark.parametrize('option,expected', [
    ('eval.knn.k=abc', "knn.k='abc': must be a positive integer"),
    ('eval.feature_loader.batch_size=-1', 'feature_loader.batch_size=-1: must be a positive '
                                          'integer'),
])
def test_a_bad_evaluation_value_stops_the_run_before_any_feature_is_extracted(
        small_image_demo, tmp_path, capsys, option, expected):
    args = run(tmp_path, small_image_demo, '--method', 'random', '--eval', 'imagenet',
               '--protocol', 'knn', '--cfg-options', option)
    assert main(args) == 2
    assert error_line(capsys) == f'harness: error: {EVAL}: {expected}'
    assert not (tmp_path / 'features').exists() and not (tmp_path / 'eval').exists()
    assert not (tmp_path / 'records').exists()


@pytest.mark.parametrize('option,expected', [
    ('train_cfg=5', 'train_cfg=5: must be a dict or None (mmengine builds train_cfg from a '
                    'dict)'),
    ('train_cfg.max_iters=1', "param_scheduler.1.begin=5: must be smaller than the "
                              "scheduler's end, which is train_cfg.max_iters (1)"),
    ('randomness.seed=abc', "randomness.seed='abc': must be an integer in [0, 4294967295]"),
    ('model.hidden_dim=-3', "model='BraVe': the model cannot be built from it: RuntimeError: "
                            'Trying to create tensor with negative dimension -3'),
])
def test_a_bad_pretraining_value_stops_the_run_before_any_step(small_demo, tmp_path, capsys,
                                                               option, expected):
    args = run(tmp_path, small_demo, '--method', 'brave', '--eval', 'ucf101', '--protocol',
               'linear', '--pretrain-data', 'ucf101', '--cfg-options', option)
    assert main(args) == 2
    assert error_line(capsys).startswith(f'harness: error: pretraining config: {expected}')
    assert not (tmp_path / 'pretrain').exists() and not (tmp_path / 'records').exists()


@pytest.mark.parametrize('args,expected', [
    (['--seeds', '0,-1'], 'argument --seeds: -1: must be an integer in [0, 4294967295]'),
    (['--seed', '4294967296'], 'argument --seed: 4294967296: must be an integer in [0, '
                               '4294967295]'),
    (['--seed', 'x'], "argument --seed: 'x' is not an integer"),
])
def test_seeds_numpy_refuses_are_one_line(tmp_path, capsys, args, expected):
    assert main(['run', '--method', 'brave', '--eval', 'ucf101', '--work-dir', str(tmp_path),
                 '--dry-run', *args]) == 2
    assert expected in error_line(capsys)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow  # a fresh process: ~15 s
def test_the_command_exits_2_with_one_line(harness_cli, small_image_demo, tmp_path):
    result = harness_cli(*run(tmp_path, small_image_demo, '--method', 'random', '--eval',
                              'imagenet', '--protocol', 'knn', '--cfg-options',
                              'eval.knn.temperature=0'))
    assert result.returncode == 2
    assert result.stderr == f'harness: error: {EVAL}: knn.temperature=0: must be a number > 0\n'
    assert not (tmp_path / 'features').exists()
