"""``harness suite``: the suite file and its expansion into runs, planning every run before
training, reusing finished records (a rerun finishes only what is missing), the summary, and
the submitit executor (its local executor standing in for SLURM)."""
from __future__ import annotations

import dataclasses
import os
import re
import textwrap
from pathlib import Path

import pytest

from harness.cli import main
from harness.errors import HarnessError
from harness.run import RunOptions
from harness.suite.planning import groups, said_once
from harness.suite.spec import SUITE_DECIDES, SlurmSettings, load_suite, shipped_suites

#: a linear probe of random weights: no pretraining, seconds per run
TINY = """\
defaults:
  backbone: tiny3d
  eval: ucf101
  protocol: linear
runs:
  - method: random
    label: C=1
  - method: random
    label: C=0.5
    cfg_options: {eval.classifier.C: 0.5}
  - method: random
    label: C=2
    cfg_options: {eval.classifier.C: 2.0}
"""
#: a plugin that fails the run whose evaluation has C=0.5, as a crash in a run would
FAILING_PLUGIN = """\
from harness import hookimpl


@hookimpl
def harness_run_start(run):
    if run.cfg_options.get('eval.classifier.C') == 0.5:
        raise RuntimeError('simulated crash in run C=0.5')
"""


def write(tmp_path: Path, text: str, name: str = 'suite.yaml') -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and 'Traceback' not in err, err
    return err.strip()


# ------------------------------------------------------------------------ the suite file


def test_lists_expand_as_a_product_with_the_defaults_under_each_entry(tmp_path):
    suite = load_suite(str(write(tmp_path, """
        description: two methods on two evaluations
        defaults:
          seeds: [0, 1, 2]
          cfg_options: {eval.classifier.C: 1.0, train_cfg.max_iters: 6}
        runs:
          - method: [brave, moco]
            eval: [ucf101, hmdb51]
            protocol: linear
            split: 1
          - method: random
            config: [null, bn_calibrated]
            eval: ucf101
            seed: 4
            cfg_options: {eval.classifier.C: 0.5}
        """)))
    assert suite.name == 'suite' and suite.description == 'two methods on two evaluations'
    assert [run.label for run in suite.runs] == [
        'brave ucf101/linear split=1', 'brave hmdb51/linear split=1',
        'moco ucf101/linear split=1', 'moco hmdb51/linear split=1',
        'random ucf101', 'random/bn_calibrated ucf101']
    assert suite.runs[1].options == {
        'seeds': (0, 1, 2), 'cfg_options': {'eval.classifier.C': 1.0, 'train_cfg.max_iters': 6},
        'method': 'brave', 'eval': 'hmdb51', 'protocol': 'linear', 'split': '1'}
    # an entry's seed replaces the default seeds; its cfg_options are merged key by key
    assert suite.runs[5].options == {
        'cfg_options': {'eval.classifier.C': 0.5, 'train_cfg.max_iters': 6},
        'method': 'random', 'config': 'bn_calibrated', 'eval': 'ucf101', 'seeds': (4,)}
    assert suite.runs[4].options['config'] is None
    assert suite.slurm == SlurmSettings()


def test_an_entrys_keys_are_whatever_fields_the_run_options_have(tmp_path):
    # a field RunOptions gains is a suite key, lists of it expanded, with no change to the
    # suite code
    @dataclasses.dataclass
    class WithTag(RunOptions):
        tag: str | None = None

    path = write(tmp_path, """
        runs:
          - method: random
            tag: [a, b]
            eval: imagenet
        """)
    suite = load_suite(str(path), options_type=WithTag)
    assert [run.options['tag'] for run in suite.runs] == ['a', 'b']
    assert [run.label for run in suite.runs] == ['random imagenet tag=a', 'random imagenet tag=b']
    # the keys an entry may have are the fields of the options type, named in the error
    keys = sorted({f.name for f in dataclasses.fields(RunOptions)} - SUITE_DECIDES |
                  {'label', 'seed'})
    with pytest.raises(HarnessError) as error:
        load_suite(str(write(tmp_path, 'runs: [{method: random, eval: ucf101, colour: red}]')))
    assert str(error.value).endswith(f"runs[0]: unknown key 'colour'; keys: {', '.join(keys)}")


@pytest.mark.parametrize('text, words', [
    ('runs:\n  - {metod: brave, eval: ucf101}',
     "suite.yaml: runs[0]: unknown key 'metod'; did you mean 'method'? keys: amp, backbone"),
    ('runs:\n  - {method: brave, eval: ucf101, work_dir: /tmp/x}',
     "runs[0]: 'work_dir' is the suite's to set, not a run's"),
    ('runs:\n  - {method: brave}',
     'runs[0]: no eval given (in the run or in defaults)'),
    ('runs:\n  - {method: brave, eval: ucf101, seeds: [0, 0]}',
     'runs[0]: seeds [0, 0] names a seed twice'),
    ('runs:\n  - {method: brave, eval: ucf101, seeds: [-1]}', 'runs[0]: seed -1: '),
    ('runs:\n  - {method: brave, eval: ucf101, seed: 1, seeds: [2]}',
     'runs[0]: give seed or seeds, not both'),
    ('runs:\n  - {method: brave, eval: ucf101, cfg_options: [a=1]}',
     "runs[0]: cfg_options takes Mapping, got ['a=1']"),
    ('runs:\n  - {method: brave, eval: []}', 'runs[0]: eval is an empty list'),
    ('runs:\n  - {method: brave, eval: ucf101}\n  - {method: brave, eval: ucf101}',
     "two runs are labelled 'brave ucf101'; give them distinct 'label's"),
    ('runs: []', "'runs' must list at least one run"),
    ('runs:\n  - {method: brave, eval: ucf101}\nslurm: {gpu_per_node: 8}',
     "slurm: unknown key 'gpu_per_node'; did you mean 'gpus_per_node'?"),
    ('runs:\n  - {method: brave, eval: ucf101}\nslurm: {nodes: 0}',
     'slurm: nodes must be a positive number, got 0'),
    ('runs:\n  - {method: brave, eval: ucf101}\nrun: []', "unknown key 'run'; did you mean "
                                                          "'runs'?"),
    ('runs:\n  - method: brave\n   eval: ucf101', 'not valid YAML at line 3 column 4'),
])
def test_a_bad_suite_file_is_one_line_exit_2(tmp_path, capsys, text, words):
    path = tmp_path / 'suite.yaml'
    path.write_text(text + '\n')
    assert main(['suite', 'run', str(path), '--dry-run']) == 2
    line = error_line(capsys)
    assert words in line and line.startswith(f'harness: error: suite {path}'), line


def test_a_run_of_weights_made_elsewhere_names_weights_instead_of_a_method(tmp_path):
    # harness eval's options: weights (and its prefix, name, supervised) in place of a method
    suite = load_suite(str(write(tmp_path, """
        defaults: {eval: imagenet, protocol: linear, backbone: resnet50}
        runs:
          - {weights: [moco_v2.pth.tar, torchvision.pth], weights_prefix: module.encoder_q.}
          - {weights: supervised.safetensors, name: IN-1k supervised, supervised: true}
          - {method: simclr}
        """)))
    assert [run.label for run in suite.runs] == [
        '[resnet50] imagenet/linear weights=moco_v2.pth.tar weights_prefix=module.encoder_q.',
        '[resnet50] imagenet/linear weights=torchvision.pth weights_prefix=module.encoder_q.',
        '[resnet50] imagenet/linear weights=supervised.safetensors name=IN-1k supervised '
        'supervised=True', 'simclr [resnet50] imagenet/linear']
    assert suite.runs[2].options['supervised'] is True
    with pytest.raises(HarnessError, match=r'runs\[0\]: no method \(or weights, for weights '
                                           r'made elsewhere\) given'):
        load_suite(str(write(tmp_path, 'runs: [{eval: ucf101}]')))


def test_a_name_is_a_shipped_suite_and_an_unknown_one_lists_them(capsys):
    assert {'demo', 'brave', 'transrank', 'sim', 'transitive', 'counting',
            'multitask'} <= set(shipped_suites())
    for name in shipped_suites():
        assert load_suite(name).runs
    assert main(['suite', 'status', 'dmeo']) == 2
    assert error_line(capsys) == (
        "harness: error: no suite file 'dmeo' and no shipped suite of that name; did you mean "
        f"demo? shipped suites: {', '.join(shipped_suites())}")


def test_slurm_settings_become_the_jobs_resources(tmp_path):
    from harness.suite.executors import job_parameters

    suite = load_suite(str(write(tmp_path, """
        runs: [{method: brave, eval: ucf101}]
        slurm: {nodes: 2, gpus_per_node: 4, partition: gpu, timeout_min: 90, retries: 3,
                mem_gb: 200, additional_parameters: {account: ssl}}
        """)))
    assert suite.slurm.retries == 3
    assert job_parameters(suite, 'slurm') == (
        {'timeout_min': 90, 'name': 'harness-suite-suite', 'nodes': 2, 'tasks_per_node': 4,
         'gpus_per_node': 4, 'cpus_per_task': 8, 'mem_gb': 200, 'slurm_partition': 'gpu',
         'slurm_additional_parameters': {'account': 'ssl'}}, 'slurm')
    # the local stand-in: one process, no launcher
    assert job_parameters(suite, 'local') == (
        {'timeout_min': 90, 'name': 'harness-suite-suite', 'nodes': 1, 'tasks_per_node': 1},
        'none')


def test_runs_sharing_a_pretraining_are_one_group():
    from types import SimpleNamespace

    runs = [SimpleNamespace(index=i, pretrainings=keys) for i, keys in
            enumerate([('a',), (), ('b',), ('a', 'c'), ('c',), ('b',)])]
    assert [[run.index for run in group] for group in groups(runs)] == [[0, 3, 4], [1], [2, 5]]


def test_a_data_root_no_run_reads_is_one_line(tmp_path, capsys):
    path = write(tmp_path, 'runs: [{method: random, eval: ucf101}]\n')
    assert main(['suite', 'status', str(path), '--work-dir', str(tmp_path / 'w'),
                 '--data', 'ucf10=/data/ucf101']) == 2
    assert error_line(capsys) == (
        "harness: error: data ucf10=/data/ucf101: no run of suite suite reads dataset 'ucf10'; "
        'it reads ucf101')
    assert main(['suite', 'status', str(path), '--data', 'ucf101']) == 2
    assert 'harness: error: --data takes DATASET=ROOT' in error_line(capsys)


def test_the_slurm_executor_without_slurm_is_one_line_before_planning(tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv('PATH', str(tmp_path))  # no sbatch, no srun
    path = write(tmp_path, 'runs: [{method: nosuchmethod, eval: ucf101}]\n')
    assert main(['suite', 'run', str(path), '--executor', 'slurm']) == 2
    assert error_line(capsys) == (
        'harness: error: --executor slurm needs SLURM, but sbatch and srun are not on PATH '
        'here; run it on a login node of the cluster, or use --executor local')


@pytest.mark.parametrize('jobs, executor, words', [
    ('0', 'local', '--jobs 0: the number of jobs at once is 1 or more'),
    ('2', 'slurm', '--jobs 2: is for the local executors; --executor slurm submits every job '
                   'at once')])
def test_a_number_of_jobs_the_executor_cannot_take_is_one_line_before_planning(
        tmp_path, capsys, monkeypatch, jobs, executor, words):
    for tool in ('sbatch', 'srun'):  # SLURM's commands on PATH, so that only --jobs is wrong
        (tmp_path / tool).write_text('#!/bin/sh\n')
        (tmp_path / tool).chmod(0o755)
    monkeypatch.setenv('PATH', f'{tmp_path}{os.pathsep}{os.environ["PATH"]}')
    path = write(tmp_path, 'runs: [{method: nosuchmethod, eval: ucf101}]\n')
    assert main(['suite', 'run', str(path), '--executor', executor, '--jobs', jobs]) == 2
    assert error_line(capsys) == f'harness: error: {words}'


def test_data_roots_go_to_the_evaluation_and_pretraining_sets_by_dataset(tmp_path):
    from harness.plugins import PluginManager
    from harness.suite.planning import run_options

    suite = load_suite(str(write(tmp_path, """
        runs:
          - {method: brave, eval: ucf101}
          - {method: brave, eval: hmdb51, pretrain_data: ucf101}
          - {method: brave, eval: hmdb51, pretrain_data: kinetics400=demo, label: own}
          - {method: random, eval: ucf101}
          - {method: random, config: bn_calibrated, eval: ucf101}
          - {method: simclr, eval: imagenet}
        """)))
    pm = PluginManager()
    roots = {'ucf101': '/u', 'kinetics400': '/k', 'imagenet': '/i'}
    options = [run_options(pm, run, roots, work_dir=tmp_path / 'w', records_dir=tmp_path / 'r',
                           launcher='none', options_type=RunOptions) for run in suite.runs]
    assert [(o.data, o.pretrain_data) for o in options] == [
        ('/u', 'kinetics400=/k'),  # the default pretraining set, at its root
        ('demo', 'ucf101=/u'),  # hmdb51 has no root: its demo
        ('demo', 'kinetics400=demo'),  # a root given in the run is kept
        ('/u', None),  # no pretraining, no pretraining set
        ('/u', 'kinetics400=/k'),  # the reference that pretrains (BatchNorm statistics)
        ('/i', 'imagenet=/i')]  # pretrained on the evaluation set's own train list
    assert all(o.resume and o.work_dir == str(tmp_path / 'w') and o.launcher == 'none'
               for o in options)


# ------------------------------------------------------------------------- planning


@pytest.fixture
def example_path(example_site, monkeypatch, tmp_path):
    """The example plugin (the tiny3d backbone) importable here and in submitit's jobs, with
    the failing plugin module beside it."""
    (tmp_path / 'failing_plugin.py').write_text(FAILING_PLUGIN)
    monkeypatch.syspath_prepend(str(example_site))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv('PYTHONPATH', os.pathsep.join([str(example_site), str(tmp_path)]))
    return tmp_path


def test_a_warning_several_runs_give_is_said_once_with_how_many_runs_gave_it():
    missing = 'warning: 4 videos listed in kinetics400 are not on disk and were skipped'
    assert said_once([('aot', missing), ('aot', 'warning: 1 unreadable video skipped'),
                      ('brave', missing), ('moco', missing), ('pace', 'other')]) == [
        f'aot and 2 more runs: {missing}', 'aot: warning: 1 unreadable video skipped',
        'pace: other']
    assert said_once([('aot', missing), ('brave', missing)]) == [f'aot and 1 more run: {missing}']
    assert said_once([]) == []


def test_every_run_is_planned_and_each_problem_is_a_line_before_anything_trains(
        example_path, small_demo, tmp_path, capsys):
    path = write(tmp_path, """
        defaults: {backbone: tiny3d, eval: ucf101, protocol: linear}
        runs:
          - {method: random, label: fine}
          - {method: random, label: bad C, cfg_options: {eval.classifier.C: -1.0}}
          - {method: random, label: no such protocol, protocol: lineer}
          - {method: random, label: same as fine}
        """)
    assert main(['suite', 'run', str(path), '--data', f'ucf101={small_demo}', '--work-dir',
                 str(tmp_path / 'w')]) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [
        "harness: error: run 'bad C': evaluation config: classifier.C=-1.0: must be a number > 0",
        "harness: error: run 'no such protocol': evaluator 'ucf101' has no protocol 'lineer'; "
        'its protocols: finetune, linear, svm, retrieval',
        "harness: error: run 'same as fine' is the same run as 'fine' (the same settings, so "
        'the same record); drop one',
        'harness: error: 3 of the 4 runs of suite suite cannot run (each named above); nothing '
        'was trained']
    assert not (tmp_path / 'w' / 'records').exists() or \
        not list((tmp_path / 'w' / 'records').iterdir())
    assert not (tmp_path / 'w' / 'eval').exists()


# -------------------------------------------------------------- running, rerunning, failing


def summary(stdout: str) -> dict[str, str]:
    """``{run: state}`` of the rows of the summary (or status) table (the runs of TINY)."""
    rows = [re.split(r'\s{2,}', line) for line in stdout.splitlines()]
    return {row[0]: row[1] for row in rows if len(row) >= 3 and row[0].startswith('C=')}


#: a plugin that interrupts the suite (Ctrl-C) when the run whose evaluation has C=0.5 starts
INTERRUPTING_PLUGIN = """\
from harness import hookimpl


@hookimpl
def harness_run_start(run):
    if run.cfg_options.get('eval.classifier.C') == 0.5:
        raise KeyboardInterrupt
"""


@pytest.mark.slow
def test_a_rerun_finishes_only_the_missing_runs(example_path, small_demo, tmp_path, capsys):
    # example_path makes the plugin modules this test writes importable
    (tmp_path / 'interrupting_plugin.py').write_text(INTERRUPTING_PLUGIN)
    path = write(tmp_path, TINY)
    args = ['suite', 'run', str(path), '--data', f'ucf101={small_demo}', '--work-dir',
            str(tmp_path / 'w')]

    def harness(*argv: str) -> tuple[int, str, str]:
        code = main(list(argv))
        return code, *capsys.readouterr()

    code, out, err = harness('-p', 'interrupting_plugin', *args)  # at the second run
    assert code == 130, out + err
    assert "run 'harness suite run" in err
    records = tmp_path / 'w' / 'records'
    assert len(list(records.glob('*.json'))) == 1, out + err

    code, out, err = harness(*args)
    assert code == 0, out + err
    assert summary(out) == {'C=1': 'reused', 'C=0.5': 'ran', 'C=2': 'ran'}
    assert 'suite suite: 2 ran, 1 reused, 0 failed' in out
    assert len(list(records.glob('*.json'))) == 3
    board = tmp_path / 'w' / 'board'
    text = (board / 'README.md').read_text()
    assert text.count('| tiny3d | none (random init) |') == 3
    assert 'generated by `harness suite run ' in text and str(tmp_path / 'w') in text
    assert [p.name for p in (board / 'figures').iterdir()] == ['demo-ucf101-linear.svg']

    # a record made absent: status says so, and a rerun runs that run alone
    lost = next(records.glob('*seed0__*.json'))
    kept = {p: p.read_bytes() for p in records.glob('*.json') if p != lost}
    lost.unlink()
    code, out, err = harness('suite', 'status', *args[2:])
    assert code == 0, err
    # its evaluation is done (a rerun finds it), its record is not
    assert sorted(summary(out).values()) == ['finished', 'finished', 'started']
    assert 'suite suite: 2 of 3 runs finished' in out
    code, out, err = harness(*args)
    assert code == 0, out + err
    assert sorted(summary(out).values()) == ['ran', 'reused', 'reused']
    assert lost.is_file()
    assert all(path.read_bytes() == text for path, text in kept.items())  # nothing rewritten


def test_a_failed_run_is_reported_after_the_others_ran_exit_1(example_path, small_demo,
                                                              tmp_path, capsys):
    path = write(tmp_path, TINY)
    assert main(['-p', 'failing_plugin', 'suite', 'run', str(path), '--data',
                 f'ucf101={small_demo}', '--work-dir', str(tmp_path / 'w')]) == 1
    out = capsys.readouterr().out
    assert summary(out) == {'C=1': 'ran', 'C=0.5': 'failed', 'C=2': 'ran'}, out
    assert 'RuntimeError: simulated crash in run C=0.5' in out
    assert 'suite suite: 2 ran, 0 reused, 1 failed' in out


@pytest.mark.slow
def test_submitit_local_executor_stands_in_for_slurm_with_retries(example_path, small_demo,
                                                                  tmp_path, capsys):
    # slurm.retries: 1, so the failing job is submitted twice, the other once (two of TINY's
    # runs: each job is a process of its own)
    two_runs = TINY[:TINY.index('  - method: random\n    label: C=2')]
    path = write(tmp_path, two_runs + 'slurm: {retries: 1, timeout_min: 10}\n')
    work = tmp_path / 'w'
    assert main(['-p', 'failing_plugin', 'suite', 'run', str(path), '--executor',
                 'submitit-local', '--data', f'ucf101={small_demo}', '--work-dir',
                 str(work)]) == 1
    out = capsys.readouterr().out
    assert summary(out) == {'C=1': 'ran', 'C=0.5': 'failed'}, out
    assert out.count('submitted (attempt 1 of 2)') == 2
    assert out.count('submitted (attempt 2 of 2): C=0.5') == 1
    assert 'failed (RuntimeError: run C=0.5 failed: RuntimeError: simulated crash in run ' \
        'C=0.5); submitting it again' in out
    jobs = [p for p in (work / 'submitit').iterdir() if p.name.endswith('_submitted.pkl')]
    assert len(jobs) == 3
    assert len(list((work / 'records').glob('*.json'))) == 1


@pytest.mark.slow
def test_local_jobs_run_at_once_each_with_its_share_of_the_cores(example_path, small_demo,
                                                                 tmp_path, capsys):
    from harness.results import read_records
    from harness.suite.executors import threads_per_job

    path = write(tmp_path, TINY)
    work = tmp_path / 'w'
    assert main(['-p', 'failing_plugin', 'suite', 'run', str(path), '--jobs', '2', '--data',
                 f'ucf101={small_demo}', '--work-dir', str(work)]) == 1
    out = capsys.readouterr().out
    threads = threads_per_job(2)
    assert f'3 job(s), 2 at a time, {threads} compute thread(s) each' in out
    # each run is its own job here: the failing one does not stop the others, nor is it retried
    assert summary(out) == {'C=1': 'ran', 'C=0.5': 'failed', 'C=2': 'ran'}, out
    assert 'RuntimeError: run C=0.5 failed: RuntimeError: simulated crash in run C=0.5' in out
    assert 'suite suite: 2 ran, 0 reused, 1 failed' in out
    records = read_records(work / 'records')
    assert sorted(r['provenance']['device'] for r in records) == \
        [f'cpu ({threads} threads)'] * 2
    assert (work / 'board' / 'README.md').is_file()


@pytest.fixture(scope='module')
def shared_work(tmp_path_factory) -> Path:
    """One work folder for the shipped suites' dry runs: the demo datasets generated once."""
    return tmp_path_factory.mktemp('suites')


@pytest.mark.slow
@pytest.mark.parametrize('name', [n for n in shipped_suites() if n != 'demo'])
def test_each_paper_suite_passes_its_dry_run_on_demo_data(name, shared_work, capsys):
    assert main(['suite', 'run', name, '--dry-run', '--work-dir', str(shared_work)]) == 0
    out = capsys.readouterr().out
    suite = load_suite(name)
    assert f'{len(suite.runs)} runs planned: 0 finished (reused), {len(suite.runs)} to run' in out
    assert all(f'{run.label}  ' in out for run in suite.runs)
    assert "dry run: nothing was trained" in out
    assert not (shared_work / 'records').exists() or not any((shared_work / 'records').iterdir())
    # paper configs: the suite says what of the paper's table it does not match
    assert 'Not matched' in suite.description


def test_a_suite_evaluates_weights_made_elsewhere_and_reuses_their_record(small_image_demo,
                                                                         tmp_path, capsys):
    from harness.results import read_records
    from tests.test_eval_weights import write_safetensors

    write_safetensors(tmp_path / 'slim.safetensors')
    path = write(tmp_path, f"""
        defaults: {{eval: imagenet, protocol: knn, backbone: resnet18-slim}}
        runs:
          - {{weights: {tmp_path / 'slim.safetensors'}, name: mine, supervised: true,
              label: mine}}
        """)
    args = ['suite', 'run', str(path), '--data', f'imagenet={small_image_demo}',
            '--work-dir', str(tmp_path / 'w')]
    assert main(args) == 0
    assert 'suite suite: 1 ran, 0 reused, 0 failed' in capsys.readouterr().out
    (record,) = read_records(tmp_path / 'w' / 'records')
    assert record['method']['name'] == 'mine' and record['external_weights']['supervised']
    assert record['external_weights']['load']['loaded'] == 120
    assert main(args) == 0
    assert 'suite suite: 0 ran, 1 reused, 0 failed' in capsys.readouterr().out


def test_a_job_whose_suite_changed_since_it_was_submitted_stops(example_path, small_demo,
                                                               tmp_path):
    from harness.suite.executors import GroupJob

    path = write(tmp_path, TINY)
    job = GroupJob(str(path), (1,), {'ucf101': str(small_demo)}, str(tmp_path / 'w'),
                   str(tmp_path / 'w' / 'records'), 'none', identities=('0' * 64,))
    with pytest.raises(HarnessError, match='changed since this job was submitted'):
        job()
    assert not (tmp_path / 'w' / 'records').exists()
