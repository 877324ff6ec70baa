"""`harness run` with the frozen-feature protocols end to end (tiny backbone, small demo data):
every split of HMDB51 in one record, features shared by linear and retrieval, and unreadable
videos skipped and counted."""
from __future__ import annotations

import re
import shutil
import statistics

import pytest

from harness.results import read_record, record_id

from tests.conftest import SMOKE_OPTIONS
from tests.test_end_to_end import record_path

PRETRAIN_SMOKE = [o for o in SMOKE_OPTIONS if not o.startswith('eval.')]
FEATURE_SMOKE = ['eval.feature_loader.num_workers=0']


def run(harness_cli, data, work, *args, check=True):
    return harness_cli('run', '--backbone', 'tiny3d', '--data', str(data), '--work-dir',
                       str(work), '--records-dir', str(work / 'records'), *args, check=check)


@pytest.fixture(scope='session')
def small_hmdb(tmp_path_factory):
    from harness_videodata.hmdb51 import generate_demo

    return generate_demo(tmp_path_factory.mktemp('hmdb51-demo'))


@pytest.mark.slow
def test_hmdb51_linear_on_all_splits_is_one_record_with_mean_and_std(harness_cli, small_hmdb,
                                                                     tmp_path):
    result = run(harness_cli, small_hmdb, tmp_path, '--method', 'brave', '--eval', 'hmdb51',
                 '--protocol', 'linear', '--split', 'all', '--cfg-options', *PRETRAIN_SMOKE,
                 *FEATURE_SMOKE)
    record = read_record(record_path(result.stdout))
    assert record['eval']['splits'] == ['1', '2', '3'] and record['pretrain']['split'] == '1'
    # pretrained once, on the demo Kinetics-400 (the default pretraining set for demo data)
    assert record['pretrain']['dataset'] == 'kinetics400' and 'per_split' not in record['pretrain']
    assert len(list((tmp_path / 'pretrain').glob('*/backbone.pth'))) == 1
    top1 = record['metrics']['top1']
    values = list(top1['per_split'].values())
    assert list(top1['per_split']) == ['1', '2', '3']
    assert top1['value'] == round(statistics.fmean(values), 2)
    assert top1['std'] == round(statistics.stdev(values), 2)
    assert record['eval']['skipped_items'] == {s: {'missing': 0, 'unreadable': 0}
                                                for s in ('1', '2', '3')}
    # the splits partition mostly the same videos: splits 2 and 3 extract only the videos that
    # split 1 leaves unused
    extracted = re.findall(r'features of (\d+) videos extracted \((\d+) reused', result.stdout)
    reused = result.stdout.count('features reused from cache')
    assert len(extracted) + reused == 3 and extracted[0][1] == '0'
    videos = len(list(small_hmdb.rglob('*.avi')))
    assert sum(int(new) for new, _ in extracted) == videos  # each video extracted once
    assert 'top1: ' in result.stdout and '(mean of splits 1: ' in result.stdout


@pytest.mark.slow
def test_retrieval_after_linear_reuses_the_features(harness_cli, small_demo, tmp_path):
    common = ['--method', 'brave', '--eval', 'ucf101', '--cfg-options', *PRETRAIN_SMOKE,
              *FEATURE_SMOKE]
    linear = run(harness_cli, small_demo, tmp_path, '--protocol', 'linear', *common)
    assert 'features of 40 videos extracted (0 reused from cache)' in linear.stdout
    retrieval = run(harness_cli, small_demo, tmp_path, '--protocol', 'retrieval', *common)
    assert 'pretraining reused' in retrieval.stdout
    assert 'features reused from cache' in retrieval.stdout
    record = read_record(record_path(retrieval.stdout))
    ks = (1, 5, 10, 20, 50)
    assert set(record['metrics']) == {f'R@{k}' for k in ks}
    assert record['eval']['clips'] == 10 and record['eval']['crops'] == 1
    recalls = [record['metrics'][f'R@{k}']['value'] for k in ks]
    assert recalls == sorted(recalls) and recalls[-1] == 100.0  # 20 train videos per class


def test_retrieval_is_split_1_only(example_site, monkeypatch, small_demo, tmp_path, capsys):
    from harness.cli import main

    monkeypatch.syspath_prepend(str(example_site))  # tiny3d
    assert main(['run', '--backbone', 'tiny3d', '--data', str(small_demo), '--work-dir',
                 str(tmp_path), '--method', 'random', '--eval', 'ucf101', '--protocol',
                 'retrieval', '--split', '2']) == 2
    assert capsys.readouterr().err.strip() == (
        "harness: error: protocol 'retrieval' of 'ucf101' is defined on split 1 only; drop "
        '--split or use --split 1')


@pytest.mark.slow
def test_a_truncated_video_is_skipped_and_counted(harness_cli, small_demo, tmp_path):
    data = tmp_path / 'data'
    shutil.copytree(small_demo, data)
    victim = sorted((data / 'UCF-101').rglob('*.avi'))[0]
    victim.write_bytes(victim.read_bytes()[:victim.stat().st_size // 2])
    result = run(harness_cli, data, tmp_path, '--method', 'random', '--eval', 'ucf101',
                 '--protocol', 'linear', '--cfg-options', *FEATURE_SMOKE)
    assert '1 unreadable videos in split 1 skipped' in result.stdout
    record = read_record(record_path(result.stdout))
    assert record['eval']['skipped_items'] == {'1': {'missing': 0, 'unreadable': 1}}
    strict = run(harness_cli, data, tmp_path / 'strict', '--method', 'random', '--eval',
                 'ucf101', '--protocol', 'linear', '--max-unreadable', '0', check=False)
    assert strict.returncode == 2 and len(strict.stderr.strip().splitlines()) == 1
    assert '1 of 40 videos are unreadable' in strict.stderr


@pytest.mark.slow
def test_several_seeds_are_one_record_with_each_seeds_value(harness_cli, small_demo, tmp_path):
    result = run(harness_cli, small_demo, tmp_path, '--method', 'brave', '--eval', 'ucf101',
                 '--protocol', 'linear', '--seeds', '0,1', '--pretrain-data', 'ucf101',
                 '--cfg-options', *PRETRAIN_SMOKE, *FEATURE_SMOKE)
    record = read_record(record_path(result.stdout))
    assert record['seeds'] == [0, 1]
    top1 = record['metrics']['top1']
    assert list(top1['per_seed']) == ['0', '1']
    assert top1['value'] == round(statistics.fmean(top1['per_seed'].values()), 2)
    assert top1['std'] == round(statistics.stdev(top1['per_seed'].values()), 2)
    assert record['eval']['test_items'] == {'1': 20}
    assert len(list((tmp_path / 'pretrain').glob('*/backbone.pth'))) == 2  # one per seed
    per_seed = record['pretrain']['per_seed']  # every seed's weights stay identified
    assert list(per_seed) == ['0', '1'] and 'per_split' not in record['pretrain']
    [seed0], [seed1] = per_seed['0'].values(), per_seed['1'].values()  # one split each
    assert seed0['config_sha256'] != seed1['config_sha256']
    assert seed0['checkpoint_sha256'] != seed1['checkpoint_sha256']
    assert '(mean of seeds 0: ' in result.stdout
    assert record_path(result.stdout).name == f"{record_id(record)}.json"
    assert f"__seed0-1__{record['identity'][:10]}." in record_path(result.stdout).name
