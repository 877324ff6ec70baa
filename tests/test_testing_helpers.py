"""The helpers harness.testing gives plugin authors: assert_trains trains on the loss terms
only, and shrink_options reaches the command line as printed (cli_options)."""
from __future__ import annotations

import shlex

import pytest
import torch
from torch import nn

from harness.testing import assert_trains, cli_options, loss_total, shrink_options


class Reporting(nn.Module):
    """A model whose loss dict also holds values that are no loss, as mmengine models log
    accuracies and statistics beside their losses."""

    def __init__(self, extra):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(3))
        self.extra = extra

    def forward(self, inputs, mode='loss'):
        loss = (self.weight * inputs).pow(2).mean()
        return {'loss_main': loss, 'aux_loss': [loss * 0.5, loss * 0.25], **self.extra(self)}


def test_a_non_loss_value_does_not_enter_the_trained_loss():
    inputs = torch.tensor([1.0, 2.0, 3.0])
    # a logged accuracy that is NaN (no positives in the batch) is not the loss
    model = Reporting(lambda m: {'acc': torch.tensor(float('nan'))})
    # loss_main = 14/3, aux_loss = 14/3 * (0.5 + 0.25)
    assert assert_trains(model, inputs) == pytest.approx(14 / 3 * 1.75)
    # a statistic of the parameters is not trained on: its gradient would change the weights
    model = Reporting(lambda m: {'weight_norm': m.weight.sum() * 1e6})
    assert assert_trains(model, inputs, lr=0.1) == pytest.approx(14 / 3 * 1.75)
    assert torch.allclose(model.weight, 1 - 0.1 * 1.75 * 2 * inputs ** 2 / 3)


def test_a_model_that_returns_no_loss_fails():
    class NoLoss(nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(2))

        def forward(self, inputs, mode='loss'):
            return {'acc': self.weight.sum(), 'top5': self.weight.mean()}

    with pytest.raises(AssertionError, match=r"the model returned no loss: no key contains "
                                             r"'loss' \(keys: acc, top5\)"):
        assert_trains(NoLoss(), None)


def test_loss_total_sums_loss_keys_averaging_each_term():
    losses = {'loss_a': torch.tensor([1.0, 3.0]), 'b_loss': [torch.tensor(2.0),
                                                             torch.tensor([4.0, 6.0])],
              'accuracy': torch.tensor(100.0)}
    assert float(loss_total(losses)) == 2.0 + 2.0 + 5.0


def shrinkable():
    return {'custom_imports': {'imports': ['harness.data.views']},
            'model': {'type': 'M', 'hidden_dim': 512, 'name': 'x=y'},
            'train_dataloader': {'batch_size': 8, 'num_workers': 2, 'persistent_workers': True,
                                 'dataset': {'pipeline': [
                                     {'type': 'Resize', 'scale': [-1, 128]}]}},
            'train_cfg': {'type': 'EpochBasedTrainLoop', 'max_epochs': 10},
            'param_scheduler': [{'type': 'CosineAnnealingLR', 'T_max': 10, 'by_epoch': True}]}


def test_shrink_options_reach_the_command_line_as_printed():
    from harness.cli import build_parser, parse_cfg_options

    options = shrink_options(shrinkable())
    words = cli_options(options)
    assert words == [
        'model.hidden_dim=16', 'train_dataloader.batch_size=2',
        'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
        'train_dataloader.dataset.pipeline.0.scale=(-1, 16)',
        "train_cfg={'_delete_': True, 'type': 'IterBasedTrainLoop', 'max_iters': 2}",
        'param_scheduler.0.T_max=2', 'param_scheduler.0.by_epoch=False']
    # printed for a shell and read back by harness run's own parser: the same options
    line = shlex.join(['run', '--method', 'm', '--eval', 'e', '--cfg-options', *words])
    args = build_parser().parse_args(shlex.split(line))
    assert parse_cfg_options(args.cfg_options) == options
    # for the evaluation config
    assert cli_options({'train_cfg.max_epochs': 1}, prefix='eval.') == \
        ['eval.train_cfg.max_epochs=1']
    assert parse_cfg_options(cli_options({'a.b': 'text', 'c': '1'})) == {'a.b': 'text', 'c': '1'}


def test_a_value_the_command_line_cannot_read_back_is_refused():
    with pytest.raises(ValueError, match=r'^x=<object object at .*>: not a literal the '
                                         r'command line reads back$'):
        cli_options({'x': object()})


def test_the_harness_plugins_fixture_sees_the_installed_plugins(harness_plugins):
    """The fixture comes from the pytest11 entry point of the installed harness (no conftest
    defines it): a PluginManager over the installed plugins."""
    from harness.plugins import PluginManager

    assert isinstance(harness_plugins, PluginManager)
    entry = harness_plugins.get('method', 'counting')
    assert (entry.plugin.name, entry.info.default_backbone) == ('counting', 'alexnet-bn')


def test_no_test_sees_the_default_scope_or_logger_an_earlier_test_left(pytester):
    """The automatic fixture of the pytest11 plugin: a test that makes mmdet's scope current
    (as a Runner does) leaves the next test the scope the session had, and the current logger
    after a test is a fresh one."""
    pytester.makepyfile('''
        from mmengine.logging import MMLogger
        from mmengine.registry import DefaultScope, init_default_scope

        START = DefaultScope.get_current_instance()

        def test_leaves_mmdet_current():
            init_default_scope('mmdet')
            MMLogger.get_instance('left-by-a-runner')
            assert DefaultScope.get_current_instance().scope_name == 'mmdet'

        def test_starts_as_the_session_did():
            assert DefaultScope.get_current_instance() is START
            assert MMLogger.get_current_instance().instance_name.startswith('tests-')
    ''')
    pytester.runpytest_inprocess('-p', 'no:cacheprovider').assert_outcomes(passed=2)
