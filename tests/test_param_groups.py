"""ParamGroupsOptimWrapperConstructor (bias, norm and named-module multipliers that compose) and
the param-group summary a pretraining record states."""
import pytest
from torch import nn

from harness.errors import ConfigError
from harness.optimizers import ParamGroupsOptimWrapperConstructor, param_group_summary


class Net(nn.Module):
    """conv (weight, bias) -> bn (weight, bias); predictor: linear (weight, bias) -> ln."""

    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 4, 3)
        self.bn = nn.BatchNorm2d(4)
        self.predictor = nn.Sequential(nn.Linear(4, 2), nn.LayerNorm(2))


def build(paramwise_cfg, optimizer=None):
    optimizer = optimizer or dict(type='SGD', lr=0.2, weight_decay=1e-4, momentum=0.9)
    model = Net()
    wrapper = ParamGroupsOptimWrapperConstructor(dict(optimizer=optimizer), paramwise_cfg)(model)
    return model, wrapper


def groups_by_name(model, wrapper):
    names = {id(p): n for n, p in model.named_parameters()}
    return {names[id(p)]: (pytest.approx(g['lr']), pytest.approx(g['weight_decay']))
            for g in wrapper.optimizer.param_groups for p in g['params']}


def test_bias_norm_and_module_rules_compose():
    model, wrapper = build(dict(bias=dict(lr_mult=0.5, decay_mult=0.0),
                                norm=dict(lr_mult=0.1, decay_mult=0.0),
                                modules={'predictor': dict(lr_mult=10.0)}))
    assert groups_by_name(model, wrapper) == {
        'conv.weight': (0.2, 1e-4),
        'conv.bias': (0.1, 0.0),
        'bn.weight': (0.02, 0.0), 'bn.bias': (0.02, 0.0),     # norm, not bias, for a norm's bias
        'predictor.0.weight': (2.0, 1e-4),                     # the module's lr x 10
        'predictor.0.bias': (1.0, 0.0),                        # x 10 x the bias rule
        'predictor.1.weight': (0.2, 0.0), 'predictor.1.bias': (0.2, 0.0),  # LayerNorm: x 10 x 0.1
    }
    # parameters with equal settings share a group, in the order they first come
    assert [len(g['params']) for g in wrapper.optimizer.param_groups] == [1, 1, 2, 1, 1, 2]


def test_innermost_named_module_wins_and_frozen_parameters_are_left_out():
    model = Net()
    model.conv.weight.requires_grad_(False)
    wrapper = ParamGroupsOptimWrapperConstructor(
        dict(optimizer=dict(type='SGD', lr=1.0, weight_decay=0.5)),
        dict(modules={'predictor': dict(lr_mult=2.0), 'predictor.1': dict(decay_mult=0.0)}))(model)
    found = groups_by_name(model, wrapper)
    assert 'conv.weight' not in found
    assert found['predictor.0.weight'] == (2.0, 0.5)
    assert found['predictor.1.weight'] == (1.0, 0.0)


@pytest.mark.parametrize('paramwise_cfg, message', [
    (dict(bias_decay_mult=0.0), 'optim_wrapper.paramwise_cfg.bias_decay_mult: '
                                'ParamGroupsOptimWrapperConstructor takes the rules bias, norm and '
                                'modules (each lr_mult and decay_mult)'),
    (None, 'optim_wrapper.paramwise_cfg: ParamGroupsOptimWrapperConstructor needs at least one '
           'rule (bias, norm or modules); without rules use the default constructor'),
    (dict(norm=dict(lr=0.1)), 'optim_wrapper.paramwise_cfg.norm.lr: a rule takes lr_mult and '
                              'decay_mult only'),
    (dict(bias=dict(lr_mult=-1)), 'optim_wrapper.paramwise_cfg.bias.lr_mult: must be a number '
                                  '>= 0, not -1'),
    (dict(modules=['predictor']), "optim_wrapper.paramwise_cfg.modules: must map submodule names "
                                  "to dict(lr_mult=..., decay_mult=...), not ['predictor']"),
])
def test_a_wrong_rule_is_one_line_naming_the_key(paramwise_cfg, message):
    with pytest.raises(ConfigError) as caught:
        build(paramwise_cfg)
    assert str(caught.value) == message


def test_decay_multiplier_without_weight_decay_and_unknown_module():
    with pytest.raises(ConfigError, match=r'^optim_wrapper.paramwise_cfg.bias.decay_mult: the '
                                          r'optimizer has no weight_decay to multiply$'):
        build(dict(bias=dict(decay_mult=0.0)), dict(type='SGD', lr=0.1))
    with pytest.raises(ConfigError) as caught:
        build(dict(modules={'projector': dict(lr_mult=2.0)}))
    assert str(caught.value) == ("optim_wrapper.paramwise_cfg.modules: Net has no submodule "
                                 "'projector' (its children: conv, bn, predictor)")


def test_summary_counts_each_distinct_lr_and_decay():
    model, wrapper = build(dict(bias=dict(decay_mult=0.0), norm=dict(decay_mult=0.0)))
    assert param_group_summary(wrapper, model) == [
        dict(lr=0.2, weight_decay=1e-4, params=2, numel=4 * 3 * 3 * 3 + 4 * 2,
             first='conv.weight'),
        dict(lr=0.2, weight_decay=0.0, params=6, numel=4 + 4 + 4 + 2 + 2 + 2, first='conv.bias'),
    ]


def test_summary_reads_the_lr_before_the_schedule():
    from mmengine.optim import LinearLR

    model, wrapper = build(dict(norm=dict(lr_mult=0.5)))
    LinearLR(wrapper, start_factor=0.1, by_epoch=False, end=10)  # lr now 0.1 x, initial_lr kept
    assert wrapper.optimizer.param_groups[0]['lr'] == pytest.approx(0.02)
    assert [(g['lr'], g['params']) for g in param_group_summary(wrapper, model)] == [
        (0.2, 4), (0.1, 4)]


# --- from the command line ---------------------------------------------------------------------

def simclr_knn(tmp_path, data, *options: str) -> list[str]:
    return ['run', '--method', 'simclr', '--eval', 'imagenet', '--protocol', 'knn', '--data',
            str(data), '--work-dir', str(tmp_path), '--cfg-options',
            '+optim_wrapper.constructor=ParamGroupsOptimWrapperConstructor', *options]


def test_a_wrong_rule_stops_the_run_before_anything_trains(small_image_demo, tmp_path, capsys):
    from harness.cli import main

    assert main(simclr_knn(tmp_path, small_image_demo,
                           '+optim_wrapper.paramwise_cfg.norm.lr=0.1')) == 2
    err = capsys.readouterr().err
    assert err == ('harness: error: pretraining config: optim_wrapper.paramwise_cfg.norm.lr: a '
                   'rule takes lr_mult and decay_mult only\n')
    assert not (tmp_path / 'pretrain').exists()


def test_an_unknown_module_is_one_line_before_the_first_step(small_image_demo, tmp_path, capsys):
    from harness.cli import main

    assert main(simclr_knn(tmp_path, small_image_demo, 'train_dataloader.num_workers=0',
                           'train_dataloader.persistent_workers=False',
                           '+optim_wrapper.paramwise_cfg.modules.head.lr_mult=2.0')) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    assert err.startswith('harness: error: ')
    assert err.endswith("optim_wrapper.paramwise_cfg.modules: SimCLR has no submodule 'head' "
                        '(its children: data_preprocessor, backbone, projector)\n')
    assert not list((tmp_path / 'pretrain').glob('*/backbone.pth'))
    assert not list((tmp_path / 'pretrain').glob('*/*.pth'))


def test_summary_of_several_optimizers_names_each_and_flags_fixed_lr():
    import torch
    from mmengine.optim import OptimWrapper, OptimWrapperDict

    model = Net()
    encoder = torch.optim.SGD([{'params': [model.conv.weight, model.conv.bias]},
                               {'params': list(model.bn.parameters()), 'fix_lr': True}],
                              lr=0.1, weight_decay=0.01)
    predictor = torch.optim.AdamW(model.predictor.parameters(), lr=1e-3)
    wrappers = OptimWrapperDict(encoder=OptimWrapper(encoder), predictor=OptimWrapper(predictor))
    assert param_group_summary(wrappers, model) == [
        dict(optimizer='encoder', lr=0.1, weight_decay=0.01, params=2, numel=112,
             first='conv.weight'),
        dict(optimizer='encoder', lr=0.1, weight_decay=0.01, params=2, numel=8,
             first='bn.weight', fix_lr=True),
        dict(optimizer='predictor', lr=1e-3, weight_decay=0.01, params=4, numel=14,
             first='predictor.0.weight'),
    ]
