"""Image views for pretraining: read once, each view resized to its intermediate size with its
own augmentation, augmented on the device as a clip of one frame."""
from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate

from harness.data.augment import AugmentViews, augment_clips
from harness.data.images import SampleImageViews, read_image


@pytest.fixture
def image_file(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / 'img.png'
    cv2.imwrite(str(path), rng.integers(0, 256, (48, 80, 3), np.uint8))
    return path


def test_read_image_is_rgb(image_file):
    bgr = cv2.imread(str(image_file))
    assert np.array_equal(read_image(str(image_file)), bgr[:, :, ::-1])
    with pytest.raises(OSError, match='cannot read'):
        read_image(str(image_file.with_name('missing.png')))


def test_each_view_gets_its_size_and_its_own_augmentation(image_file):
    sampler = SampleImageViews(dict(view1=dict(size=32, augment=dict(scale=(0.08, 1.0))),
                                    view2=dict(size=24, decode_size=40,
                                               augment=dict(solarize=0.2))))
    torch.manual_seed(0)
    out = sampler({'filename': str(image_file)})['inputs']
    assert out['view1']['image'].shape == (3, 37, 37) and out['view1']['image'].dtype == torch.uint8
    assert out['view2']['image'].shape == (3, 40, 40)
    assert out['view1']['augment']['size'] == 32 and 'solarize' in out['view2']['augment']
    assert not torch.equal(out['view1']['augment']['box'], out['view2']['augment']['box'])
    # boxes are drawn on the image's own 48 x 80 pixels: whole pixels of it
    top, left, h, w = out['view1']['augment']['box'].tolist()
    assert (h * 48) == pytest.approx(round(h * 48)) and (w * 80) == pytest.approx(round(w * 80))


def test_preprocessor_augments_images_as_one_frame_clips(image_file):
    sampler = SampleImageViews(dict(view1=dict(size=16), view2=dict(size=16)))
    torch.manual_seed(0)
    batch = default_collate([{'inputs': sampler({'filename': str(image_file)})['inputs']}
                             for _ in range(3)])
    out = AugmentViews()(batch, training=True)['inputs']
    assert out['view1'].shape == (3, 3, 16, 16) and out['view1'].dtype == torch.float32
    view = batch['inputs']['view1']
    expected = augment_clips(view['image'].unsqueeze(-3),
                             dict(view['augment'], size=16)).squeeze(-3)
    assert torch.allclose(out['view1'], expected)
    assert sampler.random_inputs(2)['view2'].shape == (2, 3, 16, 16)
