"""A plain folder of videos (harness_videodata.videofolder): reader and demo generator."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from harness.data.splits import DataItem
from harness.errors import DataError
from harness_videodata import videofolder
from harness_videodata.videofolder import DEMO_FOLDERS, generate_demo, read_split

SMALL = dict(videos_per_folder=2, frames=8, size=64)


@pytest.fixture
def folder(tmp_path) -> Path:
    root = tmp_path / 'videos'
    for rel in ('b.mp4', 'a/z.avi', 'a/deep/er/x.MKV', 'a/y.webm', 'Mov/clip.mov', 'c d/e f.mp4',
                'notes.txt', 'a/frame.jpg', 'a/.x.tmp123.avi', '.git/objects/k.mp4', 'mp4'):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(b'not really a video')
    (root / 'a' / 'folder.mp4').mkdir()  # a folder named like a video
    return root


def test_every_video_at_any_depth_sorted_unlabelled(folder):
    split = read_split(folder, '1')
    assert split.name == '1' and split.classes == () and split.test == () and split.missing == 0
    assert split.train == tuple(DataItem(p, -1) for p in (
        'Mov/clip.mov', 'a/deep/er/x.MKV', 'a/y.webm', 'a/z.avi', 'b.mp4', 'c d/e f.mp4'))
    assert read_split(folder) == split and not videofolder.is_demo(folder)


@pytest.mark.skipif(not hasattr(os, 'symlink'), reason='no symlinks')
def test_symlinked_folders_are_followed_once(folder, tmp_path):
    outside = tmp_path / 'outside'
    outside.mkdir()
    (outside / 'o.mp4').write_bytes(b'x')
    (folder / 'linked').symlink_to(outside, target_is_directory=True)
    (folder / 'a' / 'loop').symlink_to(folder / 'a', target_is_directory=True)
    paths = [i.path for i in read_split(folder).train]
    assert 'linked/o.mp4' in paths and paths.count('a/z.avi') == 1
    assert not any(p.startswith('a/loop/') for p in paths)


def test_errors_are_one_line(tmp_path, folder):
    for root, split, words in ((tmp_path / 'nope', '1', 'does not exist'),
                               (folder / 'a' / 'deep' / 'er' / 'x.MKV', '1', 'does not exist'),
                               (folder, '2', "one split, '1'"),
                               (folder / '.git' / 'objects' / 'empty', '1', '')):
        if not words:
            root.mkdir()
            words = 'no videos under'
        with pytest.raises(DataError, match=words) as err:
            read_split(root, split)
        assert '\n' not in str(err.value)
    with pytest.raises(DataError, match=r'\.avi \.mp4 \.mkv \.webm \.mov.*--data demo'):
        read_split(tmp_path / 'nope')


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def test_demo(tmp_path):
    root = generate_demo(tmp_path / 'a', **SMALL)
    split = read_split(root)
    assert [i.path for i in split.train] == sorted(
        f'{folder}/clip_{i:03d}{ext}' for folder, (ext, _) in DEMO_FOLDERS.items()
        for i in range(2))
    assert len(split.train) == 6 and {p.count('/') for p in (i.path for i in split.train)} == {1, 2}
    assert {Path(i.path).suffix for i in split.train} == {'.mp4', '.avi'}
    assert videofolder.is_demo(root) and not (root / 'DEMO.partial').exists()
    assert _tree(generate_demo(tmp_path / 'b', **SMALL)) == _tree(root)  # deterministic
    marker, video = root / 'DEMO.txt', root / split.train[0].path
    stamps = (marker.stat().st_mtime_ns, video.stat().st_mtime_ns)
    assert generate_demo(root, **SMALL) == root  # idempotent
    assert (marker.stat().st_mtime_ns, video.stat().st_mtime_ns) == stamps
    generate_demo(root, **{**SMALL, 'videos_per_folder': 1})
    assert len(read_split(root).train) == 3


def test_demo_videos_decode(tmp_path):
    decord = pytest.importorskip('decord')
    root = generate_demo(tmp_path, **SMALL)
    for item in read_split(root).train:
        reader = decord.VideoReader(str(root / item.path))
        batch = reader.get_batch(list(range(8))).asnumpy()
        assert len(reader) == 8 and batch.shape == (8, 64, 64, 3) and batch.std() > 10


def test_demo_refuses_a_folder_with_other_videos_and_bad_arguments(tmp_path, folder):
    with pytest.raises(DataError, match='did not write'):
        generate_demo(folder, **SMALL)
    assert (folder / 'b.mp4').is_file() and not (folder / 'street').exists()
    with pytest.raises(DataError, match='videos_per_folder=0,'):
        generate_demo(tmp_path / 'x', videos_per_folder=0)
    (tmp_path / 'notes').mkdir()
    (tmp_path / 'notes' / 'README.txt').write_text('no videos here\n')
    generate_demo(tmp_path / 'notes', **SMALL)  # other files are fine
    assert (tmp_path / 'notes' / 'README.txt').is_file()
