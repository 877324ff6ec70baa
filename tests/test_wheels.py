"""The harness and every built-in plugin, built as wheels and installed (not editable) into a
fresh virtual environment, work from an empty directory: configs are found inside the
installed packages, the record goes under that directory's work dir, and the checkout is not
touched. The mm stack comes from this environment through a ``.pth`` file (building it again
would take most of an hour)."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from tests.conftest import REPO, SMOKE_OPTIONS


def run(*args, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], capture_output=True, text=True, **kwargs)
    assert result.returncode == 0, f'{args} failed:\n{result.stdout}\n{result.stderr}'
    return result


@pytest.fixture(scope='module')
def wheel_env(tmp_path_factory) -> Path:
    """A fresh venv with the harness and the plugins installed from wheels."""
    tmp = tmp_path_factory.mktemp('wheels')
    # built from copies: setuptools writes build/ and *.egg-info into the tree it builds
    skip = shutil.ignore_patterns('build', '*.egg-info', '__pycache__', 'tests')
    projects = [tmp / 'src' / 'ssl-harness']
    shutil.copytree(REPO / 'harness', projects[0] / 'harness', ignore=skip)
    shutil.copy(REPO / 'pyproject.toml', projects[0])
    for plugin in sorted(p.parent for p in (REPO / 'plugins').glob('*/pyproject.toml')):
        projects.append(tmp / 'src' / plugin.name)
        shutil.copytree(plugin, projects[-1], ignore=skip)
    run(sys.executable, '-m', 'pip', 'wheel', '-q', '--no-deps', '--no-build-isolation',
        '--disable-pip-version-check', '-w', tmp / 'wheels', *projects)
    env = tmp / 'venv'
    run(sys.executable, '-m', 'venv', '--without-pip', env)
    purelib = Path(run(env / 'bin' / 'python', '-c',
                       'import sysconfig; print(sysconfig.get_paths()["purelib"])'
                       ).stdout.strip())
    run(sys.executable, '-m', 'pip', 'install', '-q', '--no-deps', '--no-index',
        '--disable-pip-version-check', '--target', purelib,
        *sorted((tmp / 'wheels').glob('*.whl')))
    # the mm stack of this environment, after the wheels on sys.path
    (purelib / 'zz_mm_stack.pth').write_text(sysconfig.get_paths()['purelib'] + '\n')
    return env


def leaderboard_state() -> str:
    return run('git', '-C', REPO, 'status', '--porcelain', '--', 'leaderboards').stdout


@pytest.mark.slow
def test_installed_wheels_run_from_an_empty_directory(wheel_env, tmp_path):
    python = wheel_env / 'bin' / 'python'
    env = {k: v for k, v in os.environ.items() if k not in ('PYTHONPATH',)}
    where = run(python, '-c', 'import harness, harness_brave; print(harness.__file__); '
                'print(harness_brave.__file__)', env=env, cwd=tmp_path).stdout
    assert str(REPO) not in where, f'imported from the checkout: {where}'
    listing = run(python, '-m', 'harness.cli', 'list', env=env, cwd=tmp_path).stdout
    assert 'brave' in listing and '(configs: demo, paper)' in listing
    before = leaderboard_state()
    run(python, '-m', 'harness.cli', 'run', '--method', 'brave', '--eval', 'ucf101',
        '--cfg-options', *SMOKE_OPTIONS, env=env, cwd=tmp_path)
    records = list((tmp_path / 'work_dirs' / 'records').glob('brave__*.json'))
    assert len(records) == 1, records
    assert leaderboard_state() == before
