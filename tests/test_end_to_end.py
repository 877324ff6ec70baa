"""`harness run` end to end on a small demo dataset, with the example plugin's tiny backbone:
pretraining in mmengine's Runner, the cached rerun, resume after a kill, and the record."""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.results import read_record

from tests.conftest import SMOKE_OPTIONS


def run_args(demo: Path, work: Path, *extra: str) -> list[str]:
    return ['run', '--method', 'brave', '--eval', 'ucf101', '--backbone', 'tiny3d',
            '--data', str(demo), '--work-dir', str(work), '--records-dir',
            str(work / 'leaderboards' / 'records'), '--seed', '3', *extra]


def record_path(stdout: str) -> Path:
    lines = [line for line in stdout.splitlines() if line.startswith('record: ')]
    assert lines, stdout
    return Path(lines[-1][len('record: '):])


def test_brave_run_writes_a_valid_record_and_reuses_pretraining(harness_here, small_demo,
                                                                 tmp_path):
    args = run_args(small_demo, tmp_path, '--cfg-options', *SMOKE_OPTIONS,
                    'eval.model.cls_head.dropout_ratio=0.5')
    first = harness_here(*args, check=True)
    assert 'top1: ' in first.stdout and 'top5: ' not in first.stdout  # 5 demo classes
    record = read_record(record_path(first.stdout))
    assert record['method']['name'] == 'brave' and record['backbone']['name'] == 'tiny3d'
    assert record['seeds'] == [3] and record['eval']['splits'] == ['1']
    assert record['data'] == 'demo' and record['pretrain']['data'] == 'demo'
    assert record['pretrain']['reused'] is False and record['pretrain']['iters'] == 6
    assert len(record['pretrain']['config_sha256']) == 64
    assert record['eval']['clips'] == 3 and record['eval']['crops'] == 1
    assert record['eval']['weights']['loaded'] == record['eval']['weights']['total'] == 4
    assert {'torch', 'mmengine', 'mmcv', 'mmaction2'} <= set(record['provenance']['packages'])
    assert 'git_commit' in record['provenance']
    assert record['provenance']['fast_paths'] == {  # on CPU
        'flush_denormal': True, 'keep_freed_memory': True, 'idle_loader_workers': True}
    assert record['pretrain']['dataset'] == 'kinetics400'  # the default demo pretraining set
    assert not (tmp_path / 'leaderboards' / 'README.md').exists()  # a run renders nothing
    # mmengine's environment dump is in the log file, not on the terminal
    assert 'System environment' not in first.stdout + first.stderr
    logs = list((tmp_path / 'pretrain').glob('*/*/*.log'))
    assert logs and 'System environment' in logs[0].read_text()
    # the evaluation config mmengine saved is the one with the user's option
    saved = list((tmp_path / 'eval').glob('*/finetune_demo.py'))
    assert saved and 'dropout_ratio=0.5' in saved[0].read_text()
    assert record['eval']['config'] == 'demo' and record['pretrain']['config'] == 'demo'
    assert record['eval']['inputs']['test'][0]['num_clips'] == 3
    assert record['pretrain']['batch_size'] == {'train': 2}
    assert record['pretrain']['schedule']['loop']['max_iters'] == 6
    assert record['pretrain']['provenance']['git_commit'] == record['provenance']['git_commit']
    # every distribution involved: the example plugin is installed from a folder of this
    # checkout (not editable), brave editable; both with this checkout's commit
    dists = record['provenance']['distributions']
    assert {'ssl-harness', 'harness-brave', 'harness-example', 'harness-videodata',
            'torch'} <= set(dists)
    assert dists['harness-example']['editable'] is False
    assert dists['harness-brave']['editable'] is True
    assert dists['harness-example']['commit'] == record['provenance']['git_commit']
    assert dists['torch'] == {'version': record['provenance']['packages']['torch']}
    assert {'ssl-harness', 'harness-brave', 'harness-example'} <= \
        set(record['pretrain']['provenance']['distributions'])

    # another evaluation option: the pretraining is reused, the result is a record of its own
    second = harness_here(*args[:-1], 'eval.model.cls_head.dropout_ratio=0.4', check=True)
    assert 'pretraining reused from cache' in second.stdout
    assert record_path(second.stdout) != record_path(first.stdout)
    again = read_record(record_path(second.stdout))
    assert again['pretrain']['reused'] is True
    # a reused pretraining keeps the provenance of the run that trained it
    assert again['pretrain']['provenance'] == record['pretrain']['provenance']
    assert again['pretrain']['config_sha256'] == record['pretrain']['config_sha256']
    assert again['pretrain']['checkpoint_sha256'] == record['pretrain']['checkpoint_sha256']


def test_random_reference_has_no_pretraining(harness_here, small_demo, tmp_path):
    result = harness_here('run', '--method', 'random', '--eval', 'ucf101', '--backbone',
                          'tiny3d', '--data', str(small_demo), '--work-dir', str(tmp_path),
                          '--records-dir', str(tmp_path / 'records'), '--cfg-options',
                          *[o for o in SMOKE_OPTIONS if o.startswith('eval.')], check=True)
    record = read_record(record_path(result.stdout))
    assert record['pretrain'] is None and record['eval']['weights'] is None
    assert not (tmp_path / 'pretrain').exists()


@pytest.mark.slow
def test_killed_pretraining_resumes_from_last_checkpoint(harness_cli, example_site, small_demo,
                                                         tmp_path):
    import os

    # killed at its first checkpoint (iteration 2), long before its last iteration
    options = ['--cfg-options', 'train_cfg.max_iters=40', 'default_hooks.checkpoint.interval=2',
               *SMOKE_OPTIONS[1:]]
    args = run_args(small_demo, tmp_path, *options)
    env = dict(os.environ, PYTHONPATH=str(example_site))
    process = subprocess.Popen([sys.executable, '-m', 'harness.cli', *args], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 300
    marker = None
    while time.monotonic() < deadline and process.poll() is None:
        found = list((tmp_path / 'pretrain').glob('*/last_checkpoint'))
        if found:
            marker = found[0]
            break
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert marker is not None, 'no checkpoint was written before the deadline'
    directory = marker.parent
    assert not (directory / 'backbone.pth').exists(), 'pretraining finished before the kill'
    killed_at = Path(marker.read_text().strip()).name  # e.g. iter_2.pth

    resumed = harness_cli(*args, '--resume', check=True)
    assert 'pretraining done' in resumed.stdout
    log = ''.join(path.read_text() for path in directory.glob('*/*.log'))
    assert 'Auto resumed from the latest checkpoint' in log and killed_at in log
    meta = json.loads((directory / 'pretrain.json').read_text())
    assert meta['iters'] == 40


@pytest.mark.slow
def test_changed_method_code_trains_again_and_unchanged_code_reuses(example_site, small_demo,
                                                                     tmp_path):
    """A copy of the installed example plugin is this test's own, so its code can be
    edited."""
    import os

    site = shutil.copytree(example_site, tmp_path / 'site')
    env = dict(os.environ, PYTHONPATH=str(site))
    args = [sys.executable, '-m', 'harness.cli', 'run', '--method', 'tinysiam', '--eval',
            'ucf101', '--protocol', 'linear', '--data', str(small_demo), '--pretrain-data',
            'ucf101', '--work-dir', str(tmp_path / 'work'), '--cfg-options',
            'train_cfg.max_iters=2', 'train_dataloader.batch_size=2',
            'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
            'eval.feature_loader.num_workers=0']

    def harness(*extra):
        result = subprocess.run(args, env=env, capture_output=True, text=True)
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout, read_record(record_path(result.stdout))

    out, first = harness()
    assert 'pretraining done' in out
    out, unchanged = harness()
    assert 'pretraining reused from cache' in out
    assert unchanged['pretrain']['key'] == first['pretrain']['key']
    module = site / 'harness_example' / 'tinysiam.py'
    module.write_text(module.read_text() + '\n# a change to the method\'s code\n')
    out, changed = harness()
    assert 'trained by other code (harness_example)' in out and 'pretraining done' in out
    assert changed['pretrain']['key'] != first['pretrain']['key']
    assert changed['pretrain']['config_sha256'] == first['pretrain']['config_sha256']


@pytest.mark.slow
def test_two_processes_under_torchrun_share_the_work_and_write_one_record(example_site,
                                                                          small_demo, tmp_path):
    """The same command under torchrun on CPUs (gloo): pretraining on both ranks, one record."""
    import os

    from harness.testing import free_port

    port = free_port()
    env = dict(os.environ, PYTHONPATH=str(example_site), OMP_NUM_THREADS='1')
    result = subprocess.run(
        [sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
         '--master_port', str(port), '-m', 'harness.cli',
         *run_args(small_demo, tmp_path, '--pretrain-data', 'ucf101', '--launcher', 'pytorch',
                   '--cfg-options', *SMOKE_OPTIONS)],
        env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert result.stdout.count('record: ') == 1  # reported once
    records = list((tmp_path / 'leaderboards' / 'records').glob('*.json'))
    assert len(records) == 1
    record = read_record(records[0])
    assert record['pretrain']['iters'] == 6 and record['metrics']['top1']['value'] >= 0
    logs = ''.join(p.read_text() for p in (tmp_path / 'pretrain').glob('*/*/*.log'))
    assert 'world_size: 2' in logs or 'Distributed training: True' in logs

    # the linear probe on the same pretraining: the two processes extract a share of the
    # videos each and gather them; the metric is the one a single process computes
    pretrain_options = [o for o in SMOKE_OPTIONS if not o.startswith('eval.')]
    def linear(*launch: str) -> dict:
        result = subprocess.run(
            [*launch, '-m', 'harness.cli',
             *run_args(small_demo, tmp_path, '--pretrain-data', 'ucf101', '--protocol', 'linear',
                       *(['--launcher', 'pytorch'] if len(launch) > 1 else []),
                       '--cfg-options', *pretrain_options)],
            env=env, capture_output=True, text=True, timeout=900)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        assert result.stdout.count('record: ') == 1
        assert 'pretraining reused from cache' in result.stdout
        return read_record(record_path(result.stdout))['metrics']

    two = linear(sys.executable, '-m', 'torch.distributed.run', '--nproc_per_node', '2',
                 '--master_port', str(port))
    for store in (tmp_path / 'features').glob('ucf101_*'):
        shutil.rmtree(store)  # extract again, in one process
    assert linear(sys.executable) == two
