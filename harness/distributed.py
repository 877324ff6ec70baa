"""A pretraining across processes as its paper ran it: the batch normalisation it used, its
batch on the processes the user has, and what the record says about both.

A method's paper config names (both tagged with their source in its sources table):

- ``batch_norm``: how its official code normalises across processes (:data:`BATCH_NORMS`):
  ``'global'`` (mean and variance over the whole batch of all processes: SimCLR's global BN,
  BYOL's and BraVe's cross-replica BN, SimSiam's and MoCo v3's SyncBatchNorm),
  ``'per_process'`` (each process its own share), or ``'per_process_shuffled'`` (MoCo's
  per-process BN with the key batch shuffled across processes; the model does the shuffle).
  Absent: ``'per_process'``. Under several processes, ``'global'`` converts every BatchNorm
  of the model (:func:`convert_batch_norm`): torch's ``SyncBatchNorm`` on GPUs,
  :class:`CrossProcessBatchNorm` (the same statistics through a differentiable all-reduce,
  gloo included) on CPUs. In one process nothing changes.
- ``paper_batch = dict(size=4096, lr_scaling='linear', scale_lr=False)``: the paper's batch
  over all its processes and its rule for the learning rate at another batch (``'linear'`` or
  ``'sqrt'``). On fewer processes than the paper (``size`` / per-process batch) the harness
  keeps the paper's batch by gradient accumulation (mmengine's ``accumulative_counts``); with
  ``scale_lr=True`` (``--cfg-options paper_batch.scale_lr=True``) it trains at the batch the
  processes give and scales the learning rate by the paper's rule instead. Either way the
  record and ``--dry-run`` say so (:class:`BatchPlan`).

A model class may declare what it gathers across processes in a class attribute ``gathers``
(what is gathered -> how, e.g. ``{'negatives': 'with gradient (...)'}``): the record and the
dry run state it.

Under gradient accumulation a target network's EMA (:func:`harness.modules.momentum_update`)
moves once per optimizer step, on the first micro-batch of each (:func:`target_update_hook`),
not once per micro-batch. Under several processes each process reseeds its random number
generators with its rank before training (:func:`rank_seed_hook`), so no two processes draw the
same views (dataloader workers are seeded per rank by mmengine already).
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

import torch
from torch import Tensor, nn
from torch.nn.modules.batchnorm import _BatchNorm

from harness.errors import ConfigError

#: The top-level keys of a pretraining config this module reads.
BN_KEY, PAPER_BATCH_KEY = 'batch_norm', 'paper_batch'
#: How a method normalises across processes (see the module doc).
BATCH_NORMS = ('global', 'per_process', 'per_process_shuffled')
#: The papers' rules for the learning rate at another batch: lr x (batch / paper batch), or
#: its square root.
LR_SCALINGS = ('linear', 'sqrt')


def world_size() -> int:
    from mmengine.dist import get_world_size

    return get_world_size()


# ------------------------------------------------------------------ cross-process BatchNorm


class _AllReduceSum(torch.autograd.Function):
    """The sum over the processes; backward: every process's gradient summed, so that each
    process's input gets what all the processes' losses send it."""

    @staticmethod
    def forward(ctx, tensor: Tensor) -> Tensor:
        import torch.distributed as torch_dist

        total = tensor.contiguous().clone()
        torch_dist.all_reduce(total)
        return total

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:
        import torch.distributed as torch_dist

        grad = grad.contiguous().clone()
        torch_dist.all_reduce(grad)
        return grad


def all_reduce_with_gradient(tensor: Tensor) -> Tensor:
    """The sum of ``tensor`` over the processes, differentiable (itself in one process)."""
    if world_size() == 1:
        return tensor
    return _AllReduceSum.apply(tensor)


class CrossProcessBatchNorm(_BatchNorm):
    """BatchNorm over the whole batch of all processes, on any backend (gloo on CPUs too):
    the mean and the (biased) variance that normalise are sums over every process's samples
    through a differentiable all-reduce, so the gradient is that of one BatchNorm over the
    whole batch; the running statistics move as BatchNorm's, with the unbiased variance of the
    whole batch (as torch's ``SyncBatchNorm``). In one process, in eval mode, or with running
    statistics in use, it is plain BatchNorm. Takes inputs ``[N, C, ...]`` of any rank."""

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f'expected at least 2D input (got {input.dim()}D input)')

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        if not bn_training or world_size() == 1:
            return super().forward(input)
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / float(self.num_batches_tracked)
        dims = [0, *range(2, input.dim())]
        shape = [1, -1] + [1] * (input.dim() - 2)
        count = torch.tensor(float(input.numel() // input.shape[1]), dtype=input.dtype,
                             device=input.device)
        count = all_reduce_with_gradient(count)  # no gradient flows to a count
        mean = all_reduce_with_gradient(input.sum(dims)) / count
        centered = input - mean.view(shape)
        var = all_reduce_with_gradient((centered * centered).sum(dims)) / count
        out = centered * torch.rsqrt(var + self.eps).view(shape)
        if self.weight is not None:
            out = out * self.weight.view(shape)
        if self.bias is not None:
            out = out + self.bias.view(shape)
        if self.training and self.track_running_stats and self.running_mean is not None:
            with torch.no_grad():
                unbiased = var.detach() * count / (count - 1).clamp(min=1)
                self.running_mean.mul_(1 - factor).add_(mean.detach(), alpha=factor)
                self.running_var.mul_(1 - factor).add_(unbiased, alpha=factor)
        return out


_SWAPPED: dict[tuple[type, type], type] = {}


def _swapped_class(kind: type, base: type) -> type:
    """``kind`` (a BatchNorm class) normalising through ``base`` (:class:`CrossProcessBatchNorm`
    or ``nn.SyncBatchNorm``): a subclass of both, ``kind`` first, so a subclass's own forward
    (e.g. one that transposes tokens first) still runs and its ``super().forward`` reaches
    ``base``'s."""
    if (kind, base) not in _SWAPPED:
        _SWAPPED[kind, base] = type(kind.__name__, (kind, base),
                                    {'__module__': kind.__module__,
                                     '__qualname__': kind.__qualname__})
    return _SWAPPED[kind, base]


def convert_batch_norm(module: nn.Module, *, cuda: bool | None = None) -> nn.Module:
    """``module`` with every BatchNorm normalising over all processes: torch's
    ``SyncBatchNorm`` when ``cuda`` (default: whether torch sees a GPU), else
    :class:`CrossProcessBatchNorm`. Each BatchNorm keeps its identity, parameters, running
    statistics and any behaviour of its own class: its class becomes a subclass of its own and
    of the cross-process one (what ``torch.nn.SyncBatchNorm.convert_sync_batchnorm`` does by
    replacing the module, which would lose a subclass's forward). Returns ``module``."""
    if cuda is None:
        cuda = torch.cuda.is_available()
    base = nn.SyncBatchNorm if cuda else CrossProcessBatchNorm
    for layer in module.modules():
        if isinstance(layer, _BatchNorm) and not isinstance(
                layer, (CrossProcessBatchNorm, nn.SyncBatchNorm)):
            layer.__class__ = _swapped_class(type(layer), base)
            if base is nn.SyncBatchNorm:
                layer.process_group = None  # the default group, as SyncBatchNorm's __init__
    return module


def batch_norm_of(cfg: Mapping) -> str:
    """The config's :data:`BN_KEY` (``'per_process'`` when absent)."""
    return cfg.get(BN_KEY) or 'per_process'


def normalise_as_configured(model: nn.Module, cfg: Mapping, *, processes: int | None = None
                            ) -> nn.Module:
    """``model`` with its BatchNorm as ``cfg``'s :data:`BN_KEY` says under ``processes``
    (default: this run's world size): converted (:func:`convert_batch_norm`) for ``'global'``
    under several processes, else unchanged."""
    processes = world_size() if processes is None else processes
    if batch_norm_of(cfg) == 'global' and processes > 1:
        return convert_batch_norm(model)
    return model


# ------------------------------------------------------------------------ the paper's batch


@dataclass(frozen=True)
class BatchPlan:
    """How a pretraining runs across processes, for the record (``pretrain.distributed``) and
    the dry run: ``world_size`` processes x ``per_process_batch`` x ``accumulation`` steps =
    ``effective_batch``; ``lr`` the peak learning rate it trains with (None: the config has
    several optimizers), ``lr_note`` how it was chosen; ``paper_batch`` the paper's batch
    (None: the config names none); ``batch_norm`` (:data:`BATCH_NORMS`) and ``bn_samples``, the
    samples one set of BN statistics covers; ``gathers``: what the model gathers across
    processes, and how; ``notes``: what differs from the paper's run."""

    world_size: int
    per_process_batch: int
    accumulation: int
    effective_batch: int
    lr: float | None
    lr_note: str
    paper_batch: int | None
    batch_norm: str
    bn_samples: int
    gathers: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def as_record(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """The dry run's lines."""
        procs = 'process' if self.world_size == 1 else 'processes'
        lines = [f'batch: {self.world_size} {procs} x {self.per_process_batch} per process x '
                 f'{self.accumulation} accumulation step{"s" * (self.accumulation > 1)} = '
                 f'effective batch {self.effective_batch}'
                 + (f' (paper: {self.paper_batch})' if self.paper_batch else
                    ' (the config names no paper batch)'),
                 f'learning rate: {self.lr if self.lr is not None else "per optimizer"} '
                 f'({self.lr_note})',
                 f'normalisation: {describe_batch_norm(self.batch_norm)}'
                 + (', in one process plain BN' if self.world_size == 1 and
                    self.batch_norm != 'per_process' else '')
                 + f', statistics over {self.bn_samples} samples',
                 'gather: ' + ('; '.join(f'{what} {how}' for what, how in self.gathers.items())
                               or 'none (nothing is gathered across processes)')]
        lines += [f'note: {note}' for note in self.notes]
        return '\n'.join(lines)


def describe_batch_norm(kind: str) -> str:
    return {'global': 'global BN (mean and variance over all processes)',
            'per_process': 'per-process BN',
            'per_process_shuffled': 'per-process BN, key batch shuffled across processes'}[kind]


def _single_optimizer(cfg: Mapping) -> Mapping | None:
    wrapper = cfg.get('optim_wrapper') or {}
    return wrapper if isinstance(wrapper, Mapping) and 'optimizer' in wrapper else None


def check_distributed_keys(cfg: Mapping, label: str = 'pretraining config') -> None:
    """One-line ConfigError for a malformed :data:`BN_KEY` or :data:`PAPER_BATCH_KEY`."""
    kind = cfg.get(BN_KEY)
    if kind is not None and kind not in BATCH_NORMS:
        raise ConfigError(f"{label}: {BN_KEY}={kind!r} must be one of {', '.join(BATCH_NORMS)}")
    paper = cfg.get(PAPER_BATCH_KEY)
    if paper is None:
        return
    if not isinstance(paper, Mapping) or set(paper) - {'size', 'lr_scaling', 'scale_lr'}:
        raise ConfigError(f'{label}: {PAPER_BATCH_KEY} must be dict(size=N, '
                          f"lr_scaling='linear' or 'sqrt', scale_lr=False), got {paper!r}")
    size = paper.get('size')
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f'{label}: {PAPER_BATCH_KEY}.size={size!r} must be a positive integer')
    if paper.get('lr_scaling', 'linear') not in LR_SCALINGS:
        raise ConfigError(f"{label}: {PAPER_BATCH_KEY}.lr_scaling={paper.get('lr_scaling')!r} "
                          f"must be one of {', '.join(LR_SCALINGS)}")
    if not isinstance(paper.get('scale_lr', False), bool):
        raise ConfigError(f"{label}: {PAPER_BATCH_KEY}.scale_lr={paper.get('scale_lr')!r} must "
                          'be True or False')


def model_gathers(cfg: Mapping) -> dict[str, str]:
    """What the config's model class declares it gathers across processes (its ``gathers``
    class attribute; empty when it declares nothing or its type is not found)."""
    import importlib

    from harness.registry import MODELS

    model = cfg.get('model') or {}
    kind = model.get('type') if isinstance(model, Mapping) else None
    if kind is None:
        return {}
    if not isinstance(kind, str):
        return dict(getattr(kind, 'gathers', {}) or {})
    for module in (cfg.get('custom_imports') or {}).get('imports') or []:
        importlib.import_module(module)
    found = MODELS.get(kind)
    return dict(getattr(found, 'gathers', {}) or {}) if found is not None else {}


def plan_batch(cfg, processes: int, label: str = 'pretraining config') -> BatchPlan:
    """Fit ``cfg`` (changed in place) to ``processes`` processes as its :data:`PAPER_BATCH_KEY`
    says: the accumulation (``optim_wrapper.accumulative_counts``) that keeps the paper's
    batch, or, with ``scale_lr``, the learning rate scaled by the paper's rule; a config
    without a paper batch is left as it is. Returns the :class:`BatchPlan`. A number of
    processes the paper's batch cannot be kept on is a one-line ConfigError saying what to do."""
    check_distributed_keys(cfg, label)
    per = int((cfg.get('train_dataloader') or {}).get('batch_size') or 1)
    single = _single_optimizer(cfg)
    optimizer = single.get('optimizer') if single is not None else None
    lr = optimizer.get('lr') if isinstance(optimizer, Mapping) else None
    micro = processes * per
    paper = cfg.get(PAPER_BATCH_KEY)
    notes = []
    if paper is None:
        accumulation = int(single.get('accumulative_counts', 1)) if single is not None else 1
        lr_note = 'as the config sets it'
        size = None
    else:
        size, rule = paper['size'], paper.get('lr_scaling', 'linear')
        if paper.get('scale_lr', False):
            accumulation = 1
            if micro != size:
                if lr is None:
                    raise ConfigError(f'{label}: {PAPER_BATCH_KEY}.scale_lr=True needs one '
                                      'optimizer with an lr; this config has several: keep the '
                                      f'paper batch ({PAPER_BATCH_KEY}.scale_lr=False)')
                factor = micro / size if rule == 'linear' else math.sqrt(micro / size)
                scaled = lr * factor
                single['optimizer']['lr'] = scaled
                lr_note = (f'scaled from {lr:g} at the paper batch {size} by the paper\'s '
                           f'{rule} rule to batch {micro} ({PAPER_BATCH_KEY}.scale_lr=True)')
                notes.append(f'trains at batch {micro}, not the paper batch {size}; lr scaled '
                             f'{rule}ly ({lr:g} -> {scaled:g})')
                lr = scaled
            else:
                lr_note = 'the paper\'s, at the paper batch'
        else:
            if micro > size or size % micro:
                fit = [n for n in range(1, size // per + 1) if (size // per) % n == 0] \
                    if size % per == 0 else []
                hint = (f'run on a number of processes dividing {size // per} '
                        f"({', '.join(map(str, fit))})" if fit else
                        f'set train_dataloader.batch_size to divide {size}')
                raise ConfigError(
                    f'{label}: the paper batch {size} cannot be kept on {processes} '
                    f'process{"es" * (processes > 1)} x {per}: {hint}, or train at '
                    f'{micro} with the lr scaled by the paper\'s rule '
                    f'(--cfg-options {PAPER_BATCH_KEY}.scale_lr=True)')
            accumulation = size // micro
            if single is None and accumulation > 1:
                raise ConfigError(f'{label}: keeping the paper batch {size} on {processes} '
                                  f'process{"es" * (processes > 1)} needs gradient '
                                  f'accumulation, which the harness does for one optimizer '
                                  f'only; run on {size // per} processes')
            if accumulation > 1:
                single['accumulative_counts'] = accumulation
                lr_note = (f'the paper\'s, at its batch {size} kept by {accumulation} '
                           'accumulation steps')
            else:
                lr_note = 'the paper\'s, at the paper batch'
    effective = micro * accumulation
    kind = batch_norm_of(cfg)
    bn_samples = micro if kind == 'global' and processes > 1 else per
    if kind == 'global' and accumulation > 1:
        notes.append(f'BN statistics are over the micro-batch ({bn_samples} samples), not the '
                     f'effective batch {effective}')
    elif kind == 'global' and processes == 1 and size and size > per:
        notes.append(f'one process: BN statistics over its {per} samples')
    return BatchPlan(world_size=processes, per_process_batch=per, accumulation=accumulation,
                     effective_batch=effective, lr=lr, lr_note=lr_note, paper_batch=size,
                     batch_norm=kind, bn_samples=bn_samples, gathers=model_gathers(cfg),
                     notes=notes)


# ----------------------------------------------------------------------------------- hooks


def target_update_hook(accumulation: int):
    """A Runner hook that lets target networks move (:func:`harness.modules.momentum_update`)
    only on the first micro-batch of each optimizer step of ``accumulation`` micro-batches,
    so an EMA steps once per optimizer step; reopened after training."""
    from mmengine.hooks import Hook

    from harness import modules

    class TargetUpdates(Hook):
        priority = 'VERY_HIGH'

        def before_train_iter(self, runner, batch_idx, data_batch=None) -> None:
            modules.TARGET_UPDATES['enabled'] = runner.iter % accumulation == 0

        def after_train(self, runner) -> None:
            modules.TARGET_UPDATES['enabled'] = True

    return TargetUpdates()


def reseed_for_rank(seed: int, rank: int | None = None) -> int:
    """Seed ``random``, numpy and torch with ``seed + rank`` (this process's rank by
    default), as mmengine's ``diff_rank_seed`` does; returns the seed used."""
    from mmengine.dist import get_rank
    from mmengine.runner import set_random_seed

    rank = get_rank() if rank is None else rank
    return set_random_seed(seed + rank)


def rank_seed_hook(seed: int):
    """A Runner hook that, before training, reseeds each process by its rank
    (:func:`reseed_for_rank`) when there are several: without it every process draws the same
    augmentation parameters (and model-side randomness) in its main process."""
    from mmengine.hooks import Hook

    class RankSeed(Hook):
        priority = 'VERY_LOW'

        def before_train(self, runner) -> None:
            if world_size() > 1:
                reseed_for_rank(seed)

    return RankSeed()
