"""harness.io: readers see the old file or the new one, never a part; no temporary file stays."""
import pytest

from harness.io import (atomic_torch_save, atomic_write_bytes, atomic_write_text,
                        exclusive_write_text)


def test_write_text_creates_parents_and_replaces(tmp_path):
    path = tmp_path / 'a' / 'b.txt'
    assert atomic_write_text(path, 'one\n') == path
    atomic_write_text(str(path), 'twö\r\n')
    assert path.read_bytes() == 'twö\r\n'.encode('utf-8')
    assert sorted(p.name for p in path.parent.iterdir()) == ['b.txt']


def test_failed_replace_keeps_the_old_file_and_removes_the_temporary_one(tmp_path, monkeypatch):
    path = atomic_write_bytes(tmp_path / 'x.bin', b'old')

    def broken_replace(src, dst):
        raise OSError('disk full')

    monkeypatch.setattr('harness.io.os.replace', broken_replace)
    with pytest.raises(OSError, match='disk full'):
        atomic_write_bytes(path, b'new')
    assert path.read_bytes() == b'old'
    assert list(tmp_path.iterdir()) == [path]


def test_torch_save_round_trips_and_a_failed_save_leaves_the_old_file(tmp_path):
    import torch

    path = tmp_path / 'weights.pth'
    assert atomic_torch_save({'w': torch.arange(3)}, path) == path
    assert torch.load(path, weights_only=True)['w'].tolist() == [0, 1, 2]
    with pytest.raises(Exception):
        atomic_torch_save({'f': lambda: None}, path)  # a lambda does not pickle
    assert torch.load(path, weights_only=True)['w'].tolist() == [0, 1, 2]
    assert list(tmp_path.iterdir()) == [path]


def test_written_files_get_the_users_permissions_not_0600(tmp_path):
    import os

    old = os.umask(0o027)
    try:
        atomic_write_text(tmp_path / 'a.txt', 'a')
        exclusive_write_text(tmp_path / 'b.txt', 'b')
    finally:
        os.umask(old)
    assert (tmp_path / 'a.txt').stat().st_mode & 0o777 == 0o640
    assert (tmp_path / 'b.txt').stat().st_mode & 0o777 == 0o640


def test_exclusive_write_creates_once_and_never_replaces(tmp_path):
    path = tmp_path / 'sub' / 'r.json'
    assert exclusive_write_text(path, 'first') is True
    assert exclusive_write_text(path, 'second') is False
    assert path.read_text() == 'first'
    assert [p.name for p in path.parent.iterdir()] == ['r.json']  # no temporary file left
