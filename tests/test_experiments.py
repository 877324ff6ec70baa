"""The experiment scripts' own logic (their end-to-end runs are minutes of training)."""
from __future__ import annotations

import importlib.util

import pytest

from harness.data.splits import DataItem
from tests.conftest import REPO


def load(name: str):
    """An experiment script as a module; its folder is on ``sys.path`` as when it is run
    (the scripts import what they share from there)."""
    import sys

    if str(REPO / 'experiments') not in sys.path:
        sys.path.insert(0, str(REPO / 'experiments'))
    spec = importlib.util.spec_from_file_location(name, REPO / 'experiments' / f'{name}.py')
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # a dataclass looks its module up there
    spec.loader.exec_module(module)
    return module


def test_demo_signal_label_subsets_are_disjoint_and_balanced():
    demo_signal = load('demo_signal')
    train = [DataItem(f'c{label}/v{i}.avi', label) for label in range(3) for i in range(7)]
    subsets = demo_signal.label_subsets(train, labels=3, subsets=2)
    assert [len(s) for s in subsets] == [9, 9]
    assert not set(subsets[0]) & set(subsets[1])
    for subset in subsets:
        assert sorted(item.label for item in subset) == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert [item.path for item in subsets[1] if item.label == 0] == \
        ['c0/v3.avi', 'c0/v4.avi', 'c0/v5.avi']
    with pytest.raises(SystemExit, match='need 8 train videos per class'):
        demo_signal.label_subsets(train, labels=4, subsets=2)


def test_demo_signal_effective_dimension_counts_the_directions_features_use():
    import torch

    demo_signal = load('demo_signal')
    torch.manual_seed(0)
    isotropic = torch.randn(20000, 4)
    assert demo_signal.effective_dimension(isotropic) == pytest.approx(4.0, rel=0.01)
    on_a_line = torch.randn(1000, 1) * torch.tensor([[1.0, -2.0, 3.0]]) + \
        1e-4 * torch.randn(1000, 3)
    assert demo_signal.effective_dimension(on_a_line) == pytest.approx(1.0, abs=0.01)


def test_sim_views_adds_its_option_to_the_one_cfg_options_list():
    sim_views = load('sim_views')
    assert sim_views.with_option([], 'model.target_view=same') == \
        ['--cfg-options', 'model.target_view=same']
    assert sim_views.with_option(['--cfg-options', 'train_cfg.max_iters=5', '--amp', 'bf16'],
                                 'model.target_view=same') == \
        ['--cfg-options', 'model.target_view=same', 'train_cfg.max_iters=5', '--amp', 'bf16']


def test_counting_collapse_options_norms_and_table():
    import torch
    from torch import nn

    collapse = load('counting_collapse')
    assert collapse.cfg_options(0.0, 150) == [
        'model.contrastive_weight=0.0', 'train_cfg.max_iters=150', 'param_scheduler.1.T_max=140']
    assert collapse.cfg_options(1.0, None) == ['model.contrastive_weight=1.0']
    with pytest.raises(SystemExit, match='warm-up'):
        collapse.cfg_options(1.0, 10)
    assert collapse.split_cfg_options(['--cfg-options', 'a=1', 'b=2', '--backbone', 'x']) == \
        (['a=1', 'b=2'], ['--backbone', 'x'])

    class Fixed(nn.Module):  # features (3, 4) and counts (0, 0) for every image
        head = staticmethod(lambda f: torch.zeros(len(f), 2))

        def features(self, images):
            return torch.tensor([[3.0, 4.0]]).expand(len(images), 2)

    assert collapse.mean_norms(Fixed(), torch.zeros(5, 3, 8, 8), batch=2) == (0.0, 5.0)
    table = collapse.format_table([
        dict(name='untrained', weight=None, counts=0.28, features=4.282),
        dict(name='no-hinge', weight=0.0, counts=0.0, features=52.59, equivariance=0.0,
             contrastive=0.0, top1=26.67)])
    assert '| untrained | - | 0.28 | 4.282 | - | - | - |' in table
    assert '| no-hinge | 0 | 0 | 52.59 | 0 | 0 | 26.67 |' in table


def test_transitive_pairs_runs_each_pair_set_on_one_backbone_and_tabulates_mean_and_std(
        tmp_path):
    from types import SimpleNamespace

    pairs = load('transitive_pairs')
    args = SimpleNamespace(eval='nyuv2', protocol='normals', seeds='0,1', work_dir=tmp_path,
                           backbone='resnet18-slim')
    line = pairs.command('transitive', 'inter_demo', args, tmp_path / 'r', ['--amp', 'x'])
    assert line[3:] == ['run', '--method', 'transitive', '--eval', 'nyuv2', '--work-dir',
                        str(tmp_path), '--records-dir', str(tmp_path / 'r'), '--seeds', '0,1',
                        '--backbone', 'resnet18-slim', '--config', 'inter_demo', '--protocol',
                        'normals', '--amp', 'x']
    assert '--config' not in pairs.command('random', None, args, tmp_path, [])
    metric = {'mean_deg': {'value': 40.126, 'std': 1.5}, 'within_30': {'value': 50.0}}
    text = pairs.table({'all': {'metrics': metric}, 'random': {'metrics': metric}})
    assert text.splitlines()[0] == '| pairs | mean_deg | within_30 |'
    assert text.splitlines()[2] == '| all | 40.13 ± 1.50 | 50.00 |'


def test_multitask_claim_commands_and_verdict(tmp_path):
    claim = load('multitask_claim')
    args, extra = claim.parse_args(['--configs', 'demo,motion_demo', '--steps', '50',
                                    '--work-dir', str(tmp_path), '--', '--cfg-options',
                                    'eval.train_cfg.max_iters=5', 'model.hidden_dim=8'])
    joint = claim.command('demo', args, extra)
    assert joint[joint.index('--config') + 1] == 'demo'
    assert joint[joint.index('--cfg-options') + 1:] == [
        'train_cfg.max_iters=50', 'param_scheduler.1.T_max=40', 'eval.train_cfg.max_iters=5',
        'model.hidden_dim=8']
    random = claim.command('random', args, extra)  # only the evaluation's options
    assert random[random.index('--cfg-options') + 1:] == ['eval.train_cfg.max_iters=5']
    with pytest.raises(SystemExit):
        claim.parse_args(['--configs', 'nope_demo'])

    def record(value):
        return {'metrics': {'delta_1.25': {'value': value}}}

    rows = {'motion_demo': record(50.0), 'colorization_demo': record(52.5),
            'demo': record(51.0)}
    assert claim.verdict(rows) == ('joint delta_1.25 51.000 vs best single task '
                                   '(colorization_demo) 52.500: -1.500 points')


def fake_run(records, calls, exit_code=0, records_written=1):
    """A command standing in for ``harness run``: counts its calls, writes records, exits."""
    import sys

    code = ('import pathlib, sys; records, calls, n, rc = sys.argv[1:]; '
            'pathlib.Path(calls).open("a").write("run\\n"); print("trained"); '
            'pathlib.Path(records).mkdir(parents=True, exist_ok=True); '
            '[(pathlib.Path(records) / f"r{i}.json").write_text(\'{"metrics": {"top1": '
            '{"value": 1.5}}}\') for i in range(int(n))]; sys.exit(int(rc))')
    return [sys.executable, '-c', code, str(records), str(calls), str(records_written),
            str(exit_code)]


def test_run_or_reuse_runs_once_then_reuses_the_record(tmp_path, capsys):
    run_args = load('run_args')
    records, calls, log = tmp_path / 'records', tmp_path / 'calls', tmp_path / 'logs' / 'a.log'
    command = fake_run(records, calls)
    first = run_args.run_or_reuse('variant a', command, records, log, tag='exp')
    assert first == {'metrics': {'top1': {'value': 1.5}}}
    assert log.read_text() == 'trained\n'
    assert capsys.readouterr().out.startswith('[exp] variant a: harness ')
    assert run_args.run_or_reuse('variant a', command, records, log, tag='exp') == first
    assert calls.read_text() == 'run\n'  # the second call reused the record
    assert capsys.readouterr().out == ''


def test_run_or_reuse_names_the_failed_run_and_its_log(tmp_path):
    run_args = load('run_args')
    records, calls, log = tmp_path / 'records', tmp_path / 'calls', tmp_path / 'b.log'
    with pytest.raises(SystemExit) as failed:
        run_args.run_or_reuse('b', fake_run(records, calls, exit_code=3, records_written=0),
                              records, log, tag='exp')
    assert str(failed.value) == f'harness run failed for b (exit code 3): see {log}'
    with pytest.raises(SystemExit) as silent:
        run_args.run_or_reuse('b', fake_run(records, calls, records_written=0), records, log,
                              tag='exp')
    assert str(silent.value) == f'harness run for b wrote no record into {records}: see {log}'
    with pytest.raises(SystemExit) as several:
        run_args.run_or_reuse('b', fake_run(records, calls, records_written=2), records, log,
                              tag='exp')
    assert str(several.value) == (f'{records} holds 2 records, so which one is b is unclear: '
                                  'delete the folder to run it again')


def test_demo_eval_settings_grids_set_the_schedule_with_the_length():
    settings = load('demo_eval_settings')
    video = settings.parse_grid('video', settings.VIDEO_GRID)
    assert [s.cost for s in video] == [12, 24, 40, 60, 90]
    assert video[1].cfg_options() == ['eval.train_cfg.max_epochs=24',
                                      'eval.param_scheduler.0.T_max=24']
    image = settings.parse_grid('image', settings.IMAGE_GRID)
    assert [s.name for s in image] == [f'lr {lr}, {n} steps' for lr in ('0.01', '0.1', '1')
                                       for n in (150, 300)]
    assert image[-1].cfg_options() == ['eval.optim_wrapper.optimizer.lr=1.0',
                                       'eval.train_cfg.max_iters=300',
                                       'eval.param_scheduler.0.milestones=[180,240]']
    assert settings.milestones(150) == [90, 120]
    with pytest.raises(SystemExit, match='LRxSTEPS'):
        settings.parse_grid('image', '0.1')


def test_demo_eval_settings_rule_ignores_the_reference_rows_and_breaks_ties_by_cost():
    settings = load('demo_eval_settings')
    pretrained = ('a', 'b')

    def table(**columns):  # setting -> (random, a, b)
        return {name: dict(zip(('random', 'a', 'b'), scores)) for name, scores in columns.items()}

    costs = {'short': 12, 'mid': 40, 'long': 90}
    # random init would pick 'long'; the pretrained mean is best at 'mid' (50 vs 48 and 45)
    assert settings.choose(table(short=(20, 45, 45), mid=(30, 48, 52), long=(60, 46, 50)),
                           costs, pretrained) == 'mid'
    # 'short' is within 1 point of the best mean (49.5 vs 50): the tie goes to the cheaper
    assert settings.choose(table(short=(20, 49, 50), mid=(30, 48, 52), long=(60, 46, 50)),
                           costs, pretrained) == 'short'
    # 1.5 points below is no tie
    assert settings.choose(table(short=(20, 48, 49), mid=(30, 48, 52), long=(60, 46, 50)),
                           costs, pretrained) == 'mid'
    # equally cheap tied settings: the higher mean
    assert settings.choose(table(x=(0, 50, 50), y=(0, 50, 50.5)), {'x': 150, 'y': 150},
                           pretrained) == 'y'


def test_demo_eval_settings_grids_hold_the_shipped_demo_values():
    from mmengine.config import Config

    from harness.api import resolve_config

    settings = load('demo_eval_settings')
    finetune = Config.fromfile(str(resolve_config(settings.PROTOCOLS['video'].config)))
    assert finetune.param_scheduler[0].T_max == finetune.train_cfg.max_epochs
    assert finetune.train_cfg.max_epochs in \
        [s.cost for s in settings.parse_grid('video', settings.VIDEO_GRID)]
    linear = Config.fromfile(str(resolve_config(settings.PROTOCOLS['image'].config)))
    shipped = settings.image_setting(linear.optim_wrapper.optimizer.lr,
                                     linear.train_cfg.max_iters)
    assert shipped in settings.parse_grid('image', settings.IMAGE_GRID)
    assert linear.param_scheduler[0].milestones == \
        settings.milestones(linear.train_cfg.max_iters)
