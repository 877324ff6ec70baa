"""Multi-task self-supervised learning (Doersch & Zisserman, ICCV 2017; docs/methods.md §6).

One trunk (a ResNet backbone), one head per task, the tasks' losses summed (each weighted 1
by default, as the paper's joint network; the paper trained the tasks asynchronously, each
worker computing one task, here every batch holds every task and one step sums them):

- ``relative_position``: both patches through the trunk, pooled, concatenated, 8-way
  classification (:func:`~harness_multitask.losses.relative_position_loss`); the patches are
  always grey (the paper drops colour against chromatic-aberration shortcuts);
- ``colorization``: the L channel in, per-cell ab-bin logits out
  (:func:`~harness_multitask.losses.colorization_loss`);
- ``exemplar``: the two augmented views of each crop embedded, triplet loss against the other
  crops of the batch (:func:`~harness_multitask.losses.exemplar_loss`);
- ``motion``: a frame in, per-cell moving / still logits out
  (:func:`~harness_multitask.losses.motion_segmentation_loss`).

``harmonize`` makes every task's input grey, as the paper's harmonisation does (colorization
needs grey input, so the others get it too). With ``lasso``, each head reads its own linear
combination of several trunk stages (``layers``, each adapted to ``hidden_dim`` channels and
the top stage's size, :class:`~harness_multitask.trunk.StageAdapters`), and the L1 penalty on
the combination weights is a loss of its own, ``loss_lasso``. Without it, every head reads the
one stage ``layers`` names.

The sampler is :class:`harness_multitask.sampling.SampleMultitask`; its ``uint8`` images are
made network inputs here (ImageNet normalisation, grey where asked), the exemplar views arrive
augmented and normalised from the ``harness.AugmentViews`` preprocessor.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import torch
from mmengine.model import BaseModel
from torch import Tensor, nn
from torchvision.transforms.v2 import functional as TF

from harness.api import IMAGENET_MEAN, IMAGENET_STD, normalize, global_pool, MODELS
from harness_multitask.colour import ab_bins
from harness_multitask.heads import DenseHead, EmbeddingHead, RelativePositionHead
from harness_multitask.lasso import LayerCombination
from harness_multitask.losses import (colorization_loss, exemplar_loss,
                                      motion_segmentation_loss, relative_position_loss)
from harness_multitask.sampling import TASKS
from harness_multitask.trunk import ResNetStages, StageAdapters, stage_channels


def as_input(images: Tensor) -> Tensor:
    """uint8 images ``[..., C, H, W]`` (C = 3, or 1 for grey, repeated to 3) -> float
    ImageNet-normalised ``[..., 3, H, W]``."""
    images = images.float().div(255)
    if images.shape[-3] == 1:
        images = images.expand(*images.shape[:-3], 3, *images.shape[-2:])
    return normalize(images)


def grey(images: Tensor) -> Tensor:
    """ImageNet-normalised RGB ``[..., 3, H, W]`` -> the normalised grey image (torchvision's
    luma of the unnormalised colours, on three channels)."""
    mean = images.new_tensor(IMAGENET_MEAN).view(3, 1, 1)
    std = images.new_tensor(IMAGENET_STD).view(3, 1, 1)
    return normalize(TF.rgb_to_grayscale(images * std + mean, num_output_channels=3))


@MODELS.register_module()
class MultiTask(BaseModel):
    """The multi-task network (see the module's doc).

    backbone, feat_dim: the trunk and its output channels (set by the harness). tasks: which
    of :data:`~harness_multitask.sampling.TASKS` to train (the sampler must produce them).
    hidden_dim: the heads' hidden width and, with the lasso, the adapted stages' channels.
    layers: the trunk stages the heads read (``'layer1'``-``'layer4'``): one without the
    lasso, several with it. The deepest of them must be the backbone's last stage: a stage
    after it would be exported untrained, so a config whose heads stop earlier cuts the
    backbone there (its top-level ``backbone_stage``, which the harness applies to the
    backbone in pretraining and in every evaluation; the paper config: layer3). lasso_strength: the L1 penalty's factor; lasso_init: ``'last'``
    (every head starts on the top stage only) or ``'uniform'``. weights: per-task loss
    weights (default 1). colour_grid: the ab quantisation step (the sampler's colorization
    ``grid``). embed_dim, exemplar_margin: the exemplar embedding's size and triplet margin.

    Modes: ``'loss'`` -> ``{'loss_<task>': ..., 'loss_lasso': ...}``; ``'tensor'`` -> pooled
    backbone features ``[N, feat_dim]`` of the first task's input (relative position: the
    centre patches; colorization: the L images; exemplar: the first views; motion: the
    frames), prepared as for training.
    """

    def __init__(self, backbone: dict, feat_dim: int, tasks: Sequence[str] = TASKS,
                 hidden_dim: int = 256, layers: Sequence[str] = ('layer4',),
                 lasso: bool = False, lasso_strength: float = 1e-3, lasso_init: str = 'last',
                 harmonize: bool = False, weights: Mapping[str, float] | None = None,
                 colour_grid: float = 10.0, embed_dim: int = 128,
                 exemplar_margin: float = 0.5, data_preprocessor=None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tasks = tuple(tasks)
        unknown = [task for task in self.tasks if task not in TASKS]
        if unknown or not self.tasks or len(set(self.tasks)) != len(self.tasks):
            raise ValueError(f"tasks must be distinct names from {', '.join(TASKS)}; "
                             f'got {self.tasks}')
        self.layers, self.lasso = tuple(layers), bool(lasso)
        if not self.lasso and len(self.layers) != 1:
            raise ValueError(f'without the lasso every head reads one trunk stage; layers '
                             f'names {len(self.layers)}: {self.layers}')
        weights = dict(weights or {})
        untrained = sorted(set(weights) - set(self.tasks))
        if untrained:
            raise ValueError(f'weights for tasks not trained: {untrained}')
        self.task_weights = {task: float(weights.get(task, 1.0)) for task in self.tasks}
        self.harmonize, self.feat_dim = bool(harmonize), feat_dim
        self.lasso_strength = float(lasso_strength)
        self.exemplar_margin = float(exemplar_margin)

        self.backbone = MODELS.build(backbone)
        stages = ResNetStages(self.backbone).stages
        deepest = max((name for name in self.layers if name in stages), key=stages.index,
                      default=None)
        if deepest is not None and deepest != stages[-1]:
            raise ValueError(
                f'the heads read the trunk up to {deepest} but the backbone goes on to '
                f'{stages[-1]}, which no loss would train and every evaluator would read: set '
                f"backbone_stage='{deepest}' in the config (the harness then cuts the backbone "
                'after that stage, in pretraining and in every evaluation)')
        channels = stage_channels(self.backbone, self.layers)
        if self.lasso:
            self.adapters = StageAdapters(channels, hidden_dim)
            self.combine = LayerCombination(self.tasks, len(self.layers), init=lasso_init)
            width = hidden_dim
        else:
            width = channels[0]
        heads = {
            'relative_position': lambda: RelativePositionHead(width, hidden_dim),
            'colorization': lambda: DenseHead(width, hidden_dim, len(ab_bins(colour_grid))),
            'exemplar': lambda: EmbeddingHead(width, hidden_dim, embed_dim),
            'motion': lambda: DenseHead(width, hidden_dim, 1),
        }
        self.heads = nn.ModuleDict({task: heads[task]() for task in self.tasks})

    # --- the trunk -------------------------------------------------------------------------

    def task_map(self, images: Tensor, task: str) -> Tensor:
        """The map ``task``'s head reads for normalised ``images [N, 3, H, W]``: the stage
        ``layers`` names, or with the lasso the task's combination of the adapted stages."""
        maps = ResNetStages(self.backbone).maps(images, self.layers)
        if not self.lasso:
            return maps[0]
        return self.combine(self.adapters(maps), task)

    def features(self, images: Tensor) -> Tensor:
        """Pooled backbone features ``[N, feat_dim]`` (the whole backbone, as evaluated: up to
        the last stage the heads read)."""
        return global_pool(self.backbone(images))

    # --- inputs, per task ------------------------------------------------------------------

    def harmonized(self, images: Tensor) -> Tensor:
        return grey(images) if self.harmonize else images

    def task_inputs(self, task: str, batch) -> Tensor:
        """The network input of ``task`` from its batch (see the module's doc): relative
        position ``[N, 2, 3, P, P]`` (grey), colorization ``[N, 3, S, S]`` (L), exemplar
        ``[N, 2, 3, S, S]`` (the two views), motion ``[N, 3, S, S]``."""
        if task == 'relative_position':
            return grey(as_input(batch['patches']))
        if task == 'colorization':
            return as_input(batch['lightness'])
        if task == 'exemplar':
            return self.harmonized(torch.stack(list(batch), dim=1))
        return self.harmonized(as_input(batch['frame']))

    # --- losses, per task ------------------------------------------------------------------

    def relative_position_loss(self, batch) -> Tensor:
        patches = self.task_inputs('relative_position', batch)
        maps = self.task_map(patches.flatten(0, 1), 'relative_position')
        maps = maps.view(len(patches), 2, *maps.shape[1:])
        logits = self.heads['relative_position'](maps[:, 0], maps[:, 1])
        return relative_position_loss(logits, batch['label'])

    def colorization_loss(self, batch) -> Tensor:
        bins = batch['bins']
        features = self.task_map(self.task_inputs('colorization', batch), 'colorization')
        return colorization_loss(self.heads['colorization'](features, bins.shape[-2:]), bins)

    def exemplar_loss(self, batch) -> Tensor:
        views = self.task_inputs('exemplar', batch).flatten(0, 1)  # rows 2k, 2k + 1: crop k
        embeddings = self.heads['exemplar'](self.task_map(views, 'exemplar'))
        return exemplar_loss(embeddings, self.exemplar_margin)

    def motion_loss(self, batch) -> Tensor:
        mask = batch['mask']
        features = self.task_map(self.task_inputs('motion', batch), 'motion')
        logits = self.heads['motion'](features, mask.shape[-2:])
        return motion_segmentation_loss(logits, mask, batch.get('valid'))

    def forward(self, inputs: dict, data_samples=None, mode: str = 'loss'):
        if mode == 'tensor':
            first = self.tasks[0]
            images = self.task_inputs(first, inputs[first])
            return self.features(images[:, 0] if images.dim() == 5 else images)
        if mode != 'loss':
            raise ValueError(f"MultiTask supports mode 'loss' and 'tensor', not {mode!r}")
        missing = [task for task in self.tasks if task not in inputs]
        if missing:
            raise KeyError(f"no inputs for task(s) {', '.join(missing)}: the sampler's tasks "
                           "must include the model's")
        losses = {f'loss_{task}': self.task_weights[task]
                  * getattr(self, f'{task}_loss')(inputs[task]) for task in self.tasks}
        if self.lasso:
            losses['loss_lasso'] = self.combine.penalty(self.lasso_strength)
        return losses

    def backbone_state_dict(self) -> dict:
        return self.backbone.state_dict()
