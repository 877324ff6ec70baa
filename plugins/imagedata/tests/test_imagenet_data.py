"""The ImageNet-style folder: reading the layout as it lies on disk, and the demo generator."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from harness.data.readable import probe_items
from harness.errors import DataError
from harness_imagedata import imagenet


@pytest.fixture(scope='module')
def demo_root(tmp_path_factory) -> Path:
    return imagenet.generate_demo(tmp_path_factory.mktemp('imagenet'), train_per_class=3,
                                  val_per_class=2, size=32)


def test_demo_is_read_back_as_the_layout_says(demo_root):
    split = imagenet.read_split(demo_root, 'val')
    assert split.classes == tuple(sorted(imagenet.CLASSES_DEMO))
    assert len(split.train) == 5 * 3 and len(split.test) == 5 * 2
    first = split.train[0]
    assert first.path == f'train/{split.classes[0]}/{split.classes[0]}_00000.png'
    assert first.label == 0
    assert {item.label for item in split.test} == set(range(5))
    assert all(item.path.startswith('val/') for item in split.test)
    assert not probe_items(demo_root, split.train + split.test, 'image').unreadable
    assert imagenet.is_demo(demo_root)


def test_every_demo_class_has_its_own_shape():
    shapes = [shape for shape, _ in imagenet.DEMO_SPECS.values()]
    assert len(set(shapes)) == len(shapes)
    textures = {texture for _, texture in imagenet.DEMO_SPECS.values()}
    assert len(textures) >= 3


def test_demo_is_deterministic_and_idempotent(demo_root, tmp_path):
    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob('*.png'))}

    again = imagenet.generate_demo(tmp_path / 'again', train_per_class=3, val_per_class=2,
                                   size=32)
    assert digest(again) == digest(demo_root)
    stamp = (demo_root / 'DEMO.txt').stat().st_mtime_ns
    imagenet.generate_demo(demo_root, train_per_class=3, val_per_class=2, size=32)
    assert (demo_root / 'DEMO.txt').stat().st_mtime_ns == stamp


def test_default_demo_has_at_least_100_val_images():
    import inspect

    defaults = inspect.signature(imagenet.generate_demo).parameters
    assert len(imagenet.CLASSES_DEMO) * defaults['val_per_class'].default >= 100


def test_real_layout_any_image_extension_and_case_hidden_files_skipped(tmp_path):
    for rel in ('train/n01/a.JPEG', 'train/n01/b.jpg', 'train/n02/c.png', 'train/n02/.d.png',
                'train/n02/notes.txt', 'val/n02/e.webp', 'val/n01/f.JPEG'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'x')
    (tmp_path / 'train/.cache').mkdir()
    split = imagenet.read_split(tmp_path)
    assert split.classes == ('n01', 'n02')
    assert [(i.path, i.label) for i in split.train] == [
        ('train/n01/a.JPEG', 0), ('train/n01/b.jpg', 0), ('train/n02/c.png', 1)]
    assert [(i.path, i.label) for i in split.test] == [('val/n01/f.JPEG', 0),
                                                       ('val/n02/e.webp', 1)]


def test_an_empty_train_class_folder_is_no_class_and_is_counted(tmp_path):
    for rel in ('train/a/x.png', 'train/c/z.png', 'val/a/y.png', 'val/c/w.png'):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_bytes(b'x')
    (tmp_path / 'train/b').mkdir()
    (tmp_path / 'val/b').mkdir()  # empty on both sides
    split = imagenet.read_split(tmp_path)
    assert split.classes == ('a', 'c') and split.dropped == {'empty_class': 1}
    assert [(i.path, i.label) for i in split.test] == [('val/a/y.png', 0), ('val/c/w.png', 1)]


@pytest.mark.parametrize('setup,words', [
    ((), 'no train/ folder'),
    (('train/a/x.png',), 'no val/ folder'),
    (('train/a/x.png', 'val/b/y.png'), r'val hold images of no class of .*train \(e\.g\. b: '
                                      r'.*train has no folder b\)'),
    (('train/a/x.png', 'train/b/', 'val/b/y.png'), r'\(e\.g\. b: .*train/b has no images\)'),
    (('train/a/x.png', 'val/a/'), 'no images under'),
])
def test_bad_layouts_are_one_line(tmp_path, setup, words):
    for rel in setup:
        path = tmp_path / rel
        if rel.endswith('/'):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b'x')
    with pytest.raises(DataError, match=words) as raised:
        imagenet.read_split(tmp_path)
    assert '\n' not in str(raised.value)


def test_unknown_split_names_the_one_split(demo_root):
    with pytest.raises(DataError, match="one split, 'val'"):
        imagenet.read_split(demo_root, '1')


def test_demo_refuses_a_folder_with_a_layout_it_did_not_write(tmp_path):
    (tmp_path / 'train/a').mkdir(parents=True)
    with pytest.raises(DataError, match='did not write'):
        imagenet.generate_demo(tmp_path)


def test_rendered_classes_differ_in_texture_not_only_colour():
    """A class's texture shows in the image: the share of dark pixels inside a plain-coloured
    shape is near zero, inside a checkered one near half."""
    from harness.data import synth

    def dark_share(texture):
        rng = np.random.default_rng(3)
        return float(synth.draw_texture(texture, 64, rng).mean())

    assert dark_share('plain') == 0
    assert 0.35 < dark_share('checker') < 0.65 and 0.3 < dark_share('stripes') < 0.7
    assert 0.1 < dark_share('dots') < 0.35
