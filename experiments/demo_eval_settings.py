"""The demo evaluation settings, chosen on a *validation* demo with pretrained backbones.

Two demo evaluation configs have a setting that needs choosing: the length of the finetune
protocol (``harness_videoeval:configs/finetune_demo.py``, epochs with the cosine's T_max equal
to them) and the learning rate and length of the image linear probe
(``harness_imageeval:configs/linear_demo.py``, steps with the lr x0.1 milestones at 60% and 80%
of them). Choosing them with random init alone favours the random-init reference row; here each
grid point is measured for every row of the table:

- the two reference rows, ``random`` (as initialised) and ``random --config bn_calibrated``;
- pretrained methods, each on its default demo backbone and the default demo pretraining set:
  video ``brave``, ``transrank``, ``moco`` (``r3d18-slim``, pretrained on the demo
  Kinetics-400); image ``simclr``, ``byol``, ``moco`` (``resnet18-slim``, pretrained on the
  evaluation demo's own train images, as every image demo run is).

Every run evaluates on the validation demo: the demo generated with seed 1 and the default demo
sizes (the default demo is seed 0; its test split is never looked at here), so that an epoch or
a step means what it means on the default demo. The image validation demo has
``--val-per-class`` val images per class (60: 300 val images) to lower the noise; its 240 train
images are the default demo's count. Seed 0. The setting is passed as ``--cfg-options
eval.KEY=VALUE``; each row keeps one harness work directory for the whole grid, so its
pretraining is trained once and reused (the script checks each later run's log says so).

The selection rule, fixed before any number was looked at: the chosen setting maximises the
mean top-1 over the *pretrained* rows (the reference rows are reported, but take no part in the
choice); every setting within 1 point of that maximum counts as tied, and a tie goes to the
cheaper setting (fewer epochs or steps); among tied settings equally cheap (the image grid's
learning rates at one length) the higher mean wins.

    .venv/bin/python experiments/demo_eval_settings.py [--protocols video,image]
        [--work-dir /tmp/demo_eval_settings] [--val-per-class 60]
        [--video-grid 12,24,40,60,90] [--image-grid 0.01x150,0.1x150,...]

Work directories are kept (``PROTOCOL/ROW`` for the harness, ``PROTOCOL/records/ROW/SETTING``
for each record), so a second call reuses every finished run.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from run_args import run_or_reuse

VALIDATION_SEED = 1  # the default demo is seed 0: its test split is never looked at here
SEED = 0
TIE_POINTS = 1.0  # settings within this many points of the best pretrained mean are tied
REFERENCE_ROWS = ('random', 'random (bn_calibrated)')


@dataclass(frozen=True)
class Setting:
    """One grid point: its name in the table, its cost (epochs or steps) and the evaluation
    config keys it sets (without the ``eval.`` prefix)."""

    name: str
    cost: int
    options: tuple[tuple[str, object], ...]

    def cfg_options(self) -> list[str]:
        return [f'eval.{key}={format_value(value)}' for key, value in self.options]


def format_value(value: object) -> str:
    """A value as ``--cfg-options`` reads it (lists without spaces: one argument)."""
    if isinstance(value, (list, tuple)):
        return '[' + ','.join(format_value(v) for v in value) + ']'
    return str(value)


def video_setting(epochs: int) -> Setting:
    """The finetune protocol for ``epochs`` epochs, its cosine annealed over all of them."""
    return Setting(f'{epochs} epochs', epochs, (('train_cfg.max_epochs', epochs),
                                                ('param_scheduler.0.T_max', epochs)))


def image_setting(lr: float, steps: int) -> Setting:
    """The linear probe at ``lr`` for ``steps`` steps, lr x0.1 at 60% and 80% of them (MoCo's
    epochs 60 and 80 of 100)."""
    return Setting(f'lr {lr:g}, {steps} steps', steps, (
        ('optim_wrapper.optimizer.lr', lr), ('train_cfg.max_iters', steps),
        ('param_scheduler.0.milestones', milestones(steps))))


def milestones(steps: int) -> list[int]:
    """The lr drops of a ``steps``-step probe: at 60% and 80% (rounded to whole steps)."""
    return [round(0.6 * steps), round(0.8 * steps)]


@dataclass(frozen=True)
class Protocol:
    """One protocol's sweep: its ``harness run`` arguments and its pretrained rows."""

    key: str
    evaluator: str
    protocol: str
    methods: tuple[str, ...]
    config: str  # the demo config the choice is written into


PROTOCOLS = {
    'video': Protocol('video', 'ucf101', 'finetune', ('brave', 'transrank', 'moco'),
                      'harness_videoeval:configs/finetune_demo.py'),
    'image': Protocol('image', 'imagenet', 'linear', ('simclr', 'byol', 'moco'),
                      'harness_imageeval:configs/linear_demo.py'),
}
VIDEO_GRID = '12,24,40,60,90'
IMAGE_GRID = ','.join(f'{lr}x{steps}' for lr in ('0.01', '0.1', '1.0') for steps in (150, 300))


def parse_grid(key: str, text: str) -> list[Setting]:
    """``--video-grid`` (epochs, e.g. ``12,24``) or ``--image-grid`` (``LRxSTEPS``, e.g.
    ``0.1x150,1.0x300``) as settings."""
    settings = []
    for item in filter(None, (part.strip() for part in text.split(','))):
        try:
            if key == 'video':
                settings.append(video_setting(int(item)))
            else:
                lr, steps = item.split('x')
                settings.append(image_setting(float(lr), int(steps)))
        except ValueError:
            raise SystemExit(f'--{key}-grid: cannot read {item!r} (video: EPOCHS, image: '
                             'LRxSTEPS)') from None
    if not settings:
        raise SystemExit(f'--{key}-grid is empty')
    return settings


def choose(table: Mapping[str, Mapping[str, float]], costs: Mapping[str, int],
           pretrained: Sequence[str], tie: float = TIE_POINTS) -> str:
    """The setting the rule picks (see the module doc): ``table`` maps each setting to its
    top-1 per row, ``costs`` each setting to its epochs or steps, ``pretrained`` names the rows
    that vote (the others, the reference rows, do not)."""
    if not pretrained:
        raise ValueError('the rule needs at least one pretrained row')
    means = {setting: pretrained_mean(scores, pretrained) for setting, scores in table.items()}
    best = max(means.values())
    tied = [setting for setting, mean in means.items() if mean >= best - tie]
    return min(tied, key=lambda setting: (costs[setting], -means[setting]))


def pretrained_mean(scores: Mapping[str, float], pretrained: Sequence[str]) -> float:
    return statistics.fmean(scores[row] for row in pretrained)


def rows(protocol: Protocol) -> list[tuple[str, str, str | None]]:
    """(row name, method, pretraining config) of every row, reference rows first."""
    return [('random', 'random', None), ('random (bn_calibrated)', 'random', 'bn_calibrated'),
            *((method, method, None) for method in protocol.methods)]


def slug(text: str) -> str:
    return ''.join(c if c.isalnum() or c in '.-' else '_' for c in text).strip('_')


def run_row(protocol: Protocol, row: str, method: str, config: str | None, setting: Setting,
            root: Path, data: Path, pool: Path | None) -> tuple[float, float, bool | None]:
    """(top-1, run seconds, whether the pretraining was reused: None when the row does not
    pretrain or the run itself was reused) of one row at one setting."""
    work_dir = root / protocol.key / slug(row)
    records = root / protocol.key / 'records' / slug(row) / slug(setting.name)
    log_file = root / protocol.key / 'logs' / f'{slug(row)}-{slug(setting.name)}.log'
    command = [sys.executable, '-m', 'harness.cli', 'run', '--method', method,
               '--eval', protocol.evaluator, '--protocol', protocol.protocol,
               '--data', str(data), '--work-dir', str(work_dir), '--records-dir', str(records),
               '--seed', str(SEED)]
    pretrains = method != 'random' or config is not None
    if config is not None:
        command += ['--config', config]
    if pretrains and pool is not None:
        command += ['--pretrain-data', f'kinetics400={pool}']
    command += ['--cfg-options', *setting.cfg_options()]
    ran = not any(records.glob('*.json'))
    record = run_or_reuse(f'{protocol.key} {row}, {setting.name}', command, records, log_file,
                          tag='demo_eval_settings')
    check_settings(record, setting, log_file)
    reused = None
    if pretrains and ran:
        reused = 'pretraining reused from cache' in log_file.read_text()
    return (float(record['metrics']['top1']['value']),
            float(record['provenance']['duration_s']), reused)


def check_settings(record: Mapping, setting: Setting, log_file: Path) -> None:
    """The record's schedule is the setting's (the options reached the evaluation config)."""
    schedule = record['eval'].get('schedule', {})
    stated = {'train_cfg.max_epochs': schedule.get('loop', {}).get('max_epochs'),
              'train_cfg.max_iters': schedule.get('loop', {}).get('max_iters'),
              'optim_wrapper.optimizer.lr': schedule.get('optimizer', {}).get('lr')}
    for key, value in setting.options:
        if key in stated and stated[key] != value:
            raise SystemExit(f'the record of {log_file.stem} states {key}={stated[key]!r}, not '
                             f'{value!r}: delete its records folder and run again')


def format_table(protocol: Protocol, settings: Sequence[Setting],
                 table: Mapping[str, Mapping[str, float]], chosen: str) -> str:
    """The markdown table: a column per setting (the chosen one marked), a row per row and the
    pretrained rows' mean."""
    names = [row for row, _, _ in rows(protocol)]
    head = ' | '.join(f'**{s.name}**' if s.name == chosen else s.name for s in settings)
    lines = [f'| row | {head} |', '|---|' + '---|' * len(settings)]
    for row in names:
        lines.append(f'| {row} | ' + ' | '.join(f'{table[s.name][row]:.2f}' for s in settings)
                     + ' |')
    lines.append('| mean of the pretrained rows | ' + ' | '.join(
        f'{pretrained_mean(table[s.name], protocol.methods):.2f}' for s in settings) + ' |')
    return '\n'.join(lines)


def sweep(protocol: Protocol, settings: Sequence[Setting], root: Path, data: Path,
          pool: Path | None) -> dict[str, dict[str, float]]:
    table: dict[str, dict[str, float]] = {s.name: {} for s in settings}
    for row, method, config in rows(protocol):
        for setting in settings:
            top1, seconds, reused = run_row(protocol, row, method, config, setting, root, data,
                                            pool)
            table[setting.name][row] = top1
            note = '' if reused is None else \
                ', pretraining reused' if reused else ', pretraining trained'
            print(f'[demo_eval_settings] {protocol.key} {row}, {setting.name}: top-1 '
                  f'{top1:.2f} ({seconds:.0f} s{note})', flush=True)
    return table


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--protocols', default='video,image')
    parser.add_argument('--work-dir', type=Path, default=Path('/tmp/demo_eval_settings'))
    parser.add_argument('--val-per-class', type=int, default=60,
                        help='val images per class of the image validation demo')
    parser.add_argument('--video-grid', default=VIDEO_GRID, help='finetune epochs')
    parser.add_argument('--image-grid', default=IMAGE_GRID, help='linear probe LRxSTEPS')
    args = parser.parse_args(argv)

    root = args.work_dir.expanduser().resolve()
    root.mkdir(parents=True, exist_ok=True)
    keys = [key.strip() for key in args.protocols.split(',') if key.strip()]
    unknown = sorted(set(keys) - set(PROTOCOLS))
    if unknown:
        raise SystemExit(f'--protocols: unknown {", ".join(unknown)} (known: '
                         f'{", ".join(PROTOCOLS)})')
    results = []
    for key in keys:
        protocol = PROTOCOLS[key]
        settings = parse_grid(key, args.video_grid if key == 'video' else args.image_grid)
        started = time.monotonic()
        if key == 'video':
            from harness_videodata import kinetics400, ucf101

            data = ucf101.generate_demo(root / 'ucf101_validation', seed=VALIDATION_SEED)
            pool = kinetics400.generate_demo(root / 'kinetics400')
            split = ucf101.read_split(data, '1')
        else:
            from harness_imagedata import imagenet

            data = imagenet.generate_demo(root / 'imagenet_validation', seed=VALIDATION_SEED,
                                          val_per_class=args.val_per_class)
            pool = None
            split = imagenet.read_split(data, 'val')
        print(f'[demo_eval_settings] {key}: {protocol.evaluator}/{protocol.protocol} on the '
              f'validation demo ({len(split.train)} train, {len(split.test)} test items; one '
              f'is {100 / len(split.test):.2g} points), {len(settings)} settings', flush=True)
        table = sweep(protocol, settings, root, data, pool)
        chosen = choose(table, {s.name: s.cost for s in settings}, protocol.methods)
        results.append((protocol, settings, table, chosen, time.monotonic() - started))

    for protocol, settings, table, chosen, seconds in results:
        options = next(s for s in settings if s.name == chosen).cfg_options()
        print(f'\n{protocol.evaluator}/{protocol.protocol} ({protocol.config}), top-1 on the '
              f'validation demo, seed {SEED}; this call took {seconds / 60:.1f} min\n')
        print(format_table(protocol, settings, table, chosen))
        print(f'\nchosen: {chosen} ({" ".join(options)})')


if __name__ == '__main__':
    main()
