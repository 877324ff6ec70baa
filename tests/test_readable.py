"""Unreadable-file detection (harness.data.readable): videos and images."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from harness.data import readable
from harness.data.readable import (ProbeResult, check_image, check_unreadable, check_video,
                                   probe_items)
from harness.data.splits import DataItem
from harness.errors import DataError
from harness_videodata import hmdb51

FRAMES = 16


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    """A small HMDB51-layout demo; tests copy videos out of it before damaging them."""
    return hmdb51.generate_demo(tmp_path_factory.mktemp('probe-demo'), groups=4,
                                clips_per_group=2, frames=FRAMES, size=64)


def _frame_ends(data: bytes) -> list[int]:
    """Byte offsets where each frame chunk of the AVI's 'movi' list ends."""
    offset, ends = data.index(b'movi') + 4, []
    while data[offset:offset + 2] == b'00':  # '00dc': stream 0, compressed video
        offset += 8 + int.from_bytes(data[offset + 4:offset + 8], 'little')
        offset += offset & 1
        ends.append(offset)
    return ends


@pytest.fixture
def decord():
    return pytest.importorskip('decord')


@pytest.fixture
def videos(demo, tmp_path, decord) -> dict[str, Path]:
    """Under tmp_path/v/: good.avi, empty.avi, half.avi (cut to half its bytes), frames.avi
    (cut after half its frames), last.avi (cut inside its last frame), index.avi (only its
    trailing index cut), garbage.avi."""
    source = sorted(demo.rglob('*.avi'))[0]
    data = source.read_bytes()
    folder = tmp_path / 'v'
    folder.mkdir()
    ends = _frame_ends(data)
    assert len(ends) == FRAMES and data[ends[-1]:ends[-1] + 4] == b'idx1'
    contents = {'good.avi': data, 'empty.avi': b'', 'half.avi': data[:len(data) // 2],
                'frames.avi': data[:ends[FRAMES // 2 - 1]], 'last.avi': data[:ends[-1] - 40],
                'index.avi': data[:ends[-1] + 8 + 20],
                'garbage.avi': b'not a video at all\n' * 64}
    for name, content in contents.items():
        (folder / name).write_bytes(content)
    return {Path(name).stem: folder / name for name in contents}


def test_decord_alone_misses_a_truncated_avi(videos, decord):
    """Why the probe walks the RIFF chunks: decord rebuilds the index of an AVI cut between
    two frames and decodes what is left without complaint."""
    reader = decord.VideoReader(str(videos['frames']), num_threads=1)
    assert len(reader) == FRAMES // 2
    assert reader.get_batch([0, len(reader) - 1]).asnumpy().shape == (2, 64, 64, 3)
    with pytest.raises(Exception):
        decord.VideoReader(str(videos['empty']), num_threads=1)


def test_check_video(videos, tmp_path):
    assert check_video(videos['good']) is None
    assert check_video(videos['index']) is None  # every frame is there; FFmpeg rebuilds the index
    assert check_video(videos['empty']) == 'empty file'
    for name in ('half', 'frames', 'last'):  # decord may or may not fail on the cut frame
        reason = check_video(videos[name])
        assert reason and '\n' not in reason, (name, reason)
        cut = readable._avi_cut(videos[name], videos[name].stat().st_size)
        assert cut.startswith('truncated:') and "'movi'" in cut, (name, cut)
    assert check_video(videos['frames']).startswith('truncated:')
    assert readable._avi_cut(videos['index'], videos['index'].stat().st_size) is None
    assert check_video(videos['garbage']).startswith('decord cannot decode it: ')
    assert check_video(tmp_path / 'nope.avi') == 'not on disk'


def test_probe_items_splits_and_keeps_order(videos, tmp_path):
    items = [DataItem(f'v/{name}.avi', i) for i, name in enumerate(
        ['good', 'half', 'index', 'empty', 'frames', 'last', 'garbage', 'nope'])]
    result = probe_items(tmp_path, items)
    assert isinstance(result, ProbeResult)
    assert result.readable == (items[0], items[2])
    assert result.unreadable == ('v/half.avi', 'v/empty.avi', 'v/frames.avi', 'v/last.avi',
                                 'v/garbage.avi', 'v/nope.avi')
    assert result.reasons['v/empty.avi'] == 'empty file'
    assert result.reasons['v/nope.avi'] == 'not on disk'


def test_probe_demo_dataset_all_readable(demo, decord):
    split = hmdb51.read_split(demo, '1')
    items = split.train + split.test
    result = probe_items(demo, items)
    assert result.readable == items and result.unreadable == ()


@pytest.fixture
def count_opens(monkeypatch) -> list[str]:
    opened: list[str] = []
    real = readable.open_video

    def counting(path):
        opened.append(Path(path).name)
        return real(path)

    monkeypatch.setattr(readable, 'open_video', counting)
    return opened


def test_cache_avoids_reopening(videos, tmp_path, count_opens):
    items = [DataItem(f'v/{name}.avi', 0) for name in ('good', 'half', 'garbage', 'index')]
    cache = tmp_path / 'cache' / 'probe.json'
    first = probe_items(tmp_path, items, cache_file=cache)
    # half.avi is found truncated from its AVI chunks, before decord would open it
    assert sorted(count_opens) == ['garbage.avi', 'good.avi', 'index.avi']
    assert cache.is_file() and [p.name for p in cache.parent.iterdir()] == ['probe.json']
    stored = json.loads(cache.read_text())['videos']
    assert set(stored) == {str((tmp_path / i.path).resolve()) for i in items}
    count_opens.clear()
    assert probe_items(tmp_path, items, cache_file=cache) == first
    assert count_opens == []
    # a changed file (new size and mtime) is probed again; the others come from the cache
    shutil.copyfile(videos['garbage'], videos['good'])
    os.utime(videos['good'], ns=(1_000_000_000, 1_000_000_000))
    third = probe_items(tmp_path, items, cache_file=cache)
    assert count_opens == ['good.avi']
    assert third.unreadable == ('v/good.avi', 'v/half.avi', 'v/garbage.avi')
    # a damaged cache only costs a slower probe
    cache.write_text('{not json')
    count_opens.clear()
    assert probe_items(tmp_path, items, cache_file=cache) == third
    assert len(count_opens) == 3 and json.loads(cache.read_text())['version'] == 1


def test_check_unreadable_threshold():
    check_unreadable(5, 100, 0.05)
    check_unreadable(0, 0, 0.0)
    check_unreadable(0, 10, 0.0)
    with pytest.raises(DataError) as err:
        check_unreadable(6, 100, 0.05)
    message = str(err.value)
    assert message.startswith('6 of 100 videos are unreadable (6.0%), above the limit of 5.0%')
    assert message.endswith('raise --max-unreadable or repair the files')
    assert '\n' not in message
    with pytest.raises(DataError, match=r'e\.g\. a\.avi, b\.avi, c\.avi\)'):
        check_unreadable(4, 4, 0.5, examples=['a.avi', 'b.avi', 'c.avi', 'd.avi'])
    with pytest.raises(DataError, match='1 of 10'):
        check_unreadable(1, 10, 0.0)


def test_check_image(tmp_path):
    import cv2
    import numpy as np

    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    for ext in ('.png', '.jpg'):
        good = tmp_path / f'good{ext}'
        cv2.imwrite(str(good), image)
        assert check_image(good) is None
        cut = tmp_path / f'cut{ext}'
        cut.write_bytes(good.read_bytes()[:good.stat().st_size // 2])
        assert check_image(cut) is not None
    (tmp_path / 'garbage.png').write_bytes(b'not an image at all')
    assert check_image(tmp_path / 'garbage.png') == \
        "OpenCV (the loaders' decoder, through mmcv) cannot decode it"
    (tmp_path / 'empty.jpg').write_bytes(b'')
    assert check_image(tmp_path / 'empty.jpg') == 'empty file'
    assert check_image(tmp_path / 'nope.png') == 'not on disk'


def test_a_cut_image_that_opencv_half_decodes_is_unreadable(tmp_path, monkeypatch):
    """Some OpenCV builds return the part of a cut JPEG they could read; Pillow's full decode
    fails there."""
    import cv2
    import numpy as np

    image = np.random.default_rng(0).integers(0, 256, (48, 64, 3), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / 'good.jpg'), image)
    data = (tmp_path / 'good.jpg').read_bytes()
    (tmp_path / 'cut.jpg').write_bytes(data[:len(data) // 2])
    monkeypatch.setattr(cv2, 'imdecode', lambda *args, **kwargs: image)
    assert check_image(tmp_path / 'good.jpg') is None
    assert check_image(tmp_path / 'cut.jpg').startswith(
        'damaged or cut off: OpenCV decodes part of it, Pillow cannot decode all of it: ')


@pytest.mark.parametrize('fmt', ['ICO', 'TGA'])
def test_an_image_only_pillow_reads_is_unreadable(tmp_path, fmt):
    """The loaders decode with OpenCV (mmcv): a file Pillow reads and OpenCV does not would
    stop feature extraction, so the probe leaves it out."""
    import numpy as np
    from PIL import Image

    path = tmp_path / 'n01440764_1.JPEG'
    Image.fromarray(np.zeros((16, 16, 3), np.uint8)).save(path, fmt)
    with Image.open(path) as image:
        image.load()  # Pillow reads it
    assert check_image(path) == "OpenCV (the loaders' decoder, through mmcv) cannot decode it"


def test_cached_image_verdicts_of_the_old_check_are_probed_again(tmp_path):
    import json

    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    stat = (tmp_path / 'a.png').stat()
    cache = tmp_path / 'cache.json'
    key = str((tmp_path / 'a.png').resolve())
    cache.write_text(json.dumps({'version': 1, 'videos': {
        key: [stat.st_size, stat.st_mtime_ns, 'stale verdict']}}))
    result = probe_items(tmp_path, [DataItem('a.png', 0)], 'image', cache_file=cache)
    assert result.unreadable == ()
    assert json.loads(cache.read_text())['videos'][key] == [stat.st_size, stat.st_mtime_ns, 2,
                                                           None]


def test_probe_items_checks_images_and_names_them(tmp_path):
    import cv2
    import numpy as np

    cv2.imwrite(str(tmp_path / 'a.png'), np.zeros((8, 8, 3), np.uint8))
    (tmp_path / 'b.png').write_bytes(b'\x89PNG broken')
    result = probe_items(tmp_path, [DataItem('a.png', 0), DataItem('b.png', 1)], 'image')
    assert [i.path for i in result.readable] == ['a.png'] and result.unreadable == ('b.png',)
    with pytest.raises(DataError, match='1 of 2 images are unreadable'):
        check_unreadable(1, 2, 0.0, noun='images')
