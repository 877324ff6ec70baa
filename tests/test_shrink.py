"""shrink_options: the core's generic rules, and a plugin's own rules for its own keys, found
through the config's custom_imports (``<package>.smoke``)."""
from __future__ import annotations

from harness.testing import plugin_shrink_rules, shrink_options


def config(*imports, **model):
    return {'custom_imports': {'imports': list(imports)},
            'model': {'type': 'M', 'hidden_dim': 512, 'dim': 128, **model},
            'train_dataloader': {'batch_size': 8, 'num_workers': 2, 'persistent_workers': True,
                                 'dataset': {'pipeline': [
                                     {'type': 'SampleViews', 'views': {'a': {
                                         'frames': 8, 'size': 32}}},
                                     {'type': 'Resize', 'scale': [-1, 128]}]}},
            'custom_hooks': [{'type': 'Graph', 'graph_iter': 100}]}


GENERIC = {'model.hidden_dim': 16, 'model.dim': 16, 'train_dataloader.batch_size': 2,
           'train_dataloader.num_workers': 0, 'train_dataloader.persistent_workers': False,
           'train_dataloader.dataset.pipeline.0.views.a.frames': 4,
           'train_dataloader.dataset.pipeline.0.views.a.size': 16,
           'train_dataloader.dataset.pipeline.1.scale': (-1, 16)}


def test_the_core_shrinks_only_generic_keys():
    assert shrink_options(config('harness.data.views', queue_size=256, drop=2)) == GENERIC


def test_a_plugins_rules_shrink_its_own_keys_when_the_config_imports_it():
    cfg = config('harness.data.views', 'harness_contrastive.models', 'harness_backbones.video',
                 queue_size=256, drop=2)
    assert shrink_options(cfg) == {**GENERIC, 'model.queue_size': 8, 'model.drop': 1}
    cfg = config('harness_transitive.hooks')
    assert shrink_options(cfg) == {**GENERIC, 'custom_hooks.0.graph_iter': 0}


def test_packages_without_rules_or_not_installed_add_none():
    assert plugin_shrink_rules(config('harness.data.views', 'harness_backbones.video',
                                      'harness_not_installed.model')) == {}
    assert plugin_shrink_rules({}) == {}
    assert set(plugin_shrink_rules(config('harness_contrastive.models'))) == {'queue_size',
                                                                              'drop'}


def test_a_multi_scale_resize_trains_at_one_small_scale():
    cfg = config('harness.data.views')
    cfg['train_dataloader']['dataset']['pipeline'].append(
        {'type': 'RandomChoiceResize', 'scales': [[1333, 480], [1333, 512]], 'keep_ratio': True})
    assert shrink_options(cfg) == {
        **GENERIC, 'train_dataloader.dataset.pipeline.2.scales': [(16, 16)]}
