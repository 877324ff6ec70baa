"""harness.checks: config values mmengine would reject become one line."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from mmengine.config import Config

from harness.checks import check_config, config_problems
from harness.errors import ConfigError, HarnessError

REPO = Path(__file__).resolve().parent.parent
PRETRAIN = 'pretraining config'
EVAL = 'evaluation config'

def brave_config() -> Config:
    """The BraVe demo config as the harness merges it (runtime base, backbone, data)."""
    from harness.api import BackboneInfo, resolve_config
    from harness.pretrain import build_pretrain_config

    backbone = BackboneInfo('r3d18', '', 'video', {'type': 'harness.R3D18'}, 512,
                            imports=('harness_backbones.video',))
    return build_pretrain_config(resolve_config('harness_brave:configs/brave_demo.py'), backbone,
                                 data_root=Path('/data/ucf101'),
                                 ann_file=Path('/data/ucf101/train1.txt'), data_identity={},
                                 seed=0, launcher='none', cfg_options={})


def finetune_config() -> Config:
    """The UCF101 finetune demo config (mmaction2 scope) over the evaluation runtime, as the
    finetune protocol fills it in."""
    from harness.api import resolve_config
    from harness.config import EVAL_RUNTIME, load_config, merge_over

    cfg = merge_over(EVAL_RUNTIME, load_config(resolve_config(
        'harness_videoeval:configs/finetune_demo.py'), label='evaluation config'),
        label='evaluation runtime')
    cfg.model.backbone = dict(type='harness.R3D18', init_cfg=dict(
        type='harness.SSLPretrained', checkpoint='/work/pretrain/backbone.pth'))
    cfg.model.cls_head.num_classes = 5
    cfg.model.cls_head.in_channels = 512
    for loader in (cfg.train_dataloader, cfg.test_dataloader):
        loader.dataset.ann_file = '/data/lists/train1.txt'
        loader.dataset.data_prefix = dict(video='/data/ucf101')
    cfg.randomness = dict(seed=0, deterministic=False)
    cfg.launcher = 'none'
    cfg.custom_hooks = list(cfg.get('custom_hooks', [])) + [
        dict(type='harness.ProgressBarHook', desc='finetune')]
    return cfg


def error_of(cfg: Config, label: str, options: dict | None = None) -> str:
    if options:
        cfg.merge_from_dict(options)
    with pytest.raises(ConfigError) as caught:
        check_config(cfg, label)
    message = str(caught.value)
    assert '\n' not in message
    assert message.startswith(f'{label}: ')
    return message


# --- valid configs ------------------------------------------------------------------------

def test_valid_pretraining_config_passes():
    assert config_problems(brave_config()) == []
    check_config(brave_config(), PRETRAIN)


def test_valid_evaluation_config_passes():
    assert config_problems(finetune_config()) == []
    check_config(finetune_config(), EVAL)


def test_types_given_as_classes_are_accepted():
    import torch
    from harness_backbones.video import R3D18

    cfg = brave_config()
    cfg.model.backbone = dict(type=R3D18)
    cfg.optim_wrapper.optimizer.type = torch.optim.SGD
    cfg.optim_wrapper.optimizer.momentum = 0.9
    assert config_problems(cfg) == []


def test_types_of_another_scope_and_python_paths_resolve():
    cfg = brave_config()
    cfg.model.backbone.type = 'R3D18'  # unscoped: found in the default scope 'harness'
    cfg.optim_wrapper.optimizer.type = 'torch.optim.AdamW'  # a Python path
    cfg.train_dataloader.sampler.type = 'mmengine.DefaultSampler'
    assert config_problems(cfg) == []
    ft = finetune_config()
    ft.model.type = 'mmaction.Recognizer3D'
    ft.test_evaluator.type = 'mmaction.AccMetric'
    assert config_problems(ft) == []


def test_lazily_registered_mmaction_types_resolve_in_a_fresh_process():
    """mmaction2 registers its modules only when its registries are first searched."""
    code = ('import sys; sys.path.insert(0, sys.argv[1]); '
            'from tests.test_checks import finetune_config, EVAL; '
            'from harness.checks import check_config; '
            'assert "mmaction.models" not in sys.modules; '
            'check_config(finetune_config(), EVAL); print("ok")')
    result = subprocess.run([sys.executable, '-c', code, str(REPO)], capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip().endswith('ok')


# --- bad values: pretraining config (default scope 'harness') ------------------------------

PRETRAIN_CASES = [
    ({'train_dataloader.batch_size': 0},
     'train_dataloader.batch_size=0: must be a positive integer'),
    ({'train_dataloader.batch_size': 2.5},
     'train_dataloader.batch_size=2.5: must be a positive integer'),
    ({'train_dataloader.num_workers': -1},
     'train_dataloader.num_workers=-1: must be an integer >= 0'),
    ({'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': True},
     'train_dataloader.persistent_workers=True: needs worker processes: set '
     'train_dataloader.persistent_workers=False'),
    ({'train_cfg.max_iters': -5}, 'train_cfg.max_iters=-5: must be a positive integer'),
    ({'train_cfg.max_iters': 'many'}, "train_cfg.max_iters='many': must be a positive integer"),
    ({'train_cfg.max_epochs': 3},
     'train_cfg.max_epochs=3: is not an argument of IterBasedTrainLoop (its arguments: '
     'max_iters, val_begin, val_interval, dynamic_intervals)'),
    ({'train_cfg.type': 'IterBasedTrainLop'},
     "train_cfg.type='IterBasedTrainLop': must name a registered loop in scope 'harness' "
     "(closest: 'IterBasedTrainLoop'"),
    ({'optim_wrapper.optimizer.type': 'Adamm'},
     "optim_wrapper.optimizer.type='Adamm': must name a registered optimizer in scope "
     "'harness' (closest: 'Adam'"),
    ({'optim_wrapper.optimizer.lr': 'fast'},
     "optim_wrapper.optimizer.lr='fast': must be a number >= 0"),
    ({'optim_wrapper.optimizer.lr': -0.1},
     'optim_wrapper.optimizer.lr=-0.1: must be a number >= 0'),
    ({'optim_wrapper.optimizer.weight_decay': -1},
     'optim_wrapper.optimizer.weight_decay=-1: must be a number >= 0'),
    ({'optim_wrapper.optimizer.type': 'SGD', 'optim_wrapper.optimizer.momentum': -0.9},
     'optim_wrapper.optimizer.momentum=-0.9: must be a number >= 0'),
    ({'optim_wrapper.optimizer.lrr': 0.1},
     'optim_wrapper.optimizer.lrr=0.1: is not an argument of AdamW (its arguments: lr, betas'),
    ({'optim_wrapper.type': 'OptimWraper'},
     "optim_wrapper.type='OptimWraper': must name a registered optimizer wrapper in scope "
     "'harness' (closest: 'OptimWrapper'"),
    ({'model.type': 'Brave'},
     "model.type='Brave': must name a registered model in scope 'harness' (closest: 'BraVe'"),
    ({'model.backbone.type': 'harness.R3D19'},
     "model.backbone.type='harness.R3D19': must name a registered model (closest: "
     "'harness.R3D18'"),
    ({'train_dataloader.dataset.type': 'VideoListDatset'},
     "train_dataloader.dataset.type='VideoListDatset': must name a registered dataset in "
     "scope 'harness' (closest: 'VideoListDataset'"),
    ({'train_dataloader.dataset.pipeline.0.type': 'SampleView'},
     "train_dataloader.dataset.pipeline.0.type='SampleView': must name a registered "
     "transform in scope 'harness' (closest: 'SampleViews'"),
    ({'train_dataloader.sampler.type': 'DefaultSamplr'},
     "train_dataloader.sampler.type='DefaultSamplr': must name a registered data sampler in "
     "scope 'harness' (closest: 'DefaultSampler'"),
    ({'train_dataloader.collate_fn': dict(type='default_colate')},
     "train_dataloader.collate_fn.type='default_colate': must name a registered function "
     "in scope 'mmengine' (closest: 'default_collate'"),
    ({'param_scheduler.0.type': 'LinerLR'},
     "param_scheduler.0.type='LinerLR': must name a registered parameter scheduler in scope "
     "'harness' (closest: 'LinearLR'"),
    ({'param_scheduler.1.T_max': 0}, 'param_scheduler.1.T_max=0: must be a positive number'),
    ({'param_scheduler.0.begin': 5, 'param_scheduler.0.end': 5},
     'param_scheduler.0.end=5: must be larger than begin (5)'),
    ({'default_hooks.logger.type': 'LogerHook'},
     "default_hooks.logger.type='LogerHook': must name a registered hook in scope 'harness' "
     "(closest: 'LoggerHook'"),
    ({'custom_hooks.0.type': 'ProgresBarHook'},
     "custom_hooks.0.type='ProgresBarHook': must name a registered hook in scope 'harness' "
     "(closest: 'ProgressBarHook'"),
    ({'default_scope': 'harnes'},
     "default_scope='harnes': must be a registry scope: "),
    ({'launcher': 'torchrun'}, "launcher='torchrun': must be one of none, pytorch, slurm, mpi"),
    ({'train_cfg': dict(type='EpochBasedTrainLoop', max_epochs=2)},
     "train_dataloader.sampler.type='SeededInfiniteSampler': never ends an epoch, so an "
     "epoch-based train loop would not stop"),
    ({'train_cfg': dict(type='EpochBasedTrainLoop', max_epochs=2),
      'train_dataloader.sampler.type': 'InfiniteSampler'},
     "train_dataloader.sampler.type='InfiniteSampler': never ends an epoch"),
    # RepeatDataset takes plain indices only
    ({'train_dataloader.dataset': dict(type='RepeatDataset', times=2, dataset=dict(
        type='VideoListDataset', data_root='', ann_file=''))},
     "train_dataloader.sampler.type='SeededInfiniteSampler': needs a dataset that prepares "
     "items under their own seed (harness.data.seeding.SeededItems, as VideoListDataset and "
     "ImageListDataset do); RepeatDataset does not: use InfiniteSampler with it"),
    ({'log_level': 'LOUD'}, "log_level='LOUD': must be one of DEBUG, INFO, WARNING, ERROR"),
    ({'train_cfg': 5}, 'train_cfg=5: must be a dict or None (mmengine builds train_cfg from a '
                       'dict)'),
    ({'param_scheduler': 'cosine'},
     "param_scheduler='cosine': must be a list of dicts (or one dict), or None"),
    # the cosine scheduler (begin 5) sets no end: it ends with the loop, at max_iters
    ({'train_cfg.max_iters': 4},
     "param_scheduler.1.begin=5: must be smaller than the scheduler's end, which is "
     "train_cfg.max_iters (4) as it sets no end: set param_scheduler.1.end, or a longer "
     "schedule"),
    ({'param_scheduler.1.by_epoch': True},  # by epochs, an iteration loop has one epoch
     "param_scheduler.1.begin=5: must be smaller than the scheduler's end, which is the "
     "iteration loop's one epoch (1) as it sets no end"),
    ({'randomness.seed': 'abc'},
     "randomness.seed='abc': must be an integer in [0, 4294967295] (numpy takes no other "
     "seed)"),
    ({'randomness.seed': 2 ** 32}, 'randomness.seed=4294967296: must be an integer in [0, '
                                   '4294967295]'),
    ({'randomness.seed': -1}, 'randomness.seed=-1: must be an integer in [0, 4294967295]'),
    ({'randomness.deterministic': 'yes'}, "randomness.deterministic='yes': must be True or "
                                          "False"),
]


@pytest.mark.parametrize('options, expected', PRETRAIN_CASES,
                         ids=[next(iter(o)) for o, _ in PRETRAIN_CASES])
def test_bad_pretraining_values_are_one_line(options, expected):
    message = error_of(brave_config(), PRETRAIN, options)
    assert f'{PRETRAIN}: {expected}' in message


def test_unknown_module_in_custom_imports():
    cfg = brave_config()
    cfg.custom_imports.imports.append('harness_bravee.model')
    index = len(cfg.custom_imports.imports) - 1
    message = error_of(cfg, PRETRAIN)
    assert (f"custom_imports.imports.{index}='harness_bravee.model': no module "
            f"'harness_bravee' is installed") in message


def test_unknown_scope_prefix_names_the_installed_scopes():
    message = error_of(brave_config(), PRETRAIN, {'model.backbone.type': 'mmcls.ResNet'})
    assert ("model.backbone.type='mmcls.ResNet': must name a registered model; there is no "
            "registry scope 'mmcls' (pip install mmcls provides it); scopes here: ") in message
    assert 'harness' in message.rsplit('scopes here: ', 1)[1]


def test_missing_type_is_named():
    cfg = brave_config()
    del cfg.default_hooks.logger['type']
    message = error_of(cfg, PRETRAIN)
    assert 'default_hooks.logger.type: missing; a hook config needs a type' in message


def test_parts_that_go_together():
    message = error_of(brave_config(), PRETRAIN, {'optim_wrapper': None})
    assert ('optim_wrapper: missing; train_dataloader, train_cfg, optim_wrapper go together: '
            'train_dataloader, train_cfg are set') in message


def test_several_problems_in_one_line():
    cfg = brave_config()
    cfg.merge_from_dict({'train_dataloader.batch_size': 0, 'train_cfg.max_iters': 0,
                         'optim_wrapper.optimizer.lr': -1, 'model.type': 'Brave'})
    with pytest.raises(ConfigError) as caught:
        check_config(cfg, PRETRAIN)
    message = str(caught.value)
    assert '\n' not in message
    assert message.count('; ') >= 3 and message.endswith('; and 1 more')
    assert len(caught.value.problems) == 4


# --- bad values: evaluation config (default scope 'mmaction') -------------------------------

EVAL_CASES = [
    ({'test_dataloader.batch_size': 0}, 'test_dataloader.batch_size=0: must be a positive integer'),
    ({'test_dataloader.num_workers': -2},
     'test_dataloader.num_workers=-2: must be an integer >= 0'),
    ({'train_cfg.max_epochs': 0}, 'train_cfg.max_epochs=0: must be a positive integer'),
    ({'train_cfg.val_interval': -1}, 'train_cfg.val_interval=-1: must be a positive integer'),
    ({'model.type': 'Recognizer3d'},
     "model.type='Recognizer3d': must name a registered model in scope 'mmaction' (closest: "
     "'Recognizer3D'"),
    ({'model.cls_head.type': 'I3DHed'},
     "model.cls_head.type='I3DHed': must name a registered model in scope 'mmaction' "
     "(closest: 'I3DHead'"),
    ({'model.data_preprocessor.type': 'ActionDataPreprocesor'},
     "model.data_preprocessor.type='ActionDataPreprocesor': must name a registered model in "
     "scope 'mmaction' (closest: 'ActionDataPreprocessor'"),
    ({'model.backbone.init_cfg.type': 'harness.SSLPretraind'},
     "model.backbone.init_cfg.type='harness.SSLPretraind': must name a registered weight "
     "initializer (closest: 'harness.SSLPretrained'"),
    ({'train_dataloader.dataset.pipeline.1.type': 'SampleFrame'},
     "train_dataloader.dataset.pipeline.1.type='SampleFrame': must name a registered "
     "transform in scope 'mmaction' (closest: 'SampleFrames'"),
    ({'test_evaluator.type': 'AccMetrc'},
     "test_evaluator.type='AccMetrc': must name a registered metric in scope 'mmaction' "
     "(closest: 'AccMetric'"),
    ({'test_cfg.type': 'TestLop'},
     "test_cfg.type='TestLop': must name a registered loop in scope 'mmaction' (closest: "
     "'TestLoop'"),
    ({'param_scheduler.0.type': 'CosineAnealingLR'},
     "param_scheduler.0.type='CosineAnealingLR': must name a registered parameter scheduler "
     "in scope 'mmaction' (closest: 'CosineAnnealingLR'"),
    ({'default_hooks.checkpoint.type': 'CheckpointHok'},
     "default_hooks.checkpoint.type='CheckpointHok': must name a registered hook in scope "
     "'mmaction' (closest: 'CheckpointHook'"),
    ({'optim_wrapper.optimizer.type': 'torch.optim.AdamWW'},
     "optim_wrapper.optimizer.type='torch.optim.AdamWW': must name a registered optimizer "
     "(closest: 'torch.optim.AdamW'"),
    ({'model.backbone': dict(type='timm.resnet5')},
     "model.backbone.type='timm.resnet5': must name a timm model (timm.NAME); closest: "
     "'timm.resnet50'"),
]


@pytest.mark.parametrize('options, expected', EVAL_CASES,
                         ids=[next(iter(o)) for o, _ in EVAL_CASES])
def test_bad_evaluation_values_are_one_line(options, expected):
    message = error_of(finetune_config(), EVAL, options)
    assert f'{EVAL}: {expected}' in message


def test_nested_datasets_are_checked():
    cfg = finetune_config()
    child = cfg.train_dataloader.dataset.to_dict()
    child['type'] = 'VideoDatast'
    cfg.train_dataloader.dataset = dict(type='RepeatDataset', times=2, dataset=dict(
        type='ConcatDataset', datasets=[cfg.test_dataloader.dataset.to_dict(), child]))
    message = error_of(cfg, EVAL)
    assert ("train_dataloader.dataset.dataset.datasets.1.type='VideoDatast': must name a "
            "registered dataset in scope 'mmaction' (closest: 'VideoDataset'") in message


def test_nested_transforms_are_checked():
    cfg = finetune_config()
    cfg.train_dataloader.dataset.pipeline.insert(4, dict(type='RandomChoice', transforms=[
        [dict(type='Flip', flip_ratio=0.5)], [dict(type='Flipp')]]))
    message = error_of(cfg, EVAL)
    assert ("train_dataloader.dataset.pipeline.4.transforms.1.0.type='Flipp': must name a "
            "registered transform in scope 'mmaction' (closest: 'Flip'") in message


def test_enclosing_scope_applies_to_nested_parts():
    """A part built with ``_scope_='harness'`` builds what it holds in scope harness."""
    cfg = finetune_config()
    cfg.model.backbone = dict(type='R3D18', init_cfg=dict(type='SSLPretrained', checkpoint='x'))
    assert [p.split(':')[0] for p in config_problems(cfg)] == [
        "model.backbone.type='R3D18'", "model.backbone.init_cfg.type='SSLPretrained'"]
    cfg.model.backbone._scope_ = 'harness'
    assert config_problems(cfg) == []


def test_private_nested_types_are_left_to_the_model():
    """Dicts the model reads itself (mmaction2's TSN consensus) are not registry names."""
    cfg = finetune_config()
    cfg.model.cls_head.consensus = dict(type='AvgConsensus', dim=1)
    assert config_problems(cfg) == []


def test_errors_are_harness_errors():
    assert issubclass(ConfigError, HarnessError) and ConfigError.exit_code == 2


def test_a_scheduler_ending_with_a_long_enough_loop_passes():
    cfg = brave_config()
    cfg.merge_from_dict({'train_cfg.max_iters': 6})
    assert config_problems(cfg) == []


# --- the model, built once --------------------------------------------------------------------

def test_a_model_its_constructor_rejects_is_one_line():
    from harness.checks import check_model_builds

    cfg = brave_config()
    check_model_builds(cfg, PRETRAIN)  # the shipped values build
    cfg.merge_from_dict({'model.hidden_dim': -3})
    check_config(cfg, PRETRAIN)  # a number is a number: only the constructor refuses it
    with pytest.raises(ConfigError, match=re.escape(
            "pretraining config: model='BraVe': the model cannot be built from it: "
            'RuntimeError: Trying to create tensor with negative dimension -3')):
        check_model_builds(cfg, PRETRAIN)


def test_a_model_is_built_without_memory_and_without_its_weights():
    """On the meta device: no checkpoint is read (the SSL weights do not exist yet)."""
    from harness.checks import check_model_builds

    cfg = finetune_config()  # its backbone's init_cfg names /work/pretrain/backbone.pth
    check_model_builds(cfg, EVAL)
    cfg.merge_from_dict({'model.cls_head.dropout_ratio': 2.0})
    with pytest.raises(ConfigError, match=re.escape(
            "evaluation config: model='Recognizer3D': the model cannot be built from it: "
            'ValueError: dropout probability has to be between 0 and 1, but got 2.0')):
        check_model_builds(cfg, EVAL)


def test_a_model_is_built_in_its_configs_scope_whatever_scope_is_current():
    """As the Runner builds it: a harness model with no default_scope in its config builds in
    the harness's scope, and an mmdet scope an earlier build left current does not hide it."""
    from mmengine.registry import DefaultScope

    from harness.checks import check_model_builds

    cfg = brave_config()
    cfg.pop('default_scope', None)
    with DefaultScope.overwrite_default_scope('mmdet'):
        assert check_model_builds(cfg, PRETRAIN) > 0
        assert DefaultScope.get_current_instance().scope_name == 'mmdet'  # left as it was


# --- keys a caller declares (an evaluation protocol's own keys) ------------------------------

def _declared():
    from harness.checks import (boolean, integer, integer_list, number, one_of, registered,
                                transform_list)

    return [
        (integer(1), -1, 'must be a positive integer'),
        (integer(1), 'abc', 'must be a positive integer'),
        (integer(1), True, 'must be a positive integer'),
        (integer(0), 1.5, 'must be an integer >= 0'),
        (integer(0, 10), 11, 'must be an integer in [0, 10]'),
        (number(above=0), 0, 'must be a number > 0'),
        (number(above=0), float('inf'), 'must be a number > 0'),
        (number(at_least=0, below=1), 1.0, 'must be a number >= 0 and < 1'),
        (boolean(), 'yes', 'must be True or False'),
        (one_of('logistic', 'svm'), 'rbf', "must be one of 'logistic', 'svm'"),
        (one_of(8, 16), 8.0, 'must be one of 8, 16'),
        (integer_list(1), [1, 0], 'must be a non-empty list of positive integers'),
        (integer_list(1), [], 'must be a non-empty list of positive integers'),
        (integer_list(1), 5, 'must be a non-empty list of positive integers'),
        (transform_list(), [dict(type='mmcv.Resise')],
         "must name a registered transform (closest: 'mmcv.Resize'"),
        (transform_list(), 'resize', 'must be a non-empty list of transform configs'),
        (registered('model'), dict(type='ImgDataPreprocesor'),
         "must name a registered model in scope 'mmengine' (closest: 'ImgDataPreprocessor'"),
    ]


@pytest.mark.parametrize('index', range(len(_declared())))
def test_a_value_a_declared_key_does_not_allow_is_one_line(index):
    rule, value, allowed = _declared()[index]
    cfg = Config(dict(probe=dict(value=value, other=1)))
    assert config_problems(cfg) == []
    with pytest.raises(ConfigError) as caught:
        check_config(cfg, EVAL, keys={'probe.value': rule})
    message = str(caught.value)
    assert message.startswith(f'{EVAL}: probe.value') and '\n' not in message
    assert allowed in message, message


def test_allowed_absent_and_optional_declared_keys_pass():
    from harness.checks import integer, integer_list, number, one_of

    cfg = Config(dict(knn=dict(k=20, temperature=0.07), ks=(1, 5), kind='svm', gap=None))
    check_config(cfg, EVAL, keys={
        'knn.k': integer(1), 'knn.temperature': number(above=0), 'ks': integer_list(1),
        'kind': one_of('logistic', 'svm'), 'gap': integer(0, optional=True),
        'absent': integer(1, required=False)})
    with pytest.raises(ConfigError, match=re.escape(
            f'{EVAL}: knn.k: missing; must be a positive integer; gap=None: must be an integer '
            '>= 0')):
        check_config(Config(dict(gap=None)), EVAL,
                     keys={'knn.k': integer(1), 'gap': integer(0)})
