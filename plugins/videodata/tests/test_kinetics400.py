"""Kinetics-400 layout reader and demo generator (harness_videodata.kinetics400)."""
from __future__ import annotations

import csv
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from harness.data import synth
from harness.data.splits import DataItem
from harness.errors import DataError
from harness_videodata import kinetics400, motion, ucf101
from harness_videodata.kinetics400 import (CLASSES_DEMO, DEMO_SPECS, generate_demo, read_split,
                                           video_stem)

HEADER = 'label,youtube_id,time_start,time_end,split'
STEM_RE = re.compile(r'^[A-Za-z0-9_-]{11}_\d{6}_\d{6}$')
SMALL = dict(classes=('sliding square', 'spinning square (not cross)', 'orbiting ring'),
             train_per_class=2, val_per_class=1, absent=2, frames=8, size=64)


# ---------------------------------------------------------------- a fake "real" Kinetics layout

# (csv line, where the video is relative to the root or None when it is not on disk)
TRAIN = [
    ('abseiling,-3B32lodo2M,59,69,train', 'train/abseiling/-3B32lodo2M_000059_000069.mp4'),
    ('abseiling,0347ZoDXyP0,14,24,train', None),  # taken off YouTube
    ('air drumming,--nQbRBEz2s,104,114,train',
     'train/air drumming/--nQbRBEz2s_000104_000114.mp4'),
    ('"petting animal (not cat)",0QIpIK9lpNk,7,17,train',  # the re-packaged folder name
     'train/petting_animal_(not_cat)/0QIpIK9lpNk_000007_000017.mp4'),
    ('"shooting goal, soccer",1Nb2gGx4g8k,0,10,train',  # a comma: quoted in the csv
     'train/shooting goal, soccer/1Nb2gGx4g8k_000000_000010.mkv'),
    ('air drumming,a_b-c_d-e_f,5.0,15.0,train',  # times written as floats, a .webm download
     'train/air drumming/a_b-c_d-e_f_000005_000015.webm'),
    ('abseiling,-3B32lodo2M,59,69,train', None),  # the first row again: one video
]
VAL = [
    ('abseiling,zz_zz_zz_zz,300,310,val', 'val/abseiling/zz_zz_zz_zz_000300_000310.mp4'),
    ('"zumba",ZZZZZZZZZZZ,1,11,val', 'val/ZZZZZZZZZZZ_000001_000011.mp4'),  # flat (CVDF)
    ('petting animal (not cat),notondisk0,3,13,val', None),
]
CLASSES = ('abseiling', 'air drumming', 'petting animal (not cat)', 'shooting goal, soccer',
           'zumba')


@pytest.fixture
def fake_k400(tmp_path) -> Path:
    """A tiny Kinetics-400: class names with spaces, parentheses and a comma, an underscored
    class folder, a flat val folder, .mkv/.webm downloads, float times, missing videos, a
    duplicate row, CRLF endings and a blank line, and files that are not the listed videos."""
    root = tmp_path / 'k400'
    (root / 'annotations').mkdir(parents=True)
    for name, rows, ending in (('train', TRAIN, '\n'), ('val', VAL, '\r\n')):
        lines = [HEADER] + [line for line, _ in rows]
        (root / 'annotations' / f'{name}.csv').write_bytes(
            (ending.join(lines[:2] + [''] + lines[2:]) + ending).encode())
        for _, rel in rows:
            if rel:
                (root / rel).parent.mkdir(parents=True, exist_ok=True)
                (root / rel).write_bytes(b'not really a video')
    (root / 'train/abseiling/-3B32lodo2M_000059_000069.webm').write_bytes(b'same clip, webm')
    (root / 'train/abseiling/unlisted_000001_000011.mp4').write_bytes(b'not in the csv')
    (root / 'annotations/test.csv').write_text('youtube_id,time_start,time_end,split\n')
    return root


def test_read_real_layout_with_quirks(fake_k400):
    split = read_split(fake_k400, '1')
    assert split.name == '1' and split.classes == CLASSES
    label = {c: i for i, c in enumerate(CLASSES)}

    def expected(rows):
        out = []
        for line, rel in rows:
            if rel and DataItem(rel, 0).path not in {i.path for i in out}:
                cls = next(csv.reader([line]))[0]
                out.append(DataItem(rel, label[cls]))
        return out

    assert list(split.train) == expected(TRAIN)
    assert list(split.test) == expected(VAL)
    assert split.missing == 2  # the duplicate row is found, not missing
    assert DataItem('train/abseiling/-3B32lodo2M_000059_000069.mp4', 0) in split.train  # mp4 1st
    for item in split.train + split.test:
        assert (fake_k400 / item.path).is_file()
    assert not kinetics400.is_demo(fake_k400)


def test_label_folder_as_is_is_preferred_to_the_underscored_one(fake_k400):
    (fake_k400 / 'train/air_drumming').mkdir()
    (fake_k400 / 'train/air_drumming/--nQbRBEz2s_000104_000114.mp4').write_bytes(b'twin')
    paths = [i.path for i in read_split(fake_k400).train]
    assert 'train/air drumming/--nQbRBEz2s_000104_000114.mp4' in paths
    assert 'train/air_drumming/--nQbRBEz2s_000104_000114.mp4' not in paths
    (fake_k400 / 'train/air drumming/--nQbRBEz2s_000104_000114.mp4').unlink()
    paths = [i.path for i in read_split(fake_k400).train]
    assert 'train/air_drumming/--nQbRBEz2s_000104_000114.mp4' in paths
    assert 'train/air drumming/a_b-c_d-e_f_000005_000015.webm' in paths


def test_errors_are_one_line_and_say_what_the_root_must_hold(tmp_path, fake_k400):
    def error(root, split='1') -> str:
        with pytest.raises(DataError) as err:
            read_split(root, split)
        message = str(err.value)
        assert '\n' not in message
        return message

    assert str(tmp_path / 'nope') in error(tmp_path / 'nope')
    assert "one split, '1'" in error(fake_k400, '2')
    empty = tmp_path / 'empty'
    empty.mkdir()
    message = error(empty)
    assert str(empty / 'annotations' / 'train.csv') in message
    assert 'annotations/val.csv' in message and '<youtube_id>_<time_start:06d>' in message
    assert '--data demo' in message
    for video in [p for p in fake_k400.rglob('*') if p.is_file() and 'annotations' not in p.parts]:
        video.unlink()
    message = error(fake_k400)
    assert 'none on disk' in message and '10 csv rows' in message and 'annotations/train.csv' \
        in message
    (fake_k400 / 'annotations/val.csv').unlink()
    assert str(fake_k400 / 'annotations' / 'val.csv') in error(fake_k400)


@pytest.mark.parametrize('text, problem', [
    ('youtube_id,time_start,time_end,split\nx,1,11,train\n', "no column 'label'"),
    (f'{HEADER}\nabseiling,abc,one,11,train\n', "bad time_start 'one' on line 2"),
    (f'{HEADER}\nabseiling,abc,1,-11,train\n', "bad time_end '-11' on line 2"),
    (f'{HEADER}\nabseiling,abc\n', 'line 2 of'),
    (f'{HEADER}\n,abc,1,11,train\n', 'empty label'),
])
def test_damaged_csv_is_a_one_line_error(fake_k400, text, problem):
    (fake_k400 / 'annotations/train.csv').write_text(text)
    with pytest.raises(DataError, match=re.escape(problem)) as err:
        read_split(fake_k400)
    assert '\n' not in str(err.value) and 'train.csv' in str(err.value)


def test_video_stem():
    assert video_stem('-3B32lodo2M', 59, 69) == '-3B32lodo2M_000059_000069'


# -------------------------------------------------------------------------------------- demo


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob('*'))
            if p.is_file()}


def test_demo_layout_names_and_split(tmp_path):
    root = generate_demo(tmp_path, **SMALL)
    classes = tuple(sorted(SMALL['classes']))
    split = read_split(root)
    assert split.classes == classes and split.missing == 2
    assert (len(split.train), len(split.test)) == (3 * 2, 3 * 1)
    for side, items in (('train', split.train), ('val', split.test)):
        for item in items:
            parts = item.path.split('/')
            assert parts[0] == side and parts[1] == classes[item.label].replace(' ', '_')
            assert not any(ch.isspace() for ch in item.path)  # video lists split on whitespace
            assert STEM_RE.match(Path(parts[2]).stem) and parts[2].endswith('.mp4')
    with open(root / 'annotations/train.csv', newline='') as f:
        rows = list(csv.reader(f))
    assert rows[0] == HEADER.split(',') and len(rows) == 1 + 3 * 2 + 1  # one absent train row
    assert all(r[4] == 'train' and int(r[3]) - int(r[2]) == 10 for r in rows[1:])
    assert '"spinning square (not cross)"' not in (root / 'annotations/train.csv').read_text()
    videos = sorted(p for p in root.rglob('*') if p.suffix == '.mp4')
    assert len(videos) == 9 and kinetics400.is_demo(root)
    names, labels = motion.read_motion_labels(root)
    assert set(labels) == {i.path for i in split.train + split.test} and set(names) <= {
        'slow', 'medium', 'fast'}
    assert not (root / 'DEMO.partial').exists()


def test_demo_videos_are_real_mp4_files_decord_reads(tmp_path):
    decord = pytest.importorskip('decord')
    root = generate_demo(tmp_path, **{**SMALL, 'frames': 16})
    videos = sorted(p for p in root.rglob('*.mp4'))
    for video in videos:
        assert video.read_bytes()[4:8] == b'ftyp'  # an ISO media (mp4) container, not an avi
        reader = decord.VideoReader(str(video))
        batch = reader.get_batch(list(range(16))).asnumpy()
        assert len(reader) == 16 and batch.shape == (16, 64, 64, 3) and batch.std() > 10


def test_demo_deterministic_and_idempotent(tmp_path):
    a = generate_demo(tmp_path / 'a', **SMALL)
    b = generate_demo(tmp_path / 'b', **SMALL)
    assert _tree(a) == _tree(b)
    marker, video = a / 'DEMO.txt', next(a.rglob('*.mp4'))
    stamps = (marker.stat().st_mtime_ns, video.stat().st_mtime_ns)
    assert generate_demo(a, **SMALL) == a
    assert (marker.stat().st_mtime_ns, video.stat().st_mtime_ns) == stamps
    before = video.read_bytes()
    generate_demo(a, **SMALL, seed=1)
    assert 'seed=1' in marker.read_text()
    assert (a / 'annotations/val.csv').read_bytes() == (b / 'annotations/val.csv').read_bytes()
    assert video.read_bytes() != before  # same names and rows, other pictures


def test_demo_regenerates_other_classes_and_interrupted_runs(tmp_path):
    root = generate_demo(tmp_path, **SMALL)
    generate_demo(root, **{**SMALL, 'classes': ('bouncing circle',), 'absent': 0})
    assert read_split(root).classes == ('bouncing circle',) and read_split(root).missing == 0
    assert sorted(p.name for p in (root / 'train').iterdir()) == ['bouncing_circle']
    (root / 'DEMO.txt').unlink()  # as if killed before the marker was written
    (root / 'DEMO.partial').write_text('interrupted\n')
    assert not kinetics400.is_demo(root)
    generate_demo(root, **SMALL)
    assert kinetics400.is_demo(root) and read_split(root).missing == 2


def test_demo_refuses_foreign_layout_and_bad_arguments(tmp_path, fake_k400):
    with pytest.raises(DataError, match='did not write'):
        generate_demo(fake_k400, **SMALL)
    assert (fake_k400 / 'train/abseiling').is_dir() and read_split(fake_k400).missing == 2
    with pytest.raises(DataError, match='SlideSquare'):
        generate_demo(tmp_path / 'x', classes=('SlideSquare',))  # the UCF101 demo's name
    with pytest.raises(DataError, match='train_per_class=0,'):
        generate_demo(tmp_path / 'x', train_per_class=0)
    with pytest.raises(DataError, match='size=81'):
        generate_demo(tmp_path / 'x', size=81)
    assert not (tmp_path / 'x').exists()


def test_demo_classes_differ_in_shape_or_motion():
    pairs = [DEMO_SPECS[c] for c in CLASSES_DEMO]
    assert len(CLASSES_DEMO) == 8 and len(set(pairs)) == 8
    assert {s for s, _ in pairs} == set(synth.SHAPES)
    assert {m for _, m in pairs} == set(synth.MOTIONS)
    assert any(' ' in c for c in CLASSES_DEMO) and any('(' in c for c in CLASSES_DEMO)


def _defaults(function) -> dict:
    return {k: p.default for k, p in inspect.signature(function).parameters.items()
            if p.default is not inspect.Parameter.empty}


def test_default_demo_is_larger_than_the_ucf101_demo(tmp_path):
    """The default sizes (short, small clips here; the slow test renders the real ones)."""
    root = generate_demo(tmp_path, frames=4, size=32)
    split = read_split(root)
    assert split.classes == tuple(sorted(CLASSES_DEMO))
    assert (len(split.train), len(split.test), split.missing) == (8 * 20, 8 * 4, 4)
    ucf = _defaults(ucf101.generate_demo)
    ucf_train = len(ucf['classes']) * (ucf['groups'] - 2) * ucf['clips_per_group']
    assert ucf_train == 40 and len(split.train) == 4 * ucf_train  # a pool 4x the labelled set
    per_class = np.bincount([i.label for i in split.train], minlength=8)
    assert per_class.tolist() == [20] * 8


@pytest.mark.slow
def test_full_default_demos(tmp_path):
    root = generate_demo(tmp_path / 'k400')
    split = read_split(root)
    ucf = ucf101.read_split(ucf101.generate_demo(tmp_path / 'ucf'), '1')
    assert len(split.train) == 160 == 4 * len(ucf.train)  # a pool 4x the labelled set
    assert synth.check_readable(root / split.train[-1].path, 48, 80) is None
