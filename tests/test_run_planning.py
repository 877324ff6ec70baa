"""What `harness run` resolves and checks before it trains anything: named configs and
--dry-run, strict --cfg-options, values mmengine would reject, the output locations, and a
pretraining set that never holds a test video of an evaluated split."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import DataError, HarnessError
from harness.plugins import PluginManager
from harness.run import RunOptions, plan_run
from harness.run.jobs import check_disjoint, plan_jobs
from harness.run.plan import DataSource


@pytest.fixture(scope='module')
def work(tmp_path_factory) -> Path:
    """One work dir for the module, so the demo datasets are generated once."""
    return tmp_path_factory.mktemp('work')


def run(work: Path, *args: str) -> list[str]:
    return ['run', '--method', 'brave', '--eval', 'ucf101', '--work-dir', str(work), *args]


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    return err


def test_dry_run_of_the_paper_configs_prints_paper_sizes_and_trains_nothing(work, capsys):
    assert main(run(work, '--config', 'paper', '--eval-config', 'paper', '--dry-run',
                    '--cfg-options', 'eval.model.cls_head.dropout_ratio=0.3')) == 0
    out = capsys.readouterr().out
    pretrain, evaluation = out.split('merged config:')[1:3]
    assert 'frames=16' in pretrain and 'size=224' in pretrain and 'size=112' in pretrain
    assert 'frames=64' in pretrain and "type='BraveLARS'" in pretrain
    assert 'clip_len=16' in evaluation and 'num_clips=10' in evaluation
    assert "crop_size=128, type='ThreeCrop'" in evaluation and '112,' in evaluation
    assert 'dropout_ratio=0.3' in evaluation
    assert 'nothing was trained' in out
    assert not (work / 'pretrain').exists() and not (work / 'records').exists()


@pytest.mark.parametrize('option,key', [
    ('eval.nosuchkey=1', 'eval.nosuchkey'),
    ('size=112', 'size'),  # a module-level variable of old configs: no longer a key
    ('train_dataloader.dataset.pipeline.0.views.narow.size=64', 'narow'),
])
def test_cfg_options_key_absent_from_the_config_is_one_line(work, capsys, option, key):
    assert main(run(work, '--dry-run', '--cfg-options', option)) == 2
    line = error_line(capsys)
    assert key in line and 'no such key' in line and '+' in line


def test_a_new_key_marked_with_plus_is_accepted(work, capsys):
    assert main(run(work, '--dry-run', '--cfg-options', '+eval.my_note=1')) == 0
    assert 'my_note = 1' in capsys.readouterr().out


@pytest.mark.parametrize('option,words', [
    ('train_dataloader.batch_size=0', ['train_dataloader.batch_size=0', 'positive integer']),
    ('train_cfg.max_iters=-5', ['train_cfg.max_iters=-5', 'positive integer']),
    ('optim_wrapper.optimizer.type=Adamm', ['optim_wrapper.optimizer.type', 'Adam']),
    ('eval.train_dataloader.num_workers=-1', ['evaluation config',
                                              'train_dataloader.num_workers=-1']),
])
def test_values_mmengine_rejects_are_one_line_before_training(work, capsys, option, words):
    assert main(run(work, '--cfg-options', option)) == 2
    line = error_line(capsys)
    assert all(word in line for word in words), line
    assert not (work / 'pretrain').exists()


@pytest.mark.parametrize('args,words', [
    (['--method', 'brave', '--backbone', 'resnet18'], "method 'brave' trains on video, not on "
                                                      'image'),
    (['--method', 'random', '--backbone', 'resnet18'], "evaluator 'ucf101' takes video but "
                                                       "backbone 'resnet18' takes image"),
])
def test_a_backbone_of_the_other_kind_is_one_line(work, capsys, args, words):
    assert main(['run', *args, '--eval', 'ucf101', '--work-dir', str(work), '--dry-run']) == 2
    assert words in error_line(capsys)


def test_a_video_method_on_an_image_evaluator_is_one_line(work, capsys):
    assert main(['run', '--method', 'brave', '--eval', 'imagenet', '--work-dir', str(work),
                 '--dry-run']) == 2
    assert "method 'brave' trains on video, not on image" in error_line(capsys)


def test_a_backbone_the_method_cannot_train_is_one_line(work, capsys):
    assert main(['run', '--method', 'sim', '--backbone', 'resnet18', '--eval', 'imagenet',
                 '--work-dir', str(work), '--dry-run']) == 2
    assert ("method 'sim' trains only the backbones vit-b16, vit-s16, vit-tiny8, not "
            "'resnet18'") in error_line(capsys)


def test_an_image_method_that_reads_videos_pretrains_on_its_own_demo_video_set(work):
    pm = PluginManager()
    plan = plan_run(pm, RunOptions(method='transitive', eval='voc07', work_dir=str(work),
                                   dry_run=True))
    assert plan.backbone.info.modality == 'image'
    assert (plan.pretrain_data.name, plan.pretrain_data.is_demo) == ('kinetics400', True)
    # the record states the provenance of each: method, backbone, evaluator, both datasets
    assert plan.distributions == ('harness-backbones', 'harness-detdata', 'harness-deteval',
                                  'harness-transitive', 'harness-videodata')


def test_a_pretraining_set_of_the_wrong_kind_is_one_line(work, capsys):
    assert main(['run', '--method', 'transitive', '--eval', 'voc07', '--pretrain-data',
                 'imagenet=demo', '--work-dir', str(work), '--dry-run']) == 2
    assert ("method 'transitive' pretrains on video but the pretraining set imagenet holds "
            'image; name a video dataset with --pretrain-data') in error_line(capsys)


def test_a_method_on_two_kinds_of_data_runs_the_variant_its_evaluator_reads():
    from harness.api import MethodInfo

    image = MethodInfo('m', 's', 'image', {'demo': 'i.py'}, 'resnet18')
    method = MethodInfo('m', 's', 'video', {'demo': 'v.py'}, 'r3d18', also=(image,))
    assert method.kinds == ('video', 'image')
    assert method.for_modality('video') is method and method.for_modality('image') is image
    assert method.for_modality('audio') is None
    anything = MethodInfo('r', 's', 'any', {}, 'r3d18')
    assert anything.for_modality('image') is anything


def test_launcher_pytorch_outside_torchrun_is_one_line(work, capsys, monkeypatch):
    for name in ('RANK', 'WORLD_SIZE', 'LOCAL_RANK', 'MASTER_ADDR', 'MASTER_PORT'):
        monkeypatch.delenv(name, raising=False)
    assert main(run(work, '--launcher', 'pytorch')) == 2
    assert 'torchrun' in error_line(capsys)


def test_unknown_config_name_lists_the_names(work, capsys):
    assert main(run(work, '--config', 'papper')) == 2
    line = error_line(capsys)
    assert "no config 'papper'" in line and 'demo, paper' in line


def test_records_dir_that_cannot_be_written_fails_before_any_work(tmp_path, capsys):
    blocker = tmp_path / 'a-file'
    blocker.write_text('')
    assert main(run(tmp_path / 'work', '--records-dir', str(blocker / 'records'))) == 2
    assert '--records-dir' in error_line(capsys)
    assert not (tmp_path / 'work').exists()


def test_leaderboard_commands_need_an_existing_records_dir(tmp_path, capsys):
    missing = tmp_path / 'nonexistent'
    assert main(['leaderboard', 'render', '--records-dir', str(missing)]) == 2
    assert str(missing) in error_line(capsys)
    assert not (tmp_path / 'README.md').exists()
    assert main(['leaderboard', 'add', str(tmp_path / 'x.json'), '--records-dir',
                 str(missing)]) == 2


def test_real_evaluation_data_needs_a_named_pretraining_set(tmp_path, capsys):
    from harness_videodata.ucf101 import generate_demo

    root = generate_demo(tmp_path / 'ucf', groups=3, clips_per_group=1, frames=16, size=32)
    (root / 'DEMO.txt').unlink()  # now it looks like a real dataset
    assert main(run(tmp_path / 'w', '--data', str(root))) == 2
    assert '--pretrain-data' in error_line(capsys)


def test_pretraining_on_the_evaluation_set_uses_each_splits_own_train_list(work):
    pm = PluginManager()
    plan = plan_run(pm, RunOptions(method='brave', eval='ucf101', split='all',
                                   pretrain_data='ucf101', work_dir=str(work)))
    assert plan.pretrains_per_split
    jobs = plan_jobs(plan, print)
    assert [job.split.name for job in jobs] == list(plan.splits)
    for job in jobs:
        name, split, planned = job.split.name, job.split.split, job.pretraining
        listed = {line.rsplit(' ', 1)[0] for line in
                  Path(planned.cfg.train_dataloader.dataset.ann_file).read_text().splitlines()}
        assert listed == {item.path for item in split.train}
        tested = {item.path for item in split.test}
        assert not listed & tested, f'split {name} pretrains on its own test videos'
        assert planned.data['split'] == name
        assert planned.data['num_items'] == len(split.train) == len(listed)
        assert job.request.data_split is split
        assert job.request.backbone_weights == planned.backbone_path
        # the config (its hash: the cache key) keeps the schema-1 name, so caches stay valid
        assert planned.cfg.pretrain_data['num_videos'] == len(split.train)
        assert 'num_items' not in planned.cfg.pretrain_data
    assert len({job.pretraining.key for job in jobs}) == 3  # one pretraining per split


def test_one_pretraining_serves_every_split_and_seed_of_a_trial_config(work):
    plan = plan_run(PluginManager(), RunOptions(method='brave', eval='ucf101', split='all',
                                                seeds=(0, 1), work_dir=str(work)))
    jobs = plan_jobs(plan, print)
    assert [(job.seed, job.split.name) for job in jobs] == \
        [(seed, name) for seed in (0, 1) for name in plan.splits]
    by_seed = {seed: {job.pretraining for job in jobs if job.seed == seed} for seed in (0, 1)}
    assert all(len(planned) == 1 for planned in by_seed.values())  # shared by the splits
    assert by_seed[0] != by_seed[1]  # each seed pretrains on its own
    assert len({job.request.work_dir for job in jobs}) == len(jobs)


def test_a_pretraining_set_holding_a_test_video_is_refused(tmp_path):
    from harness.api import DatasetInfo
    from harness.data.splits import DataItem

    info = DatasetInfo('x', '', 'video', 'harness_videodata.videofolder')
    (tmp_path / 'a.avi').write_bytes(b'')
    (tmp_path / 'link').mkdir()
    os.symlink(tmp_path / 'a.avi', tmp_path / 'link' / 'b.avi')
    source = DataSource(info, tmp_path, True)
    with pytest.raises(DataError, match='holds 1 test videos of x split 2'):
        check_disjoint(source, [DataItem('a.avi', -1)], source,
                       {'1': [], '2': [DataItem('link/b.avi', 0)]})
    check_disjoint(source, [DataItem('a.avi', -1)], source, {'1': [DataItem('c.avi', 0)]})


@pytest.mark.parametrize('seeds,words', [('0,x', 'not a comma-separated list of integers'),
                                         ('1,1', 'names a seed twice')])
def test_bad_seeds_are_one_line(work, capsys, seeds, words):
    assert main(run(work, '--seeds', seeds)) == 2
    assert words in error_line(capsys)


def test_seed_and_seeds_exclude_each_other(work, capsys):
    assert main(run(work, '--seed', '1', '--seeds', '0,1')) == 2
    assert 'not allowed with argument' in error_line(capsys)


def test_amp_without_a_gpu_is_one_line(work, capsys, monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, 'is_available', lambda: False)
    assert main(run(work, '--amp', 'bf16')) == 2
    assert '--amp bf16 needs a GPU' in error_line(capsys)


@pytest.mark.parametrize('protocol', ['finetune', 'linear'])
def test_deterministic_asks_both_configs_for_deterministic_algorithms(work, capsys, protocol):
    assert main(run(work, '--protocol', protocol, '--deterministic', '--dry-run')) == 0
    pretrain, evaluation = capsys.readouterr().out.split('merged config:')[1:3]
    assert 'deterministic=True' in pretrain and 'deterministic=True' in evaluation


def test_demo_data_trains_the_default_backbones_demo_standin_unless_one_is_named(work, tmp_path):
    from harness_videodata.ucf101 import generate_demo

    pm = PluginManager()
    for method in ('brave', 'random'):  # random init gets the same network as every method
        plan = plan_run(pm, RunOptions(method=method, eval='ucf101', work_dir=str(work)))
        assert plan.backbone.info.name == 'r3d18-slim'
    named = plan_run(pm, RunOptions(method='brave', eval='ucf101', backbone='r3d18',
                                    work_dir=str(work)))
    assert named.backbone.info.name == 'r3d18'
    root = generate_demo(tmp_path / 'ucf', groups=3, clips_per_group=1, frames=16, size=32)
    (root / 'DEMO.txt').unlink()  # now it looks like a real dataset
    real = plan_run(pm, RunOptions(method='brave', eval='ucf101', data=str(root),
                                   pretrain_data='ucf101', work_dir=str(tmp_path / 'w')))
    assert real.backbone.info.name == 'r3d18'


def test_check_writable_writes_a_probe_instead_of_trusting_os_access(tmp_path):
    from harness.run.plan import check_writable

    check_writable(tmp_path / 'new' / 'records', '--records-dir')  # creatable: fine
    assert list(tmp_path.iterdir()) == []  # nothing created, no probe left
    with pytest.raises(HarnessError, match=r'^--records-dir /proc/x cannot be written \(writing '
                                           r'in /proc'):
        check_writable(Path('/proc/x'), '--records-dir')  # os.access says yes to root here
    (tmp_path / 'file').write_text('')
    with pytest.raises(HarnessError, match='is a file, not a folder'):
        check_writable(tmp_path / 'file' / 'sub', '--work-dir')


def test_a_work_dir_that_is_a_file_is_named_as_the_work_dir(tmp_path, capsys):
    from harness.cli import main

    (tmp_path / 'file').write_text('')
    assert main(['run', '--method', 'random', '--eval', 'ucf101', '--work-dir',
                 str(tmp_path / 'file')]) == 2
    assert capsys.readouterr().err.strip().splitlines()[-1].startswith(
        'harness: error: --work-dir ')


def test_a_copy_of_a_test_video_under_another_root_is_found_by_content(tmp_path):
    from harness.api import DatasetInfo
    from harness.data.splits import DataItem

    info = DatasetInfo('x', '', 'video', 'harness_videodata.videofolder')
    (tmp_path / 'eval').mkdir()
    (tmp_path / 'copy').mkdir()
    (tmp_path / 'eval' / 'test.avi').write_bytes(b'frames of the test video')
    (tmp_path / 'copy' / 'renamed.avi').write_bytes(b'frames of the test video')
    (tmp_path / 'copy' / 'other.avi').write_bytes(b'frames of another video!')  # same size
    evaluation = DataSource(info, tmp_path / 'eval', False)
    pretrain = DataSource(info, tmp_path / 'copy', False)
    tests = {'1': [DataItem('test.avi', 0)]}
    with pytest.raises(DataError, match=r'holds 1 test videos of x split 1 \(e.g. test.avi, the '
                                        r'same file or a copy of it\)'):
        check_disjoint(pretrain, [DataItem('other.avi', -1), DataItem('renamed.avi', -1)],
                       evaluation, tests)
    check_disjoint(pretrain, [DataItem('other.avi', -1)], evaluation, tests)


def test_the_evaluation_dataset_under_another_root_is_a_pretraining_set_of_its_own(work):
    import shutil

    pm = PluginManager()
    same = plan_run(pm, RunOptions(method='brave', eval='ucf101', work_dir=str(work),
                                   pretrain_data='ucf101'))
    assert same.pretrains_per_split  # the evaluation set's own train lists
    copy = work / 'ucf101-copy'
    if not copy.exists():
        shutil.copytree(same.eval_data.root, copy)
    other = plan_run(pm, RunOptions(method='brave', eval='ucf101', work_dir=str(work),
                                    pretrain_data=f'ucf101={copy}'))
    assert other.pretrain_data.root == copy and not other.pretrains_per_split
    jobs = plan_jobs(other, print)  # the copy's split-1 train list: no test video of split 1
    assert jobs[0].pretraining.data['dataset'] == 'ucf101'
    # evaluated on split 2, the copy's split-1 train list holds copies of split 2's test videos
    split2 = plan_run(pm, RunOptions(method='brave', eval='ucf101', work_dir=str(work),
                                     split='2', pretrain_data=f'ucf101={copy}'))
    with pytest.raises(DataError, match='the same file or a copy of it'):
        plan_jobs(split2, print)


def test_one_pretraining_serves_every_evaluator_that_asks_for_it(work):
    # kNN pretrains on the evaluation set's own train list, voc07 and nyuv2 on the demo
    # ImageNet as a separate set (which also counts what it left out): the same images, so the
    # same pretraining, trained once
    pm = PluginManager()
    keys = set()
    for evaluator, protocol in [('imagenet', 'knn'), ('voc07', None), ('nyuv2', 'normals')]:
        plan = plan_run(pm, RunOptions(method='simclr', eval=evaluator, protocol=protocol,
                                       work_dir=str(work)))
        keys |= {job.pretraining.key for job in plan_jobs(plan, print)}
    assert len(keys) == 1


@pytest.mark.parametrize('seeds', ['[0, -1]', '[0, 0]', '[2 ** 32]', '["a"]', '[]'])
def test_an_evaluation_configs_seeds_are_distinct_numpy_seeds(tmp_path, seeds):
    from harness.run.plan import config_seeds

    config = tmp_path / 'trials.py'
    config.write_text(f'seeds = {seeds}\n')
    with pytest.raises(HarnessError, match=r'seeds=.* must be a list of distinct integers in '
                                           r'\[0, 4294967295\]'):
        config_seeds(config)
    config.write_text('seeds = [0, 4294967295]\n')
    assert config_seeds(config) == (0, 4294967295)
