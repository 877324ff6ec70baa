"""The imagenet evaluator end to end on demo data, and its image features."""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch

from harness.cli import main


@pytest.fixture(scope='module')
def work(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp('work')


def test_random_resnet18_knn_on_the_demo_writes_a_record_and_reuses_features(work, capsys):
    args = ['run', '--method', 'random', '--backbone', 'resnet18', '--eval', 'imagenet',
            '--protocol', 'knn', '--work-dir', str(work)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert 'features of 360 images extracted' in out
    record = json.loads(next((work / 'records').glob('*.json')).read_text())
    assert record['eval']['name'] == 'imagenet' and record['eval']['protocol'] == 'knn'
    assert record['eval']['splits'] == ['val'] and record['data'] == 'demo'
    assert record['eval']['knn'] == {'k': 20, 'temperature': 0.07}
    assert 0 <= record['metrics']['top1']['value'] <= 100
    assert 'top5' not in record['metrics']  # 5 demo classes: top-5 would be 100% by construction
    assert main(args) == 0
    assert 'features reused from cache' in capsys.readouterr().out


def test_an_image_evaluation_of_a_video_backbone_is_one_line(work, capsys):
    assert main(['run', '--method', 'random', '--backbone', 'r3d18', '--eval', 'imagenet',
                 '--work-dir', str(work)]) == 2
    err = capsys.readouterr().err
    assert err.count('\n') == 1 and "evaluator 'imagenet' takes image" in err


def test_random_on_images_defaults_to_the_image_methods_demo_backbone(work, capsys):
    assert main(['run', '--method', 'random', '--eval', 'imagenet', '--work-dir', str(work),
                 '--dry-run']) == 0
    assert 'backbone resnet18-slim' in capsys.readouterr().out


def test_extracted_features_are_the_pooled_backbone_of_the_centre_crop(tmp_path):
    """Rows follow the list's order and equal the backbone's pooled output on the image, read
    as RGB, resized, centre-cropped and normalised by hand."""
    from harness.api import BackboneInfo, DatasetInfo, EvalRequest, ProtocolInfo
    from harness.config import load_eval_config
    from harness.data.splits import DataItem
    from harness.registry import MODELS
    from harness.features import extract

    rng = np.random.default_rng(0)
    items = []
    for i in range(3):
        cv2.imwrite(str(tmp_path / f'{i}.png'), rng.integers(0, 256, (64, 80, 3), np.uint8))
        items.append(DataItem(f'{i}.png', i))
    items = items[::-1]
    list_file = tmp_path / 'list.txt'
    list_file.write_text(''.join(f'{item.path} {item.label}\n' for item in items))
    request = EvalRequest(
        protocol=ProtocolInfo('knn', '1', '', configs={
            'demo': 'harness_imageeval:configs/knn_demo.py'}),
        backbone=BackboneInfo('resnet18', '', 'image', {'type': 'harness.ResNet18'}, 512,
                              imports=('harness_backbones.image',)),
        backbone_weights=None, dataset=DatasetInfo('imagenet', '', 'image',
                                                   'harness_imagedata.imagenet'),
        data_root=tmp_path, work_dir=tmp_path / 'eval', split='val', seed=0,
        imports=('harness_backbones.image',))
    cfg = load_eval_config(request, runtime=False)
    features, _ = extract(request, cfg, list_file, len(items))
    assert features.shape == (3, 1, 512)
    torch.manual_seed(0)
    backbone = MODELS.build(dict(type='harness.ResNet18')).eval()
    mean = torch.tensor([123.675, 116.28, 103.53]).view(3, 1, 1)
    std = torch.tensor([58.395, 57.12, 57.375]).view(3, 1, 1)
    for row, item in zip(features, items):
        image = cv2.imread(str(tmp_path / item.path))[:, :, ::-1]  # RGB
        image = cv2.resize(image, (80, 64), interpolation=cv2.INTER_LINEAR)  # short side 64
        top, left = (64 - 56) // 2, (80 - 56) // 2
        crop = torch.from_numpy(image[top:top + 56, left:left + 56].copy()).permute(2, 0, 1)
        with torch.no_grad():
            expected = backbone(((crop.float() - mean) / std)[None]).mean((2, 3))[0]
        assert torch.allclose(row[0], expected, atol=1e-4)
