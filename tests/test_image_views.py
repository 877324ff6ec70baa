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
                                               augment=dict(solarize=0.2)),
                                    view3=dict(size=24, decode_size=16)), geometry=True)
    torch.manual_seed(0)
    out = sampler({'filename': str(image_file)})['inputs']
    # the crop resized to the intermediate: the view's size, decode_size when larger
    assert out['view1']['image'].shape == (3, 32, 32) and out['view1']['image'].dtype == torch.uint8
    assert out['view2']['image'].shape == (3, 40, 40)
    assert out['view3']['image'].shape == (3, 24, 24)  # never below the view's size
    assert out['view1']['augment']['size'] == 32 and 'solarize' in out['view2']['augment']
    # the worker cut the crop: the device's box is the whole intermediate
    assert all(out[name]['augment']['box'].tolist() == [0.0, 0.0, 1.0, 1.0]
               for name in ('view1', 'view2', 'view3'))
    boxes = out['geometry']
    assert not torch.equal(boxes['view1']['box'], boxes['view2']['box'])
    # boxes are drawn on the image's own 48 x 80 pixels: whole pixels of it
    top, left, h, w = boxes['view1']['box'].tolist()
    assert (h * 48) == pytest.approx(round(h * 48)) and (w * 80) == pytest.approx(round(w * 80))
    assert boxes['view1']['flip'] is out['view1']['augment']['flip']


def torchvision_crop(image: np.ndarray, box: torch.Tensor, size: int) -> torch.Tensor:
    """torchvision's resized_crop of ``box`` (fractions of the image) of a uint8 HWC image,
    as RandomResizedCrop cuts it, in [0, 255] floats."""
    from torchvision.transforms import functional as F

    height, width = image.shape[:2]
    top, left, h, w = (round(float(v) * n) for v, n in zip(box, (height, width, height, width)))
    return F.resized_crop(torch.from_numpy(image).permute(2, 0, 1), top, left, h, w,
                          [size, size], antialias=True).float()


def device_view(view: dict) -> torch.Tensor:
    """A prepared view through the device's steps (crop, then the ImageNet normalisation
    undone), in [0, 255] floats."""
    from harness.data.augment import IMAGENET_MEAN, IMAGENET_STD

    params = {k: v.unsqueeze(0) if torch.is_tensor(v) else v for k, v in view['augment'].items()}
    out = augment_clips(view['image'][None, :, None], params)[0, :, 0]
    mean = torch.tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(3, 1, 1)
    return (out * std + mean) * 255


@pytest.mark.parametrize('decode_size,mean_error,max_error', [(None, 0.15, 1.01),
                                                              (256, 3.0, 20.0)])
def test_a_crop_has_torchvisions_source_resolution(decode_size, mean_error, max_error,
                                                   tmp_path):
    """An area-0.08 crop of a 500 x 375 image (about 120 x 120 source pixels) resized to 224:
    cut from the full-resolution image it equals torchvision's resized_crop of the same box
    (to one grey level with the intermediate at the output size; to interpolation tolerance
    through a 256-pixel intermediate); cut from the image squashed to 256 x 256 first, as
    before, half its detail is gone. The image: gratings of 6, 7 and 9 pixel periods, detail
    that a 256-pixel copy of a 500-pixel image cannot hold."""
    from harness.data.augment import crop_resize, resize_clip

    y, x = np.mgrid[0:375, 0:500]
    waves = [np.sin(2 * np.pi * x / 6), np.sin(2 * np.pi * y / 7), np.sin(2 * np.pi * (x + y) / 9)]
    image = np.stack([127.5 + 127.5 * w for w in waves], -1).round().astype(np.uint8)
    path = tmp_path / 'gratings.png'
    cv2.imwrite(str(path), image[:, :, ::-1])
    spec = dict(size=224, augment=dict(scale=(0.08, 0.08), ratio=(3 / 4, 4 / 3), flip=0.0,
                                       color=0.0, grayscale=0.0))
    if decode_size:
        spec['decode_size'] = decode_size
    sampler = SampleImageViews(dict(view=spec), geometry=True)
    for seed in range(3):
        torch.manual_seed(seed)
        out = sampler({'filename': str(path)})['inputs']
        view, box = out['view'], out['geometry']['view']['box']
        expected = torchvision_crop(image, box, 224)
        error = (device_view(view) - expected).abs()
        assert error.mean() < mean_error and error.max() < max_error, (seed, error.mean())
        # the former path: the box applied to the image squashed to 256 x 256
        squashed = resize_clip(torch.from_numpy(image).permute(2, 0, 1)[None], 256)[:, 0]
        before = crop_resize(squashed[None, None].float(), box[None], 224)[0, 0]
        assert (before - expected).abs().mean() > 20


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
