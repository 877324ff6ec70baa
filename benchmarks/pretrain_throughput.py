"""Benchmark: the harness's pretraining against the same model and loss in a plain loop, in one
process, on the same device.

    .venv/bin/python benchmarks/pretrain_throughput.py --method brave --batch 8 \
        --narrow 8x32 --broad 16x24 [--device cpu|cuda] [--amp bf16|fp16] [--workers N] \
        [--channels-last] [--cudnn-benchmark]

(a) **harness**: the method's demo config with the given sizes, trained through mmengine's
Runner (the harness's runner, dataloader, sampler and augmentation) on demo videos rendered
large enough for the views; samples/s and the share of each iteration spent waiting for data
come from mmengine's own ``time`` / ``data_time`` logs. (b) **plain loop**: the same model,
loss and optimizer stepped in a bare loop over real batches: batches the harness's own
dataloader and data preprocessor produced (its augmentation included), on the device before
the clock starts. Only the step is timed (forward + backward + optimizer step; the model's own
``train_step`` for methods that step several optimizers, such as VideoMoCo), so the ratio
measures what the harness adds around the step: loading, augmenting, hooks, logging. (c)
**plain, fed**: the same plain loop fed live by the harness's dataloader (its workers) with
the data preprocessor in each timed step: the work the harness cannot skip, on this machine.
Where decoding and augmenting cost a share of the cores the step would use (a CPU with few
cores), (a) / (b) counts that share and (a) / (c) is the harness's own overhead. The three
alternate (``--rounds``, a new Runner each round; each round starts one later than the one
before, so none always runs first) and each side's figure is the mean over all its timed
iterations (samples/s is samples over time: a median would hide a stall that comes back every
few iterations, as when the loader's workers fall behind), so a slow minute of a shared machine
does not fall on one side only. All run with the best settings this machine allows:
denormals flushed and freed memory kept on a CPU (and the harness's loader workers at idle
priority there, as in every harness run), on a GPU cuDNN's autotuner and channels-last in the
plain loop always (``--cudnn-benchmark`` / ``--channels-last`` give them to the harness too);
``--amp`` applies to all. Prints samples/s of each, the two ratios (the first also per
round), the data-wait share, the share of the data preprocessor's batched augmentation (timed
around the harness's own calls in its steps; done ahead for the plain loop) and, on a GPU,
the achieved TFLOP/s (forward + backward FLOPs counted by ``torch.utils.flop_counter``).

Sizes are ``FRAMESxPIXELS``: ``--narrow`` / ``--broad`` for BraVe's views, ``--view`` for both
clips of the two-view methods (moco, byol, simsiam, videomoco), ``--clip`` for the clips of the
transformation methods (transrank and the RecogTrans baselines); ``--image PIXELS`` for every
view of an image method (simclr, mocov3, sim, counting, and moco, byol, simsiam with an image
``--backbone``), which then trains on demo images instead of demo videos; for transitive its
patch views, for multitask its exemplar task's views (both sample frames of demo videos). Only
the sizes given are changed; the rest is the method's demo config, whose loader keeps no
workers where it has none (transitive).

    .venv/bin/python benchmarks/pretrain_throughput.py --method simclr --batch 32 --image 56
"""
from __future__ import annotations

import argparse
import atexit
import copy
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import torch

from harness.plugins import PluginManager


def size(text: str) -> tuple[int, int]:
    frames, _, pixels = text.partition('x')
    return int(frames), int(pixels)


def resize_views(cfg, args) -> int:
    """Apply the size options to the config's sampler; returns the largest frame span a video
    must hold (frames x stride) so the demo videos can be rendered long enough."""
    sampler = cfg.train_dataloader.dataset.pipeline[0]
    spans = []
    if sampler.type == 'SampleImageViews':  # images: one frame, a square intermediate
        for view in sampler.views.values():
            if args.image:  # an intermediate the config sets keeps its ratio to the size
                if view.get('decode_size'):
                    view.decode_size = round(view.decode_size * args.image / view.size)
                view.size = args.image
        return 1
    if sampler.type == 'SamplePatchPair':  # transitive: patches mined from video frames
        if args.image:
            sampler.view.size = sampler.view.decode_size = args.image
        return cfg.train_dataloader.dataset.mining.max_frames
    if sampler.type == 'SampleMultitask':  # multitask: the exemplar task's views of frames
        if args.image:
            sampler.exemplar.view.size = args.image
        return 2 * sampler.motion.gap + 1 if 'motion' in sampler else 1
    if 'views' in sampler:
        for name, views in sampler.views.items():
            wanted = args.narrow if name == 'narrow' else args.broad if name == 'broad' else \
                args.view
            for view in views if isinstance(views, list) else [views]:
                if wanted:
                    view.frames, view.size = wanted
                spans.append(view.frames * view.get('stride', 1))
    else:
        if args.clip:
            sampler.frames, sampler.size = args.clip
        spans.append(sampler.frames * 4)  # the fastest speed the samplers draw
    return max(spans)


def timed_calls(module, device: str):
    """Time each call of ``module`` from now on; returns a function giving the seconds of each
    call so far. On a GPU the time is the device's (CUDA events around the call, read at the
    end, so the timing adds no synchronisation to the step it measures)."""
    marks, forward = [], module.forward

    def timed(*args, **kwargs):
        if device == 'cuda':
            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            out = forward(*args, **kwargs)
            end.record()
            marks.append((start, end))
            return out
        started = time.perf_counter()
        out = forward(*args, **kwargs)
        marks.append(time.perf_counter() - started)
        return out

    def seconds() -> list[float]:
        if device == 'cuda':
            torch.cuda.synchronize()
            return [start.elapsed_time(end) / 1000 for start, end in marks]
        return list(marks)

    module.forward = timed
    return seconds


def harness_run(cfg, iters: int, warmup: int, device: str):
    """Seconds of each iteration after ``warmup``, its data-wait seconds (both from the
    Runner's logs) and its data preprocessor's seconds (timed around the Runner's own calls:
    the batched augmentation), and the Runner's train dataloader."""
    from harness.engine import build_runner

    runner = build_runner(cfg)
    preprocessor_seconds = timed_calls(runner.model.data_preprocessor, device)
    runner.train()
    hub = runner.message_hub
    times = list(hub.get_scalar('train/time').data[0])[warmup:]
    waits = list(hub.get_scalar('train/data_time').data[0])[warmup:]
    assert len(times) == iters - warmup, (len(times), iters, warmup)
    preprocessing = preprocessor_seconds()
    assert len(preprocessing) == iters, (len(preprocessing), iters)  # one call a step
    return times, waits, preprocessing[warmup:], runner.train_dataloader


def real_batches(loader, model, count: int, device: str) -> list[dict]:
    """``count`` batches of the harness's own dataloader, each passed through the model's data
    preprocessor in training mode (its augmentation included) and left on ``device``."""
    model.to(device).train()
    with torch.no_grad():
        return [model.data_preprocessor(batch, True)
                for _, batch in zip(range(count), endless(loader))]


def rotated(items, shift: int) -> list:
    """``items`` starting at index ``shift`` (modulo their number), the rest after in order."""
    shift %= len(items)
    return [*items[shift:], *items[:shift]]


def endless(loader):
    while True:
        yield from loader


class Preprocessed(torch.nn.Module):
    """A data preprocessor for batches that already went through one: passes them on."""

    def forward(self, data, training: bool = False):
        return data


def plain_loop(model, optim_cfg, batches, count: int, warmup: int, device: str,
               amp: str | None, prepare=None) -> tuple[list[float], float | None]:
    """Seconds of each of ``count`` steps over ``batches`` after the first ``warmup`` (forward +
    backward + optimizer step on ready device tensors), and the FLOPs of one step (on a GPU;
    None on the CPU). With ``prepare`` (the data preprocessor), ``batches`` are raw batches
    (a dataloader's stream) and each timed step also waits for its batch and preprocesses it.
    The optimizer is the config's (same type, parameter groups and settings); a model with its
    own ``train_step`` (several optimizers) is stepped by it, its data preprocessor replaced by
    a pass-through (the batches are preprocessed). The config's gradient clipping
    (``clip_grad``) is applied as mmengine's wrapper applies it."""
    from mmengine.model import BaseModel
    from mmengine.optim import OptimWrapperDict, build_optim_wrapper

    if 'constructor' not in optim_cfg:  # one wrapper: build it in fp32, only its optimizer
        optim_cfg = {k: v for k, v in optim_cfg.items() if k != 'dtype'}
        optim_cfg['type'] = 'OptimWrapper'
    wrapper = build_optim_wrapper(model, optim_cfg)
    wrappers = wrapper.values() if isinstance(wrapper, OptimWrapperDict) else [wrapper]
    optimizers = [w.optimizer for w in wrappers]
    dtype = {'bf16': torch.bfloat16, 'fp16': torch.float16}.get(amp)
    own_step = type(model).train_step is not BaseModel.train_step
    if own_step:
        model.data_preprocessor = Preprocessed()
    clip = dict(optim_cfg.get('clip_grad') or {})  # the config's gradient clipping, as mmengine
    clip_grad = {'norm': torch.nn.utils.clip_grad_norm_,
                 'value': torch.nn.utils.clip_grad_value_}[clip.pop('type', 'norm')]
    clipped = [p for o in optimizers for g in o.param_groups for p in g['params']]

    def step(data):
        with torch.autocast(device_type=device, dtype=dtype, enabled=dtype is not None):
            if own_step:
                model.train_step(data, wrapper)
                return
            loss = sum(model(**data, mode='loss').values())
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if clip:
            clip_grad([p for p in clipped if p.grad is not None], **clip)
        for optimizer in optimizers:
            optimizer.step()

    def sync():
        if device == 'cuda':
            torch.cuda.synchronize()

    def ready(data):
        if prepare is None:
            return data
        with torch.no_grad():
            return prepare(data, True)

    model.train()
    stream, times = iter(batches), []
    for index in range(count):  # each step timed alone, as the Runner logs its iterations
        started = time.perf_counter()
        data = ready(next(stream))
        step(data)
        sync()
        if index >= warmup:
            times.append(time.perf_counter() - started)
    flops = None
    if device == 'cuda':
        from torch.utils.flop_counter import FlopCounterMode

        with FlopCounterMode(display=False) as counter:
            step(data)
        flops = counter.get_total_flops()
    return times, flops


def round_ratios(harness: list[list[float]], plain: list[list[float]]) -> list[float]:
    """Each round's ratio harness / plain loop (samples/s, from the mean iteration time of
    each side in that round): the two ran minutes apart at most, so their spread over the
    rounds shows how far this machine's own drift moves the pooled ratio."""
    return [statistics.fmean(p) / statistics.fmean(h) for h, p in zip(harness, plain)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--method', default='brave')
    parser.add_argument('--backbone', help="default: the method's")
    parser.add_argument('--device', default='cuda' if torch.cuda.is_available() else 'cpu')
    parser.add_argument('--amp', choices=('bf16', 'fp16'))
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--workers', type=int,
                        help="the loader's workers (default: the pretraining config's)")
    parser.add_argument('--iters', type=int, default=12,
                        help='iterations per round: warm-up + timed')
    parser.add_argument('--warmup', type=int, default=4)
    parser.add_argument('--rounds', type=int, default=5,
                        help='harness and plain loop alternate this many times (a shared '
                             "machine's slow minutes then fall on both)")
    parser.add_argument('--cudnn-benchmark', action='store_true',
                        help="cuDNN's autotuner for the fixed shapes, in both runs")
    parser.add_argument('--channels-last', action='store_true',
                        help='channels-last 3D clips (a GPU fast path) in both runs')
    for name in ('narrow', 'broad', 'view', 'clip'):
        parser.add_argument(f'--{name}', type=size, metavar='FRAMESxPIXELS')
    parser.add_argument('--image', type=int, metavar='PIXELS', help='image views (image methods)')
    parser.add_argument('--work-dir', help='kept; default: a temporary folder, removed at '
                        'the end')
    args = parser.parse_args()
    from harness.engine import HarnessRunner, config_scope, stop_loader_workers, use_fast_paths

    use_fast_paths()  # as every harness command: before any worker starts (they inherit them)

    from harness import data as datasets
    from harness.api import pick_config
    from harness.config import use_amp
    from harness.pretrain import build_pretrain_config
    from harness.registry import MODELS

    pm = PluginManager()
    method = pm.get('method', args.method).info
    if args.backbone:  # the method's variant for the backbone's kind of data
        method = method.for_modality(pm.get('backbone', args.backbone).info.modality) or method
    backbone = pm.get('backbone', args.backbone or method.default_backbone).info
    work = Path(args.work_dir or tempfile.mkdtemp(prefix='throughput-'))
    if not args.work_dir:  # its demo data and runner folders, gone at exit
        atexit.register(shutil.rmtree, work, ignore_errors=True)
    config = pick_config(method.configs, 'demo', method.name)[1]
    probe = build_pretrain_config(config, backbone, data_root=work, ann_file=work / 'x.txt',
                                  data_identity={}, seed=0, launcher='none', cfg_options={})
    span = resize_views(probe, args)
    largest = max((s[1] for s in (args.narrow, args.broad, args.view, args.clip) if s),
                  default=32)
    if method.pretrain_kind == 'image':
        from harness_imagedata.imagenet import generate_demo as generate_images

        demo = generate_images(work / 'images', train_per_class=8, val_per_class=1,
                               size=max(64, (args.image or 56) * 8 // 7))
        split = pm.get('dataset', 'imagenet').info.module().read_split(demo, 'val')
    else:
        from harness_videodata.ucf101 import generate_demo

        demo = generate_demo(work / 'videos', groups=3, clips_per_group=2, frames=max(48, span),
                             size=max(80, 2 * ((largest * 5 // 4 + 1) // 2)))
        split = pm.get('dataset', 'ucf101').info.module().read_split(demo, '1')
    ann_file = datasets.annotation_list(work / 'lists', 'train', split.train)
    # a config whose loader must have no workers (transitive: its pairs change during training)
    workers = probe.train_dataloader.num_workers
    workers = args.workers if workers and args.workers is not None else workers
    # the config's own logging interval, as a pretraining logs (the iteration times come from
    # the message hub, which mmengine's timer hook fills every iteration); no checkpoint, and
    # none of the method's own hooks, whose work the plain loop does not do
    options = {'train_cfg.max_iters': args.iters, 'train_dataloader.batch_size': args.batch,
               'train_dataloader.num_workers': workers,
               'train_dataloader.persistent_workers': workers > 0,
               'default_hooks.checkpoint.interval': args.iters + 1, 'custom_hooks': []}
    cfg = build_pretrain_config(config, backbone, data_root=demo, ann_file=ann_file,
                                data_identity={}, seed=0, launcher='none', cfg_options=options)
    resize_views(cfg, args)
    use_amp(cfg, args.amp)
    if args.channels_last:
        cfg.model.data_preprocessor.channels_last = True
    cfg.work_dir = str(work / 'runner')
    cfg.param_scheduler = []
    cfg.env_cfg = dict(cfg.env_cfg, cudnn_benchmark=args.cudnn_benchmark)
    torch.backends.cudnn.benchmark = args.cudnn_benchmark

    # each round's iteration times of the harness and of the plain loop
    harness_rounds, plain_rounds, waits, preprocessing, fed_times, flops = [], [], [], [], [], []

    def harness():
        """One harness round; returns its Runner's train dataloader."""
        torch.backends.cudnn.benchmark = args.cudnn_benchmark
        times, round_waits, round_preprocessing, loader = harness_run(
            copy.deepcopy(cfg), args.iters, args.warmup, args.device)
        harness_rounds.append(times)
        waits.extend(round_waits)
        preprocessing.extend(round_preprocessing)
        return loader

    def plain():
        if args.device == 'cuda':
            torch.backends.cudnn.benchmark = True
        times, step_flops = plain_loop(model, cfg.optim_wrapper, batches, args.iters,
                                       args.warmup, args.device, args.amp)
        plain_rounds.append(times)
        flops.append(step_flops)

    def fed():
        # the same loop fed live by a dataloader built as the harness builds its own (a used
        # one may not start again: mmengine's InfiniteSampler streams from one generator)
        with config_scope(cfg):
            fresh = HarnessRunner.build_dataloader(copy.deepcopy(cfg.train_dataloader), seed=0)
        fed_times.extend(plain_loop(model, cfg.optim_wrapper, endless(fresh), args.iters,
                                    args.warmup, args.device, args.amp, prepare=preprocessor)[0])
        stop_loader_workers(fresh)

    # the first round starts with the harness, whose dataloader makes the plain loop's batches;
    # then each round starts one later (harness, plain, fed / plain, fed, harness / ...), so
    # no side always runs first (after the previous round's teardown) or last
    first_loader = harness()
    model = MODELS.build(cfg.model)
    if args.device == 'cuda':  # the plain loop's fast paths, whatever the harness had
        model.data_preprocessor.channels_last = True
    preprocessor = model.data_preprocessor  # the plain loop may replace it
    batches = real_batches(first_loader, model, args.iters, args.device)
    stop_loader_workers(first_loader)
    plain(), fed()
    for round_index in range(1, args.rounds):
        for run in rotated((harness, plain, fed), round_index):
            run()
    flops = flops[-1]  # of one step (None on a CPU)
    # means: samples/s is samples over time, and the data wait's share is its share of the
    # time (loader workers that fall behind stall one iteration in several; a median hides it)
    step_s = statistics.fmean([t for times in harness_rounds for t in times])
    plain_s = statistics.fmean([t for times in plain_rounds for t in times])
    wait_s, fed_s = statistics.fmean(waits), statistics.fmean(fed_times)
    augment_s = statistics.fmean(preprocessing)

    harness_rate, plain_rate = args.batch / step_s, args.batch / plain_s
    sizes = ', '.join([f'{k} {v[0]}x{v[1]}' for k in ('narrow', 'broad', 'view', 'clip')
                       if (v := getattr(args, k))]
                      + ([f'images {args.image}px'] if args.image else []))
    print(f'{method.name} on {backbone.name}, {args.device}, {args.amp or "fp32"}, batch '
          f"{args.batch}, {workers} workers, {sizes or 'demo sizes'}, "
          f'{args.iters - args.warmup} timed iterations after {args.warmup}, in each of '
          f'{args.rounds} alternating rounds (means)')
    print(f'{"":<12}{"ms/iter":>10}{"samples/s":>11}{"data wait":>11}{"augment":>11}')
    print(f'{"harness":<12}{1000 * step_s:>10.1f}{harness_rate:>11.1f}'
          f'{100 * wait_s / step_s:>10.0f}%{100 * augment_s / step_s:>10.0f}%')
    print(f'{"plain loop":<12}{1000 * plain_s:>10.1f}{plain_rate:>11.1f}{"-":>11}{"-":>11}')
    print(f'{"plain, fed":<12}{1000 * fed_s:>10.1f}{args.batch / fed_s:>11.1f}{"-":>11}{"-":>11}')
    print(f'ratio harness / plain loop: {harness_rate / plain_rate:.2f}x')
    print('ratio in each round: ' + ' '.join(
        f'{r:.2f}x' for r in round_ratios(harness_rounds, plain_rounds))
        + " (each round's own means: their spread is this machine's drift)")
    print(f'ratio harness / plain loop fed by the harness\'s dataloader and preprocessor: '
          f'{fed_s / step_s:.2f}x (the harness\'s own overhead: loading and '
          'augmenting cost both)')
    if flops:
        print(f'achieved: harness {flops / step_s / 1e12:.1f} TFLOP/s, plain loop '
              f'{flops / plain_s / 1e12:.1f} TFLOP/s ({flops / 1e9:.0f} GFLOP per step)')


if __name__ == '__main__':
    main()
