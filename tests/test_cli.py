"""The command line as a user meets it: listings, JSON, and one-line errors with exit code 2."""
from __future__ import annotations

import json

import pytest

from harness.cli import main


def error_line(capsys) -> str:
    err = capsys.readouterr().err
    assert 'Traceback' not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def test_unknown_method_names_closest_matches(capsys):
    assert main(['run', '--method', 'bravo', '--eval', 'ucf101']) == 2
    line = error_line(capsys)
    assert line.startswith('harness: error:') and "unknown method 'bravo'" in line
    assert "'brave'" in line


def test_unknown_backbone(capsys):
    assert main(['run', '--method', 'brave', '--eval', 'ucf101', '--backbone', 'r3d19']) == 2
    assert "unknown backbone 'r3d19'; did you mean 'r3d18'" in error_line(capsys)


def test_unknown_evaluator_and_protocol(capsys):
    assert main(['run', '--method', 'brave', '--eval', 'ucf110']) == 2
    assert "did you mean 'ucf101'" in error_line(capsys)
    assert main(['run', '--method', 'brave', '--eval', 'ucf101', '--protocol', 'linaer']) == 2
    assert "no protocol 'linaer'" in error_line(capsys)


def test_missing_data_root(capsys, tmp_path):
    missing = tmp_path / 'nowhere'
    assert main(['run', '--method', 'brave', '--eval', 'ucf101', '--data', str(missing)]) == 2
    line = error_line(capsys)
    assert str(missing) in line and '--data demo' in line


def test_data_root_without_layout(capsys, tmp_path):
    assert main(['run', '--method', 'random', '--eval', 'ucf101', '--data', str(tmp_path),
                 '--work-dir', str(tmp_path / 'w')]) == 2
    assert 'classInd.txt' in error_line(capsys)


def test_bad_arguments_are_one_line_exit_2(capsys):
    assert main(['run', '--eval', 'ucf101']) == 2
    assert '--method' in error_line(capsys)
    assert main(['run', '--method', 'brave', '--eval', 'ucf101', '--cfg-options', 'novalue']) == 2
    assert 'key=value' in error_line(capsys)
    assert main([]) == 2
    assert 'harness list' in error_line(capsys)


def test_debug_shows_the_traceback():
    from harness.errors import PluginError

    with pytest.raises(PluginError):
        main(['--debug', 'run', '--method', 'nosuch', '--eval', 'ucf101'])


def test_command_line_error_is_one_line_without_traceback(harness_cli):
    result = harness_cli('run', '--method', 'nosuch', '--eval', 'ucf101')
    assert result.returncode == 2
    assert result.stderr.count('\n') == 1 and 'Traceback' not in result.stderr
    assert "unknown method 'nosuch'" in result.stderr


def test_list_shows_components_and_protocols(capsys):
    assert main(['list']) == 0
    out = capsys.readouterr().out
    for expected in ('brave', 'random', 'videomoco', 'r3d18', 'ucf101', 'hmdb51', 'temporal',
                     'finetune (v1)', 'linear (v1)', 'retrieval (v1)', 'order (v1)',
                     'sync (v1)', 'motion (v1)'):
        assert expected in out
    transitive = next(line for line in out.splitlines() if line.split()[:1] == ['transitive'])
    assert '[image; pretrains on video]' in transitive
    assert '(configs: demo, paper, intra_demo, inter_demo)' in transitive


def test_plugins_is_json_with_distributions(capsys):
    assert main(['plugins']) == 0
    plugins = {p['name']: p for p in json.loads(capsys.readouterr().out)}
    assert plugins['brave']['distribution'] == 'harness-brave'
    assert plugins['brave']['registers'] == {'method': ['brave']}
    assert plugins['videoeval']['registers'] == {'evaluator': ['ucf101', 'hmdb51', 'temporal']}
    assert all(p['error'] is None for p in plugins.values())


def test_version_lists_plugins(capsys):
    import harness

    assert main(['--version']) == 0
    out = capsys.readouterr().out
    assert out.startswith(f'harness {harness.__version__}')
    assert 'harness-brave 0.1.0' in out


def test_version_says_the_installed_mmcv_ops_are_cpu_only_here(capsys):
    """This machine has no GPU, so setup built mmcv's ops for the CPU (a CUDA build, or ops
    that do not load, would say otherwise)."""
    from importlib.metadata import version

    assert main(['--version']) == 0
    assert capsys.readouterr().out.splitlines()[1] == f"mmcv {version('mmcv')} ops: CPU only"


def test_version_line_without_mmcv(monkeypatch):
    import importlib.metadata

    from harness import mmcv_ops

    def missing(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, 'version', missing)
    assert mmcv_ops.mmcv_ops_line() == 'mmcv ops: mmcv is not installed'


def test_blocking_a_plugin_removes_its_components(capsys):
    assert main(['-p', 'no:brave', 'run', '--method', 'brave', '--eval', 'ucf101']) == 2
    assert "unknown method 'brave'" in error_line(capsys)


def test_example_third_party_plugin_is_listed(harness_cli):
    listed = harness_cli('list', check=True).stdout
    assert 'tiny3d' in listed
    plugins = {p['name']: p for p in json.loads(harness_cli('plugins', check=True).stdout)}
    assert plugins['example']['distribution'] == 'harness-example'
    assert plugins['example']['registers'] == {'backbone': ['tiny3d'], 'method': ['tinysiam']}


def test_data_demo_writes_the_official_layout(capsys, tmp_path):
    assert main(['data', 'demo', '--root', str(tmp_path / 'ucf')]) == 0
    assert str(tmp_path / 'ucf') in capsys.readouterr().out
    lists = tmp_path / 'ucf' / 'ucfTrainTestlist'
    assert sorted(p.name for p in lists.iterdir()) == [
        'classInd.txt', 'testlist01.txt', 'testlist02.txt', 'testlist03.txt',
        'trainlist01.txt', 'trainlist02.txt', 'trainlist03.txt']
    assert len(list((tmp_path / 'ucf' / 'UCF-101').glob('*/v_*_g*_c*.avi'))) == 120


def test_leaderboard_render_and_check(capsys, tmp_path):
    from harness.results import write_record
    from tests._records import make_record

    records = tmp_path / 'records'
    write_record(make_record(), records)
    board = tmp_path / 'README.md'
    assert main(['leaderboard', 'render', '--records-dir', str(records)]) == 0
    assert board.is_file() and 'videomae' in board.read_text()
    assert main(['leaderboard', 'render', '--check', '--records-dir', str(records)]) == 0
    write_record(make_record(seeds=[1]), records)
    capsys.readouterr()
    assert main(['leaderboard', 'render', '--check', '--records-dir', str(records)]) == 1
    assert 'stale' in capsys.readouterr().err


def test_malformed_record_is_one_line_naming_file_and_field(capsys, tmp_path):
    records = tmp_path / 'records'
    records.mkdir()
    (records / 'bad.json').write_text('{"schema_version": 1}')
    assert main(['leaderboard', 'render', '--records-dir', str(records)]) == 2
    line = error_line(capsys)
    assert 'bad.json' in line and 'field' in line


def test_committed_leaderboard_is_current(capsys):
    """leaderboards/README.md must be regenerated whenever leaderboards/records/ changes."""
    assert main(['leaderboard', 'render', '--check']) == 0, capsys.readouterr().err
