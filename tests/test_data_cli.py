"""``harness data prepare`` and ``harness data demo`` through the CLI, on the layouts of the
videodata plugin (harness_videodata.hmdb51, harness_videodata.ucf101)."""
from __future__ import annotations

from pathlib import Path

import pytest

from harness.cli import main
from harness.data.splits import VideoItem
from harness_videodata import hmdb51, ucf101
from harness_videodata.hmdb51 import SPLIT_DIR


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


def _expected(split: int) -> tuple[list[VideoItem], list[VideoItem], int]:
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
            item = VideoItem(f'{cls}/{name}', classes.index(cls))
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


def test_data_prepare_ucf101(small_demo, tmp_path):
    out = tmp_path / 'lists'
    assert main(['data', 'prepare', 'ucf101', '--root', str(small_demo), '--out', str(out)]) == 0
    for k in '123':
        split = ucf101.read_split(small_demo, k)
        train = _lines(out / f'ucf101_train_split{k}_videos.txt')
        assert train == [(i.path, i.label) for i in split.train] and len(train) == 20
        assert len(_lines(out / f'ucf101_val_split{k}_videos.txt')) == len(split.test) == 20
        for video, _ in train:
            assert (small_demo / video).is_file()


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


def test_data_demo_hmdb51(tmp_path, capsys, monkeypatch):
    calls = []
    monkeypatch.setattr(hmdb51, 'generate_demo', lambda root, **kw: calls.append(root) or root)
    assert main(['data', 'demo', '--dataset', 'hmdb51', '--work-dir', str(tmp_path)]) == 0
    assert calls == [tmp_path / 'demo' / 'hmdb51']
    assert 'demo hmdb51 dataset' in capsys.readouterr().out
