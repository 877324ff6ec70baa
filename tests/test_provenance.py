"""Provenance: the git state of the checkout, read without writing to it, and every
distribution a run involves."""
import importlib.metadata as metadata
import json
import os
import subprocess
import time

import pytest

from harness import provenance


def test_git_commit_reads_the_checkout_without_rewriting_its_index(tmp_path, monkeypatch):
    def git(*args):
        subprocess.run(['git', '-C', str(tmp_path), *args], check=True, capture_output=True)

    git('init', '-q')
    (tmp_path / 'code.py').write_text('x = 1\n')
    git('add', 'code.py')
    git('-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-qm', 'c')
    index = tmp_path / '.git' / 'index'
    time.sleep(0.05)
    os.utime(tmp_path / 'code.py')  # stat changed, content not: plain `git status` rewrites the index
    before = index.stat().st_mtime_ns
    monkeypatch.setattr(provenance, 'REPO', tmp_path)
    commit, dirty = provenance.git_commit()
    assert len(commit) == 40 and dirty is False
    assert index.stat().st_mtime_ns == before
    subprocess.run(['git', '-C', str(tmp_path), 'status', '--porcelain'], check=True,
                   capture_output=True)
    assert index.stat().st_mtime_ns != before  # what the test guards against


# --- every distribution involved: version, and the commit and dirty flag of its git tree ------

def git(tree, *args):
    return subprocess.run(['git', '-C', str(tree), '-c', 'user.name=t', '-c', 'user.email=t@t',
                           *args], check=True, capture_output=True, text=True).stdout.strip()


def plugin_repo(tmp_path, name='barlow'):
    """A third-party plugin in its own git repository, one commit."""
    tree = tmp_path / f'{name}-repo'
    (tree / f'fake_{name}').mkdir(parents=True)
    (tree / f'fake_{name}' / 'plugin.py').write_text('x = 1\n')
    (tree / 'pyproject.toml').write_text(f'[project]\nname = "harness-{name}"\n')
    git(tree, 'init', '-q')
    git(tree, 'add', '.')
    git(tree, 'commit', '-qm', 'c')
    return tree


def install(site, dist, version, direct_url=None):
    """A dist-info as pip writes it, with ``direct_url.json`` (PEP 610) when given."""
    info = site / f"{dist.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / 'METADATA').write_text(f'Metadata-Version: 2.1\nName: {dist}\nVersion: {version}\n')
    if direct_url is not None:
        (info / 'direct_url.json').write_text(json.dumps(direct_url))


@pytest.fixture
def site(tmp_path, monkeypatch):
    site = tmp_path / 'site'
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    return site


def test_an_editable_plugin_from_a_dirty_tree_is_dirty_a_clean_one_not(tmp_path, site):
    tree = plugin_repo(tmp_path)
    install(site, 'harness-barlow', '0.3', {'url': tree.as_uri(), 'dir_info': {'editable': True}})
    commit = git(tree, 'rev-parse', 'HEAD')
    clean = {'version': '0.3', 'commit': commit, 'dirty': False, 'editable': True}
    assert provenance.distribution_provenance('harness-barlow') == clean
    (tree / 'fake_barlow' / 'plugin.py').write_text('x = 2\n')  # uncommitted edit
    assert provenance.distribution_provenance('harness-barlow') == {**clean, 'dirty': True}
    (tree / 'fake_barlow' / 'new.py').write_text('y = 1\n')  # untracked files do not count
    git(tree, 'checkout', '--', '.')
    assert provenance.distribution_provenance('harness-barlow') == clean


def test_a_folder_install_records_its_tree_not_editable(tmp_path, site):
    tree = plugin_repo(tmp_path)
    install(site, 'harness-barlow', '0.3', {'url': tree.as_uri(), 'dir_info': {}})
    assert provenance.distribution_provenance('harness-barlow') == {
        'version': '0.3', 'commit': git(tree, 'rev-parse', 'HEAD'), 'dirty': False,
        'editable': False}


def test_a_wheel_or_index_install_has_its_version_only(tmp_path, site):
    install(site, 'harness-wheel', '1.0', {'url': (tmp_path / 'w-1.0-py3-none-any.whl').as_uri(),
                                           'archive_info': {'hashes': {'sha256': 'a' * 64}}})
    install(site, 'harness-index', '2.0')
    notgit = tmp_path / 'not-git'
    notgit.mkdir()
    install(site, 'harness-folder', '3.0', {'url': notgit.as_uri(), 'dir_info': {}})
    assert provenance.distribution_provenance('harness-wheel') == {'version': '1.0'}
    assert provenance.distribution_provenance('harness-index') == {'version': '2.0'}
    assert provenance.distribution_provenance('harness-folder') == {'version': '3.0'}
    assert provenance.distribution_provenance('harness-not-installed') is None


def test_a_vcs_install_records_the_commit_it_was_built_from(site):
    install(site, 'harness-vcs', '0.1', {'url': 'https://example.org/p.git',
                                         'vcs_info': {'vcs': 'git', 'commit_id': 'c' * 40}})
    assert provenance.distribution_provenance('harness-vcs') == {
        'version': '0.1', 'commit': 'c' * 40, 'dirty': False, 'vcs': 'git'}


def test_distributions_provenance_covers_the_harness_the_plugins_and_the_libraries(tmp_path,
                                                                                   site):
    tree = plugin_repo(tmp_path)
    install(site, 'harness-barlow', '0.3', {'url': tree.as_uri(), 'dir_info': {'editable': True}})
    found = provenance.distributions_provenance(['harness-barlow', 'harness-absent'])
    assert found['harness-barlow']['commit'] == git(tree, 'rev-parse', 'HEAD')
    assert found['torch'] == {'version': metadata.version('torch')}
    assert found['ssl-harness']['version'] == metadata.version('ssl-harness')
    assert 'harness-absent' not in found
    assert list(found) == sorted(found)


def test_a_record_with_distributions_validates_and_an_old_one_still_does():
    from harness.errors import RecordError
    from harness.schema import validate_record
    from tests._records import make_record

    entry = {'version': '0.3', 'commit': 'c' * 40, 'dirty': True, 'editable': True}
    validate_record(make_record())  # written before distributions were recorded
    validate_record(make_record(provenance__distributions={'harness-barlow': entry,
                                                           'torch': {'version': '2.3.1'}}))
    with pytest.raises(RecordError) as caught:
        validate_record(make_record(provenance__distributions={
            'harness-barlow': {**entry, 'dirty': 'yes'}}))
    assert str(caught.value) == ("result record: field 'provenance.distributions.harness-barlow."
                                 "dirty': 'yes' is not of type ['boolean', 'null']")


def test_a_dirty_plugin_tree_marks_the_record_dirty():
    from harness.leaderboard import is_dirty
    from tests._records import make_record

    def record(dirty):
        return make_record(provenance__distributions={
            'harness-barlow': {'version': '0.3', 'commit': 'c' * 40, 'dirty': dirty}})

    assert is_dirty(record(True)) and not is_dirty(record(False))
    assert is_dirty(make_record(pretrain__provenance={'distributions': {
        'harness-barlow': {'version': '0.3', 'commit': 'c' * 40, 'dirty': True}}}))
