"""UCF101 layout reader and the demo generator (harness_videodata.ucf101)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from harness.data import synth
from harness.data.splits import DataItem
from harness_videodata import ucf101
from harness_videodata.ucf101 import CLASSES_DEMO, files_sha256, generate_demo, read_split
from harness.errors import DataError

NAME_RE = re.compile(r"^v_([A-Za-z]+)_g(\d{2})_c(\d{2})\.avi$")
SMALL = dict(groups=3, clips_per_group=2, frames=16, size=64)


def _lists(root: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted((root / "ucfTrainTestlist").iterdir())}


@pytest.fixture(scope="module")
def demo_root(tmp_path_factory) -> Path:
    """The full-size demo (5 classes x 3 groups x 8 clips), with short clips to stay quick."""
    return generate_demo(tmp_path_factory.mktemp("demo"), frames=8, size=32)


def test_demo_counts_names_and_labels(demo_root):
    videos = sorted((demo_root / "UCF-101").rglob("*.avi"))
    assert len(videos) == 5 * 3 * 8 == 120
    lists = demo_root / "ucfTrainTestlist"
    class_lines = (lists / "classInd.txt").read_text().splitlines()
    assert class_lines == [f"{i} {c}" for i, c in enumerate(CLASSES_DEMO, 1)]
    for video in videos:
        m = NAME_RE.match(video.name)
        assert m and m.group(1) == video.parent.name, video
    for k in "123":
        split = read_split(demo_root, k)
        assert split.classes == CLASSES_DEMO and split.missing == 0
        assert (len(split.train), len(split.test)) == (40, 80)  # few labels
        assert not {i.path for i in split.train} & {i.path for i in split.test}
        for item in split.train + split.test:
            assert item.path.startswith(f"UCF-101/{CLASSES_DEMO[item.label]}/")
        test_groups = {int(NAME_RE.match(Path(i.path).name).group(2)) for i in split.test}
        # groups {2k-1, 2k}, wrapping around the 3 groups: {1, 2}, {3, 1}, {2, 3}
        assert test_groups == [{1, 2}, {3, 1}, {2, 3}][int(k) - 1]
        for line in (lists / f"trainlist0{k}.txt").read_text().splitlines():
            path, label = line.split(" ")
            assert CLASSES_DEMO[int(label) - 1] == path.split("/")[0]
        for line in (lists / f"testlist0{k}.txt").read_text().splitlines():
            assert " " not in line and line.endswith(".avi")
    assert ucf101.is_demo(demo_root)
    assert not (demo_root / "DEMO.partial").exists()


def test_demo_videos_decode(tmp_path):
    decord = pytest.importorskip("decord")
    root = generate_demo(tmp_path, **SMALL)
    videos = sorted((root / "UCF-101").rglob("*.avi"))
    assert len(videos) == 5 * 3 * 2
    for video in videos:
        vr = decord.VideoReader(str(video))
        assert len(vr) == 16
        batch = vr.get_batch(list(range(16))).asnumpy()
        assert batch.shape == (16, 64, 64, 3) and batch.dtype == np.uint8
        assert batch.std() > 10  # an actual picture, not a blank clip


def test_demo_idempotent_and_seed_regenerates(tmp_path):
    root = generate_demo(tmp_path, **SMALL)
    marker, video = root / "DEMO.txt", next((root / "UCF-101").rglob("*.avi"))
    stamps = (marker.stat().st_mtime_ns, video.stat().st_mtime_ns)
    assert generate_demo(tmp_path, **SMALL) == root
    assert (marker.stat().st_mtime_ns, video.stat().st_mtime_ns) == stamps
    before_lists, before_video = _lists(root), video.read_bytes()
    generate_demo(tmp_path, **SMALL, seed=1)
    assert "seed=1" in marker.read_text()
    assert _lists(root) == before_lists  # same names and splits ...
    assert video.read_bytes() != before_video  # ... different pictures


def test_demo_deterministic(tmp_path):
    a = generate_demo(tmp_path / "a", **SMALL)
    b = generate_demo(tmp_path / "b", **SMALL)
    assert _lists(a) == _lists(b)
    for video in sorted((a / "UCF-101").rglob("*.avi")):
        twin = b / video.relative_to(a)
        assert twin.read_bytes() == video.read_bytes(), video


def test_demo_interrupted_run_is_redone(tmp_path):
    root = generate_demo(tmp_path, **SMALL)
    (root / "DEMO.txt").unlink()  # as if killed before the marker was written
    (root / "DEMO.partial").write_text("interrupted\n")
    victim = next((root / "UCF-101").rglob("*.avi"))
    victim.unlink()
    assert not ucf101.is_demo(root)
    generate_demo(root, **SMALL)
    assert victim.is_file() and ucf101.is_demo(root)
    assert read_split(root).missing == 0


def test_demo_refuses_foreign_layout(tmp_path, fake_ucf):
    with pytest.raises(DataError, match="did not write"):
        generate_demo(fake_ucf, **SMALL)
    assert (fake_ucf / "UCF-101" / "ApplyEyeMakeup").is_dir()


def test_demo_rejects_bad_arguments(tmp_path):
    with pytest.raises(DataError, match="NoSuchClass"):
        generate_demo(tmp_path, classes=("NoSuchClass",))
    with pytest.raises(DataError, match="groups"):
        generate_demo(tmp_path, groups=2)
    with pytest.raises(DataError, match="even size"):
        generate_demo(tmp_path, size=81)


def test_demo_checks_decord_reads_the_size_back(tmp_path):
    pytest.importorskip("decord")  # decord mis-decodes 48x48 MJPG (4 channels / size mismatch)
    with pytest.raises(DataError, match="choose an even demo size"):
        generate_demo(tmp_path, **{**SMALL, "size": 48})
    assert not ucf101.is_demo(tmp_path) and (tmp_path / "DEMO.partial").is_file()
    generate_demo(tmp_path, **SMALL)  # the interrupted attempt is cleaned up and redone
    assert ucf101.is_demo(tmp_path)
    assert len(list((tmp_path / "UCF-101").rglob("*.avi"))) == 30


# ------------------------------------------------------------------ a fake "real" UCF101 layout


@pytest.fixture
def fake_ucf(tmp_path) -> Path:
    """A tiny UCF101 with the real download's quirks: CRLF, blank lines, name case mismatch,
    and one list entry whose video is missing."""
    root = tmp_path / "ucf"
    files = {
        "ApplyEyeMakeup": ["v_ApplyEyeMakeup_g01_c01.avi", "v_ApplyEyeMakeup_g08_c01.avi",
                           "v_ApplyEyeMakeup_g09_c01.avi"],
        "HandstandPushups": ["v_HandStandPushups_g01_c01.avi", "v_HandStandPushups_g08_c01.avi"],
        "YoYo": ["v_YoYo_g01_c01.avi", "v_YoYo_g08_c01.avi"],
    }
    for cls, names in files.items():
        (root / "UCF-101" / cls).mkdir(parents=True)
        for name in names:
            (root / "UCF-101" / cls / name).write_bytes(b"not really a video")
    lists = root / "ucfTrainTestlist"
    lists.mkdir()

    def write(name: str, lines: list[str]) -> None:
        (lists / name).write_bytes(("\r\n".join(lines) + "\r\n\r\n\r\n").encode())

    write("classInd.txt", ["1 ApplyEyeMakeup", "2 HandstandPushups", "3 YoYo"])
    write("trainlist01.txt", [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1",
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g09_c01.avi 1",
        "",
        "HandstandPushups/v_HandstandPushups_g08_c01.avi 2",  # file is v_HandStandPushups_...
        "YoYo/v_YoYo_g08_c01.avi 3",
        "YoYo/v_YoYo_g09_c01.avi 3",  # not on disk
    ])
    write("testlist01.txt", [
        "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi",
        "HandStandPushups/v_HandStandPushups_g01_c01.avi",  # folder is HandstandPushups
        "YoYo/v_YoYo_g01_c01.avi",
    ])
    return root


def test_read_real_layout_with_quirks(fake_ucf):
    split = read_split(fake_ucf, "1")
    assert split.name == "1"
    assert split.classes == ("ApplyEyeMakeup", "HandstandPushups", "YoYo")
    assert split.missing == 1
    assert len(split.train) == 4 and len(split.test) == 3
    assert DataItem("UCF-101/HandstandPushups/v_HandStandPushups_g08_c01.avi", 1) in split.train
    assert DataItem("UCF-101/HandstandPushups/v_HandStandPushups_g01_c01.avi", 1) in split.test
    assert [i.label for i in split.test] == [0, 1, 2]
    for item in split.train + split.test:
        assert (fake_ucf / item.path).is_file()
    assert not ucf101.is_demo(fake_ucf)


def test_read_split_errors(tmp_path, fake_ucf):
    with pytest.raises(DataError, match=re.escape(str(tmp_path / "nope"))):
        read_split(tmp_path / "nope")
    with pytest.raises(DataError, match="split"):
        read_split(fake_ucf, "4")
    trainlist02 = fake_ucf / "ucfTrainTestlist" / "trainlist02.txt"
    with pytest.raises(DataError, match=re.escape(str(trainlist02))):
        read_split(fake_ucf, "2")
    class_ind = fake_ucf / "ucfTrainTestlist" / "classInd.txt"
    class_ind.unlink()
    with pytest.raises(DataError, match=re.escape(str(class_ind))) as err:
        read_split(fake_ucf)
    assert "\n" not in str(err.value) and "--data" in str(err.value)


def test_files_sha256_identity():
    a, b = DataItem("UCF-101/A/v_A_g01_c01.avi", 0), DataItem("UCF-101/B/v_B_g01_c01.avi", 1)
    assert files_sha256([a, b]) == files_sha256((b, a))
    assert files_sha256([a, b]) != files_sha256([a, DataItem(b.path, 0)])
    assert files_sha256([a]) != files_sha256([a, b])


# ------------------------------------------------------------------------------ demo classes


def test_demo_classes_pair_distinct_shapes_and_motions():
    shapes = [ucf101.DEMO_SPECS[c][0] for c in CLASSES_DEMO]
    motions = [ucf101.DEMO_SPECS[c][1] for c in CLASSES_DEMO]
    assert len(CLASSES_DEMO) == 5 and len(set(shapes)) == 5 and len(set(motions)) == 5
    assert set(shapes) <= set(synth.SHAPES) and set(motions) <= set(synth.MOTIONS)
