"""HMDB51 layout reader and demo generator (harness_videodata.hmdb51) and motion labels
(harness_videodata.motion)."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from harness.cli import main
from harness.data import demo, synth
from harness.data.splits import DataItem
from harness_videodata import hmdb51, motion, ucf101
from harness_videodata.hmdb51 import CLASSES_DEMO, SPLIT_DIR, generate_demo, read_split
from harness.errors import DataError

SMALL = dict(groups=4, clips_per_group=2, frames=16, size=64)


def _hmdb_name(cls: str) -> re.Pattern:
    """``<source>_<class>_<body>_<camera>_<people>_<view>_<quality>_<clip>.avi``"""
    return re.compile(rf'^.+_{re.escape(cls)}_[fhlu]_(cm|nm)_np[123]_(ba|fr|le|ri)_(bad|goo|med)'
                      r'_\d+\.avi$')


def _split_files(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / SPLIT_DIR).iterdir())}


# ------------------------------------------------------------------ a fake "real" HMDB51 layout

# class -> [(file name, flags for splits 1, 2, 3, on disk?)]; created in unsorted class order
FAKE = {
    'swing_baseball': [
        ('Prelinger_#3+4;_swing_baseball_f_cm_np1_le_bad_0.avi', '122', True),
        ('Prelinger_#3+4;_swing_baseball_f_cm_np1_le_bad_1.avi', '211', True),
        ('Hittin_The_Ball_swing_baseball_u_nm_np1_fr_goo_0.avi', '012', True),
    ],
    'brush_hair': [
        ('April_09_brush_hair_u_nm_np1_ba_goo_0.avi', '112', True),
        ('Faith_Rewarded_(2)_brush_hair_u_nm_np1_fr_goo_0.avi', '121', True),
        ('Blonde_!_brush_hair_h_nm_np1_le_med_1.avi', '211', True),
        ('Lost_One_brush_hair_f_cm_np1_ri_goo_0.avi', '111', False),  # listed, not on disk
        ('Unused_One_brush_hair_f_cm_np1_ri_goo_0.avi', '000', False),  # unused, not on disk
    ],
    'draw_sword': [
        ('Hit_&_Run!_draw_sword_f_cm_np1_ri_med_1.avi', '120', True),
        ('Kill_Bill_draw_sword_u_nm_np1_fr_goo_2.avi', '201', True),
    ],
}


@pytest.fixture
def fake_hmdb(tmp_path) -> Path:
    """A tiny HMDB51 with the real download's quirks: trailing spaces, CRLF, blank lines, names
    with ( ) ! & # + ;, flag 0 entries, a listed video missing, a video on disk but unlisted."""
    root = tmp_path / 'hmdb'
    splits = root / SPLIT_DIR
    splits.mkdir(parents=True)
    for cls, videos in FAKE.items():
        (root / cls).mkdir()
        for name, _, on_disk in videos:
            if on_disk:
                (root / cls / name).write_bytes(b'not really a video')
        (root / cls / f'Extra_{cls}_f_cm_np1_ri_goo_0.avi').write_bytes(b'unlisted')
        for k in range(3):
            lines = [f'{name} {flags[k]} ' for name, flags, _ in videos]
            (splits / f'{cls}_test_split{k + 1}.txt').write_bytes(
                ('\r\n'.join(lines[:1] + [''] + lines[1:]) + '\r\n\r\n').encode())
    return root


def _expected(split: int) -> tuple[list[DataItem], list[DataItem], int]:
    classes = sorted(FAKE)
    train, test, missing = [], [], 0
    for cls in classes:
        for name, flags, on_disk in FAKE[cls]:
            flag = flags[split - 1]
            if flag == '0':
                continue
            if not on_disk:
                missing += 1
                continue
            item = DataItem(f'{cls}/{name}', classes.index(cls))
            (train if flag == '1' else test).append(item)
    return train, test, missing


def _lines(path: Path) -> list[tuple[str, int]]:
    out = []
    for line in path.read_text().splitlines():
        video, label = line.split(' ')
        out.append((video, int(label)))
    return out


def test_data_prepare_hmdb51(fake_hmdb, tmp_path, capsys):
    out = tmp_path / 'lists'
    assert main(['data', 'prepare', 'hmdb51', '--root', str(fake_hmdb), '--out', str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 6
    assert sorted(p.name for p in out.iterdir()) == sorted(
        f'hmdb51_{side}_split{k}_videos.txt' for side in ('train', 'val') for k in (1, 2, 3))
    for k in (1, 2, 3):
        train, test, missing = _expected(k)
        for side, items in (('train', train), ('val', test)):
            path = out / f'hmdb51_{side}_split{k}_videos.txt'
            assert _lines(path) == [(i.path, i.label) for i in items]
            line = next(p for p in printed if p.startswith(str(path)))
            assert f'{len(items)} videos' in line and f'{missing} listed videos' in line
    assert main(['data', 'prepare', 'hmdb51', '--root', str(fake_hmdb)]) == 0
    assert len(list((fake_hmdb / 'annotations').glob('hmdb51_*_videos.txt'))) == 6


def test_data_prepare_bad_root_is_one_line(tmp_path, capsys, fake_hmdb):
    for argv in (['data', 'prepare', 'hmdb51', '--root', str(tmp_path / 'nope')],
                 ['data', 'prepare', 'hmdb51', '--root', str(tmp_path)],
                 ['data', 'prepare', 'ucf101', '--root', str(fake_hmdb)],
                 ['data', 'prepare', 'kinetics', '--root', str(fake_hmdb)],
                 ['data', 'prepare', 'hmdb51']):
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith('harness: error: ') and err.count('\n') == 1, err
    assert not (fake_hmdb / 'annotations').exists()


def test_read_real_layout_with_quirks(fake_hmdb):
    split = read_split(fake_hmdb, '1')
    assert split.name == '1'
    assert split.classes == ('brush_hair', 'draw_sword', 'swing_baseball')  # sorted, not disk
    assert split.missing == 1
    assert len(split.train) == 4 and len(split.test) == 3
    assert DataItem('brush_hair/Faith_Rewarded_(2)_brush_hair_u_nm_np1_fr_goo_0.avi', 0) \
        in split.train
    assert DataItem('draw_sword/Hit_&_Run!_draw_sword_f_cm_np1_ri_med_1.avi', 1) in split.train
    assert DataItem('swing_baseball/Prelinger_#3+4;_swing_baseball_f_cm_np1_le_bad_0.avi', 2) \
        in split.train
    assert DataItem('brush_hair/Blonde_!_brush_hair_h_nm_np1_le_med_1.avi', 0) in split.test
    for k in (1, 2, 3):
        split = read_split(fake_hmdb, str(k))
        train, test, missing = _expected(k)
        assert (list(split.train), list(split.test), split.missing) == (train, test, missing)
        for item in split.train + split.test:
            assert (fake_hmdb / item.path).is_file()
            assert 'Extra_' not in item.path and 'Unused_One' not in item.path
    assert not hmdb51.is_demo(fake_hmdb)


@pytest.mark.parametrize('sub', ['videos', 'hmdb51_org'])
def test_class_folders_in_a_subfolder(fake_hmdb, sub):
    (fake_hmdb / sub).mkdir()
    for cls in FAKE:
        shutil.move(fake_hmdb / cls, fake_hmdb / sub / cls)
    split = read_split(fake_hmdb, '2')
    train, test, missing = _expected(2)
    assert list(split.train) == [DataItem(f'{sub}/{i.path}', i.label) for i in train]
    assert list(split.test) == [DataItem(f'{sub}/{i.path}', i.label) for i in test]
    assert split.missing == missing
    for item in split.train + split.test:
        assert (fake_hmdb / item.path).is_file()


def test_read_split_errors(tmp_path, fake_hmdb):
    def error(root, split='1') -> str:
        with pytest.raises(DataError) as err:
            read_split(root, split)
        message = str(err.value)
        assert '\n' not in message
        return message

    assert str(tmp_path / 'nope') in error(tmp_path / 'nope')
    assert "use one of 1, 2, 3" in error(fake_hmdb, '4')
    split_file = fake_hmdb / SPLIT_DIR / 'draw_sword_test_split3.txt'
    split_file.unlink()
    assert str(split_file) in error(fake_hmdb, '3')
    read_split(fake_hmdb, '1')  # the other splits are still whole
    bad = fake_hmdb / SPLIT_DIR / 'brush_hair_test_split2.txt'
    bad.write_text('April_09_brush_hair_u_nm_np1_ba_goo_0.avi 3 \n')
    message = error(fake_hmdb, '2')
    assert str(bad) in message and 'line 1' in message and '2 (test)' in message
    bad.write_text('April_09_brush_hair_u_nm_np1_ba_goo_0.avi\n')
    assert 'line 1' in error(fake_hmdb, '2')
    for cls in FAKE:
        shutil.rmtree(fake_hmdb / cls)
    assert 'class folders' in error(fake_hmdb, '1')
    shutil.rmtree(fake_hmdb / SPLIT_DIR)
    message = error(fake_hmdb)
    assert SPLIT_DIR in message and '--data demo' in message


def test_missing_videos_everywhere_is_an_error(fake_hmdb):
    for cls in FAKE:
        for video in (fake_hmdb / cls).iterdir():
            video.unlink()
    with pytest.raises(DataError, match='none on disk'):
        read_split(fake_hmdb)


# -------------------------------------------------------------------------------------- demo


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    """The full-size demo (5 classes x 8 groups x 3 clips), with short clips to stay quick."""
    return generate_demo(tmp_path_factory.mktemp('hmdb-demo'), frames=8, size=32)


def test_demo_layout_names_and_splits(demo_root):
    classes = tuple(sorted(CLASSES_DEMO))
    assert len(classes) == 5 and all(re.fullmatch(r'[a-z]+(_[a-z]+)+', c) for c in classes)
    videos = sorted(p for p in demo_root.rglob('*.avi'))
    assert len(videos) == 5 * 24
    for video in videos:
        assert _hmdb_name(video.parent.name).match(video.name), video
        assert video.parent.parent == demo_root
    assert any(set(v.name) & set('()!&#+;') for v in videos)  # the punctuation of real names
    split_files = sorted((demo_root / SPLIT_DIR).iterdir())
    assert [p.name for p in split_files] == [f'{c}_test_split{k}.txt' for c in classes
                                             for k in (1, 2, 3)]
    tests = []
    for k in '123':
        split = read_split(demo_root, k)
        assert split.classes == classes and split.missing == 0
        assert (len(split.train), len(split.test)) == (5 * 16, 5 * 6)
        assert not {i.path for i in split.train} & {i.path for i in split.test}
        for item in split.train + split.test:
            assert item.path.split('/')[0] == classes[item.label]
        tests.append({i.path for i in split.test})
    assert tests[0] != tests[1] != tests[2] != tests[0]
    for path in split_files:
        lines = path.read_text().splitlines()
        assert len(lines) == 24 and all(line.endswith(' ') for line in lines)
        flags = [line.split()[1] for line in lines]
        assert (flags.count('1'), flags.count('2'), flags.count('0')) == (16, 6, 2)
    assert hmdb51.is_demo(demo_root) and not (demo_root / 'DEMO.partial').exists()


def test_demo_videos_decode(tmp_path):
    decord = pytest.importorskip('decord')
    root = generate_demo(tmp_path, **SMALL)
    videos = sorted(root.rglob('*.avi'))
    assert len(videos) == 5 * 4 * 2
    for video in videos:
        vr = decord.VideoReader(str(video))
        batch = vr.get_batch(list(range(16))).asnumpy()
        assert len(vr) == 16 and batch.shape == (16, 64, 64, 3) and batch.std() > 10


def test_demo_deterministic_and_idempotent(tmp_path):
    a = generate_demo(tmp_path / 'a', **SMALL)
    b = generate_demo(tmp_path / 'b', **SMALL)
    assert _split_files(a) == _split_files(b)
    for video in sorted(a.rglob('*.avi')):
        assert (b / video.relative_to(a)).read_bytes() == video.read_bytes(), video
    assert (a / motion.MOTION_FILE).read_bytes() == (b / motion.MOTION_FILE).read_bytes()
    marker, video = a / 'DEMO.txt', next(a.rglob('*.avi'))
    stamps = (marker.stat().st_mtime_ns, video.stat().st_mtime_ns)
    assert generate_demo(a, **SMALL) == a
    assert (marker.stat().st_mtime_ns, video.stat().st_mtime_ns) == stamps
    before = video.read_bytes()
    generate_demo(a, **SMALL, seed=1)
    assert 'seed=1' in marker.read_text() and _split_files(a) == _split_files(b)
    assert video.read_bytes() != before


def test_demo_regenerates_other_classes_and_interrupted_runs(tmp_path):
    root = generate_demo(tmp_path, **SMALL)
    generate_demo(root, **{**SMALL, 'classes': ('spin_cross', 'orbit_ring')})
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == [
        'orbit_ring', 'spin_cross', SPLIT_DIR]
    assert read_split(root).classes == ('orbit_ring', 'spin_cross')
    (root / 'DEMO.txt').unlink()  # as if killed before the marker was written
    (root / 'DEMO.partial').write_text('interrupted\n')
    victim = next(root.rglob('*.avi'))
    victim.unlink()
    assert not hmdb51.is_demo(root)
    generate_demo(root, **SMALL)
    assert victim.is_file() and hmdb51.is_demo(root) and read_split(root).missing == 0


def test_demo_refuses_foreign_layout_and_bad_arguments(tmp_path, fake_hmdb):
    with pytest.raises(DataError, match='did not write'):
        generate_demo(fake_hmdb, **SMALL)
    assert (fake_hmdb / 'brush_hair').is_dir()
    with pytest.raises(DataError, match='SlideSquare'):
        generate_demo(tmp_path, classes=('SlideSquare',))  # the UCF101 demo's name
    with pytest.raises(DataError, match='got groups=3,'):
        generate_demo(tmp_path, groups=3)
    with pytest.raises(DataError, match='clips_per_group=1,'):
        generate_demo(tmp_path, clips_per_group=1)
    assert not any(tmp_path.glob('*.avi'))


# ----------------------------------------------------------------------------- motion labels


def test_speed_band_edges():
    assert [motion.speed_band(s) for s in (0.5, 0.79, 0.8, 1.0, 1.249, 1.25, 2.0)] == [
        'slow', 'slow', 'medium', 'medium', 'medium', 'fast', 'fast']
    assert set(motion.SPEED_BANDS) == {motion.speed_band(s) for s in np.linspace(0.5, 2, 31)}


def test_motion_labels_round_trip(tmp_path):
    entries = [('UCF-101/A/v_A_g01_c01.avi', 'fast'), ('videos/b/Hit_&_Run!_b_0.avi', 'slow'),
               ('c/x.avi', 'medium'), ('c/y.avi', 'fast')]
    path = motion.write_motion_labels(tmp_path, entries)
    assert path == tmp_path / 'motionLabels.txt'
    assert [p.name for p in tmp_path.iterdir()] == ['motionLabels.txt']  # no temp file left
    assert path.read_text().splitlines()[1] == 'videos/b/Hit_&_Run!_b_0.avi slow'
    names, labels = motion.read_motion_labels(tmp_path)
    assert names == ('fast', 'medium', 'slow')
    assert labels == {'UCF-101/A/v_A_g01_c01.avi': 0, 'videos/b/Hit_&_Run!_b_0.avi': 2,
                      'c/x.avi': 1, 'c/y.avi': 0}
    path.write_bytes(b'a/x.avi  fast \r\n\r\nb/y.avi\tslow\r\n')  # CRLF, blank line, tabs
    assert motion.read_motion_labels(tmp_path) == (('fast', 'slow'), {'a/x.avi': 0, 'b/y.avi': 1})


def test_motion_label_errors(tmp_path):
    with pytest.raises(DataError) as err:
        motion.read_motion_labels(tmp_path)
    assert str(err.value) == (f'{tmp_path} labels no motion type (no motionLabels.txt); the '
                              'motion probe needs one: use --data demo or write that file')
    for bad in ([('a b.avi', 'fast')], [('a.avi', '')], [('a.avi', 'x'), ('a.avi', 'y')]):
        with pytest.raises(DataError):
            motion.write_motion_labels(tmp_path, bad)
    assert not (tmp_path / 'motionLabels.txt').exists()
    (tmp_path / 'motionLabels.txt').write_text('a.avi fast\nlonely\n')
    with pytest.raises(DataError, match='line 2'):
        motion.read_motion_labels(tmp_path)
    (tmp_path / 'motionLabels.txt').write_text('a.avi fast\na.avi slow\n')
    with pytest.raises(DataError, match='two motion labels'):
        motion.read_motion_labels(tmp_path)
    (tmp_path / 'motionLabels.txt').write_text('\n')
    with pytest.raises(DataError, match='labels no videos'):
        motion.read_motion_labels(tmp_path)


def _drawn_band(module, seed: int, rel: str) -> str:
    """The speed band of a demo video, redrawn as the generators draw it (first draw)."""
    return motion.speed_band(np.random.default_rng(demo.item_seed(seed, rel)).uniform(0.5, 2))


def test_demos_write_motion_labels_from_the_drawn_speed(tmp_path, demo_root):
    names, labels = motion.read_motion_labels(demo_root)
    assert names == ('fast', 'medium', 'slow')
    assert set(labels) == {p.relative_to(demo_root).as_posix() for p in demo_root.rglob('*.avi')}
    assert {i.path for i in read_split(demo_root).train} < set(labels)
    for path, label in labels.items():
        assert names[label] == _drawn_band(hmdb51, 0, path)
    root = ucf101.generate_demo(tmp_path, groups=3, clips_per_group=2, frames=8, size=32)
    names, labels = motion.read_motion_labels(root)
    videos = {p.relative_to(root).as_posix() for p in (root / 'UCF-101').rglob('*.avi')}
    assert set(labels) == videos and len(set(labels.values())) > 1
    for path, label in labels.items():
        assert names[label] == _drawn_band(ucf101, 0, path.removeprefix('UCF-101/'))


def test_ucf101_demo_v2_keeps_the_v1_videos(tmp_path):
    """Generator v2 only adds motionLabels.txt: a clip rendered the v1 way is byte-identical,
    and a v1 demo is regenerated (with motion labels) on first use."""
    kwargs = dict(groups=3, clips_per_group=2, frames=12, size=64)
    root = ucf101.generate_demo(tmp_path / 'ucf', **kwargs)
    assert ucf101.GENERATOR_VERSION == 2
    rel = 'OrbitRing/v_OrbitRing_g02_c01.avi'
    rng = np.random.default_rng(demo.item_seed(0, rel))
    speed = float(rng.uniform(0.5, 2.0))
    shape, pattern = ucf101.DEMO_SPECS['OrbitRing']
    clip = synth.render_clip(shape, pattern, frames=12, size=64, speed=speed, rng=rng)
    old = synth.write_video(tmp_path / 'v1.avi', clip)
    assert old.read_bytes() == (root / 'UCF-101' / rel).read_bytes()
    marker = root / 'DEMO.txt'
    marker.write_text(marker.read_text().replace('generator v2', 'generator v1'))
    (root / 'motionLabels.txt').unlink()
    lists = {p.name: p.read_bytes() for p in (root / 'ucfTrainTestlist').iterdir()}
    ucf101.generate_demo(root, **kwargs)
    assert 'generator v2' in marker.read_text() and (root / 'motionLabels.txt').is_file()
    assert {p.name: p.read_bytes() for p in (root / 'ucfTrainTestlist').iterdir()} == lists
    assert old.read_bytes() == (root / 'UCF-101' / rel).read_bytes()
