"""TransRank's toy experiment (docs/methods.md §9, claim 1), on demo data by default.

Train the ranking model and its cross-entropy control on {1x, 2x} only (same sampler, head and
schedule; mmengine Runner through the harness), then score unseen 0.5x and 4x clips of the test
videos with speediness = score[2x] - score[1x]. The paper says ranking orders
0.5x < 1x < 2x < 4x and CE does not; this prints what the harness shows.

    .venv/bin/python experiments/transrank_toy.py [--data ROOT|demo] [--iters 60] [--seed 0]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import torch
from mmengine.config import Config

from harness import data as datasets
from harness.api import resolve_config
from harness.compat import allow_mmengine_checkpoints
from harness.config import load_pretrain_config
from harness.engine import import_config_modules
from harness.plugins import PluginManager
from harness.pretrain import plan_pretraining, pretrain
from harness.registry import MODELS

TRAIN = ['1x', '2x']
SCORE = ['0.5x', '1x', '2x', '4x']
STEADY = dict(scale=(1.0, 1.0), ratio=(1.0, 1.0), flip=0.0, color=0.0, grayscale=0.0)


def toy_config(loss: str, root: Path, ann_file: Path, iters: int, seed: int) -> Config:
    cfg = load_pretrain_config(resolve_config('harness_transrank:configs/transrank_demo.py'))
    cfg.model.update(num_temporal=len(TRAIN), rotation=False, loss=loss)
    sampler = cfg.train_dataloader.dataset.pipeline[0]
    sampler.update(temporal=TRAIN, rotation=False)
    cfg.train_dataloader.dataset.update(data_root=str(root), ann_file=str(ann_file))
    cfg.train_cfg.max_iters = iters
    cfg.param_scheduler[1].T_max = max(1, iters - 5)
    cfg.randomness = dict(seed=seed, deterministic=False)
    return cfg


def load_model(cfg: Config, directory: Path):
    """The full model (backbone + heads) from the pretraining's last mmengine checkpoint."""
    allow_mmengine_checkpoints()
    model = MODELS.build(cfg.model)
    last = Path(directory, 'last_checkpoint').read_text().strip()
    model.load_state_dict(torch.load(last, map_location='cpu')['state_dict'])
    return model.eval()


@torch.no_grad()
def speediness(model, paths: list[str]) -> torch.Tensor:
    """Mean score[2x] - score[1x] per scored speed, over the videos."""
    from harness_transrank.sampler import SampleTransformedClips

    sampler = SampleTransformedClips(SCORE, frames=8, size=32, jitter=(1.0, 1.0),
                                     augment=STEADY)
    values = []
    for path in paths:
        clips = sampler({'filename': path})['inputs']['clips'][None]
        scores = model.temporal_head(model(dict(clips=clips), mode='tensor'))[0]  # [4, 2]
        values.append(scores[:, 1] - scores[:, 0])
    return torch.stack(values).mean(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--data', default='demo')
    parser.add_argument('--work-dir', default='work_dirs')
    parser.add_argument('--iters', type=int, default=60)
    parser.add_argument('--seed', type=int, default=0)
    args = parser.parse_args()
    work = Path(args.work_dir).resolve()
    ucf101 = PluginManager().get('dataset', 'ucf101').info
    root, is_demo = datasets.resolve_data_root(args.data, ucf101, work)
    split = ucf101.module().read_split(root, '1')
    ann_file = datasets.annotation_list(work / 'lists', 'ucf101_train1', split.train)
    test_paths = [str(root / item.path) for item in split.test]
    rows = {}
    for loss in ('rank', 'ce'):
        cfg = toy_config(loss, root, ann_file, args.iters, args.seed)
        import_config_modules(cfg)
        job = plan_pretraining(cfg, work / 'toy', f'transrank-toy-{loss}', 'r3d18', {})
        result = pretrain(job, resume=False)
        model = load_model(cfg, Path(result.work_dir))
        rows[loss] = speediness(model, test_paths)
    label = 'demo data' if is_demo else str(root)
    print(f'\nspeediness = score[2x] - score[1x], mean over {len(test_paths)} test videos '
          f'({label}); trained on {TRAIN}, {args.iters} iterations, seed {args.seed}')
    print('model  ' + ''.join(f'{speed:>9}' for speed in SCORE) + '   ordered 0.5x<1x<2x<4x')
    for loss, values in rows.items():
        ordered = bool(torch.all(values[1:] > values[:-1]))
        name = 'rank' if loss == 'rank' else 'CE'
        print(f'{name:<6} ' + ''.join(f'{v:9.3f}' for v in values.tolist()) + f'   {ordered}')


if __name__ == '__main__':
    main()
