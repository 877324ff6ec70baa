"""The detection layouts voc07 and coco: reading them as they lie on disk, and the demos."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from harness.data.synth import shape_mask
from harness.errors import DataError
from harness_detdata import coco, voc07
from harness_detdata.common import mask_box, render_scene

SMALL = dict(width=160, height=120, seed=0)


@pytest.fixture(scope='module')
def voc_root(tmp_path_factory) -> Path:
    return voc07.generate_demo(tmp_path_factory.mktemp('voc'), trainval=8, test=4, **SMALL)


@pytest.fixture(scope='module')
def coco_root(tmp_path_factory) -> Path:
    return coco.generate_demo(tmp_path_factory.mktemp('coco'), train=8, val=4, **SMALL)


# A complete VOC annotation, written like mmdetection's tests/data/VOCdevkit/VOC2012/
# Annotations/000001.xml (the VOC devkit's format, with part and occluded nodes).
FULL_XML = """<annotation>
\t<folder>VOC2007</folder>
\t<filename>000001.jpg</filename>
\t<source>
\t\t<database>The VOC2007 Database</database>
\t\t<annotation>PASCAL VOC2007</annotation>
\t\t<image>flickr</image>
\t\t<flickrid>341012865</flickrid>
\t</source>
\t<owner><flickrid>Fried Camels</flickrid><name>Jinky the Fruit Bat</name></owner>
\t<size>
\t\t<width>353</width>
\t\t<height>500</height>
\t\t<depth>3</depth>
\t</size>
\t<segmented>0</segmented>
\t<object>
\t\t<name>dog</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox><xmin>48</xmin><ymin>240</ymin><xmax>195</xmax><ymax>371</ymax></bndbox>
\t</object>
\t<object>
\t\t<name>person</name>
\t\t<pose>Left</pose>
\t\t<truncated>1</truncated>
\t\t<difficult>1</difficult>
\t\t<bndbox><xmin>8</xmin><ymin>12</ymin><xmax>352</xmax><ymax>498</ymax></bndbox>
\t\t<part><name>head</name><bndbox><xmin>100</xmin><ymin>20</ymin><xmax>160</xmax>
\t\t<ymax>90</ymax></bndbox></part>
\t</object>
\t<object>
\t\t<name>unicorn</name>
\t\t<pose>Unspecified</pose>
\t\t<truncated>0</truncated>
\t\t<difficult>0</difficult>
\t\t<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>10</xmax><ymax>10</ymax></bndbox>
\t</object>
</annotation>
"""


def test_complete_voc_annotation_is_parsed(tmp_path):
    path = tmp_path / '000001.xml'
    path.write_text(FULL_XML)
    ann, dropped = voc07.parse_annotation(path)
    assert (ann['width'], ann['height']) == (353, 500)
    assert ann['labels'] == (voc07.VOC_CLASSES.index('dog'), voc07.VOC_CLASSES.index('person'))
    assert ann['boxes'] == ((47.0, 239.0, 194.0, 370.0), (7.0, 11.0, 351.0, 497.0))  # x - 1
    assert ann['difficult'] == (False, True)
    assert dropped == {'unknown_class': 1, 'invalid_box': 0}  # the unicorn


def _fake_voc(root: Path, trainval, test, annotations) -> None:
    year = root / 'VOCdevkit' / 'VOC2007'
    (year / 'ImageSets' / 'Main').mkdir(parents=True)
    (year / 'ImageSets/Main/trainval.txt').write_text(''.join(f'{i}\n' for i in trainval))
    (year / 'ImageSets/Main/test.txt').write_text(''.join(f'{i}\n' for i in test))
    (year / 'JPEGImages').mkdir()
    (year / 'Annotations').mkdir()
    for image_id, objects in annotations.items():
        (year / 'JPEGImages' / f'{image_id}.jpg').write_bytes(b'x')
        (year / 'Annotations' / f'{image_id}.xml').write_text(
            voc07.annotation_xml(image_id, 100, 80, objects))


def test_voc_counting_rules(tmp_path):
    """A listed image missing on disk is skipped and counted; a difficult box is kept and
    flagged; a class outside the class list is dropped and counted; so is a box of no width
    or height as mmdet reads it (inverted, or xmin == xmax)."""
    _fake_voc(tmp_path, ['000001', '000002', '000003'], ['000004'], {
        '000001': [('cat', (1, 2, 30, 40), False), ('dog', (5, 5, 50, 60), True),
                   ('cat', (30, 2, 10, 40), False), ('dog', (5, 5, 5, 60), False)],
        '000002': [('unicorn', (1, 1, 10, 10), False), ('cat', (10, 10, 20, 20), False)],
        # 000003 listed, not on disk
        '000004': [('person', (1, 1, 100, 80), False)],
    })
    split = voc07.read_split(tmp_path, 'test')
    assert split.classes == voc07.VOC_CLASSES
    assert [i.image_id for i in split.train] == ['000001', '000002']
    assert split.train[0].path == 'VOCdevkit/VOC2007/JPEGImages/000001.jpg'
    assert split.train[0].difficult == (False, True)
    assert split.train[0].labels == (voc07.VOC_CLASSES.index('cat'),
                                     voc07.VOC_CLASSES.index('dog'))
    assert split.train[0].boxes[0] == (0.0, 1.0, 29.0, 39.0)
    assert split.train[1].num_boxes == 1
    assert split.missing == 1 and split.dropped == {'unknown_class': 1, 'invalid_box': 2}
    assert split.summary().endswith('boxes dropped: 2 invalid box, 1 unknown class')
    counts = split.counts()
    assert counts['train_boxes'] == 3 and counts['train_difficult'] == 1
    assert counts['test_images'] == 1 and counts['test_boxes'] == 1
    # the root may also be VOCdevkit itself; paths are relative to the root given
    inner = voc07.read_split(tmp_path / 'VOCdevkit')
    assert inner.train[0].path == 'VOC2007/JPEGImages/000001.jpg'
    assert voc07.devkit_root(tmp_path) == voc07.devkit_root(tmp_path / 'VOCdevkit')


def test_missing_layouts_are_one_line_naming_the_path(tmp_path):
    with pytest.raises(DataError, match=r'no .*VOCdevkit/VOC2007 folder') as raised:
        voc07.read_split(tmp_path)
    assert '\n' not in str(raised.value)
    (tmp_path / 'VOCdevkit/VOC2007/JPEGImages').mkdir(parents=True)
    with pytest.raises(DataError, match='Annotations'):
        voc07.read_split(tmp_path)
    with pytest.raises(DataError, match=r'instances_train2017\.json') as raised:
        coco.read_split(tmp_path)
    assert '\n' not in str(raised.value)
    with pytest.raises(DataError, match="one split, 'test'"):
        voc07.read_split(tmp_path, '1')


def test_cli_data_prepare_reports_or_fails_in_one_line(tmp_path, voc_root, capsys):
    from harness.cli import main

    assert main(['data', 'prepare', 'voc07', '--root', str(tmp_path)]) == 2
    assert 'VOCdevkit' in capsys.readouterr().err
    lines = voc07.prepare(voc_root)
    assert len(lines) == 1 and 'train 8 images' in lines[0] and 'test 4 images' in lines[0]
    assert main(['data', 'prepare', 'voc07', '--root', str(voc_root)]) == 0
    assert capsys.readouterr().out.splitlines() == lines
    assert not (voc_root / 'annotations').exists()  # nothing written into the layout


def _drawn(root: Path, name: str) -> int:
    return len(json.loads((root / 'annotations' / name).read_text())['annotations'])


def test_voc_demo_round_trips(voc_root):
    assert voc07.is_demo(voc_root)
    split = voc07.read_split(voc_root)
    assert split.classes == voc07.CLASSES_DEMO == voc07.VOC_CLASSES[:4]
    assert len(split.train) == 8 and len(split.test) == 4 and split.missing == 0
    assert split.dropped == {'unknown_class': 0, 'invalid_box': 0}
    import xml.etree.ElementTree as ET

    for item in split.train + split.test:
        xml = voc_root / 'VOCdevkit/VOC2007/Annotations' / f'{item.image_id}.xml'
        objects = ET.parse(xml).getroot().findall('object')
        assert item.num_boxes == len(objects) >= 1  # every drawn shape is read back
        assert (item.width, item.height) == (160, 120)
        for obj in objects:  # 1-based, inclusive, inside the image
            b = [int(obj.findtext(f'bndbox/{k}')) for k in ('xmin', 'ymin', 'xmax', 'ymax')]
            assert 1 <= b[0] < b[2] <= 160 and 1 <= b[1] < b[3] <= 120
            assert obj.findtext('pose') and obj.findtext('truncated') == '0'
        assert not any(item.difficult)
        assert (voc_root / item.path).is_file()
    from harness.data.readable import probe_items

    assert not probe_items(voc_root, split.train + split.test, 'image').unreadable


def test_coco_demo_round_trips(coco_root):
    split = coco.read_split(coco_root)
    assert split.classes == coco.CLASSES_DEMO
    assert len(split.train) == 8 and len(split.test) == 4 and split.missing == 0
    assert sum(i.num_boxes for i in split.train) == _drawn(coco_root, 'instances_train2017.json')
    assert sum(i.num_boxes for i in split.test) == _drawn(coco_root, 'instances_val2017.json')
    images, annotations = [], []
    for subset in ('train2017', 'val2017'):
        data = json.loads(coco.ann_file(coco_root, subset).read_text())
        assert 'info' in data and 'licenses' in data
        assert [c['id'] for c in data['categories']] == [1, 2, 3, 4]
        assert [c['name'] for c in data['categories']] == list(coco.CLASSES_DEMO)
        images += data['images']
        annotations += data['annotations']
    assert len({i['id'] for i in images}) == len(images)
    assert len({a['id'] for a in annotations}) == len(annotations)
    for ann in annotations:
        x, y, w, h = ann['bbox']
        assert ann['area'] == w * h and ann['iscrowd'] == 0
        assert x >= 0 and y >= 0 and x + w <= 160 and y + h <= 120 and w >= 1 and h >= 1


def test_coco_counting_rules(coco_root, tmp_path):
    import shutil

    root = tmp_path / 'c'
    shutil.copytree(coco_root, root)
    path = coco.ann_file(root, 'train2017')
    data = json.loads(path.read_text())
    drawn = len(data['annotations'])
    first = data['images'][0]
    (root / 'train2017' / first['file_name']).unlink()
    on_first = sum(a['image_id'] == first['id'] for a in data['annotations'])
    other = next(a for a in data['annotations'] if a['image_id'] != first['id'])
    other['iscrowd'] = 1
    data['annotations'].append(dict(id=10 ** 6, image_id=other['image_id'], category_id=99,
                                    bbox=[1, 1, 5, 5], area=25, iscrowd=0))
    data['annotations'].append(dict(id=10 ** 6 + 1, image_id=other['image_id'], category_id=1,
                                    bbox=[1, 1, 0.5, 5], area=2.5, iscrowd=0))
    data['annotations'].append(dict(id=10 ** 6 + 2, image_id=-7, category_id=1,
                                    bbox=[1, 1, 5, 5], area=25, iscrowd=0))  # no such image
    path.write_text(json.dumps(data))
    split = coco.read_split(root)
    assert split.missing == 1 and len(split.train) == 7
    assert split.dropped == {'unknown_class': 1, 'invalid_box': 1, 'no_image': 1}
    assert sum(i.num_boxes for i in split.train) == drawn - on_first
    assert sum(sum(i.difficult) for i in split.train) == 1


def test_demo_box_tightly_contains_the_drawn_shape():
    for shape in ('circle', 'square', 'triangle', 'cross', 'ring'):
        rng = np.random.default_rng(7)
        mask = shape_mask(shape, (70.3, 50.8), 30.0, rng.uniform(0, 6.3), 160, 120)
        x0, y0, x1, y1 = mask_box(mask)
        seen = mask >= 128
        assert seen[y0:y1 + 1, x0:x1 + 1].sum() == seen.sum()  # contains every drawn pixel
        assert seen[y0].any() and seen[y1].any() and seen[:, x0].any() and seen[:, x1].any()
    # in a rendered scene, the object colour lies inside the boxes: the pixels outside every
    # box are background (smooth, within the background's range), each box holds its shape
    rng = np.random.default_rng(3)
    image, objects = render_scene(['circle', 'square'], width=160, height=120, rng=rng,
                                  objects=(2, 2), extent=(30, 50))
    assert len(objects) == 2
    for _, (x0, y0, x1, y1) in objects:
        assert 30 - 4 <= max(x1 - x0 + 1, y1 - y0 + 1) <= 50 + 4
        assert 0 <= x0 < x1 < 160 and 0 <= y0 < y1 < 120


def test_demo_scene_box_matches_its_pixels():
    """Render with a fixed seed and recompute each shape's mask the way the renderer drew it:
    the box the scene reports is the tight box of the drawn pixels."""
    width, height = 160, 120
    rng = np.random.default_rng(11)
    image, objects = render_scene(['triangle'], width=width, height=height, rng=rng,
                                  objects=(1, 1), extent=(40, 60))
    (_, (x0, y0, x1, y1)), = objects
    grey = image.astype(np.float32)
    # the shape is a saturated colour far (>= 130) from the background: find it by distance
    # from the median colour of the border rows
    border = np.concatenate([grey[0], grey[-1]])
    distance = np.linalg.norm(grey - np.median(border, axis=0), axis=2)
    ys, xs = np.nonzero(distance > 90)
    assert abs(xs.min() - x0) <= 1 and abs(xs.max() - x1) <= 1
    assert abs(ys.min() - y0) <= 1 and abs(ys.max() - y1) <= 1


def test_demos_are_deterministic_and_idempotent(voc_root, coco_root, tmp_path):
    def digest(root):
        return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
                for p in sorted(root.rglob('*')) if p.is_file()}

    again = voc07.generate_demo(tmp_path / 'voc', trainval=8, test=4, **SMALL)
    assert digest(again) == digest(voc_root)
    stamp = (voc_root / 'DEMO.txt').stat().st_mtime_ns
    voc07.generate_demo(voc_root, trainval=8, test=4, **SMALL)
    assert (voc_root / 'DEMO.txt').stat().st_mtime_ns == stamp
    again = coco.generate_demo(tmp_path / 'coco', train=8, val=4, **SMALL)
    assert digest(again) == digest(coco_root)


def test_demo_refuses_a_folder_with_a_layout_it_did_not_write(tmp_path):
    (tmp_path / 'VOCdevkit').mkdir()
    with pytest.raises(DataError, match='did not write'):
        voc07.generate_demo(tmp_path)


# ---------------------------------------------------------------- mmdet reads the demos


def test_mmdet_voc_dataset_reads_the_demo(voc_root):
    pytest.importorskip('mmdet')
    from mmdet.datasets import VOCDataset

    ours = voc07.read_split(voc_root)
    for listing, items in (('trainval', ours.train), ('test', ours.test)):
        dataset = VOCDataset(
            data_root=str(voc07.devkit_root(voc_root)) + '/',
            ann_file=f'VOC2007/ImageSets/Main/{listing}.txt',
            data_prefix=dict(sub_data_root='VOC2007/'),
            metainfo=dict(classes=ours.classes), test_mode=False, pipeline=[])
        assert len(dataset) == len(items)
        for i, item in enumerate(items):
            info = dataset.get_data_info(i)
            assert Path(info['img_path']) == voc_root / item.path
            assert [tuple(x['bbox']) for x in info['instances']] == list(item.boxes)
            assert [x['bbox_label'] for x in info['instances']] == list(item.labels)
            assert [bool(x['ignore_flag']) for x in info['instances']] == list(item.difficult)


def test_mmdet_coco_dataset_reads_the_demo(coco_root):
    pytest.importorskip('mmdet')
    from mmdet.datasets import CocoDataset

    ours = coco.read_split(coco_root)
    for subset, items in (('train2017', ours.train), ('val2017', ours.test)):
        dataset = CocoDataset(
            data_root=str(coco_root) + '/', ann_file=f'annotations/instances_{subset}.json',
            data_prefix=dict(img=f'{subset}/'), metainfo=dict(classes=ours.classes),
            test_mode=False, pipeline=[])
        assert len(dataset) == len(items)
        for i, item in enumerate(items):
            info = dataset.get_data_info(i)
            assert Path(info['img_path']) == coco_root / item.path
            assert [tuple(float(v) for v in x['bbox']) for x in info['instances']] == \
                list(item.boxes)
            assert [x['bbox_label'] for x in info['instances']] == list(item.labels)


def test_plugin_registers_both_layouts():
    from harness_detdata.plugin import harness_register_datasets

    infos = []
    harness_register_datasets(infos.append)
    assert [i.name for i in infos] == ['voc07', 'coco']
    for info in infos:
        assert info.modality == 'image' and info.layout_help
        module = info.module()
        assert module.SPLITS and callable(module.read_split) and callable(module.prepare)
        assert callable(module.generate_demo) and callable(module.is_demo)


def test_default_demo_sizes():
    import inspect

    voc = inspect.signature(voc07.generate_demo).parameters
    assert (voc['trainval'].default, voc['test'].default) == (96, 48)
    assert (voc['width'].default, voc['height'].default) == (320, 240)
    assert 3 <= len(voc07.CLASSES_DEMO) <= 4
    assert len(set(voc07.DEMO_SPECS.values())) == len(voc07.DEMO_SPECS)  # one shape per class
