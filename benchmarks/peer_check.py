"""Peer check: a harness method against the same method written with lightly (an independent
implementation), on the same demo data at the same budget, both scored by the harness's kNN.

    .venv/bin/python benchmarks/peer_check.py --method simclr [--seeds 0,1,2]
        [--work-dir work_dirs/peer_check] [--backbone resnet18]

lightly is needed by this script only (``.venv/bin/pip install lightly``), never by the harness.

Per seed, three rows of kNN top-1 on the demo ImageNet's 120 val images (5 classes, one image
0.83 points; the demo's 240 train images pretrain, unlabelled):

- harness: ``harness run --method M --backbone B --eval imagenet --protocol knn`` (a
  subprocess, as experiments/*.py run it);
- lightly: a plain PyTorch loop over lightly's modules (its transform, heads and loss for the
  method) and torchvision's backbone, at the settings of the harness method's ``demo`` config,
  read from that config (batch, steps, AdamW lr and weight decay on every parameter, the
  linear warm-up then cosine, the views' crop scale, colour jitter, grey, blur and solarize
  probabilities, the heads' sizes, temperature, momentum, queue); its backbone weights are then
  scored by the harness's own kNN protocol (:func:`harness.evaluate.evaluate`, the same feature
  extraction and kNN as the harness row);
- random init: ``harness run --method random --backbone B``.

Prints a markdown table: one row per seed, then the means, and the harness mean minus
lightly's. Work folders (``harness-M-seedS``, ``lightly-M-seedS``, ``random-seedS``) are kept,
so a second call reuses every result (delete a folder to run it again).

What lightly has no module for is written here with plain torch (the training loop, the
endless shuffled sampler, the schedules); where the two implementations differ by design, the
:data:`DIFFERENCES` line of the method is printed under the table.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / 'experiments'))

from run_args import run_or_reuse  # noqa: E402

TAG = 'peer_check'
METHODS = ('simclr', 'byol', 'moco')
INSTALL_HINT = ('peer_check needs lightly (the independent implementation, for this script '
                'only): .venv/bin/pip install lightly')
#: what the lightly row does differently from the harness's by design, per method
DIFFERENCES = {
    'simclr': 'lightly: SimCLRProjectionHead (no BN after the last Linear, which has a bias); '
              "blur: PIL's untruncated Gaussian (the harness: a 5-pixel kernel, a tenth of the "
              'view, as the SimCLR paper)',
    'byol': 'lightly: BYOLProjectionHead/BYOLPredictionHead (hidden Linear without bias), '
            'loss -cos (the harness: 2 - 2 cos, the same gradient up to a factor 2)',
    'moco': 'lightly: no shuffle-BN substitute (the harness: 4 BN sub-batches, bn_groups), '
            'MoCoProjectionHead',
}
#: the harness's augment defaults (harness.data.augment.sample_augment) for the options a
#: config may leave out
AUGMENT_DEFAULTS = dict(flip=0.5, color=0.8, grayscale=0.2, blur=0.0, solarize=0.0)
LIGHTLY_RATIO = (3 / 4, 4 / 3)  # torchvision's default, which lightly's transforms keep


class SettingsError(ValueError):
    """A harness config this script cannot mirror with lightly."""


@dataclass(frozen=True)
class ViewSettings:
    size: int
    scale: tuple[float, float]
    jitter: tuple[float, float, float, float]
    color: float
    grayscale: float
    blur: float
    solarize: float
    flip: float


@dataclass(frozen=True)
class Settings:
    """What the lightly run copies from the harness method's demo config."""

    batch: int
    steps: int
    lr: float
    weight_decay: float
    warmup_factor: float
    warmup_steps: int
    views: tuple[ViewSettings, ViewSettings]
    model: Mapping[str, Any] = field(default_factory=dict)
    momentum_end: float | None = None


def _view(spec: Mapping[str, Any]) -> ViewSettings:
    augment = dict(AUGMENT_DEFAULTS, **dict(spec.get('augment', {})))
    ratio = tuple(augment.get('ratio', LIGHTLY_RATIO))
    if any(abs(a - b) > 1e-9 for a, b in zip(ratio, LIGHTLY_RATIO)):
        raise SettingsError(f'lightly crops at aspect ratios 3/4-4/3, the config at {ratio}')
    return ViewSettings(size=int(spec['size']), scale=tuple(augment['scale']),
                        jitter=tuple(augment['jitter']), color=augment['color'],
                        grayscale=augment['grayscale'], blur=augment['blur'],
                        solarize=augment['solarize'], flip=augment['flip'])


def settings_from_config(cfg: Mapping[str, Any]) -> Settings:
    """The lightly run's settings from a harness two-view image config (a plain dict, as
    mmengine's ``Config.to_dict()`` gives it); SettingsError for what it cannot mirror: an
    optimizer other than AdamW, a schedule other than LinearLR then CosineAnnealingLR to the
    last step, a pipeline without two ``SampleImageViews`` views."""
    optimizer = cfg['optim_wrapper']['optimizer']
    if optimizer['type'] != 'AdamW' or cfg['optim_wrapper'].get('paramwise_cfg'):
        raise SettingsError(f"expected AdamW on every parameter, got {optimizer['type']}")
    steps = int(cfg['train_cfg']['max_iters'])
    warmup, cosine = cfg['param_scheduler']
    if (warmup['type'], cosine['type']) != ('LinearLR', 'CosineAnnealingLR') or \
            cosine['begin'] != warmup['end'] or cosine['begin'] + cosine['T_max'] != steps or \
            cosine.get('eta_min', 0) != 0:
        raise SettingsError('expected LinearLR then CosineAnnealingLR to 0 at the last step, '
                            f"got {[s['type'] for s in cfg['param_scheduler']]}")
    samplers = [t for t in cfg['train_dataloader']['dataset']['pipeline']
                if t['type'] == 'SampleImageViews']
    if len(samplers) != 1 or len(samplers[0]['views']) != 2:
        raise SettingsError('expected one SampleImageViews transform with two views')
    views = tuple(_view(samplers[0]['views'][name]) for name in ('view1', 'view2'))
    model = {key: value for key, value in cfg['model'].items()
             if key in ('hidden_dim', 'dim', 'temperature', 'momentum', 'queue_size')}
    hooks = [h for h in cfg.get('custom_hooks', []) if h['type'] == 'CosineMomentumHook']
    return Settings(batch=int(cfg['train_dataloader']['batch_size']), steps=steps,
                    lr=float(optimizer['lr']), weight_decay=float(optimizer['weight_decay']),
                    warmup_factor=float(warmup['start_factor']), warmup_steps=int(warmup['end']),
                    views=views, model=model,
                    momentum_end=float(hooks[0].get('end', 1.0)) if hooks else None)


def split_seeds(text: str) -> list[int]:
    """``'0,1,2'`` -> ``[0, 1, 2]``; SettingsError for anything but distinct integers."""
    try:
        seeds = [int(part) for part in text.split(',')]
    except ValueError:
        raise SettingsError(f'--seeds takes integers separated by commas, got {text!r}') \
            from None
    if len(set(seeds)) != len(seeds):
        raise SettingsError(f'--seeds repeats a seed: {text}')
    return seeds


def table(method: str, rows: Mapping[int, Mapping[str, float]]) -> str:
    """The markdown table: one row per seed (harness, lightly, random init), the means, and the
    difference of the means (harness - lightly)."""
    columns = ('harness', 'lightly', 'random')
    lines = [f'| seed | harness `{method}` | lightly `{method}` | random init |',
             '|---|---|---|---|']
    for seed, row in rows.items():
        lines.append(f'| {seed} | ' + ' | '.join(f'{row[c]:.2f}' for c in columns) + ' |')
    means = {c: statistics.mean(row[c] for row in rows.values()) for c in columns}
    lines.append('| mean | ' + ' | '.join(f'{means[c]:.2f}' for c in columns) + ' |')
    lines.append(f"\nharness - lightly (means): {means['harness'] - means['lightly']:+.2f} "
                 'points of kNN top-1')
    return '\n'.join(lines)


# --- the harness's side ------------------------------------------------------------------


def harness_command(method: str, backbone: str, seed: int, data: Path, work_dir: Path
                    ) -> list[str]:
    pretrain = [] if method == 'random' else ['--pretrain-data', 'imagenet']
    return [sys.executable, '-m', 'harness.cli', 'run', '--method', method, '--backbone',
            backbone, '--eval', 'imagenet', '--protocol', 'knn', '--data', str(data),
            *pretrain, '--seed', str(seed), '--work-dir', str(work_dir),
            '--records-dir', str(work_dir / 'records')]


def harness_top1(method: str, backbone: str, seed: int, data: Path, work_dir: Path) -> float:
    label = f'{method} seed {seed}'
    folder = work_dir / (f'random-seed{seed}' if method == 'random'
                         else f'harness-{method}-seed{seed}')
    record = run_or_reuse(label, harness_command(method, backbone, seed, data, folder),
                          folder / 'records', folder / 'run.log', tag=TAG)
    return float(record['metrics']['top1']['value'])


def method_config(method: str) -> dict:
    """The harness method's image demo config, merged, as a plain dict."""
    from mmengine.config import Config

    from harness.api import resolve_config
    from harness.plugins import PluginManager

    info = PluginManager().get('method', method).info.for_modality('image')
    return Config.fromfile(str(resolve_config(info.configs['demo']))).to_dict()


def knn_top1(weights: Path, backbone: str, seed: int, data: Path, work_dir: Path) -> float:
    """The harness's kNN protocol (its demo config) on backbone weights (a state dict with the
    backbone's keys), as ``harness run`` evaluates a pretraining."""
    from harness.api import EvalRequest
    from harness.evaluate import evaluate
    from harness.plugins import PluginManager

    pm = PluginManager()
    info = pm.get('backbone', backbone).info
    evaluator = pm.get('evaluator', 'imagenet').info
    request = EvalRequest(protocol=evaluator.protocol('knn'), backbone=info,
                          backbone_weights=weights,
                          dataset=pm.get('dataset', evaluator.dataset).info, data_root=data,
                          work_dir=work_dir / 'eval', split='val', seed=seed,
                          imports=tuple(info.imports))
    result = evaluate(request, log=lambda line: None)
    return float(result.metrics['top1'])


# --- the lightly side --------------------------------------------------------------------


def lightly_view(method: str, view: ViewSettings, second: bool = False):
    """lightly's view transform of the method with the harness's view settings."""
    from lightly.transforms import BYOLView1Transform, BYOLView2Transform
    from lightly.transforms.simclr_transform import SimCLRViewTransform

    common = dict(input_size=view.size, cj_prob=view.color, cj_strength=1.0,
                  cj_bright=view.jitter[0], cj_contrast=view.jitter[1], cj_sat=view.jitter[2],
                  cj_hue=view.jitter[3], min_scale=view.scale[0],
                  random_gray_scale=view.grayscale, gaussian_blur=view.blur, sigmas=(0.1, 2),
                  hf_prob=view.flip)
    if view.scale[1] != 1.0:
        raise SettingsError(f'lightly crops at areas min_scale-1, the config at {view.scale}')
    if method == 'byol':
        return (BYOLView2Transform if second else BYOLView1Transform)(
            solarization_prob=view.solarize, **common)
    if view.solarize:
        raise SettingsError(f"lightly's {method} transform has no solarize")
    return SimCLRViewTransform(**common)  # MoCoV2Transform is SimCLR's at other strengths


class TwoViews:
    """Each train image, read as RGB (PIL), as two views."""

    def __init__(self, paths: Sequence[Path], transforms):
        self.paths, self.transforms = list(paths), transforms

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, index: int):
        from PIL import Image

        image = Image.open(self.paths[index]).convert('RGB')
        return tuple(transform(image) for transform in self.transforms)


def endless_batches(dataset, batch: int, seed: int, workers: int):
    """Batches from one endless shuffled stream (a new permutation per pass, batches running
    across passes), as mmengine's InfiniteSampler with shuffle."""
    import torch
    from torch.utils.data import DataLoader, Sampler

    class Endless(Sampler):
        def __iter__(self):
            generator = torch.Generator().manual_seed(seed)
            while True:
                yield from torch.randperm(len(dataset), generator=generator).tolist()

    loader = DataLoader(dataset, batch_size=batch, sampler=Endless(), num_workers=workers,
                        persistent_workers=workers > 0, drop_last=True,
                        generator=torch.Generator().manual_seed(seed))
    return iter(loader)


class LightlyModel:
    """The method from lightly's modules around a torchvision backbone (``fc`` removed):
    ``loss(x1, x2, step)`` and ``parameters()`` (every trainable one)."""

    def __init__(self, method: str, backbone, feat_dim: int, settings: Settings):
        import copy

        from lightly import loss, models
        from lightly.models.modules import heads

        model = settings.model
        self.method, self.settings, self.backbone = method, settings, backbone
        self.modules = [backbone]
        if method == 'simclr':
            self.projector = heads.SimCLRProjectionHead(feat_dim, model['hidden_dim'],
                                                        model['dim'])
            self.criterion = loss.NTXentLoss(temperature=model['temperature'])
            self.modules.append(self.projector)
        elif method == 'byol':
            self.projector = heads.BYOLProjectionHead(feat_dim, model['hidden_dim'], model['dim'])
            self.predictor = heads.BYOLPredictionHead(model['dim'], model['hidden_dim'],
                                                      model['dim'])
            self.criterion = loss.NegativeCosineSimilarity()
            self.modules += [self.projector, self.predictor]
        elif method == 'moco':
            self.projector = heads.MoCoProjectionHead(feat_dim, model['hidden_dim'], model['dim'])
            self.criterion = loss.NTXentLoss(temperature=model['temperature'],
                                             memory_bank_size=(model['queue_size'],
                                                               model['dim']))
            self.modules.append(self.projector)
        if method in ('byol', 'moco'):
            self.key_backbone = copy.deepcopy(backbone)
            self.key_projector = copy.deepcopy(self.projector)
            for module in (self.key_backbone, self.key_projector):
                models.utils.deactivate_requires_grad(module)
                self.modules.append(module)

    def parameters(self):
        return [p for m in self.modules for p in m.parameters() if p.requires_grad]

    def train(self):
        for module in self.modules:
            module.train()

    def momentum(self, step: int) -> float:
        from lightly.utils.scheduler import cosine_schedule

        start = self.settings.model['momentum']
        end = self.settings.momentum_end
        return start if end is None else cosine_schedule(step, self.settings.steps, start, end)

    def update_keys(self, step: int) -> None:
        from lightly.models.utils import update_momentum

        m = self.momentum(step)
        update_momentum(self.backbone, self.key_backbone, m)
        update_momentum(self.projector, self.key_projector, m)

    def loss(self, x1, x2, step: int):
        import torch

        if self.method == 'simclr':
            return self.criterion(self.projector(self.backbone(x1)),
                                  self.projector(self.backbone(x2)))
        self.update_keys(step)
        if self.method == 'moco':
            query = self.projector(self.backbone(x1))
            with torch.no_grad():
                key = self.key_projector(self.key_backbone(x2))
            return self.criterion(query, key)
        p1 = self.predictor(self.projector(self.backbone(x1)))
        p2 = self.predictor(self.projector(self.backbone(x2)))
        with torch.no_grad():
            z1 = self.key_projector(self.key_backbone(x1))
            z2 = self.key_projector(self.key_backbone(x2))
        return 0.5 * (self.criterion(p1, z2) + self.criterion(p2, z1))


def torchvision_backbone(name: str):
    """torchvision's network of the harness backbone ``name`` without its classifier (the
    harness's ResNets keep torchvision's parameter names), and its feature dimension."""
    import torchvision
    from torch import nn

    builders = {'resnet18': torchvision.models.resnet18, 'resnet50': torchvision.models.resnet50}
    if name not in builders:
        raise SettingsError(f"the lightly run builds {', '.join(builders)}, not {name}")
    net = builders[name](weights=None)
    feat_dim = net.fc.in_features
    net.fc = nn.Identity()
    return net, feat_dim


def lr_schedule(optimizer, settings: Settings):
    """mmengine's LinearLR (start_factor to 1 over the warm-up steps) then cosine to 0 at the
    last step, stepped once per step."""
    from torch.optim import lr_scheduler

    return lr_scheduler.SequentialLR(optimizer, [
        lr_scheduler.LinearLR(optimizer, settings.warmup_factor, 1.0, settings.warmup_steps),
        lr_scheduler.CosineAnnealingLR(optimizer, settings.steps - settings.warmup_steps)],
        milestones=[settings.warmup_steps])


def train_lightly(method: str, backbone_name: str, settings: Settings, data: Path, seed: int,
                  out: Path, workers: int = 2, log=print) -> Path:
    """Pretrain the lightly implementation; its backbone weights (``fc`` left out) go to
    ``out/backbone.pth``."""
    import torch

    torch.manual_seed(seed)
    backbone, feat_dim = torchvision_backbone(backbone_name)
    model = LightlyModel(method, backbone, feat_dim, settings)
    views = [lightly_view(method, v, second=i == 1) for i, v in enumerate(settings.views)]
    paths = sorted(p for p in (data / 'train').rglob('*') if p.is_file())
    batches = endless_batches(TwoViews(paths, views), settings.batch, seed, workers)
    optimizer = torch.optim.AdamW(model.parameters(), lr=settings.lr,
                                  weight_decay=settings.weight_decay)
    schedule = lr_schedule(optimizer, settings)
    model.train()
    for step in range(settings.steps):
        x1, x2 = next(batches)
        loss = model.loss(x1, x2, step)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        schedule.step()
        if step % 50 == 0 or step == settings.steps - 1:
            log(f'[{TAG}] lightly {method} seed {seed}: step {step} loss {loss.item():.4f}')
    out.mkdir(parents=True, exist_ok=True)
    state = {k: v for k, v in backbone.state_dict().items() if not k.startswith('fc.')}
    torch.save(state, out / 'backbone.pth')
    return out / 'backbone.pth'


def lightly_top1(method: str, backbone: str, settings: Settings, seed: int, data: Path,
                 work_dir: Path) -> float:
    folder = work_dir / f'lightly-{method}-seed{seed}'
    done = folder / 'top1.json'
    if done.is_file():
        return json.loads(done.read_text())['top1']
    print(f'[{TAG}] lightly {method} seed {seed}: training {settings.steps} steps', flush=True)
    weights = train_lightly(method, backbone, settings, data, seed, folder)
    top1 = knn_top1(weights, backbone, seed, data, folder)
    done.write_text(json.dumps({'top1': top1}))
    return top1


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', choices=METHODS, default='simclr')
    parser.add_argument('--seeds', default='0,1,2')
    parser.add_argument('--backbone', default='resnet18')
    parser.add_argument('--work-dir', default=str(REPO / 'work_dirs' / 'peer_check'))
    args = parser.parse_args(argv)
    try:
        import lightly  # noqa: F401
    except ImportError:
        print(INSTALL_HINT, file=sys.stderr)
        return 2
    try:
        seeds = split_seeds(args.seeds)
        settings = settings_from_config(method_config(args.method))
        torchvision_backbone(args.backbone)
    except SettingsError as error:
        print(f'peer_check: {error}', file=sys.stderr)
        return 2
    import torch

    from harness_imagedata.imagenet import generate_demo

    torch.set_num_threads(1)
    work_dir = Path(args.work_dir).expanduser().resolve()
    data = generate_demo(work_dir / 'demo' / 'imagenet')
    rows, times = {}, {}
    for seed in seeds:
        row = {}
        for column, score in (
                ('harness', lambda: harness_top1(args.method, args.backbone, seed, data,
                                                 work_dir)),
                ('lightly', lambda: lightly_top1(args.method, args.backbone, settings, seed,
                                                 data, work_dir)),
                ('random', lambda: harness_top1('random', args.backbone, seed, data, work_dir))):
            start = time.perf_counter()
            row[column] = score()
            times[column] = times.get(column, 0.0) + time.perf_counter() - start
        rows[seed] = row
        print(f'[{TAG}] seed {seed}: ' + ', '.join(f'{k} {v:.2f}' for k, v in row.items()),
              flush=True)
    print(f'\n{args.method} on the demo imagenet, backbone {args.backbone}, kNN top-1 (%) of '
          f'the harness knn protocol, {settings.steps} steps of batch {settings.batch}:\n')
    print(table(args.method, rows))
    print(f'difference by design: {DIFFERENCES[args.method]}')
    print('wall time (s, this call; 0 when reused): ' +
          ', '.join(f'{k} {v:.0f}' for k, v in times.items()))
    return 0


if __name__ == '__main__':
    sys.exit(main())
