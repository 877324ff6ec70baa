"""Learning to Count without its contrastive term: do the features collapse? (docs/methods.md §5a)

Without the hinge ``max(0, M - || φ(D∘y) - Σ_j φ(T_j∘x) ||²)`` the equivariance term
``|| φ(D∘x) - Σ_j φ(T_j∘x) ||²`` alone is minimised by φ = 0, and the paper says the features
collapse to it. This script pretrains counting twice through the harness (``harness run
--method counting --eval imagenet --protocol knn``: the demo config, same seed and steps), once
as shipped and once with ``model.contrastive_weight=0``, then loads each full model (backbone
and counting head) from the pretraining's last checkpoint and reports, over the demo imagenet's
val images as the kNN protocol sees them (64 px, centre 56 x 56, ImageNet normalisation), the
mean L2 norm of the counting vector φ(x) and of the pooled backbone features, the last logged
loss terms and the kNN top-1. The untrained model (same config and seed, BN statistics at their
initial values) is the reference row.

    .venv/bin/python experiments/counting_collapse.py [--steps N] [--seed 0]
        [--work-dir /tmp/counting_collapse] [-- --cfg-options ...]

``--steps`` shortens (or lengthens) both pretrainings (default: the demo config's 300).
Arguments after ``--`` go to both ``harness run`` calls. Work directories (``with-hinge``,
``no-hinge``) are kept, so a second call with the same arguments reuses the pretrainings.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import torch

from run_args import run_or_reuse, split_cfg_options

#: variant -> the contrastive (hinge) weight it trains with
VARIANTS = {'with-hinge': 1.0, 'no-hinge': 0.0}
EVAL_SIZE, EVAL_CROP = 64, 56  # the kNN protocol's demo feature pipeline


def cfg_options(weight: float, steps: int | None, warmup: int = 10) -> list[str]:
    """``--cfg-options`` of a variant: its hinge weight and, if given, the number of steps
    (the cosine schedule after the demo's warm-up shortened to fit)."""
    options = [f'model.contrastive_weight={weight}']
    if steps is not None:
        if steps <= warmup:
            raise SystemExit(f'--steps must be more than the {warmup} warm-up steps')
        options += [f'train_cfg.max_iters={steps}', f'param_scheduler.1.T_max={steps - warmup}']
    return options


def run_harness(work_dir: Path, weight: float, steps: int | None, seed: int,
                extra: list[str]) -> dict:
    """Pretrain and evaluate one variant (reused when its record exists); its record."""
    options, others = split_cfg_options(extra)
    records = work_dir / 'records'
    command = [sys.executable, '-m', 'harness.cli', 'run', '--method', 'counting',
               '--eval', 'imagenet', '--protocol', 'knn', '--work-dir', str(work_dir),
               '--records-dir', str(records), '--seed', str(seed), *others,
               '--cfg-options', *cfg_options(weight, steps), *options]
    return run_or_reuse(work_dir.name, command, records, work_dir.parent / f'{work_dir.name}.log',
                        tag='counting_collapse')


def pretrain_dir(work_dir: Path) -> Path:
    found = sorted((work_dir / 'pretrain').glob('counting_*/pretrain.json'))
    if len(found) != 1:
        raise SystemExit(f'expected one finished counting pretraining under '
                         f'{work_dir / "pretrain"}, found {len(found)}')
    return found[0].parent


def build_model(directory: Path, trained: bool = True):
    """The full counting model from the merged config mmengine dumped in the pretraining
    directory, with the last checkpoint's weights (``trained``) or as initialised with the
    run's seed, in eval mode."""
    from mmengine.config import Config
    from mmengine.registry import init_default_scope
    from mmengine.runner import set_random_seed

    from harness.compat import allow_mmengine_checkpoints
    from harness.engine import import_config_modules
    from harness.registry import MODELS

    configs = [p for p in directory.glob('*.py')]
    if len(configs) != 1:
        raise SystemExit(f'expected one dumped config in {directory}, found {len(configs)}')
    cfg = Config.fromfile(str(configs[0]))
    import_config_modules(cfg)
    init_default_scope('harness')
    set_random_seed(cfg.randomness.seed)
    model = MODELS.build(cfg.model)
    if trained:
        allow_mmengine_checkpoints()
        last = Path(directory, 'last_checkpoint').read_text().strip()
        model.load_state_dict(torch.load(last, map_location='cpu')['state_dict'])
    return model.eval()


def val_images(root: Path) -> torch.Tensor:
    """The val images as the kNN protocol's demo pipeline hands them to the backbone:
    shorter side 64, centre 56 x 56 crop, ImageNet normalisation; ``[N, 3, 56, 56]``."""
    from torchvision.transforms.v2 import functional as TF

    from harness.data.augment import normalize
    from harness.data.images import read_image
    from harness_imagedata import imagenet

    split = imagenet.read_split(root, 'val')
    images = []
    for item in split.test:
        image = torch.from_numpy(read_image(str(root / item.path))).permute(2, 0, 1)
        image = TF.center_crop(TF.resize(image, EVAL_SIZE, antialias=True), EVAL_CROP)
        images.append(normalize(image.float() / 255))
    return torch.stack(images)


@torch.no_grad()
def mean_norms(model, images: torch.Tensor, batch: int = 64) -> tuple[float, float]:
    """Mean L2 norm over ``images`` of the counting vector φ(x) and of the pooled backbone
    features."""
    counts, features = [], []
    for start in range(0, len(images), batch):
        f = model.features(images[start:start + batch])
        features.append(f.norm(dim=1))
        counts.append(model.head(f).norm(dim=1))
    return float(torch.cat(counts).mean()), float(torch.cat(features).mean())


def last_losses(directory: Path) -> dict[str, float]:
    """The last logged value of each loss term (mmengine's ``scalars.json``)."""
    logged: dict[str, float] = {}
    for path in sorted(directory.glob('*/vis_data/scalars.json')):
        for line in path.read_text().splitlines():
            entry = json.loads(line)
            logged.update({k: v for k, v in entry.items() if k.startswith('loss')})
    return logged


def format_table(rows: list[dict]) -> str:
    head = ('| model | contrastive weight | mean ‖φ(x)‖ | mean ‖pooled features‖ | '
            'last loss_equivariance | last loss_contrastive | kNN top-1 |\n'
            '|---|---|---|---|---|---|---|')

    def cell(value, fmt):
        return '-' if value is None else format(value, fmt)

    lines = [f"| {r['name']} | {cell(r['weight'], 'g')} | {r['counts']:.4g} | "
             f"{r['features']:.4g} | {cell(r.get('equivariance'), '.4g')} | "
             f"{cell(r.get('contrastive'), '.4g')} | {cell(r.get('top1'), '.2f')} |"
             for r in rows]
    return '\n'.join([head, *lines])


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    extra = argv[argv.index('--') + 1:] if '--' in argv else []
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--steps', type=int, default=None,
                        help="pretraining steps of both variants (default: the demo config's)")
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/counting_collapse'))
    args = parser.parse_args(argv[:argv.index('--')] if '--' in argv else argv)
    root = args.work_dir.expanduser().resolve()

    rows, data_root = [], None
    for name, weight in VARIANTS.items():
        work_dir = root / name
        record = run_harness(work_dir, weight, args.steps, args.seed, extra)
        directory = pretrain_dir(work_dir)
        data_root = work_dir / 'demo' / 'imagenet'
        images = val_images(data_root)
        if not rows:  # the untrained reference: same config and seed, no step taken
            counts, features = mean_norms(build_model(directory, trained=False), images)
            rows.append(dict(name='untrained', weight=None, counts=counts, features=features))
        counts, features = mean_norms(build_model(directory), images)
        losses = last_losses(directory)
        rows.append(dict(name=name, weight=weight, counts=counts, features=features,
                         equivariance=losses.get('loss_equivariance'),
                         contrastive=losses.get('loss_contrastive'),
                         top1=record['metrics']['top1']['value']))
    steps = args.steps or 'the demo config\'s'
    print(f'\nLearning to Count on the demo imagenet, {steps} steps, seed {args.seed}; norms '
          f'over the {len(images)} val images ({EVAL_CROP} px centre crops):')
    print(format_table(rows))


if __name__ == '__main__':
    main()
