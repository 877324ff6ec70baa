"""The two views of one image (SampleImageViews, SimCLR's demo recipe) against torchvision's
transforms: each view's crop box, flip, colour jitter, grey and blur follow the distribution
torchvision's RandomResizedCrop, RandomHorizontalFlip, ColorJitter, RandomGrayscale and
GaussianBlur give, the two views' parameters are independent of each other, and a view's pixels
are the crop torchvision would cut from the image (issue 29: the harness's SimCLR against
lightly's).

The statistical checks are two-sample Kolmogorov-Smirnov distances and differences of rates
with fixed seeds, at thresholds of about four standard errors; each check also rejects a
slightly wrong recipe (a negative control), so a threshold loose enough to pass anything fails
the test.
"""
from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
import torch
from torchvision import transforms as T

from harness.data.images import SampleImageViews

HEIGHT, WIDTH = 48, 80  # not square: aspect ratios are drawn in the image's pixels
DRAWS = 2000
SIMCLR = dict(scale=(0.08, 1.0), ratio=(3 / 4, 4 / 3), jitter=(0.8, 0.8, 0.8, 0.2), blur=0.5)
#: a two-sample KS distance above this, for 2000 draws each, has a chance under 1e-4
KS_LIMIT = math.sqrt(-math.log(1e-4 / 2) / 2) * math.sqrt(2 / DRAWS)
#: four standard errors of a difference of two rates near 1/2 over 2000 draws each
RATE_LIMIT = 4 * math.sqrt(2 * 0.25 / DRAWS)
#: four standard errors of a correlation of independent draws
CORRELATION_LIMIT = 4 / math.sqrt(DRAWS)


def ks_distance(a, b) -> float:
    """The two-sample Kolmogorov-Smirnov distance: the largest gap between the empirical
    CDFs of ``a`` and ``b``."""
    a, b = np.sort(np.asarray(a, float)), np.sort(np.asarray(b, float))
    points = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, points, side='right') / len(a)
    cdf_b = np.searchsorted(b, points, side='right') / len(b)
    return float(np.abs(cdf_a - cdf_b).max())


@pytest.fixture(scope='module')
def image_file(tmp_path_factory):
    path = tmp_path_factory.mktemp('views') / 'image.png'
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (HEIGHT, WIDTH, 3),
                                                             np.uint8))
    return path


def draw_views(image_file, augment=SIMCLR, count=DRAWS, seed=0) -> dict[str, dict]:
    """``count`` draws of two views of one image: per view, the box in the image's pixels
    (area fraction, log aspect w/h, centre x and y as fractions), the flip and the colour
    parameters, as numpy arrays."""
    spec = dict(size=56, augment=dict(augment))
    sampler = SampleImageViews(dict(view1=spec, view2=spec), geometry=True)
    torch.manual_seed(seed)
    views: dict[str, dict[str, list]] = {'view1': {}, 'view2': {}}
    for _ in range(count):
        out = sampler({'filename': str(image_file)})['inputs']
        for name, columns in views.items():
            top, left, h, w = out['geometry'][name]['box'].tolist()
            params = out[name]['augment']
            row = dict(area=h * w, log_aspect=math.log((w * WIDTH) / (h * HEIGHT)),
                       centre_x=left + w / 2, centre_y=top + h / 2,
                       flip=float(params['flip']), colour=float(params['color']),
                       gray=float(params['gray']), blur_sigma=float(params['blur_sigma']))
            if params['color']:
                row.update(zip(('brightness', 'contrast', 'saturation', 'hue'),
                               params['jitter'].tolist()))
                row['first_op'] = int(params['order'][0])
            for key, value in row.items():
                columns.setdefault(key, []).append(value)
    return {name: {k: np.array(v) for k, v in columns.items()} for name, columns in views.items()}


def torchvision_geometry(scale, count=DRAWS, seed=1) -> dict[str, np.ndarray]:
    """Boxes and flips as torchvision's transforms cut them, read off their output: an image
    whose pixels hold their own column and row goes through RandomResizedCrop (nearest, to 200
    pixels, so every source row and column of the crop shows) and RandomHorizontalFlip."""
    rows, cols = torch.meshgrid(torch.arange(HEIGHT), torch.arange(WIDTH), indexing='ij')
    coordinates = torch.stack([cols, rows, torch.zeros_like(rows)]).to(torch.uint8)
    transform = T.Compose([
        T.RandomResizedCrop(200, scale=scale, ratio=(3 / 4, 4 / 3),
                            interpolation=T.InterpolationMode.NEAREST),
        T.RandomHorizontalFlip()])
    torch.manual_seed(seed)
    out: dict[str, list] = {}
    for _ in range(count):
        view = transform(coordinates).long()
        flipped = bool(view[0, 0, 0] > view[0, 0, -1])
        x0, x1 = sorted((int(view[0, 0, 0]), int(view[0, 0, -1])))
        y0, y1 = int(view[1, 0, 0]), int(view[1, -1, 0])
        w, h = x1 - x0 + 1, y1 - y0 + 1
        row = dict(area=h * w / (HEIGHT * WIDTH), log_aspect=math.log(w / h),
                   centre_x=(x0 + w / 2) / WIDTH, centre_y=(y0 + h / 2) / HEIGHT,
                   flip=float(flipped))
        for key, value in row.items():
            out.setdefault(key, []).append(value)
    return {k: np.array(v) for k, v in out.items()}


def torchvision_colour(jitter, count=DRAWS, seed=2) -> dict[str, np.ndarray]:
    """ColorJitter's factors and order as torchvision's transform draws them (its own ranges
    from the strengths, its get_params), and GaussianBlur's sigmas."""
    jitter_t = T.ColorJitter(*jitter)
    blur = T.GaussianBlur(5, sigma=(0.1, 2.0))
    torch.manual_seed(seed)
    out: dict[str, list] = {}
    for _ in range(count):
        order, *factors = T.ColorJitter.get_params(jitter_t.brightness, jitter_t.contrast,
                                                   jitter_t.saturation, jitter_t.hue)
        row = dict(zip(('brightness', 'contrast', 'saturation', 'hue'), map(float, factors)),
                   first_op=int(order[0]),
                   blur_sigma=T.GaussianBlur.get_params(*blur.sigma))
        for key, value in row.items():
            out.setdefault(key, []).append(value)
    return {k: np.array(v) for k, v in out.items()}


@pytest.fixture(scope='module')
def harness_views(image_file):
    return draw_views(image_file)


GEOMETRY = ('area', 'log_aspect', 'centre_x', 'centre_y')
COLOUR = ('brightness', 'contrast', 'saturation', 'hue')


def test_each_views_crop_box_follows_torchvisions_random_resized_crop(harness_views,
                                                                      image_file):
    reference = torchvision_geometry(scale=(0.08, 1.0))
    for name, view in harness_views.items():
        for key in GEOMETRY:
            assert ks_distance(view[key], reference[key]) < KS_LIMIT, (name, key)
    # negative control: MoCo v2's smallest crop (0.2) instead of SimCLR's is told apart
    other = torchvision_geometry(scale=(0.2, 1.0))
    assert ks_distance(harness_views['view1']['area'], other['area']) > 1.5 * KS_LIMIT


def test_each_views_flip_grey_and_colour_rates_are_torchvisions(harness_views):
    reference = torchvision_geometry(scale=(0.08, 1.0))
    for name, view in harness_views.items():
        assert abs(view['flip'].mean() - reference['flip'].mean()) < RATE_LIMIT, name
        # RandomApply(ColorJitter, p=0.8), RandomGrayscale(p=0.2)
        assert abs(view['colour'].mean() - 0.8) < RATE_LIMIT / 2, name
        assert abs(view['gray'].mean() - 0.2) < RATE_LIMIT / 2, name
        assert abs((view['blur_sigma'] > 0).mean() - 0.5) < RATE_LIMIT, name


def test_each_views_jitter_factors_order_and_blur_follow_torchvision(harness_views):
    reference = torchvision_colour(SIMCLR['jitter'])
    for name, view in harness_views.items():
        for key in COLOUR:
            assert ks_distance(view[key], reference[key]) < KS_LIMIT, (name, key)
        counts = np.bincount(view['first_op'], minlength=4) / len(view['first_op'])
        assert np.abs(counts - 0.25).max() < RATE_LIMIT, name  # a uniform order
        sigma = view['blur_sigma'][view['blur_sigma'] > 0]
        assert ks_distance(sigma, reference['blur_sigma']) < 1.5 * KS_LIMIT, name
    # negative control: MoCo v2's strength (0.4) instead of SimCLR's (0.8) is told apart
    weaker = torchvision_colour((0.4, 0.4, 0.4, 0.1))
    assert ks_distance(harness_views['view1']['brightness'], weaker['brightness']) > 3 * KS_LIMIT


def test_the_two_views_parameters_are_independent(harness_views):
    """Every parameter of view 1 is uncorrelated with every parameter of view 2 (over the same
    draws), and the views never repeat each other."""
    one, two = harness_views['view1'], harness_views['view2']
    scalars = (*GEOMETRY, 'flip', 'colour', 'gray', 'blur_sigma')
    for a in scalars:
        for b in scalars:
            r = np.corrcoef(one[a], two[b])[0, 1]
            assert abs(r) < CORRELATION_LIMIT, (a, b, r)
    both = (one['colour'] > 0) & (two['colour'] > 0)  # the draws where both are jittered
    coloured_one = np.cumsum(one['colour'] > 0) - 1  # row of each draw among view 1's
    coloured_two = np.cumsum(two['colour'] > 0) - 1
    for key in COLOUR:
        a, b = one[key][coloured_one[both]], two[key][coloured_two[both]]
        assert abs(np.corrcoef(a, b)[0, 1]) < 4 / math.sqrt(both.sum()), key
    same_box = (one['area'] == two['area']) & (one['centre_x'] == two['centre_x']) & \
        (one['centre_y'] == two['centre_y'])
    assert same_box.mean() < 0.02  # the whole image drawn twice, at most


@pytest.mark.parametrize('package,config', [
    ('harness_contrastive', 'simclr_demo.py'), ('harness_contrastive', 'byol_image_demo.py'),
    ('harness_contrastive', 'moco_image_demo.py'), ('harness_contrastive', 'simsiam_image_demo.py'),
    ('harness_contrastive', 'mocov3_demo.py'), ('harness_sim', 'sim_demo.py'),
    ('harness_random', 'bn_calibrated_image.py')])
def test_the_shipped_image_demo_views_are_torchvisions_crops(package, config, tmp_path):
    """Through the worker and the device's crop step, a view of a shipped image demo config
    is torchvision's resized_crop of its drawn box to within one grey level on average: one
    resize, as RandomResizedCrop does, no second resampling through an intermediate of
    another size (which blurs each view: issue 29)."""
    from importlib import resources

    from mmengine.config import Config

    from tests.test_image_views import device_view, torchvision_crop

    path = tmp_path / 'image.png'
    image = np.random.default_rng(0).integers(0, 256, (64, 64, 3), np.uint8)  # the demo's size
    cv2.imwrite(str(path), image[:, :, ::-1])
    cfg = Config.fromfile(str(resources.files(package) / 'configs' / config))
    sampler = [t for t in cfg.train_dataloader.dataset.pipeline
               if t['type'] == 'SampleImageViews'][0]
    # the crop alone: every other step switched off (blur and solarize by leaving them out)
    views = {name: dict(spec, augment=dict(
        {k: v for k, v in spec['augment'].items() if k not in ('blur', 'solarize')},
        flip=0.0, color=0.0, grayscale=0.0)) for name, spec in sampler['views'].items()}
    transform = SampleImageViews(views, geometry=True)
    torch.manual_seed(0)
    for _ in range(20):
        out = transform({'filename': str(path)})['inputs']
        for name, spec in views.items():
            expected = torchvision_crop(image, out['geometry'][name]['box'], spec['size'])
            error = (device_view(out[name]) - expected).abs().mean()
            assert error < 1.0, (config, name, float(error))

