"""The nyuv2 layout: reading it, its loaders, the demo's exact geometry, and the converter from
the official labeled .mat (a tiny HDF5 file in its layout)."""
from __future__ import annotations

import hashlib
import time
from pathlib import Path

import cv2
import h5py
import numpy as np
import pytest
import scipy.io

from harness.data import demo
from harness.errors import DataError
from harness_nyudata import formats, nyuv2, render

SMALL = dict(train=6, test=3, width=80, height=60, seed=0)


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    return nyuv2.generate_demo(tmp_path_factory.mktemp('nyu'), **SMALL)


def _room(index: int, seed: int = 0, width: int = 80, height: int = 60) -> render.Room:
    """The demo's room of ``index``, rendered again from its seed."""
    return render.render_room(width, height, np.random.default_rng(
        demo.item_seed(seed, f'{index:06d}')))


def _digest(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(root.rglob('*')) if p.is_file()}


# ------------------------------------------------------------------------------------ demo


def test_demo_layout_and_counts(demo_root):
    split = nyuv2.read_split(demo_root, 'official')
    assert [i.index for i in split.train] == [1, 2, 3, 4, 5, 6]
    assert [i.index for i in split.test] == [7, 8, 9]
    assert split.missing == 0 and split.classes == ()
    item = split.train[0]
    assert (item.path, item.label, item.depth, item.normals) == (
        'images/000001_rgb.jpg', -1, 'depth/000001_depth.png', 'normals/nm_000001.mat')
    assert (demo_root / 'splits/trainlist.txt').read_text() == '1\n2\n3\n4\n5\n6\n'
    assert nyuv2.normals_source(demo_root) == 'demo'
    assert nyuv2.load_vocab(demo_root) is None
    assert nyuv2.is_demo(demo_root)
    counts = split.counts()
    assert counts['train_normals'] == 6 and counts['test_depth'] == 3
    rgb = cv2.imread(str(demo_root / item.path))
    assert rgb.shape == (60, 80, 3)
    mat = scipy.io.loadmat(demo_root / item.normals)
    assert mat['nx'].dtype == np.float32 and mat['depthValid'].dtype == np.uint8


def test_demo_is_deterministic_idempotent_and_fast(demo_root, tmp_path):
    start = time.perf_counter()
    again = nyuv2.generate_demo(tmp_path / 'again', **SMALL)
    assert time.perf_counter() - start < 2.0
    assert _digest(again) == _digest(demo_root)
    stamp = (demo_root / 'DEMO.txt').stat().st_mtime_ns
    nyuv2.generate_demo(demo_root, **SMALL)
    assert (demo_root / 'DEMO.txt').stat().st_mtime_ns == stamp
    other = nyuv2.generate_demo(tmp_path / 'other', **{**SMALL, 'seed': 1})
    assert _digest(other)['normals/nm_000001.mat'] != _digest(demo_root)['normals/nm_000001.mat']
    start = time.perf_counter()
    nyuv2.generate_demo(tmp_path / 'default')  # 24 + 12 rooms of 80 x 60
    assert time.perf_counter() - start < 2.0
    assert len(nyuv2.read_split(tmp_path / 'default').test) == 12


def test_demo_normals_are_unit_and_depth_is_zero_exactly_where_invalid(demo_root):
    split = nyuv2.read_split(demo_root)
    for item in split.train + split.test:
        normals, valid = nyuv2.load_normals(demo_root / item.normals)
        depth = nyuv2.load_depth(demo_root / item.depth)
        assert normals.shape == (60, 80, 3) and valid.dtype == bool
        assert np.array_equal(depth > 0, valid)
        assert 0 < valid.mean() < 1  # holes: the border band and the blobs
        assert not valid[0].any() and not valid[:, -1].any()
        np.testing.assert_allclose(np.linalg.norm(normals[valid], axis=1), 1.0, atol=1e-6)
        assert not normals[~valid].any()
        # towards the camera: n . P < 0 for the point P the normal belongs to
        points = render.backproject(depth)
        assert (np.einsum('ijk,ijk->ij', normals, points)[valid] < 0).all()


def test_demo_files_are_the_rendered_geometry(demo_root):
    for index in (1, 7):
        room = _room(index)
        normals, valid = nyuv2.load_normals(demo_root / nyuv2.normals_path(index))
        depth = nyuv2.load_depth(demo_root / nyuv2.depth_path(index))
        assert np.array_equal(valid, room.valid) and np.array_equal(normals, room.normals)
        assert np.abs(depth - room.depth).max() <= 0.0005 + 1e-6  # millimetres on disk
        rgb = cv2.imread(str(demo_root / nyuv2.rgb_path(index)))[:, :, ::-1]
        error = np.abs(rgb.astype(int) - room.rgb).mean()  # JPEG of a noisy image
        assert error < 8 and error < np.abs(rgb.astype(int) - _room(index + 1).rgb).mean() / 3


def test_demo_floor_and_walls_are_exact_planes():
    """Every pixel of one plane has the plane's exact normal, and its 3D point lies on that
    plane: the floor points up, (0, -1, 0), at the camera's height; the wall ahead faces the
    camera turned by the yaw; each surface's n . P is one constant."""
    floor_pixels = 0
    for index in range(1, 10):
        room = _room(index)
        points = render.backproject(room.depth)
        n_dot_p = np.einsum('ijk,ijk->ij', room.normals.astype(np.float64), points)
        floor = (room.surface == render.FLOOR) & room.valid
        floor_pixels += floor.sum()
        assert (room.normals[floor] == np.float32([0, -1, 0])).all()
        np.testing.assert_allclose(points[floor][:, 1], room.camera_height, atol=1e-5)
        ahead = (room.surface == render.AHEAD) & room.valid
        assert ahead.any()
        np.testing.assert_allclose(room.normals[ahead], np.broadcast_to(
            [np.sin(room.yaw), 0.0, -np.cos(room.yaw)], (ahead.sum(), 3)), atol=1e-6)
        for surface in np.unique(room.surface[room.valid]):
            on = (room.surface == surface) & room.valid
            assert np.ptp(n_dot_p[on]) < 1e-4, (index, surface)
            assert np.ptp(room.normals[on], axis=0).max() == 0
    assert floor_pixels > 100


def test_demo_depth_file_agrees_with_the_normals_on_the_floor(demo_root):
    """From the files alone: the 3D points of a floor pixel's 3 x 3 neighbourhood lie on one
    plane with that pixel's normal, within 1e-3 (millimetre depth)."""
    checked = 0
    for index in range(1, 10):
        room = _room(index)
        normals, valid = nyuv2.load_normals(demo_root / nyuv2.normals_path(index))
        points = render.backproject(nyuv2.load_depth(demo_root / nyuv2.depth_path(index)))
        floor = (room.surface == render.FLOOR) & valid
        for v, u in zip(*np.nonzero(floor[1:-1, 1:-1])):
            v, u = v + 1, u + 1
            if not floor[v - 1:v + 2, u - 1:u + 2].all():
                continue
            n = normals[v, u].astype(np.float64)
            assert np.allclose(n, [0, -1, 0])
            offsets = (points[v - 1:v + 2, u - 1:u + 2] - points[v, u]) @ n
            assert np.abs(offsets).max() < 1e-3
            checked += 1
    assert checked > 50


def test_demo_shading_follows_the_normals():
    """The Lambert shading carries the normal: a plane's faces of one albedo (a box) differ in
    brightness, and pixels of one plain plane do not vary beyond noise and texture."""
    room = _room(1, width=160, height=120)
    assert room.rgb.dtype == np.uint8 and room.rgb.std() > 10
    means = [room.rgb[room.surface == s].mean() for s in np.unique(room.surface)
             if (room.surface == s).sum() > 50]
    assert np.ptp(means) > 10


def test_demo_refuses_a_folder_with_a_layout_it_did_not_write(tmp_path):
    (tmp_path / 'images').mkdir()
    with pytest.raises(DataError, match='did not write'):
        nyuv2.generate_demo(tmp_path)
    with pytest.raises(DataError, match='at least 16'):
        nyuv2.generate_demo(tmp_path / 'small', width=8)


# ----------------------------------------------------------------- the official labeled .mat

SIZE = (48, 64)  # H, W of the tiny labeled file
#: the 128 bytes MATLAB writes into the HDF5 user block of a v7.3 file: text, subsystem
#: offset, version 0x0200, endianness 'IM'
MATLAB_73_HEADER = (b'MATLAB 7.3 MAT-file, Platform: GLNXA64, Created on: Mon Jan  1 00:00:00 '
                    b'2012 HDF5 schema 1.00 .').ljust(116) + b' ' * 8 + b'\x00\x02IM'


def _labeled_arrays(count: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """RGB [N, H, W, 3] uint8 of clearly different flat colours with a mild gradient, and depth
    [N, H, W] float32 metres, as MATLAB would hand them over."""
    h, w = SIZE
    rng = np.random.default_rng(0)
    ramp = np.linspace(0, 20, w)[None, :, None]
    colours = rng.choice(np.arange(30, 220, 10), size=(count, 3), replace=False)
    images = np.stack([np.clip(c[None, None, :] + ramp, 0, 255).astype(np.uint8)
                       * np.ones((h, 1, 1), np.uint8) for c in colours])
    depths = np.stack([(1.0 + i + np.linspace(0, 1, h)[:, None] * np.ones((1, w)))
                       for i in range(count)]).astype(np.float32)
    return images, depths


def _write_labeled(root: Path, train=(1, 3, 4), test=(2, 5)) -> tuple[np.ndarray, np.ndarray]:
    """The labeled .mat (HDF5, each image stored transposed as MATLAB v7.3 does) and
    splits.mat (MATLAB v5, 1-based column vectors of doubles) under ``root``."""
    images, depths = _labeled_arrays()
    root.mkdir(parents=True, exist_ok=True)
    with h5py.File(root / 'nyu_depth_v2_labeled.mat', 'w', userblock_size=512) as handle:
        handle['images'] = np.stack([image.T for image in images])  # [N, 3, W, H]
        handle['depths'] = np.stack([depth.T for depth in depths])  # [N, W, H]
        handle['labels'] = np.zeros((len(images), SIZE[1], SIZE[0]), np.uint16)
    with open(root / 'nyu_depth_v2_labeled.mat', 'r+b') as handle:  # MATLAB's v7.3 header
        handle.write(MATLAB_73_HEADER)
    with h5py.File(root / 'nyu_depth_v2_labeled.mat', 'r') as handle:
        assert handle['images'].shape == (5, 3, 64, 48) and handle['depths'].shape == (5, 64, 48)
    scipy.io.savemat(root / 'splits.mat', dict(
        trainNdxs=np.array(train, dtype=np.float64)[:, None],
        testNdxs=np.array(test, dtype=np.float64)[:, None]))
    return images, depths


def test_labeled_mat_converts_to_the_layout_1_based(tmp_path):
    images, depths = _write_labeled(tmp_path)
    lines = nyuv2.prepare(tmp_path)
    assert '5 images converted' in lines[0] and '0 already there' in lines[0]
    assert any('only the depth protocol' in line and 'normals' in line for line in lines)
    assert 'train 3 images' in lines[-1] and 'test 2 images' in lines[-1]
    assert lines[-1].endswith('normals source: none')
    assert all('\n' not in line for line in lines)
    split = nyuv2.read_split(tmp_path)
    assert [i.index for i in split.train] == [1, 3, 4]
    assert [i.index for i in split.test] == [2, 5]
    assert split.train[0].path == 'images/000001_rgb.jpg' and split.missing == 0
    assert all(item.normals == '' and item.depth for item in split.train + split.test)
    for item in split.train + split.test:
        rgb = cv2.imread(str(tmp_path / item.path))[:, :, ::-1].astype(int)
        assert rgb.shape == SIZE + (3,)
        errors = [np.abs(rgb - image).mean() for image in images]
        assert errors[item.index - 1] < 2 and np.argmin(errors) == item.index - 1
        depth = nyuv2.load_depth(tmp_path / item.depth)
        np.testing.assert_allclose(depth, np.round(depths[item.index - 1] * 1000) / 1000,
                                   atol=1e-6)
    assert (tmp_path / 'splits/testlist.txt').read_text() == '2\n5\n'


def test_conversion_resumes_and_missing_images_are_counted(tmp_path):
    _write_labeled(tmp_path)
    nyuv2.prepare(tmp_path)
    stamp = (tmp_path / 'images/000001_rgb.jpg').stat().st_mtime_ns
    (tmp_path / 'images/000004_rgb.jpg').unlink()
    lines = nyuv2.prepare(tmp_path)
    assert '1 images converted' in lines[0] and '4 already there' in lines[0]
    assert (tmp_path / 'images/000004_rgb.jpg').is_file()
    assert (tmp_path / 'images/000001_rgb.jpg').stat().st_mtime_ns == stamp
    # without the labeled file, a listed index whose image is gone is skipped and counted
    (tmp_path / 'nyu_depth_v2_labeled.mat').unlink()
    (tmp_path / 'images/000004_rgb.jpg').unlink()
    (tmp_path / 'depth/000003_depth.png').unlink()
    split = nyuv2.read_split(tmp_path)
    assert [i.index for i in split.train] == [1, 3] and split.missing == 1
    assert split.train[1].depth == ''
    assert 'train 2 images (1 with depth' in nyuv2.prepare(tmp_path)[-1]
    assert '1 listed images missing' in nyuv2.prepare(tmp_path)[-1]


def test_prepare_with_normals_names_their_source(tmp_path):
    _write_labeled(tmp_path)
    normals = np.zeros(SIZE + (3,), np.float32)
    normals[..., 1] = -1
    formats.write_normals(tmp_path / nyuv2.normals_path(1), normals, np.ones(SIZE, bool))
    with pytest.raises(DataError, match='SOURCE.txt'):
        nyuv2.prepare(tmp_path)
    (tmp_path / 'SOURCE.txt').write_text('fouhey\n')
    lines = nyuv2.prepare(tmp_path)
    assert not any('only the depth protocol' in line for line in lines)
    assert 'train 3 images (3 with depth, 1 with normals)' in lines[-1]
    assert lines[-1].endswith('normals source: fouhey')
    (tmp_path / 'SOURCE.txt').write_text('guessed\n')
    with pytest.raises(DataError, match='ladicky, fouhey, depth, demo'):
        nyuv2.normals_source(tmp_path)


def test_malformed_files_are_one_line_data_errors(tmp_path, capsys):
    from harness.cli import main

    def one_line(call, match):
        with pytest.raises(DataError, match=match) as raised:
            call()
        assert '\n' not in str(raised.value)

    _write_labeled(tmp_path)
    labeled = tmp_path / 'nyu_depth_v2_labeled.mat'
    one_line(lambda: nyuv2.load_normals(labeled), 'v7.3')  # the HDF5 one, given to scipy
    labeled.write_bytes(b'MATLAB 5.0 MAT-file, not HDF5' + bytes(200))
    one_line(lambda: nyuv2.prepare(tmp_path), 'cannot open .* as HDF5')
    assert main(['data', 'prepare', 'nyuv2', '--root', str(tmp_path)]) == 2
    assert len(capsys.readouterr().err.strip().splitlines()) == 1
    with h5py.File(labeled, 'w') as handle:
        handle['rgb'] = np.zeros((2, 3, 4, 4), np.uint8)
    one_line(lambda: nyuv2.prepare(tmp_path), 'no images and depths datasets')
    with h5py.File(labeled, 'w') as handle:
        handle['images'] = np.zeros((5, 48, 64, 3), np.uint8)  # not transposed
        handle['depths'] = np.zeros((5, 64, 48), np.float32)
    one_line(lambda: nyuv2.prepare(tmp_path), 'not the labeled layout')
    _write_labeled(tmp_path, train=(0, 1, 2))  # 0-based by mistake
    one_line(lambda: nyuv2.prepare(tmp_path), '1-based')
    (tmp_path / 'splits.mat').write_bytes(b'garbage')
    one_line(lambda: nyuv2.prepare(tmp_path), r'cannot read .*splits\.mat')
    scipy.io.savemat(tmp_path / 'splits.mat', dict(trainNdxs=np.array([[1.0]])))
    one_line(lambda: nyuv2.prepare(tmp_path), 'lacks testNdxs')
    (tmp_path / 'splits.mat').unlink()
    one_line(lambda: nyuv2.prepare(tmp_path), r'no splits\.mat')
    # the per-image files
    bad = tmp_path / 'nm_000001.mat'
    bad.write_bytes(b'\x00' * 300)
    one_line(lambda: nyuv2.load_normals(bad), 'cannot read')
    scipy.io.savemat(bad, dict(nx=np.zeros((2, 2)), ny=np.zeros((2, 2))))
    one_line(lambda: nyuv2.load_normals(bad), 'lacks nz, depthValid')
    scipy.io.savemat(bad, dict(nx=np.zeros((2, 2)), ny=np.zeros((2, 2)), nz=np.zeros((2, 3)),
                               depthValid=np.ones((2, 2))))
    one_line(lambda: nyuv2.load_normals(bad), 'one shape')
    with h5py.File(bad, 'w') as handle:  # plain HDF5, no MATLAB header
        handle['nx'] = np.zeros((2, 2))
    one_line(lambda: nyuv2.load_normals(bad), 'v7.3')
    png = tmp_path / 'd.png'
    cv2.imwrite(str(png), np.zeros((4, 4, 3), np.uint8))
    one_line(lambda: nyuv2.load_depth(png), 'uint16')
    scipy.io.savemat(tmp_path / 'vocab40.mat', dict(vocab=np.zeros((40, 2))))
    one_line(lambda: nyuv2.load_vocab(tmp_path), r'\[K, 3\]')


def test_read_split_errors_and_lists(tmp_path):
    with pytest.raises(DataError, match=r'no .*images; a nyuv2 root') as raised:
        nyuv2.read_split(tmp_path)
    assert '\n' not in str(raised.value)
    with pytest.raises(DataError, match="one split here, 'official'"):
        nyuv2.read_split(tmp_path, 'test')
    (tmp_path / 'images').mkdir()
    (tmp_path / 'splits').mkdir()
    (tmp_path / 'splits/trainlist.txt').write_text('1\n\n2\n')
    (tmp_path / 'splits/testlist.txt').write_text('3\n')
    with pytest.raises(DataError, match='no image of .*trainlist'):
        nyuv2.read_split(tmp_path)
    (tmp_path / 'splits/testlist.txt').write_text('3\nrgb_00003.jpg\n')
    with pytest.raises(DataError, match="line 2 of .*testlist.txt is not a 1-based"):
        nyuv2.read_list(tmp_path / 'splits/testlist.txt')


def test_loaders_read_what_the_writers_wrote(tmp_path):
    rng = np.random.default_rng(0)
    normals = rng.normal(size=(5, 7, 3)).astype(np.float32)
    valid = rng.random((5, 7)) > 0.3
    formats.write_normals(tmp_path / 'nm.mat', normals, valid)
    got, got_valid = nyuv2.load_normals(tmp_path / 'nm.mat')
    assert np.array_equal(got, normals) and np.array_equal(got_valid, valid)
    depth = np.array([[0.0, 0.0004, 0.0006, 1.2344], [np.nan, -1.0, 70.0, 3.0]])
    formats.write_depth(tmp_path / 'd.png', depth)
    np.testing.assert_allclose(nyuv2.load_depth(tmp_path / 'd.png'),
                               [[0, 0, 0.001, 1.234], [0, 0, 65.535, 3.0]], atol=1e-6)
    vocab = rng.normal(size=(40, 3))
    scipy.io.savemat(tmp_path / 'vocab40.mat', dict(vocab=vocab))
    np.testing.assert_allclose(nyuv2.load_vocab(tmp_path), vocab.astype(np.float32))


def test_plugin_registers_the_layout():
    from harness_nyudata.plugin import harness_register_datasets

    infos = []
    harness_register_datasets(infos.append)
    assert [i.name for i in infos] == ['nyuv2']
    info = infos[0]
    assert info.modality == 'image' and 'nm_<id:06d>.mat' in info.layout_help
    module = info.module()
    assert module.SPLITS == ('official',) and callable(module.read_split)
    assert callable(module.prepare) and callable(module.generate_demo)
    assert callable(module.is_demo)
