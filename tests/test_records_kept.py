"""Nothing lost, nothing stale: every result keeps its own record, and ``--resume`` reuses an
evaluation only when it was made with the same settings."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from harness.results import read_record

from tests.test_end_to_end import record_path


def linear_probe(demo, work, *options: str) -> list[str]:
    """``harness run`` of the random reference on the linear protocol (frozen features, no
    pretraining: seconds), with evaluation ``options``."""
    return ['run', '--method', 'random', '--eval', 'ucf101', '--protocol', 'linear',
            '--backbone', 'tiny3d', '--data', str(demo), '--work-dir', str(work),
            '--records-dir', str(work / 'records'),
            *(['--cfg-options', *options] if options else [])]


@pytest.fixture
def run_here(harness_here):
    """``harness ARGS`` in this process, as a user runs it: its exit code must be 0; returns
    what it printed."""
    return lambda *args: harness_here(*args, check=True).stdout


@pytest.mark.slow
def test_a_sweep_into_one_records_folder_keeps_a_record_per_value(run_here, small_demo,
                                                                    tmp_path):
    paths = [record_path(run_here(*linear_probe(small_demo, tmp_path,
                                                f'eval.classifier.C={c}')))
             for c in (0.01, 1.0, 100.0)]
    assert len(set(paths)) == 3
    assert sorted((tmp_path / 'records').iterdir()) == sorted(paths)
    records = [read_record(path) for path in paths]
    assert len({r['eval']['config_sha256'] for r in records}) == 3
    assert len({r['identity'] for r in records}) == 3


@pytest.mark.slow
def test_resume_after_changing_an_eval_option_evaluates_again(run_here, small_demo, tmp_path):
    first = run_here(*linear_probe(small_demo, tmp_path, 'eval.classifier.C=1.0'))
    changed = run_here(*linear_probe(small_demo, tmp_path, 'eval.classifier.C=0.01'),
                       '--resume')
    assert 'finished evaluation reused' not in changed
    assert 'was made with other settings' in changed and 'starts anew' in changed
    old, new = read_record(record_path(first)), read_record(record_path(changed))
    assert old['eval']['config_sha256'] != new['eval']['config_sha256']
    assert record_path(first) != record_path(changed)
    kept = [p for p in (tmp_path / 'eval').iterdir() if not p.name.startswith('.')]
    assert len(kept) == 2  # both evaluations (beside them: their hidden lock files)
    # the first settings again: their finished evaluation is found and its record kept as is
    again = run_here(*linear_probe(small_demo, tmp_path, 'eval.classifier.C=1.0'), '--resume')
    assert 'finished evaluation reused' in again
    assert 'already holds this result' in again
    assert record_path(again) == record_path(first)


def start(example_site, args: list[str]) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(example_site))
    return subprocess.Popen([sys.executable, '-m', 'harness.cli', *args], env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.mark.slow
def test_concurrent_runs_keep_every_result_and_print_no_error(example_site, small_demo,
                                                              tmp_path):
    same = [start(example_site, linear_probe(small_demo, tmp_path)) for _ in range(2)]
    other = start(example_site, linear_probe(small_demo, tmp_path, 'eval.classifier.C=0.01'))
    outputs = [process.communicate(timeout=600) for process in (*same, other)]
    for process, (stdout, stderr) in zip((*same, other), outputs):
        assert process.returncode == 0, stdout + stderr
        assert 'error' not in (stdout + stderr).lower(), stdout + stderr
    paths = [record_path(stdout) for stdout, _ in outputs]
    assert paths[0] == paths[1] != paths[2]
    assert sorted((tmp_path / 'records').iterdir()) == sorted({*paths})


def test_a_record_that_cannot_be_written_is_one_line_and_a_resume_writes_it(
        example_site, small_demo, tmp_path, monkeypatch, capsys):
    from harness.cli import main

    monkeypatch.syspath_prepend(str(example_site))

    def disk_full(record, directory):
        raise OSError(28, 'No space left on device')

    with monkeypatch.context() as patch:
        patch.setattr('harness.results.write_record', disk_full)
        assert main(linear_probe(small_demo, tmp_path)) == 2
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith('harness: error: the record could not be written to ')
    assert '(No space left on device)' in last and 'with --resume' in last
    assert not (tmp_path / 'records').exists()
    assert main([*linear_probe(small_demo, tmp_path), '--resume']) == 0
    out = capsys.readouterr().out
    assert 'finished evaluation reused' in out
    assert record_path(out).is_file()
