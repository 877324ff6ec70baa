"""harness.config: strict --cfg-options, the machine-independent config hash, summaries."""
from __future__ import annotations

import pytest
from mmengine.config import Config

from harness.config import (apply_cfg_options, config_sha256, load_pretrain_config, precision,
                            split_cfg_options, summarize, use_amp)
from harness.errors import ConfigError


def sample() -> Config:
    return Config(dict(
        model=dict(type='M', head=dict(dropout=0.0)),
        train_dataloader=dict(batch_size=8, dataset=dict(
            data_root='/home/a/data/ucf101', ann_file='/home/a/work/lists/train_abc.txt',
            pipeline=[dict(type='DecordInit'), dict(type='SampleFrames', clip_len=8),
                      dict(type='Resize', scale=(-1, 40)), dict(type='PackActionInputs')])),
        train_cfg=dict(type='IterBasedTrainLoop', max_iters=60),
        optim_wrapper=dict(optimizer=dict(type='AdamW', lr=1e-4)),
        work_dir='/home/a/work'))


def test_existing_keys_are_merged_including_list_items():
    cfg = apply_cfg_options(sample(), {'model.head.dropout': 0.5,
                                       'train_dataloader.dataset.pipeline.1.clip_len': 16},
                            label='pretraining config')
    assert cfg.model.head.dropout == 0.5
    assert cfg.train_dataloader.dataset.pipeline[1].clip_len == 16


@pytest.mark.parametrize('key,hint', [('model.head.dropuot', 'model.head.dropout'),
                                      ('clip_len', None),
                                      ('train_dataloader.dataset.pipeline.9.clip_len', None)])
def test_a_key_the_config_lacks_is_a_one_line_error(key, hint):
    with pytest.raises(ConfigError) as err:
        apply_cfg_options(sample(), {key: 1}, label='pretraining config', prefix='')
    message = str(err.value)
    assert '\n' not in message and f'--cfg-options {key}: the pretraining config has no such' \
        in message and f'+{key}=' in message
    if hint:
        assert f'did you mean {hint}' in message


def test_the_same_options_apply_the_same_way_to_every_config_of_a_run():
    """A run applies its --cfg-options to each job's config: a dict value with _delete_
    replaces the key every time (mmengine's merge consumes _delete_ from what it merges)."""
    from mmengine.config import ConfigDict

    options = {'model.head': ConfigDict(_delete_=True, type='Other')}  # as a config gives it
    first, second = (apply_cfg_options(sample(), options, label='pretraining config')
                     for _ in range(2))
    assert first.model.head == second.model.head == dict(type='Other')
    assert options == {'model.head': dict(_delete_=True, type='Other')}


def test_a_key_marked_new_is_added():
    cfg = apply_cfg_options(sample(), {'+model.extra': 3}, label='pretraining config')
    assert cfg.model.extra == 3


def test_options_are_routed_by_prefix_and_keep_the_new_mark():
    assert split_cfg_options({'a.b': 1, 'eval.c': 2, '+eval.d': 3, '+e': 4}) == (
        {'a.b': 1, '+e': 4}, {'c': 2, '+d': 3})


def test_hash_ignores_where_files_lie_but_not_what_the_config_says():
    here = sample()
    elsewhere = sample()
    elsewhere.train_dataloader.dataset.data_root = '/mnt/other/ucf101'
    elsewhere.train_dataloader.dataset.ann_file = '/scratch/w/lists/train_abc.txt'
    elsewhere.work_dir = '/scratch/w'
    assert config_sha256(here) == config_sha256(elsewhere)
    other_list = sample()
    other_list.train_dataloader.dataset.ann_file = '/home/a/work/lists/train_def.txt'
    assert config_sha256(other_list) != config_sha256(here)  # the list's name is its content
    changed = sample()
    changed.model.head.dropout = 0.1
    assert config_sha256(changed) != config_sha256(here)


def test_summary_states_sampling_batch_and_schedule():
    summary = summarize(sample())
    assert summary['inputs'] == {'train': [{'type': 'SampleFrames', 'clip_len': 8},
                                           {'type': 'Resize', 'scale': [-1, 40]}]}
    assert summary['batch_size'] == {'train': 8}
    assert summary['schedule'] == {'precision': 'fp32',
                                   'loop': {'type': 'IterBasedTrainLoop', 'max_iters': 60},
                                   'optimizer': {'type': 'AdamW', 'lr': 1e-4}}


def test_summary_states_the_lr_auto_scale_lr_trains_with():
    """mmengine's Runner scales the optimizer's lr by the total batch over base_batch_size: the
    record says which lr trained (the detection demo: 0.02 at batch 16 -> 0.005 at batch 4)."""
    cfg = sample()
    cfg.optim_wrapper.optimizer.lr = 0.02
    cfg.auto_scale_lr = dict(enable=True, base_batch_size=16)
    cfg.train_dataloader.batch_size = 4
    schedule = summarize(cfg)['schedule']
    assert schedule['optimizer']['lr'] == 0.02
    assert schedule['lr_used'] == pytest.approx(0.005)
    assert schedule['lr_rule'] == 'auto_scale_lr: 0.02 x batch 4 / base batch 16'
    cfg.auto_scale_lr.enable = False
    assert 'lr_used' not in summarize(cfg)['schedule']


def test_method_config_is_merged_over_the_runtime_base(tmp_path):
    method = tmp_path / 'm.py'
    method.write_text("default_hooks = dict(logger=dict(interval=50))\nmodel = dict(type='M')\n")
    cfg = load_pretrain_config(method)
    assert cfg.default_hooks.logger.interval == 50  # the method's value
    assert cfg.default_hooks.checkpoint.type == 'CheckpointHook'  # the base's
    assert cfg.filename == str(method) and 'filename' not in cfg


def test_amp_turns_every_optimizer_wrapper_into_mmengines_amp_wrapper():
    single = use_amp(sample(), 'bf16')
    assert single.optim_wrapper.type == 'AmpOptimWrapper'
    assert single.optim_wrapper.dtype == 'bfloat16' and precision(single) == 'bf16'
    several = Config(dict(optim_wrapper=dict(
        constructor='MultiOptimWrapperConstructor',
        encoder=dict(optimizer=dict(type='SGD', lr=0.1)),
        generator=dict(optimizer=dict(type='SGD', lr=0.1)))))
    use_amp(several, 'fp16')
    assert several.optim_wrapper.encoder.type == several.optim_wrapper.generator.type == \
        'AmpOptimWrapper'
    assert precision(several) == 'fp16'
    assert precision(sample()) == 'fp32'
    assert use_amp(sample(), None).optim_wrapper == sample().optim_wrapper
    frozen = Config(dict(feature_pipeline=[]))
    assert use_amp(frozen, 'bf16') is frozen and 'optim_wrapper' not in frozen


def test_imports_of_base_and_config_are_united_core_first():
    from harness.config import unite_imports

    base = ['harness.data.listdata', 'harness.data.augment', 'harness.hooks']
    own = ['harness.data.views', 'plugin.model', 'harness.hooks', 'plugin.backbone']
    assert unite_imports(base, own) == ['harness.data.listdata', 'harness.data.views',
                                        'harness.data.augment', 'harness.hooks',
                                        'plugin.model', 'plugin.backbone']
    # one side empty: the other's list as it is (an evaluation config's own order)
    assert unite_imports([], ['mmdet.models', 'harness.hooks']) == ['mmdet.models',
                                                                    'harness.hooks']


def test_pretraining_config_gets_the_data_skeleton_and_the_core_imports(tmp_path):
    from harness.config import CORE_IMPORTS

    method = tmp_path / 'm.py'
    method.write_text(
        "custom_imports = dict(imports=['harness_brave.model', 'harness.errors'])\n"
        "train_dataloader = dict(batch_size=4, sampler=dict(_delete_=True, type='S'),\n"
        "                        dataset=dict(type='ImageListDataset', pipeline=[]))\n")
    cfg = load_pretrain_config(method)
    assert cfg.custom_imports == dict(imports=[*CORE_IMPORTS, 'harness_brave.model', 'harness.errors'],
                                      allow_failed_imports=False)
    assert cfg.train_dataloader == dict(
        num_workers=4, persistent_workers=True, sampler=dict(type='S'),
        collate_fn=dict(type='default_collate'), batch_size=4,
        dataset=dict(type='ImageListDataset', data_root=None, ann_file=None, pipeline=[]))


def eval_request(config):
    from types import SimpleNamespace

    return SimpleNamespace(config=config, seed=3, cfg_options={})


def test_evaluation_config_is_merged_over_the_runtime_unless_it_runs_no_runner(tmp_path):
    from harness.config import CORE_IMPORTS, load_eval_config

    protocol = tmp_path / 'p.py'
    protocol.write_text("default_scope = 'mmdet'\ndefault_hooks = dict(checkpoint=dict("
                        "interval=7))\ntest_evaluator = dict(type='M')\nseeds = [0, 1]\n"
                        "train_cfg = dict(type='IterBasedTrainLoop', max_iters=5)\n")
    cfg = load_eval_config(eval_request(protocol))  # it has a train_cfg: a Runner runs it
    assert cfg.default_scope == 'mmdet' and cfg.log_level == 'INFO'
    assert cfg.default_hooks.checkpoint == dict(type='CheckpointHook', by_epoch=False,
                                                max_keep_ckpts=1, interval=7)
    assert cfg.default_hooks.timer == dict(type='IterTimerHook')
    assert cfg.val_cfg is None and cfg.test_cfg == dict(type='TestLoop')
    assert cfg.test_evaluator == dict(type='M')  # a dict replaces the runtime's None
    assert cfg.randomness == dict(seed=3, deterministic=False) and 'seeds' not in cfg
    frozen = load_eval_config(eval_request(protocol), runtime=False)
    assert set(frozen.keys()) == {'default_scope', 'default_hooks', 'test_evaluator',
                                  'train_cfg', 'randomness', 'custom_imports'}
    assert frozen.default_hooks == dict(checkpoint=dict(interval=7))
    probe = tmp_path / 'probe.py'  # no train_cfg: a probe on frozen features, no Runner
    probe.write_text("feature_loader = dict(batch_size=2)\n")
    loaded = load_eval_config(eval_request(probe))
    assert set(loaded.keys()) == {'feature_loader', 'randomness', 'custom_imports'}
    assert loaded.custom_imports.imports == list(CORE_IMPORTS)  # every config imports the core's
    assert load_eval_config(eval_request(probe), runtime=True).log_level == 'INFO'


def test_private_values_are_shared_with_derived_configs_but_not_loaded(tmp_path):
    from harness.config import load_config

    (tmp_path / 'base.py').write_text("_sizes = [1, 2, 3]\nmodel = dict(n=len(_sizes))\n")
    (tmp_path / 'leaf.py').write_text("_base_ = ['./base.py']\n"
                                      "data = dict(sizes=_base_._sizes)\n")
    cfg = load_config(tmp_path / 'leaf.py', label='config')
    assert cfg.to_dict() == dict(model=dict(n=3), data=dict(sizes=[1, 2, 3]))
