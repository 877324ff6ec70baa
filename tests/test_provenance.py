"""Provenance: the git state of the checkout, read without writing to it."""
import os
import subprocess
import time

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
