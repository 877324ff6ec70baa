"""The benchmark scripts run (briefly, at tiny sizes): their numbers are for the closing notes,
not for tests; this only keeps them working."""
from __future__ import annotations

import re
import subprocess
import sys

import numpy as np
import pytest
import torch

from tests.conftest import REPO


@pytest.mark.slow
@pytest.mark.parametrize('method,sizes', [  # on the demo stand-in backbones: the script, not speed
    # two alternating rounds once (a new Runner and a new fed loader each); one round elsewhere
    ('brave', ['--narrow', '4x16', '--broad', '4x16', '--backbone', 'r3d18-slim',
               '--rounds', '2']),
    ('transrank', ['--clip', '4x16', '--backbone', 'r3d18-slim']),
    ('videomoco', ['--view', '4x16', '--backbone', 'r3d18-slim']),  # two optimizers
    ('simclr', ['--image', '16', '--backbone', 'resnet18-slim']),  # images
    # image methods sampling frames of videos; transitive's loader keeps no workers
    ('transitive', ['--image', '16', '--backbone', 'resnet18-slim']),
    ('multitask', ['--image', '16', '--backbone', 'resnet18-slim'])])
def test_pretrain_throughput_compares_harness_and_plain_loop(method, sizes, tmp_path,
                                                            monkeypatch, capsys):
    # in this process (its imports are this test worker's): the script's main as its command
    # line runs it
    monkeypatch.setattr(sys, 'argv', [
        'pretrain_throughput.py', '--method', method, '--batch', '2', '--workers', '0',
        '--iters', '3', '--warmup', '1', '--rounds', '1', '--work-dir', str(tmp_path), *sizes])
    _module('pretrain_throughput').main()
    stdout = capsys.readouterr().out
    lines = stdout.splitlines()
    assert any(line.startswith('harness ') for line in lines)
    assert any(line.startswith('plain loop ') for line in lines)
    assert 'ratio harness / plain loop: ' in stdout
    rounds = sizes[sizes.index('--rounds') + 1] if '--rounds' in sizes else '1'
    assert f'in each of {rounds} alternating rounds (means)' in stdout
    per_round = next(line for line in lines if line.startswith('ratio in each round: '))
    assert len(re.findall(r'\d+\.\d\dx', per_round)) == int(rounds), per_round
    assert any(line.startswith('plain, fed ') for line in lines)
    assert 'ratio harness / plain loop fed by the harness\'s dataloader' in stdout


def _module(name: str):
    """A script of benchmarks/ as a module."""
    import importlib.util

    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, REPO / 'benchmarks' / f'{name}.py')
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # dataclasses look their module up there
        spec.loader.exec_module(module)
    return sys.modules[name]


def test_timed_calls_times_each_call_of_the_module_and_passes_its_result_through():
    module = torch.nn.Identity()
    seconds = _module('pretrain_throughput').timed_calls(module, 'cpu')
    x = torch.ones(2)
    assert seconds() == []
    assert module(x) is x and module(x) is x
    assert len(seconds()) == 2 and all(s >= 0 for s in seconds())


def test_throughput_ratio_per_round_pairs_each_rounds_mean_times():
    ratios = _module('pretrain_throughput').round_ratios(
        [[1.0, 1.0, 1.0, 5.0], [4.0, 4.0]], [[1.0, 1.0, 1.0], [1.0, 3.0, 2.0]])
    # means 2.0 vs 1.0, then 4.0 vs 2.0: the stall of one harness iteration in four counts
    # (a median, 1.0, would have hidden it)
    assert ratios == [0.5, 0.5]


def test_throughput_rounds_start_one_later_each_round():
    rotated = _module('pretrain_throughput').rotated
    assert [rotated('hpf', shift) for shift in range(4)] == [
        ['h', 'p', 'f'], ['p', 'f', 'h'], ['f', 'h', 'p'], ['h', 'p', 'f']]


def _peer_check():
    """benchmarks/peer_check.py as a module (it imports experiments/run_args.py by name)."""
    return _module('peer_check')


def test_peer_check_copies_the_harness_demo_settings():
    peer = _peer_check()
    settings = peer.settings_from_config(peer.method_config('simclr'))
    assert (settings.batch, settings.steps, settings.lr, settings.weight_decay) == \
        (32, 300, 1e-3, 1e-2)
    assert (settings.warmup_factor, settings.warmup_steps) == (0.1, 10)
    assert dict(settings.model) == dict(hidden_dim=512, dim=128, temperature=0.1)
    for view in settings.views:
        assert (view.size, view.scale, view.jitter) == (56, (0.08, 1.0), (0.8, 0.8, 0.8, 0.2))
        assert (view.color, view.grayscale, view.blur, view.solarize, view.flip) == \
            (0.8, 0.2, 0.5, 0.0, 0.5)
    byol = peer.settings_from_config(peer.method_config('byol'))
    assert [v.blur for v in byol.views] == [1.0, 0.1] and byol.views[1].solarize == 0.2
    assert byol.momentum_end == 1.0 and byol.model['momentum'] == 0.99
    moco = peer.settings_from_config(peer.method_config('moco'))
    assert moco.model['queue_size'] == 64 and moco.momentum_end is None


def test_peer_check_refuses_what_it_cannot_mirror():
    peer = _peer_check()
    cfg = peer.method_config('simclr')
    cfg['optim_wrapper']['optimizer']['type'] = 'SGD'
    with pytest.raises(peer.SettingsError, match='AdamW'):
        peer.settings_from_config(cfg)
    cfg = peer.method_config('simclr')
    cfg['train_cfg']['max_iters'] = 400  # the cosine would no longer end at the last step
    with pytest.raises(peer.SettingsError, match='CosineAnnealingLR'):
        peer.settings_from_config(cfg)
    cfg = peer.method_config('simclr')
    cfg['train_dataloader']['dataset']['pipeline'][0]['views']['view1']['augment']['ratio'] = \
        (0.5, 2.0)
    with pytest.raises(peer.SettingsError, match='aspect'):
        peer.settings_from_config(cfg)
    with pytest.raises(peer.SettingsError, match='integers'):
        peer.split_seeds('0,a')
    with pytest.raises(peer.SettingsError, match='repeats'):
        peer.split_seeds('1,1')
    assert peer.split_seeds('0,1,2') == [0, 1, 2]


def test_peer_check_table_gives_each_seed_the_means_and_the_difference():
    peer = _peer_check()
    text = peer.table('simclr', {0: dict(harness=40.0, lightly=38.0, random=30.0),
                                 1: dict(harness=44.0, lightly=41.0, random=32.0)})
    lines = text.splitlines()
    assert lines[0] == '| seed | harness `simclr` | lightly `simclr` | random init |'
    assert lines[2] == '| 0 | 40.00 | 38.00 | 30.00 |'
    assert lines[4] == '| mean | 42.00 | 39.50 | 31.00 |'
    assert lines[-1] == 'harness - lightly (means): +2.50 points of kNN top-1'


def test_peer_check_without_lightly_says_how_to_install_it_and_exits_2(monkeypatch, capsys):
    peer = _peer_check()
    monkeypatch.setitem(sys.modules, 'lightly', None)  # import lightly raises ImportError
    assert peer.main(['--method', 'simclr']) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'pip install lightly' in err


def test_peer_check_reads_the_top1_of_a_harness_record_it_reuses(tmp_path):
    """A work folder that holds a run's record is reused (nothing runs): its kNN top-1 is read
    as ``harness run`` writes it."""
    import json

    peer = _peer_check()
    records = tmp_path / 'harness-simclr-seed1' / 'records'
    records.mkdir(parents=True)
    (records / 'simclr.json').write_text(json.dumps(
        {'metrics': {'top1': {'value': 41.67, 'unit': '%', 'higher_is_better': True}}}))
    assert peer.harness_top1('simclr', 'resnet18', 1, tmp_path / 'demo', tmp_path) == 41.67
    command = peer.harness_command('random', 'resnet18', 2, tmp_path / 'demo', tmp_path / 'r')
    assert command[3:] == ['run', '--method', 'random', '--backbone', 'resnet18', '--eval',
                           'imagenet', '--protocol', 'knn', '--data', str(tmp_path / 'demo'),
                           '--seed', '2', '--work-dir', str(tmp_path / 'r'), '--records-dir',
                           str(tmp_path / 'r' / 'records')]


def test_knn_scale_compares_harness_and_plain_reference_at_a_tiny_size(tmp_path):
    result = subprocess.run(
        [sys.executable, str(REPO / 'benchmarks' / 'knn_scale.py'), '--train', '300',
         '--queries', '40', '--dim', '16', '--classes', '5', '--device', 'cpu', '--threads', '1',
         '--work-dir', str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    rows = [line.split() for line in result.stdout.splitlines()
            if line.split() and line.split()[0] == '300']
    assert len(rows) == 1 and rows[0][7] == '100.00%', result.stdout  # top-1 agree
    assert list(tmp_path.iterdir()) == []  # the data folder is deleted


def test_throughput_table_reads_each_runs_ratios_and_data_wait():
    output = ('brave on r3d18, cpu, fp32, batch 8, 4 workers, narrow 8x32\n'
              '                ms/iter  samples/s  data wait    augment\n'
              'harness         1751.1        4.6         10%          3%\n'
              'plain loop      1431.6        5.6          -          -\n'
              'ratio harness / plain loop: 0.82x\n'
              "ratio harness / plain loop fed by the harness's dataloader and preprocessor: "
              '0.98x (the harness\'s own overhead)\n')
    assert _module('throughput_table').figures(output) == ('0.82', '10', '0.98')
    assert _module('throughput_table').figures('Traceback ...') == ('?', '?', '?')


def test_video_decode_clips_fit_the_video_at_their_stride():
    clip_indices = _module('video_decode').clip_indices
    rng = np.random.default_rng(0)
    for stride in (1, 2, 4, 8):
        for _ in range(20):
            indices = clip_indices(rng, 128, 16, stride)
            assert len(indices) == 16 and indices[0] >= 0 and indices[-1] < 128
            assert set(np.diff(indices)) == {stride}
    # a video shorter than the clip's span: the frames that fit, from its start
    assert clip_indices(rng, 20, 16, 4).tolist() == list(range(0, 20, 4))
